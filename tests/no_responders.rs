//! Contract 5, no responders: a request whose role no worker serves is answered at
//! once with a retriable `503 ServiceUnavailable` in S3 XML, and the edge's log names
//! the missing role. Real nats-server, real edge, raw HTTP and aws-sdk-s3.

mod common;

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use common::{jetgate_bin, raw_http, Gateway, GatewayOptions, NatsServer, Proc, STARTUP_TIMEOUT};

/// The whole S3 error document jetgate sends for a missing role.
fn unavailable_xml(resource: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ServiceUnavailable</Code>\
         <Message>Please reduce your request rate or retry: the service is unavailable.</Message>\
         <Resource>{resource}</Resource><RequestId>{request_id}</RequestId></Error>"
    )
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Waits for the edge's warning about `role`; returns the line.
fn role_warning(edge: &Proc, role: &str) -> String {
    let needle = format!("role={role}");
    edge.wait_matching(Duration::from_secs(30), |l| {
        (l.contains("no responders for role") && l.contains(&needle)).then(|| l.to_string())
    })
    .unwrap_or_else(|e| {
        panic!(
            "no log line naming the {role} role: {e}\n{}",
            edge.log_tail(20)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_without_workers_answers_503_and_names_the_role() {
    let nats = NatsServer::start();
    let dir = common::temp_dir("noresp-");
    let edge = Proc::spawn(
        "jetgate-edge",
        &jetgate_bin(),
        &[
            "edge".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--nats-url".into(),
            nats.url().into(),
        ],
        &[("RUST_LOG", "info")],
        dir.path().join("edge.log"),
    );
    let endpoint = edge
        .wait_for_line("endpoint: ", STARTUP_TIMEOUT)
        .trim()
        .to_string();
    let addr = endpoint.trim_start_matches("http://").to_string();

    // ListBuckets goes to the listing role, GetObject to the object role.
    for (path, resource, role) in [
        ("/", "/", "listing"),
        ("/some-bucket/some/key", "/some-bucket/some/key", "object"),
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let (status, h, body) = raw_http(&addr, req.as_bytes()).await;
        let body = String::from_utf8_lossy(&body).to_string();
        assert_eq!(status, 503, "GET {path}: {body}");
        assert_eq!(header(&h, "content-type"), Some("application/xml"));
        let id = header(&h, "x-amz-request-id").expect("x-amz-request-id");
        assert_eq!(body, unavailable_xml(resource, id), "GET {path}");
        let line = role_warning(&edge, role);
        println!("edge log: {line}");
    }

    // A signed SDK call gets the same, as a retriable error it can read.
    let s3 = common::s3_client(&endpoint, common::ACCESS_KEY, common::SECRET_KEY, |c| {
        c.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
    });
    let e = s3
        .list_buckets()
        .send()
        .await
        .expect_err("ListBuckets without workers");
    assert_eq!(e.code(), Some("ServiceUnavailable"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_role_is_503_while_the_others_serve() {
    // The one worker serves auth and listing only: no object role anywhere.
    let g = Gateway::start(GatewayOptions {
        split: true,
        env: vec![("JETGATE_ROLES".into(), "auth,listing".into())],
        ..Default::default()
    })
    .await;
    let s3 = g.client_with(common::ACCESS_KEY, common::SECRET_KEY, |c| {
        c.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
    });
    let b = g.bucket("norole").await;
    let e = s3
        .put_object()
        .bucket(&b)
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("PutObject without an object role");
    assert_eq!(e.code(), Some("ServiceUnavailable"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503));
    let edge = g.procs().last().expect("edge process");
    role_warning(edge, "object");
    // The roles that are there still answer, and nothing was stored.
    let listed = s3
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .expect("listing still works");
    assert!(listed.contents().is_empty(), "{:?}", listed.contents());
}
