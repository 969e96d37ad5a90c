#!/usr/bin/env bash
# Sets up what running needs (nats-server: `scripts/setup.sh --run`; the test clients
# are scripts/test.sh's business) and runs a local gateway:
# a nats-server child with JetStream in ./.jetgate, the edge and every worker role.
# Extra arguments go to `jetgate dev` (e.g. `scripts/dev.sh --listen 0.0.0.0:9000`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=setup.sh
source scripts/setup.sh --run
exec cargo run --release --bin jetgate -- dev "$@"
