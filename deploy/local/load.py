#!/usr/bin/env python3
"""Steady S3 load for deploy/local/run.sh: put + get + verify in a loop, recording
every acknowledged object and every failure, then (verify mode) read every
acknowledged object back.

  load.py run    ENDPOINT BUCKET SECONDS THREADS OUTDIR   # until SECONDS or OUTDIR/stop
  load.py verify ENDPOINT BUCKET OUTDIR                   # exit 1 on any lost object
  load.py streams NATS_MONITOR_URL...                      # replicas of jetgate's streams

Each attempt (including the SDK's own retries) is observed through botocore's
needs-retry event, so the summary separates "attempts that failed and were retried"
from "requests that failed after all retries". Results: OUTDIR/acked.jsonl (one line
per PutObject that returned 200: key, md5, size), OUTDIR/events.jsonl (failures with
a timestamp), OUTDIR/load.json (totals).
"""
import collections
import hashlib
import json
import os
import random
import sys
import threading
import time

import boto3
from botocore.config import Config

lock = threading.Lock()
counts = collections.Counter()
events = None


def log_event(kind, **kw):
    with lock:
        counts[kind] += 1
        events.write(json.dumps({"t": round(time.time(), 3), "kind": kind, **kw}) + "\n")
        events.flush()


def make_client(endpoint):
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=16,
        ),
    )

    def observe(attempts, response, caught_exception, operation=None, **_):
        op = getattr(operation, "name", "?")
        if caught_exception is not None:
            log_event("attempt_failed", op=op, attempt=attempts,
                      why=type(caught_exception).__name__, msg=str(caught_exception)[:200])
        elif response is not None:
            status = response[0].status_code
            if status >= 500 or status == 429:
                code = response[1].get("Error", {}).get("Code", "")
                log_event("attempt_failed", op=op, attempt=attempts,
                          why=f"HTTP {status} {code}")
        return None  # observe only: botocore's retry handler decides

    s3.meta.events.register_first("needs-retry.s3", observe)
    return s3


def run(endpoint, bucket, seconds, threads, outdir):
    global events
    events = open(os.path.join(outdir, "events.jsonl"), "a")
    acked = open(os.path.join(outdir, "acked.jsonl"), "a")
    s3 = make_client(endpoint)
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    deadline = time.time() + seconds
    stop_file = os.path.join(outdir, "stop")

    def worker(n):
        rnd = random.Random(n)
        i = 0
        while time.time() < deadline and not os.path.exists(stop_file):
            i += 1
            # Mostly small objects, some spanning several 1 MiB chunks.
            size = rnd.choice([1024, 64 * 1024, 300 * 1024, 1024 * 1024 + 17, 3 * 1024 * 1024 + 5])
            body = rnd.randbytes(size)
            md5 = hashlib.md5(body).hexdigest()
            key = f"load/t{n}/{i:06d} +%?#.bin"
            t0 = time.time()
            try:
                r = s3.put_object(Bucket=bucket, Key=key, Body=body)
            except Exception as e:  # noqa: BLE001 - every failure is a data point
                log_event("put_failed", op="PutObject", key=key, why=type(e).__name__, msg=str(e)[:200])
                continue
            with lock:
                counts["put_ok"] += 1
                counts["bytes_put"] += size
                acked.write(json.dumps({"key": key, "md5": md5, "size": size,
                                        "etag": r["ETag"].strip('"'), "t": t0}) + "\n")
                acked.flush()
            if r["ETag"].strip('"') != md5:
                log_event("put_wrong_etag", key=key, etag=r["ETag"], md5=md5)
            try:
                got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as e:  # noqa: BLE001
                log_event("get_failed", op="GetObject", key=key, why=type(e).__name__, msg=str(e)[:200])
                continue
            if hashlib.md5(got).hexdigest() != md5:
                log_event("get_wrong_bytes", op="GetObject", key=key, size=len(got))
            else:
                with lock:
                    counts["get_ok"] += 1

    ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(os.path.join(outdir, "load.json"), "w") as f:
        json.dump(dict(counts), f)
    print(json.dumps(dict(counts)))


def verify(endpoint, bucket, outdir):
    global events
    events = open(os.path.join(outdir, "events.jsonl"), "a")
    s3 = make_client(endpoint)
    objs = [json.loads(l) for l in open(os.path.join(outdir, "acked.jsonl"))]
    lost, wrong = [], []
    for o in objs:
        try:
            got = s3.get_object(Bucket=bucket, Key=o["key"])["Body"].read()
        except Exception as e:  # noqa: BLE001
            lost.append((o["key"], f"{type(e).__name__}: {str(e)[:120]}"))
            continue
        if hashlib.md5(got).hexdigest() != o["md5"]:
            wrong.append(o["key"])
    listed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="load/"):
        listed += page.get("KeyCount", 0)
    res = {"acked": len(objs), "readable_ok": len(objs) - len(lost) - len(wrong),
           "lost": len(lost), "wrong_bytes": len(wrong), "listed": listed,
           "lost_keys": lost[:10], "wrong_keys": wrong[:10]}
    with open(os.path.join(outdir, "verify.json"), "w") as f:
        json.dump(res, f)
    print(json.dumps(res))
    # A put that failed at the client may still have been stored (listed > acked is fine).
    sys.exit(1 if lost or wrong or listed < len(objs) else 0)


def streams(*monitor_urls):
    """Replicas and direct-get setting of every stream in the JETGATE account, from
    every node's monitoring port (a node lists only the streams it holds)."""
    import urllib.request
    seen = {}
    for url in monitor_urls:
        try:
            with urllib.request.urlopen(f"{url}/jsz?acc=JETGATE&streams=true&config=true", timeout=5) as r:
                d = json.load(r)
        except OSError:
            continue
        for a in d.get("account_details", []):
            for st in a.get("stream_detail", []):
                c = st.get("config", {})
                seen[st["name"]] = (f"{st['name']}: replicas={c.get('num_replicas')} "
                                    f"allow_direct={c.get('allow_direct')} "
                                    f"messages={st.get('state', {}).get('messages')}")
    for name in sorted(seen):
        print(seen[name])


if __name__ == "__main__":
    if sys.argv[1] == "streams":
        streams(*sys.argv[2:])
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
