#!/usr/bin/env bash
# Shows that deploy/local/run.sh cannot pass while the deployment is broken: runs it once
# per JETGATE_RUN_SELFTEST breakage and requires a non-zero exit with the check that
# guards that breakage reported as FAIL. Not part of CI (each run takes minutes).
#
#   deploy/local/selftest.sh                 # every breakage (~20 min on 2 cores)
#   deploy/local/selftest.sh corrupt-get ... # just these
# Env: as run.sh (JETGATE_BIN, LOAD_SECS, ...). Logs: $TMPDIR/jetgate-selftest-NAME.log
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

# breakage -> the start of the report line that must read FAIL
declare -A EXPECT=(
  [corrupt-get]="load: GET bytes equal to the bytes PUT"
  [corrupt-etag]="load: PUT ETag is the MD5 of the body"
  [corrupt-verify]="verify: every acknowledged object reads back intact"
  [workers-r1]="JetStream: every stream at R3 on the cluster"
  [data-workers-down]="load: >= 10 PUTs acknowledged within 5s after w-data and w-data2 were stopped"
  [no-otlp-sink]="traces: edge and worker spans at the OTLP receiver"
  [perm-violation]="NATS: no permission or authorization violation"
  [bad-nats-url]="NATS: jetgate accepts the comma-separated --nats-url list"
)
ORDER=(corrupt-get corrupt-etag corrupt-verify workers-r1 data-workers-down no-otlp-sink perm-violation bad-nats-url)
[ $# -gt 0 ] && ORDER=("$@")

bad=0
for t in "${ORDER[@]}"; do
  want=${EXPECT[$t]:-}
  [ -n "$want" ] || { echo "selftest: unknown breakage '$t'" >&2; exit 2; }
  log=${TMPDIR:-/tmp}/jetgate-selftest-$t.log
  JETGATE_RUN_SELFTEST=$t bash "$HERE/run.sh" >"$log" 2>&1
  rc=$?
  fails=$(grep -E '^FAIL  ' "$log" | sed 's/^FAIL  //')
  if [ $rc != 0 ] && grep -qF -- "$want" <<<"$fails"; then
    echo "selftest $t: caught (run.sh exit $rc)"
  else
    echo "selftest $t: NOT CAUGHT (run.sh exit $rc; wanted FAIL '$want'; log $log)"
    bad=1
  fi
  [ -n "$fails" ] && sed 's/^/    FAIL  /' <<<"$fails"
done
exit $bad
