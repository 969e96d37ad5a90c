#!/usr/bin/env python3
"""Replication check for deploy/local/run.sh: every JetStream stream of the JETGATE
account at the expected replica count, held by every node, its peers current and in
step, read from each node's monitoring port (/jsz).

  replicas.py CHECKS NAME REPLICAS REQUIRED DEADLINE_SECS MONITOR_URL...

REQUIRED is a comma-separated list of stream names that must exist (the run's
object-store bucket, the credential KV). Polls until the cluster agrees or DEADLINE
passes (after a node's kill -9 its replicas take a moment to catch up), prints one line
per stream, and appends one PASS|FAIL line named NAME to CHECKS.
"""
import json
import sys
import time
import urllib.request


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def node_streams(url):
    """(server name, {stream name: detail}) as one node holds them; None when it is down."""
    try:
        name = fetch(f"{url}/varz")["server_name"]
        # Both accounts: object stores in JETGATE, the credential store in AUTH.
        d = fetch(f"{url}/jsz?accounts=true&streams=true&config=true")
    except OSError:
        return None
    out = {}
    for a in d.get("account_details", []):
        for st in a.get("stream_detail", []):
            out[st["name"]] = st
    return name, out


def assess(replicas, required, urls):
    """(stream names, problems, one line per stream). Peer progress is the leader's
    view: only the leader tracks how far its followers are."""
    nodes, problems = {}, []
    for url in urls:
        got = node_streams(url)
        if got is None:
            problems.append(f"{url}: /varz or /jsz unreachable")
            continue
        nodes[got[0]] = got[1]
    names = sorted({n for streams in nodes.values() for n in streams})
    for r in required:
        if r not in names:
            problems.append(f"{r}: missing")
    lines = []
    for name in names:
        holders = {node: s[name] for node, s in nodes.items() if name in s}
        leader = next((st.get("cluster", {}).get("leader") for st in holders.values()
                       if st.get("cluster", {}).get("leader")), None)
        view = holders.get(leader) or next(iter(holders.values()))
        cfg_r = view.get("config", {}).get("num_replicas")
        peers = (view.get("cluster", {}) or {}).get("replicas", []) or []
        seqs = {node: st.get("state", {}).get("last_seq") for node, st in holders.items()}
        lines.append(f"{name}: replicas={cfg_r} leader={leader} followers="
                     + ",".join(f"{p.get('name')}{'' if p.get('current') else '(behind)'}" for p in peers)
                     + f" held by {','.join(sorted(holders))} last_seq={sorted(set(seqs.values()))}")
        if cfg_r != replicas:
            problems.append(f"{name}: num_replicas {cfg_r}, want {replicas}")
        if len(holders) != replicas:
            problems.append(f"{name}: held by {len(holders)} node(s) ({','.join(sorted(holders))}), want {replicas}")
        if not leader or leader not in holders:
            problems.append(f"{name}: leader {leader} not among the nodes that hold it")
        followers = [p.get("name") for p in peers if p.get("name") != leader]
        behind = [p.get("name") for p in peers if not p.get("current")]
        if len(followers) != replicas - 1 or behind:
            problems.append(f"{name}: followers {followers}, behind {behind}; want {replicas - 1} current")
        if len(set(seqs.values())) != 1:
            problems.append(f"{name}: nodes disagree on last_seq {seqs}")
    return names, problems, lines


def main():
    checks, check_name, replicas = sys.argv[1], sys.argv[2], int(sys.argv[3])
    required, deadline, urls = sys.argv[4], float(sys.argv[5]), sys.argv[6:]
    required = [r for r in required.split(",") if r]
    end = time.time() + deadline
    while True:
        names, problems, lines = assess(replicas, required, urls)
        if not problems or time.time() >= end:
            break
        time.sleep(1)
    for line in lines:
        print(line)
    for p in problems:
        print(f"problem: {p}")
    figures = (f"{len(names)} streams on {len(urls)} nodes, each R{replicas}, on every node, peers current, "
               f"same last_seq (incl. {', '.join(required)})") if not problems else "; ".join(problems[:4])
    with open(checks, "a") as f:
        f.write(f"{'FAIL' if problems else 'PASS'}\t{check_name}\t{figures}\n")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
