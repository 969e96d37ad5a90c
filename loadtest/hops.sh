#!/usr/bin/env bash
# Per-hop cost of jetgate: runs the 4 KiB and 64 MiB bench scenarios against a split
# deployment on loopback — nats-server, one `jetgate edge`, one `jetgate worker` with
# only the auth role, one with the data roles (listing, multipart, object) — and
# reports the CPU µs per operation of each process. Then the same with the auth role
# co-hosted in the data worker (it then verifies in-process). docs/performance.md is
# written from its output.
#
#   bash loadtest/hops.sh [OUT_DIR]      (default target/loadtest-hops; ~4 min)
#
# HOPS_SCENARIOS (bench --scenarios), HOPS_DURATION and HOPS_TOPOLOGIES ("split
# cohosted") narrow it. HOPS_PERF=1 also samples the edge and the data worker with
# `perf record` during the bench and writes OUT/<topology>-<process>.svg flame graphs
# (needs perf and inferno: `cargo install inferno`; give one scenario per run so each
# graph shows one operation). HOPS_THREADS=N runs each jetgate process with N runtime
# threads (`--threads`). The memory goal of issue #4 is
#   HOPS_TOPOLOGIES=cohosted HOPS_SCENARIOS=put-64MiB-c64,get-64MiB-c64 bash loadtest/hops.sh
#
# Needs release builds: cargo build --release -p jetgate -p jetgate-loadtest
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-target/loadtest-hops}
BIN=${JETGATE_BIN:-target/release/jetgate}
LT=${LOADTEST_BIN:-target/release/jetgate-loadtest}
SCENARIOS=${HOPS_SCENARIOS:-put-4KiB-c64,get-4KiB-c64,head-4KiB-c64,put-64MiB,get-64MiB}
DURATION=${HOPS_DURATION:-8s}
mkdir -p "$OUT"
if [ -n "${HOPS_THREADS:-}" ]; then export JETGATE_THREADS=$HOPS_THREADS; fi
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_line() { # file prefix
    for _ in $(seq 1 200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "hops: timed out waiting for '$2' in $1" >&2
    tail -20 "$1" >&2
    exit 1
}

# topology: "split" (auth alone) or "cohosted" (auth inside the data worker)
run_topology() {
    local topo=$1
    local np; np=$(free_port)
    local nats="nats://127.0.0.1:$np"
    nats-server -a 127.0.0.1 -p "$np" -js -sd "$WORK/$topo-js" >"$WORK/$topo-nats.log" 2>&1 &
    local nats_pid=$!
    PIDS+=("$nats_pid")
    for _ in $(seq 1 100); do
        (echo >"/dev/tcp/127.0.0.1/$np") 2>/dev/null && break
        sleep 0.1
    done
    # Only the auth role and the admin command hold the credentials key.
    local ck; ck=$(head -c 32 /dev/urandom | base64)
    JETGATE_CREDENTIALS_KEY=$ck "$BIN" credentials add --nats-url "$nats" --access-key loadtest \
        --secret-key loadtest-secret-key >/dev/null
    local data_roles=listing,multipart,object
    local watch=()
    if [ "$topo" = split ]; then
        JETGATE_CREDENTIALS_KEY=$ck "$BIN" worker --nats-url "$nats" --roles auth >"$WORK/$topo-auth.log" 2>&1 &
        local auth_pid=$!
        PIDS+=("$auth_pid")
        wait_line "$WORK/$topo-auth.log" "worker ready"
        watch+=(--watch-pid "$auth_pid")
    else
        data_roles=auth,$data_roles
    fi
    local data_key=
    [ "$topo" = split ] || data_key=$ck
    JETGATE_CREDENTIALS_KEY=$data_key "$BIN" worker --nats-url "$nats" --roles "$data_roles" >"$WORK/$topo-data.log" 2>&1 &
    local data_pid=$!
    PIDS+=("$data_pid")
    wait_line "$WORK/$topo-data.log" "worker ready"
    "$BIN" edge --nats-url "$nats" --listen 127.0.0.1:0 >"$WORK/$topo-edge.log" 2>&1 &
    local edge_pid=$!
    PIDS+=("$edge_pid")
    wait_line "$WORK/$topo-edge.log" "endpoint: "
    local endpoint
    endpoint=$(sed -n 's/.*endpoint: \(http[^ ]*\).*/\1/p' "$WORK/$topo-edge.log" | head -1)
    echo "hops: $topo: edge $edge_pid, data worker $data_pid${auth_pid:+, auth worker $auth_pid}, nats-server $nats_pid"
    local perfs=()
    if [ -n "${HOPS_PERF:-}" ]; then
        # 499 Hz and DWARF unwinding: the release profile keeps line tables, not frame
        # pointers; a few seconds of samples are enough for shares of CPU.
        for who in edge:$edge_pid data:$data_pid; do
            perf record -q -F 499 --call-graph dwarf,32768 -p "${who#*:}" \
                -o "$WORK/$topo-${who%%:*}.perf" >/dev/null 2>&1 &
            perfs+=($!)
        done
    fi
    "$LT" bench --endpoint "$endpoint" --nats-url "$nats" \
        --access-key loadtest --secret-key loadtest-secret-key \
        --scenarios "$SCENARIOS" --duration "$DURATION" --quiet \
        --watch-pid "$edge_pid" --watch-pid "$data_pid" "${watch[@]}" --watch-pid "$nats_pid" \
        --out "$OUT/$topo" | tee "$OUT/$topo.md"
    if [ ${#perfs[@]} -gt 0 ]; then
        kill -INT "${perfs[@]}" 2>/dev/null || true
        wait "${perfs[@]}" 2>/dev/null || true
        for who in edge data; do
            perf script -i "$WORK/$topo-$who.perf" 2>/dev/null | inferno-collapse-perf \
                >"$OUT/$topo-$who.folded"
            inferno-flamegraph --minwidth 0.2 --deterministic --title "jetgate $who ($topo): $SCENARIOS" \
                <"$OUT/$topo-$who.folded" >"$OUT/$topo-$who.svg"
        done
    fi
    for p in "$edge_pid" "$data_pid" ${auth_pid:+"$auth_pid"} "$nats_pid"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PIDS=()
}

for t in ${HOPS_TOPOLOGIES:-split cohosted}; do
    run_topology "$t"
done
echo "hops: tables in $OUT/<topology>.md"

