#!/usr/bin/env bash
# Runs every jetgate test: unit tests and the integration suites against a real
# nats-server with the Rust SDK, boto3 and the aws CLI.
# Release mode, because the 1 GiB memory test is slow through debug-build MD5/SHA-256.
# Then deploy/local/run.sh (a loopback deployment behind Traefik); both always run.
# Extra arguments go to `cargo test` alone (e.g. `scripts/test.sh --test sdk`).
set -euo pipefail
cd "$(dirname "$0")/.."

# setup.sh may extend PATH (pip's script directory); keep what it found.
# shellcheck source=setup.sh
source scripts/setup.sh

if [ $# -gt 0 ]; then
    # A selection (e.g. `--test sdk`): just those cargo tests, quickly.
    exec cargo test --workspace --release "$@"
fi
# Everything: the cargo suites, then the loopback deployment (NATS cluster, edges,
# workers, Traefik with TLS, traces); both run, and either failing fails the run.
rc=0
cargo test --workspace --release || rc=$?
echo "test.sh: deploy/local/run.sh (loopback deployment)"
bash deploy/local/run.sh || rc=$?
exit $rc
