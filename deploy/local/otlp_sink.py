#!/usr/bin/env python3
"""A minimal OTLP/HTTP trace receiver for deploy/local/run.sh (no dependencies).

  otlp_sink.py serve PORT OUTDIR    # accepts POST /v1/traces (protobuf, gzip or not)
  otlp_sink.py report OUTDIR [TRACE_ID CALLER_SPAN_ID]
                                    # decodes what arrived; prints one JSON line
  otlp_sink.py check OUTDIR CHECKS TRACE_ID CALLER_SPAN_ID SERVICES DEADLINE_SECS
                                    # polls until the expectation holds; PASS|FAIL to CHECKS

The report decodes ExportTraceServiceRequest by hand (resource_spans -> resource
attributes service.name, scope_spans -> spans: trace_id, span_id, parent_span_id,
name) and counts traces whose spans come from an edge and a worker, and spans whose
parent is a span of another process (one tree across edge and worker). `check` wants
spans from every service named in SERVICES (comma-separated), and the caller's trace
(traceparent 00-TRACE_ID-CALLER_SPAN_ID-01) drawn as README's Traces section says.
"""
import gzip
import http.server
import json
import os
import sys
import threading
import time


def fields(buf):
    """Yields (field_number, wire_type, value) of one protobuf message."""
    i, n = 0, len(buf)
    while i < n:
        key, i = varint(buf, i)
        fno, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield fno, wt, v


def varint(buf, i):
    shift = res = 0
    while True:
        b = buf[i]
        i += 1
        res |= (b & 0x7F) << shift
        if not b & 0x80:
            return res, i
        shift += 7


def decode(body):
    """[(service, trace_id, span_id, parent_id, name)] of one export request."""
    out = []
    for f, _, rs in fields(body):
        if f != 1:
            continue
        service, spans = "?", []
        for g, _, v in fields(rs):
            if g == 1:  # Resource
                for h, _, kv in fields(v):
                    if h != 1:
                        continue
                    key = val = None
                    for k, _, x in fields(kv):
                        if k == 1:
                            key = x.decode()
                        elif k == 2:
                            for a, _, s in fields(x):
                                if a == 1:
                                    val = s.decode()
                    if key == "service.name" and val:
                        service = val
            elif g == 2:  # ScopeSpans
                for h, _, sp in fields(v):
                    if h != 2:
                        continue
                    d = {}
                    for k, _, x in fields(sp):
                        if k in (1, 2, 4):
                            d[k] = x.hex()
                        elif k == 5:
                            d[k] = x.decode(errors="replace")
                    spans.append(d)
        out += [(service, s.get(1), s.get(2), s.get(4) or "", s.get(5, "")) for s in spans]
    return out


