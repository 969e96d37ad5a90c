#!/usr/bin/env bash
# Runs every cargo-fuzz target for a while: `scripts/fuzz.sh [seconds per target]`
# (default 300). Needs nightly (installed) and cargo-fuzz (installed here if missing).
# Each target starts from the committed seeds (fuzz/seeds/<target>); its corpus grows in
# fuzz/corpus/<target>, crashes land in fuzz/artifacts/<target>; the run fails if any
# target crashed. Not part of the test command (a fuzz run is hours, not minutes); the
# test command replays the seeds on stable Rust (tests/fuzz_seeds.rs). To refresh the
# seeds: `cargo +nightly fuzz cmin -O <target>` and copy fuzz/corpus/<target> over them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-300}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rc=0
for target in $(cargo +nightly fuzz list); do
    echo "fuzz.sh: $target for ${seconds}s"
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- -max_total_time="$seconds" -max_len=4096 \
        -print_final_stats=1 2>&1 | grep -E "^(stat::number_of_executed_units|==|SUMMARY|Done)" || true
    if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
        echo "fuzz.sh: $target CRASHED: see fuzz/artifacts/$target"
        rc=1
    fi
done
exit $rc
