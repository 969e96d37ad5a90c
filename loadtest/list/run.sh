#!/usr/bin/env bash
# Listing cost against bucket size (issue #13), index against full scan in one run:
# starts `jetgate dev` twice (default --listing-index-budget, then 0, which lists every
# bucket by full scan), fills buckets of each size with native object-store metadata
# (one 1-byte chunk per object, written straight to NATS, so 100k objects take seconds)
# and times ListObjectsV2 through boto3: the first page (cold index build), a 1000-key
# page after a StartAfter, and a delimiter page that rolls every key into one prefix.
#
#   bash loadtest/list/run.sh [SIZES]       (default 1000,20000,100000; ~2 min)
#
# Ad hoc, not yet a scenario of the Rust bench; needs target/release/jetgate, boto3,
# nats-py (scripts/setup.sh installs boto3; nats-py needs `pip install nats-py`).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZES=${1:-1000,20000,100000}
BIN=${JETGATE_BIN:-target/release/jetgate}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for budget in 268435456 0; do
  rm -rf "$WORK/dev"
  "$BIN" dev --data-dir "$WORK/dev" --listen "127.0.0.1:$PORT" --listing-index-budget "$budget" >"$WORK/dev.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "^secret_key" "$WORK/dev.log" 2>/dev/null && break; sleep 0.1; done
  AK=$(sed -n 's/^access_key: //p' "$WORK/dev.log"); SK=$(sed -n 's/^secret_key: //p' "$WORK/dev.log")
  NURL=$(grep -o 'nats://[0-9.:]*' "$WORK/dev.log" | head -1)
  echo "--listing-index-budget $budget"
  python3 loadtest/list/measure.py "http://127.0.0.1:$PORT" "$AK" "$SK" "$NURL" "$SIZES"
  grep "listing index built" "$WORK/dev.log" | sed 's/^.*INFO /  /' || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
