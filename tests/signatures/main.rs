//! Every signature form jetgate accepts, end to end: real clients where one sends the
//! form (restic, the Rust SDK, boto3, s3cmd, minio-py), and crafted requests whose twin
//! with one byte changed must be refused with S3's exact error and leave nothing stored.
//! One gateway for the binary, one bucket per test.

#[path = "../common/mod.rs"]
mod common;

mod chunked;
mod clients;
mod forged;
mod golden;
mod python;
mod sigv2;
mod sigv4;
mod trailer;

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{
    chunk_messages, last_sequence, md5_hex, nats_bucket, poll, send, shared, ChunkedPut,
    GatewayOptions, RawResponse, Shared, Signer, ACCESS_KEY, REGION, SECRET_KEY,
};

/// Bodies past this size stream to the worker instead of riding inline in the call.
const INLINE_LIMIT: usize = 128 * 1024;

fn gw() -> &'static Shared {
    shared(GatewayOptions {
        // The janitor must not be what removes a refused upload's chunks: with a day of
        // grace, a chunk count of zero after a refusal is the PUT path's own purge.
        env: vec![("JETGATE_ORPHAN_GRACE_SECS".into(), "86400".into())],
        ..Default::default()
    })
}

fn signer() -> Signer {
    Signer::new(ACCESS_KEY, SECRET_KEY, REGION)
}

/// `127.0.0.1:<port>` of the shared gateway (the Host header crafted requests sign).
fn host() -> String {
    format!("127.0.0.1:{}", gw().port)
}

/// Sends a crafted request to the shared gateway.
async fn send_gw(req: &common::RawRequest) -> RawResponse {
    send(&host(), req).await
}

/// The object reads back byte for byte with the MD5 ETag.
async fn assert_stored(bucket: &str, key: &str, data: &[u8]) {
    let got = gw()
        .client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"));
    assert_eq!(
        got.e_tag(),
        Some(format!("\"{}\"", md5_hex(data)).as_str()),
        "{bucket}/{key}: ETag"
    );
    assert_eq!(got.content_length(), Some(data.len() as i64));
    let body = got.body.collect().await.expect("read body").into_bytes();
    assert!(
        body.as_ref() == data,
        "{bucket}/{key}: {} bytes read back differ from the {} sent",
        body.len(),
        data.len()
    );
}

/// GET answers 404 NoSuchKey.
async fn assert_absent(bucket: &str, key: &str) {
    let e = gw()
        .client()
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect_err("the key must not exist");
    let status = e.raw_response().map(|r| r.status().as_u16());
    assert_eq!(
        (status, e.code()),
        (Some(404), Some("NoSuchKey")),
        "{bucket}/{key}: {e:?}"
    );
}

/// The bucket's stream holds no chunk message (polled: the refusal may reach the client
/// a moment before the purge lands; the janitor is off, see [`gw`]).
async fn assert_no_chunks(bucket: &str) {
    let js = gw().jetstream().await;
    let nb = nats_bucket(bucket);
    poll("no chunk messages left", Duration::from_secs(10), || {
        let js = js.clone();
        let nb = nb.clone();
        async move {
            let n = chunk_messages(&js, &nb).await;
            (n == 0).then_some(())
        }
    })
    .await;
}

/// Messages ever published to the bucket's stream (chunks and metadata, purged or not).
async fn published(bucket: &str) -> u64 {
    last_sequence(&gw().jetstream().await, &nats_bucket(bucket)).await
}

/// Sends the crafted request, expects `status`/`code`, and checks that `key` does not
/// exist and the bucket holds no chunks. The bucket must hold nothing else.
async fn assert_refused(put: &ChunkedPut, bucket: &str, key: &str, status: u16, code: &str) {
    let r = send_gw(&put.request()).await;
    assert_eq!(
        r.status_code(),
        (status, code.to_string()),
        "crafted twin of {bucket}/{key}: {}",
        r.text()
    );
    assert_absent(bucket, key).await;
    assert_no_chunks(bucket).await;
}

/// Sends the crafted request and expects 200 with the MD5 ETag, then reads it back.
async fn assert_accepted(put: &ChunkedPut, bucket: &str, key: &str, data: &[u8]) {
    let r = send_gw(&put.request()).await;
    assert_eq!(
        r.status_code(),
        (200, String::new()),
        "crafted {bucket}/{key}: {}",
        r.text()
    );
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", md5_hex(data)).as_str())
    );
    assert_stored(bucket, key, data).await;
}