def serve(port, outdir):
    os.makedirs(outdir, exist_ok=True)
    counter = [0]
    lock = threading.Lock()

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            with lock:
                counter[0] += 1
                n = counter[0]
            kind = "json" if "json" in self.headers.get("Content-Type", "") else "pb"
            with open(os.path.join(outdir, f"{n:06d}{self.path.replace('/', '_')}.{kind}"), "wb") as f:
                f.write(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


def is_edge(svc):
    return svc.startswith("jetgate-edge")


def caller_tree(spans, trace_id, caller_span):
    """Checks the trace a caller started with traceparent 00-trace_id-caller_span-01,
    as README's Traces section draws it: exactly one edge `s3.request` span, child of
    the caller's span; edge `nats.request` hops under it; worker spans under those hops;
    a worker calling another role (the data worker asking auth) across processes;
    `jetstream.*` spans in a worker; every span's parent inside the trace (one tree).
    Returns the figures and a list of what is missing."""
    mine = [s for s in spans if s[1] == trace_id]
    by_id = {s[2]: s for s in mine}
    roots = [s for s in mine if s[3] == caller_span]
    orphans = [f"{s[0]}:{s[4]}" for s in mine if s[3] != caller_span and s[3] not in by_id]
    root = roots[0] if len(roots) == 1 else None
    hops = [s for s in mine if root and s[3] == root[2] and is_edge(s[0])]
    hop_ids = {s[2] for s in hops}
    worker_tops = [s for s in mine if not is_edge(s[0]) and s[3] in hop_ids]
    worker_services = sorted({s[0] for s in mine if not is_edge(s[0])})
    # A worker span whose parent is a span of another worker process: data -> auth.
    worker_to_worker = [s for s in mine if not is_edge(s[0]) and s[3] in by_id
                        and not is_edge(by_id[s[3]][0]) and by_id[s[3]][0] != s[0]]
    js = [s for s in mine if not is_edge(s[0]) and s[4].startswith("jetstream.")]
    missing = []
    if not mine:
        missing.append("no span of the caller's trace")
    if len(roots) != 1:
        missing.append(f"{len(roots)} spans are children of the caller's span, want 1")
    elif not (is_edge(root[0]) and root[4] == "s3.request"):
        missing.append(f"caller's child is {root[0]}:{root[4]}, want an edge s3.request")
    if orphans:
        missing.append(f"spans whose parent is not in the trace: {orphans[:5]}")
    if not hops:
        missing.append("no edge span under s3.request (the NATS hop)")
    if not worker_tops:
        missing.append("no worker span under an edge NATS hop")
    if not worker_to_worker:
        missing.append("no worker span under another worker's span (data -> auth)")
    if not js:
        missing.append("no jetstream.* span in a worker")
    return {"spans": len(mine), "root": root[4] if root else None,
            "edge_hops": sorted({s[4] for s in hops}),
            "worker_spans_under_edge": sorted({f"{s[0]}:{s[4]}" for s in worker_tops}),
            "worker_services": worker_services,
            "worker_to_worker": sorted({f"{by_id[s[3]][0]}->{s[0]}" for s in worker_to_worker}),
            "jetstream_spans": sorted({s[4] for s in js}),
            "orphans": len(orphans)}, missing


def load_spans(outdir):
    spans, errors = [], 0
    files = sorted(os.listdir(outdir)) if os.path.isdir(outdir) else []
    for name in files:
        if "traces" not in name or not name.endswith(".pb"):
            continue
        try:
            spans += decode(open(os.path.join(outdir, name), "rb").read())
        except (ValueError, IndexError, UnicodeDecodeError):
            errors += 1
    return spans, len(files), errors


def report(outdir, trace_id=None, caller_span=None, services=()):
    """Figures of what arrived, and what is missing against the expectation."""
    spans, exports, errors = load_spans(outdir)
    by_trace, owner = {}, {}
    for svc, tid, sid, parent, _ in spans:
        by_trace.setdefault(tid, set()).add(svc)
        owner[sid] = svc
    across = sum(1 for s in by_trace.values() if any(is_edge(x) for x in s) and any(not is_edge(x) for x in s))
    linked = sum(1 for svc, _, _, parent, _ in spans
                 if parent and parent in owner and owner[parent] != svc)
    seen = sorted({s[0] for s in spans})
    out = {"exports": exports, "undecodable": errors, "spans": len(spans), "services": seen,
           "traces": len(by_trace), "traces_across_edge_and_worker": across,
           "spans_with_parent_in_another_process": linked}
    missing = []
    if errors:
        missing.append(f"{errors} undecodable exports")
    absent = [s for s in services if s not in seen]
    if absent:
        missing.append(f"no spans from {absent}")
    if not across:
        missing.append("no trace holds spans of both an edge and a worker")
    if not linked:
        missing.append("no span has its parent in another process")
    if trace_id:
        out["caller_trace"], more = caller_tree(spans, trace_id, caller_span)
        missing += [f"caller's trace: {m}" for m in more]
    return out, missing


def check(outdir, checks, trace_id, caller_span, services, deadline):
    """Polls until what arrived meets the expectation or DEADLINE passes (spans come in
    batches), prints the figures and appends one PASS|FAIL line to CHECKS."""
    services = [s for s in services.split(",") if s]
    end = time.time() + float(deadline)
    while True:
        out, missing = report(outdir, trace_id, caller_span, services)
        if not missing or time.time() >= end:
            break
        time.sleep(0.5)
    print(json.dumps(out))
    figures = (f"{out['spans']} spans from {len(out['services'])} services, "
               f"{out['traces_across_edge_and_worker']} traces across edge and worker; caller's trace "
               f"{out['caller_trace']['spans']} spans in one tree") if not missing else "; ".join(missing)
    with open(checks, "a") as f:
        f.write(f"{'FAIL' if missing else 'PASS'}\ttraces: edge and worker spans at the OTLP receiver, "
                f"one tree per request\t{figures}\n")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "check":
        check(*sys.argv[2:8])
    else:
        print(json.dumps(report(*sys.argv[2:5])[0]))
