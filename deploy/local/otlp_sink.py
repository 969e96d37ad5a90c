#!/usr/bin/env python3
"""A minimal OTLP/HTTP trace receiver for deploy/local/run.sh (no dependencies).

  otlp_sink.py serve PORT OUTDIR    # accepts POST /v1/traces (protobuf, gzip or not)
  otlp_sink.py report OUTDIR [TRACE_ID CALLER_SPAN_ID]
                                    # decodes what arrived; prints one JSON line

The report decodes ExportTraceServiceRequest by hand (resource_spans -> resource
attributes service.name, scope_spans -> spans: trace_id, span_id, parent_span_id,
name) and counts traces whose spans come from more than one service, and worker
spans whose parent is a span of another process (one tree across edge and worker).
Given the ids of a caller's traceparent, it also checks that trace: rooted at an edge
span whose parent is the caller's span, one tree, worker spans under edge spans.
"""
import gzip
import http.server
import json
import os
import sys
import threading


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


def caller_tree(spans, trace_id, caller_span):
    """Checks the trace a caller started with traceparent 00-trace_id-caller_span-01:
    one edge span is the child of the caller's span, every other span's parent is in
    the trace (one tree), and worker spans hang under edge spans."""
    mine = [s for s in spans if s[1] == trace_id]
    ids = {s[2]: s[0] for s in mine}
    roots = [s for s in mine if s[3] == caller_span]
    orphans = [s[4] for s in mine if s[3] != caller_span and s[3] not in ids]
    edge = lambda svc: svc.startswith("jetgate-edge")
    workers = sorted({s[0] for s in mine if not edge(s[0])})
    under_edge = [s for s in mine if not edge(s[0]) and edge(ids.get(s[3], ""))]
    ok = (len(roots) == 1 and edge(roots[0][0]) and not orphans
          and len(workers) >= 2 and bool(under_edge))
    return {"ok": ok, "spans": len(mine), "root": roots[0][4] if len(roots) == 1 else None,
            "roots": len(roots), "orphans": orphans, "worker_services": workers,
            "worker_spans_under_edge": len(under_edge)}


def report(outdir, trace_id=None, caller_span=None):
    spans, errors = [], 0
    files = sorted(os.listdir(outdir)) if os.path.isdir(outdir) else []
    for name in files:
        if "traces" not in name or not name.endswith(".pb"):
            continue
        try:
            spans += decode(open(os.path.join(outdir, name), "rb").read())
        except (ValueError, IndexError, UnicodeDecodeError):
            errors += 1
    by_trace, owner = {}, {}
    for svc, tid, sid, parent, _ in spans:
        by_trace.setdefault(tid, set()).add(svc)
        owner[sid] = svc
    cross = sum(1 for s in by_trace.values() if len(s) > 1)
    linked = sum(1 for svc, _, _, parent, _ in spans
                 if parent and parent in owner and owner[parent] != svc)
    out = {"exports": len(files), "undecodable": errors, "spans": len(spans),
           "services": sorted({s[0] for s in spans}), "traces": len(by_trace),
           "traces_across_processes": cross,
           "spans_with_parent_in_another_process": linked}
    if trace_id:
        out["caller_trace"] = caller_tree(spans, trace_id, caller_span)
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        report(*sys.argv[2:5])
