#!/usr/bin/env bash
# Runs every jetgate test: unit tests and the integration suites against a real
# nats-server with the Rust SDK, boto3 and the aws CLI.
# Release mode, because the 1 GiB memory test is slow through debug-build MD5/SHA-256.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh --test sdk`).
set -euo pipefail
cd "$(dirname "$0")/.."

# setup.sh may extend PATH (pip's script directory); keep what it found.
# shellcheck source=setup.sh
source scripts/setup.sh

exec cargo test --workspace --release "$@"
