//! Interop (contract 1, native objects): an object written through S3 is an ordinary
//! NATS Object Store object that async-nats reads byte for byte, and an object written
//! with async-nats is served through S3.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{md5_hex, nats_bucket, random_bytes, Gateway, GatewayOptions, NatsServer};
use tokio::io::AsyncReadExt;

// Reading the way any NATS client does (consumer per read, digest check) is the point.
#[allow(clippy::disallowed_methods)]
async fn read_nats_object(js: &async_nats::jetstream::Context, bucket: &str, key: &str) -> Vec<u8> {
    let store = js
        .get_object_store(bucket)
        .await
        .unwrap_or_else(|e| panic!("object store {bucket}: {e}"));
    let mut obj = store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e}"));
    let mut data = Vec::new();
    obj.read_to_end(&mut data).await.expect("read nats object");
    data
}

/// The harness itself: a nats-server with JetStream on a free port, cleaned up on drop.
#[tokio::test]
async fn harness_nats_server_object_store_round_trip() {
    let nats = NatsServer::start();
    let js = nats.jetstream().await;
    let store = js
        .create_object_store(async_nats::jetstream::object_store::Config {
            bucket: "harness".into(),
            ..Default::default()
        })
        .await
        .expect("create object store");
    let data = random_bytes(300_000, 7);
    store
        .put("a/b.bin", &mut data.as_slice())
        .await
        .expect("put");
    assert_eq!(read_nats_object(&js, "harness", "a/b.bin").await, data);
}

#[tokio::test]
async fn object_written_through_s3_is_read_by_async_nats() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let s3 = g.client();
    let js = g.nats.jetstream().await;
    // A dotted S3 bucket maps to a NATS bucket with `_`.
    let bucket = format!("{}.interop", common::unique_bucket("s3"));
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("small.txt", b"hello nats".to_vec()),
        ("empty", Vec::new()),
        (
            "dir/sub/three-chunks.bin",
            random_bytes(3 * 1024 * 1024 + 17, 1),
        ),
        ("key with spaces+plus=eq%pct/ünïcødé", random_bytes(1000, 2)),
    ];
    for (key, data) in &cases {
        s3.put_object()
            .bucket(&bucket)
            .key(*key)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
        let got = read_nats_object(&js, &nats_bucket(&bucket), key).await;
        assert_eq!(got.len(), data.len(), "{key}: length via async-nats");
        assert_eq!(md5_hex(&got), md5_hex(data), "{key}: bytes via async-nats");
    }

    // The NATS object's info carries the size.
    let store = js
        .get_object_store(nats_bucket(&bucket))
        .await
        .expect("store");
    let info = store.info("dir/sub/three-chunks.bin").await.expect("info");
    assert_eq!(info.size, 3 * 1024 * 1024 + 17);
}

#[tokio::test]
async fn object_written_with_async_nats_is_served_through_s3() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let s3 = g.client();
    let js = g.nats.jetstream().await;
    let bucket = g.bucket("nats").await;
    let store = js
        .get_object_store(nats_bucket(&bucket))
        .await
        .expect("S3 bucket is a NATS object store");

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("plain.txt", b"written by async-nats".to_vec()),
        (
            "deep/path/with_under-score=eq.bin",
            random_bytes(2 * 1024 * 1024 + 5, 3),
        ),
    ];
    for (key, data) in &cases {
        store
            .put(*key, &mut data.as_slice())
            .await
            .unwrap_or_else(|e| panic!("nats put {key}: {e}"));
        let head = s3
            .head_object()
            .bucket(&bucket)
            .key(*key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("head {key}: {e:?}"));
        assert_eq!(head.content_length(), Some(data.len() as i64), "{key}");
        let got = s3
            .get_object()
            .bucket(&bucket)
            .key(*key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"))
            .body
            .collect()
            .await
            .expect("read body")
            .into_bytes();
        assert_eq!(md5_hex(&got), md5_hex(data), "{key}: bytes via S3");
    }

    // And it shows up in a listing, immediately.
    let list = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = list.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["deep/path/with_under-score=eq.bin", "plain.txt"]);

    // A NATS bucket created outside S3 with a valid S3 name is an S3 bucket.
    let outside = common::unique_bucket("outside");
    js.create_object_store(async_nats::jetstream::object_store::Config {
        bucket: nats_bucket(&outside),
        ..Default::default()
    })
    .await
    .expect("create object store");
    common::poll(
        "bucket created in NATS visible in S3",
        Duration::from_secs(10),
        || {
            let s3 = s3.clone();
            let outside = outside.clone();
            async move {
                s3.head_bucket()
                    .bucket(&outside)
                    .send()
                    .await
                    .ok()
                    .map(|_| ())
            }
        },
    )
    .await;
}
