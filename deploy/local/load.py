#!/usr/bin/env python3
"""Steady S3 load for deploy/local/run.sh: put + get + verify in a loop, then read every
acknowledged object back, then judge the run against its failure budget.

  load.py run    ENDPOINT BUCKET THREADS MAX_SECONDS OUTDIR  # until OUTDIR/stop (or MAX)
  load.py verify ENDPOINT BUCKET OUTDIR                      # every acknowledged object
  load.py judge  OUTDIR CHECKS WINDOW_SECS MIN_PUTS MIN_RATIO

Each attempt (including the SDK's own retries) is observed through botocore's
needs-retry event, so the summary separates "attempts that failed and were retried"
from "requests that failed after all retries". Results: OUTDIR/acked.jsonl (one line
per PutObject that returned 200: key, md5, size, etag, start and end time),
OUTDIR/events.jsonl (failures, wrong bytes, wrong ETags, and the marks run.sh writes),
OUTDIR/load.json and OUTDIR/verify.json (totals). Every wrong byte or wrong ETag is
also printed when it is seen.

`judge` appends one line per check (PASS|FAIL, name, figures; tab-separated) to CHECKS:
no wrong GET byte, no wrong ETag, >= MIN_RATIO of attempted PUTs (and GETs) succeeded,
>= MIN_PUTS PUTs acknowledged within WINDOW_SECS of each window mark, every acknowledged
object read back intact by verify.

JETGATE_LOAD_SELFTEST (testing the checks, never in a real run): corrupt-get flips one
byte of one GET body as the load phase receives it; corrupt-etag changes one hex digit
of one PUT's ETag as received; corrupt-verify flips one byte of one body read by verify.
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
from botocore.exceptions import FlexibleChecksumError

lock = threading.Lock()
counts = collections.Counter()
events = None
SELFTEST = os.environ.get("JETGATE_LOAD_SELFTEST", "")
selftest_done = threading.Event()


def log_event(kind, **kw):
    with lock:
        counts[kind] += 1
        events.write(json.dumps({"t": round(time.time(), 3), "kind": kind, **kw}) + "\n")
        events.flush()


def make_client(endpoint, attempts=5):
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(
            retries={"max_attempts": attempts, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            max_pool_connections=16,
            # The bytes are compared with the bytes sent, here, with the offset of the
            # first difference: botocore's own CRC check would turn a wrong byte into an
            # exception that reads like any failed GET.
            response_checksum_validation="when_required",
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


def selftest_once(kind):
    """True exactly once per process when JETGATE_LOAD_SELFTEST is `kind`."""
    if SELFTEST != kind:
        return False
    with lock:
        if selftest_done.is_set():
            return False
        selftest_done.set()
    print(f"SELFTEST {kind}: corrupting one value as the client receives it", flush=True)
    return True


def flip_one_byte(data):
    b = bytearray(data)
    if b:
        b[len(b) // 2] ^= 0x01
    return bytes(b)


def diff(want, got):
    """Where two bodies differ: first differing offset and number of differing bytes."""
    n = min(len(want), len(got))
    first = next((i for i in range(n) if want[i] != got[i]), None)
    if first is None and len(want) != len(got):
        first = n
    count = sum(1 for i in range(n) if want[i] != got[i]) + abs(len(want) - len(got))
    return first, count


def run(endpoint, bucket, threads, max_seconds, outdir):
    global events
    events = open(os.path.join(outdir, "events.jsonl"), "a")
    acked = open(os.path.join(outdir, "acked.jsonl"), "a")
    s3 = make_client(endpoint)
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    log_event("load_started")
    deadline = time.time() + max_seconds
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
            with lock:
                counts["put_attempted"] += 1
            try:
                r = s3.put_object(Bucket=bucket, Key=key, Body=body)
            except Exception as e:  # noqa: BLE001 - every failure is a data point
                log_event("put_failed", op="PutObject", key=key, why=type(e).__name__, msg=str(e)[:200])
                continue
            etag = r["ETag"].strip('"')
            if n == 0 and i == 3 and selftest_once("corrupt-etag"):
                etag = etag[:-1] + ("0" if etag[-1:] != "0" else "1")
            with lock:
                counts["put_ok"] += 1
                counts["bytes_put"] += size
                acked.write(json.dumps({"key": key, "md5": md5, "size": size, "etag": etag,
                                        "t": t0, "t_done": round(time.time(), 3)}) + "\n")
                acked.flush()
            if etag != md5:
                print(f"WRONG ETAG on PUT {key!r}: got {etag}, md5 of the body sent {md5}", flush=True)
                log_event("put_wrong_etag", op="PutObject", key=key, etag=etag, md5=md5)
            with lock:
                counts["get_attempted"] += 1
            try:
                got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except FlexibleChecksumError as e:
                print(f"WRONG BYTES on GET {key!r}: {e}", flush=True)
                log_event("get_wrong_bytes", op="GetObject", key=key, size=None,
                          first_offset=None, bytes_differing=None, msg=str(e)[:200])
                continue
            except Exception as e:  # noqa: BLE001
                log_event("get_failed", op="GetObject", key=key, why=type(e).__name__, msg=str(e)[:200])
                continue
            if n == 0 and i == 3 and selftest_once("corrupt-get"):
                got = flip_one_byte(got)
            if got != body:
                first, count = diff(body, got)
                print(f"WRONG BYTES on GET {key!r}: {count} byte(s) differ, first at offset {first}; "
                      f"got {len(got)} bytes md5 {hashlib.md5(got).hexdigest()}, "
                      f"want {size} bytes md5 {md5}", flush=True)
                log_event("get_wrong_bytes", op="GetObject", key=key, size=len(got),
                          first_offset=first, bytes_differing=count)
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


# Verify stops after this many lost objects: with a role down every GET exhausts its
# retries, and a few are proof enough.
MAX_LOST = 10


def verify(endpoint, bucket, outdir):
    global events
    events = open(os.path.join(outdir, "events.jsonl"), "a")
    s3 = make_client(endpoint, attempts=3)
    path = os.path.join(outdir, "acked.jsonl")
    objs = [json.loads(line) for line in open(path)] if os.path.exists(path) else []
    lost, wrong, checked = [], [], 0
    for o in objs:
        if len(lost) >= MAX_LOST:
            break
        checked += 1
        try:
            got = s3.get_object(Bucket=bucket, Key=o["key"])["Body"].read()
        except FlexibleChecksumError as e:
            print(f"WRONG BYTES on verify {o['key']!r}: {e}", flush=True)
            wrong.append(o["key"])
            continue
        except Exception as e:  # noqa: BLE001
            lost.append((o["key"], f"{type(e).__name__}: {str(e)[:120]}"))
            continue
        if selftest_once("corrupt-verify"):
            got = flip_one_byte(got)
        if hashlib.md5(got).hexdigest() != o["md5"]:
            print(f"WRONG BYTES on verify {o['key']!r}: got {len(got)} bytes md5 "
                  f"{hashlib.md5(got).hexdigest()}, want {o['size']} bytes md5 {o['md5']}", flush=True)
            wrong.append(o["key"])
    listed = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="load/"):
            listed += page.get("KeyCount", 0)
    except Exception as e:  # noqa: BLE001
        print(f"listing failed: {type(e).__name__}: {str(e)[:200]}", flush=True)
        listed = -1
    res = {"acked": len(objs), "checked": checked,
           "readable_ok": checked - len(lost) - len(wrong),
           "lost": len(lost), "wrong_bytes": len(wrong), "listed": listed,
           "lost_keys": lost, "wrong_keys": wrong[:10]}
    with open(os.path.join(outdir, "verify.json"), "w") as f:
        json.dump(res, f)
    print(json.dumps(res))
    # A put that failed at the client may still have been stored (listed > acked is fine).
    sys.exit(1 if lost or wrong or listed < len(objs) else 0)


def record(checks, ok, name, figures):
    with open(checks, "a") as f:
        f.write(f"{'PASS' if ok else 'FAIL'}\t{name}\t{figures}\n")


def judge(outdir, checks, window, min_puts, min_ratio):
    def load_jsonl(name):
        p = os.path.join(outdir, name)
        return [json.loads(line) for line in open(p)] if os.path.exists(p) else []

    events_ = load_jsonl("events.jsonl")
    acked = load_jsonl("acked.jsonl")
    totals = {}
    if os.path.exists(os.path.join(outdir, "load.json")):
        totals = json.load(open(os.path.join(outdir, "load.json")))
    kinds = collections.Counter(e["kind"] for e in events_)

    wrong = [e for e in events_ if e["kind"] == "get_wrong_bytes"]
    record(checks, not wrong, "load: GET bytes equal to the bytes PUT",
           f"{len(wrong)} wrong of {totals.get('get_attempted', 0)} GETs"
           + "".join(f"; {e['key']!r} {e['bytes_differing']} byte(s) differ from offset {e['first_offset']}"
                     if e.get("bytes_differing") is not None else f"; {e['key']!r} {e.get('msg', '')}"
                     for e in wrong[:3]))
    etags = [e for e in events_ if e["kind"] == "put_wrong_etag"]
    record(checks, not etags, "load: PUT ETag is the MD5 of the body",
           f"{len(etags)} wrong of {totals.get('put_ok', 0)} acknowledged"
           + "".join(f"; {e['key']!r} got {e['etag']} want {e['md5']}" for e in etags[:3]))

    for op, ok_key in (("PUT", "put_ok"), ("GET", "get_ok")):
        attempted = totals.get(op.lower() + "_attempted", 0)
        ok = totals.get(ok_key, 0)
        ratio = ok / attempted if attempted else 0.0
        failed = kinds[op.lower() + "_failed"]
        record(checks, attempted > 0 and ratio >= min_ratio,
               f"load: >= {min_ratio:.0%} of attempted {op}s succeed (after SDK retries)",
               f"{ok}/{attempted} = {ratio:.1%}; {failed} failed after retries")

    # Acknowledged PUTs in the window after each mark: a gateway that stops taking
    # writes after a disruption has none there, whatever the totals say.
    for m in (e for e in events_ if e["kind"] == "window"):
        t0, t1 = m["t"], m["t"] + window
        n = sum(1 for a in acked if t0 <= a.get("t_done", a["t"]) < t1)
        nf = sum(1 for e in events_ if e["kind"] == "put_failed" and t0 <= e["t"] < t1)
        record(checks, n >= min_puts,
               f"load: >= {min_puts} PUTs acknowledged within {window:g}s {m['what']}",
               f"{n} acknowledged, {nf} failed after retries")

    print(f"load: {totals.get('put_ok', 0)} puts acknowledged ({totals.get('bytes_put', 0) / 1048576:.1f} MiB) "
          f"of {totals.get('put_attempted', 0)}, {totals.get('get_ok', 0)} gets verified of "
          f"{totals.get('get_attempted', 0)}")
    print("attempts that failed and were retried by the SDK: %d" % kinds["attempt_failed"])
    start = next((e["t"] for e in events_ if e["kind"] == "load_started"), None)
    if start is not None and acked:
        per_s = collections.Counter(int(a.get("t_done", a["t"]) - start) for a in acked)
        print("PUTs acknowledged per second of the load phase: "
              + " ".join(str(per_s[i]) for i in range(max(per_s) + 1)))
    marks = sorted((e for e in events_ if e["kind"] in ("mark", "window")), key=lambda e: e["t"])

    def phase(t):
        last = "steady"
        for m in marks:
            if m["t"] <= t:
                last = m["what"]
        return last

    by = collections.Counter((phase(e["t"]), e.get("op", "?"), e.get("why", e["kind"]))
                             for e in events_ if e["kind"] not in ("mark", "window", "load_started"))
    for (ph, op, why), n in sorted(by.items()):
        print(f"    {n:4d}  {op:10s} {why:40s} [{ph}]")

    ver_path = os.path.join(outdir, "verify.json")
    ver = json.load(open(ver_path)) if os.path.exists(ver_path) else None
    if ver is None:
        record(checks, False, "verify: every acknowledged object reads back intact", "verify did not run")
    else:
        ok = ver["acked"] > 0 and not ver["lost"] and not ver["wrong_bytes"] and ver["listed"] >= ver["acked"]
        stopped = f" (stopped after {MAX_LOST} lost)" if ver["checked"] < ver["acked"] else ""
        record(checks, ok, "verify: every acknowledged object reads back intact",
               f"{ver['acked']} acknowledged, {ver['readable_ok']} right bytes, {ver['lost']} lost{stopped}, "
               f"{ver['wrong_bytes']} wrong bytes, {ver['listed']} listed"
               + "".join(f"; lost {k!r}: {why}" for k, why in ver["lost_keys"][:2])
               + "".join(f"; wrong {k!r}" for k in ver["wrong_keys"][:2]))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "run":
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif cmd == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "judge":
        judge(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    else:
        sys.exit(f"unknown command {cmd!r}")
