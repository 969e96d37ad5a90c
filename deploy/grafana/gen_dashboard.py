#!/usr/bin/env python3
"""Writes dashboards/jetgate.json (run after changing a panel: python3 gen_dashboard.py).
Queries only the metric names jetgate exports (edge: jetgate_edge_*, workers:
jetgate_worker_*, body streams: jetgate_stream_*)."""
import json, os

DS = {"type": "prometheus", "uid": "prometheus"}
panels, y = [], 0


def row(title):
    global y
    panels.append({"type": "row", "title": title, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "id": len(panels) + 1, "panels": []})
    y += 1


def ts(title, targets, unit="short", w=12, x=0, desc="", stack=False):
    panels.append({
        "type": "timeseries", "title": title, "description": desc, "datasource": DS,
        "id": len(panels) + 1, "gridPos": {"h": 8, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit, "custom": {
            "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
            "stacking": {"mode": "normal" if stack else "none"}}}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "max"]},
                    "tooltip": {"mode": "multi"}},
        "targets": [{"datasource": DS, "expr": e, "legendFormat": l, "refId": chr(65 + i)}
                    for i, (e, l) in enumerate(targets)],
    })


def stat(title, expr, unit="short", x=0, w=6, thresholds=None):
    panels.append({
        "type": "stat", "title": title, "datasource": DS, "id": len(panels) + 1,
        "gridPos": {"h": 4, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps":
            thresholds or [{"color": "green", "value": None}]}}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"},
        "targets": [{"datasource": DS, "expr": expr, "refId": "A"}],
    })


red = lambda v: [{"color": "green", "value": None}, {"color": "red", "value": v}]
row("Overview")
stat("Requests/s", 'sum(rate(jetgate_edge_requests_total[$__rate_interval]))', "reqps", 0)
stat("5xx ratio", 'sum(rate(jetgate_edge_requests_total{status=~"5.."}[$__rate_interval])) / '
     'clamp_min(sum(rate(jetgate_edge_requests_total[$__rate_interval])), 1e-9)', "percentunit", 6,
     thresholds=red(0.01))
stat("In-flight requests", 'sum(jetgate_edge_inflight_requests)', "short", 12)
stat("No responders /s", 'sum(rate(jetgate_edge_nats_unavailable_total[$__rate_interval]))', "reqps", 18,
     thresholds=red(0.001))
y += 4
row("Edge (S3 side)")
ts("Requests by operation", [('sum by (operation) (rate(jetgate_edge_requests_total[$__rate_interval]))', "{{operation}}")], "reqps", x=0, stack=True)
ts("Requests by status", [('sum by (status) (rate(jetgate_edge_requests_total[$__rate_interval]))', "{{status}}")], "reqps", x=12, stack=True)
y += 8
ts("Latency p50 / p99 by operation", [
    ('histogram_quantile(0.5, sum by (operation, le) (rate(jetgate_edge_request_duration_seconds_bucket[$__rate_interval])))', "p50 {{operation}}"),
    ('histogram_quantile(0.99, sum by (operation, le) (rate(jetgate_edge_request_duration_seconds_bucket[$__rate_interval])))', "p99 {{operation}}")], "s", x=0)
ts("Throughput", [
    ('sum by (operation) (rate(jetgate_edge_bytes_in_total[$__rate_interval]))', "in {{operation}}"),
    ('sum by (operation) (rate(jetgate_edge_bytes_out_total[$__rate_interval]))', "out {{operation}}")], "Bps", x=12)
y += 8
ts("In-flight requests per edge", [('jetgate_edge_inflight_requests', "{{instance}}")], "short", x=0)
ts("Errors by operation and status (4xx/5xx)", [('sum by (operation, status) (rate(jetgate_edge_requests_total{status=~"[45].."}[$__rate_interval]))', "{{operation}} {{status}}")], "reqps", x=12)
y += 8
row("NATS hop (edge -> workers)")
ts("NATS request latency p50 / p99 by role", [
    ('histogram_quantile(0.5, sum by (role, le) (rate(jetgate_edge_nats_request_seconds_bucket[$__rate_interval])))', "p50 {{role}}"),
    ('histogram_quantile(0.99, sum by (role, le) (rate(jetgate_edge_nats_request_seconds_bucket[$__rate_interval])))', "p99 {{role}}")], "s", x=0)
ts("No responders by role (503 ServiceUnavailable)", [('sum by (role) (rate(jetgate_edge_nats_unavailable_total[$__rate_interval]))', "{{role}}")], "reqps", x=12)
y += 8
ts("Body-stream credit stalls (sender waited for the receiver's window)", [('sum by (job, instance) (rate(jetgate_stream_credit_stalls_total[$__rate_interval]))', "{{job}} {{instance}}")], "short", w=24, x=0)
y += 8
row("Workers")
ts("Worker requests by role/endpoint", [('sum by (role, endpoint) (rate(jetgate_worker_requests_total[$__rate_interval]))', "{{role}}.{{endpoint}}")], "reqps", x=0, stack=True)
ts("Worker outcomes", [('sum by (role, outcome) (rate(jetgate_worker_requests_total[$__rate_interval]))', "{{role}} {{outcome}}")], "reqps", x=12)
y += 8
ts("Worker latency p99 by role/endpoint", [('histogram_quantile(0.99, sum by (role, endpoint, le) (rate(jetgate_worker_request_duration_seconds_bucket[$__rate_interval])))', "{{role}}.{{endpoint}}")], "s", x=0)
ts("Load per worker process (queue groups spread it)", [('sum by (instance, role) (rate(jetgate_worker_requests_total[$__rate_interval]))', "{{instance}} {{role}}")], "reqps", x=12)
y += 8

dash = {
    "uid": "jetgate", "title": "jetgate", "tags": ["jetgate", "s3", "nats"],
    "timezone": "browser", "schemaVersion": 39, "version": 1, "editable": True,
    "refresh": "10s", "time": {"from": "now-1h", "to": "now"},
    "templating": {"list": []}, "annotations": {"list": []}, "panels": panels,
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards", "jetgate.json")
with open(out, "w") as f:
    json.dump(dash, f, indent=2)
    f.write("\n")
print(f"wrote {out}: {len(panels)} panels")
