#!/usr/bin/env bash
# Runs every jetgate test: unit tests and the integration suites against a real
# nats-server with the Rust SDK, boto3 and the aws CLI.
# Release mode, because the 1 GiB memory test is slow through debug-build MD5/SHA-256.
# `--no-fail-fast`, so one failing test binary does not hide the results of the others.
# Then deploy/local/run.sh (a loopback deployment behind Traefik); both always run.
# Extra arguments go to `cargo test` alone (e.g. `scripts/test.sh --test sdk`).
# A test whose external program is missing fails, unless tests/optional.txt lists it:
# that list is printed first, and the tests that did skip are printed again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

# setup.sh may extend PATH (pip's script directory); keep what it found.
# shellcheck source=setup.sh
source scripts/setup.sh all

optional=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' tests/optional.txt || true)
if [ -n "$optional" ]; then
    echo "test.sh: tests that SKIP when a program they need is missing (tests/optional.txt):"
    echo "$optional" | sed 's/^/test.sh:   /'
else
    echo "test.sh: no optional tests (tests/optional.txt): a missing program fails its test"
fi
# Written by the test harnesses (tests/common/tools.rs) for every skip they make.
skipped="${CARGO_TARGET_DIR:-target}/tmp/skipped-tests.txt"
rm -f "$skipped"
report_skips() {
    if [ -s "$skipped" ]; then
        echo "test.sh: tests SKIPPED (listed in tests/optional.txt):"
        sed 's/^/test.sh:   /' "$skipped"
    fi
}

rc=0
if [ $# -gt 0 ]; then
    # A selection (e.g. `--test sdk`): just those cargo tests, quickly.
    cargo test --workspace --release --no-fail-fast "$@" || rc=$?
    report_skips
    exit $rc
fi
# Everything: the cargo suites, then the loopback deployment (NATS cluster, edges,
# workers, Traefik with TLS, traces); both run, and either failing fails the run.
cargo test --workspace --release --no-fail-fast || rc=$?
echo "test.sh: deploy/local/run.sh (loopback deployment)"
bash deploy/local/run.sh || rc=$?
report_skips
exit $rc
