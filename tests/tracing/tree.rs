//! One trace per S3 request: the spans of the edge and worker processes form one tree
//! that continues the caller's `traceparent`; a stopped edge flushes what it holds.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

use super::common::{self, Gateway, GatewayOptions};
use super::receiver::{Receiver, Span};

/// What is still missing from the trace of the request sent with `caller`'s context;
/// an empty list when the trace is complete and forms one tree under the caller.
fn check_trace(spans: &[Span], trace_id: &str, caller_span: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
    let ids: HashSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    let roots: Vec<&&Span> = trace.iter().filter(|s| s.parent == caller_span).collect();
    if roots.len() != 1 {
        missing.push(format!(
            "exactly one span whose parent is the caller's span (found {})",
            roots.len()
        ));
    } else {
        let root = roots[0];
        if root.service != "jetgate-edge" || root.name != "s3.request" {
            missing.push(format!("the edge's S3 span as root (root: {root:?})"));
        }
        for (k, v) in [("operation", "GetObject"), ("status", "200")] {
            if root.attrs.get(k).map(String::as_str) != Some(v) {
                missing.push(format!("root attribute {k}={v} ({:?})", root.attrs));
            }
        }
        if !root.attrs.contains_key("bucket") {
            missing.push("root attribute bucket".into());
        }
    }
    for s in &trace {
        if s.parent != caller_span && !ids.contains(s.parent.as_str()) {
            missing.push(format!("the parent of {} ({})", s.name, s.parent));
        }
    }
    let worker = |role: &str| {
        trace.iter().any(|s| {
            s.service == "jetgate-worker"
                && s.attrs.get("role").map(String::as_str) == Some(role)
                && s.attrs.contains_key("worker_id")
                && s.attrs.contains_key("status")
        })
    };
    for role in ["object", "auth"] {
        if !worker(role) {
            missing.push(format!("a {role} worker span with worker_id and status"));
        }
    }
    let hop = trace.iter().any(|s| {
        s.service == "jetgate-edge"
            && s.attrs.get("role").map(String::as_str) == Some("object")
            && s.attrs.contains_key("endpoint")
    });
    if !hop {
        missing.push("the edge's NATS hop span to the object role".into());
    }
    if !trace.iter().any(|s| s.name.starts_with("jetstream.")) {
        missing.push("a JetStream operation span".into());
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_from_edge_and_worker_form_one_tree() {
    let receiver = Receiver::start().await;
    // Auth in one worker process and objects in another, so the object worker asks
    // the auth verifier over NATS (a process hosting both verifies in-process).
    let mut g = Gateway::start(GatewayOptions {
        split: true,
        env: vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), receiver.url.clone()),
            // Export promptly so the test need not wait the default 5 s per batch.
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()),
            ("JETGATE_ROLES".into(), "auth,listing".into()),
        ],
        ..Default::default()
    })
    .await;
    g.start_worker_with_env(&[("JETGATE_ROLES", "multipart,object")]);
    let c = g.client();
    let bucket = g.bucket("trace").await;
    c.put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"traced body"))
        .send()
        .await
        .expect("put");
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("get");
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(&body[..], b"traced body");

    // A presigned GET sent by hand with a caller's traceparent (as Traefik would).
    let presigned = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(600))
                .expect("presign config"),
        )
        .await
        .expect("presign");
    let trace_id = hex::encode(common::random_bytes(16, 7));
    let caller_span = hex::encode(common::random_bytes(8, 8));
    let path = presigned
        .uri()
        .strip_prefix(&g.endpoint)
        .expect("presigned URL on the endpoint")
        .to_string();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\ntraceparent: 00-{trace_id}-{caller_span}-01\r\nConnection: close\r\n\r\n",
        g.addr()
    );
    let (status, _, body) = common::raw_http(&g.addr(), request.as_bytes()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body, b"traced body");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        let services: HashSet<&str> = spans.iter().map(|s| s.service.as_str()).collect();
        let mut missing = check_trace(&spans, &trace_id, &caller_span);
        for svc in ["jetgate-edge", "jetgate-worker"] {
            if !services.contains(svc) {
                missing.push(format!("spans from {svc}"));
            }
        }
        // The SDK's PUT and GET are traces of their own, each rooted at the edge.
        for op in ["PutObject", "GetObject"] {
            let sdk_root = spans.iter().any(|s| {
                s.service == "jetgate-edge"
                    && s.trace_id != trace_id
                    && s.name == "s3.request"
                    && s.attrs.get("operation").map(String::as_str) == Some(op)
            });
            if !sdk_root {
                missing.push(format!("the edge span of the SDK's {op}"));
            }
        }
        if missing.is_empty() {
            let n = spans.iter().filter(|s| s.trace_id == trace_id).count();
            println!(
                "trace {trace_id}: {n} spans in one tree; {} spans in {} export requests",
                spans.len(),
                *receiver.requests.lock().expect("lock")
            );
            break;
        }
        if Instant::now() > deadline {
            let mine: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
            panic!("trace incomplete: {missing:#?}\nspans of the trace: {mine:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_edge_flushes_its_spans() {
    let receiver = Receiver::start().await;
    let mut g = Gateway::start(GatewayOptions {
        split: true,
        env: vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), receiver.url.clone()),
            // Far longer than the test: only the shutdown flush can deliver the spans.
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "600000".into()),
        ],
        ..Default::default()
    })
    .await;
    let c = g.client();
    c.list_buckets().send().await.expect("list buckets");
    assert!(
        !receiver
            .spans()
            .iter()
            .any(|s| s.attrs.get("operation").map(String::as_str) == Some("ListBuckets")),
        "spans arrived before shutdown: the batch delay was not honoured"
    );
    // Split mode starts the worker first and the edge last.
    let edge = g.procs_mut().last_mut().expect("edge process");
    edge.stop(Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !receiver.spans().iter().any(|s| {
        s.service == "jetgate-edge"
            && s.attrs.get("operation").map(String::as_str) == Some("ListBuckets")
    }) {
        assert!(
            Instant::now() < deadline,
            "the stopped edge did not flush its spans"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
