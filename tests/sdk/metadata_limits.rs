//! User metadata within S3's limits is stored whole, however many headers it takes; past
//! them the PUT is refused as S3 refuses it and nothing is stored.

use std::collections::HashMap;

use super::*;

/// 2 KB of user metadata, S3's limit, counted over keys and values.
const LIMIT: usize = 2048;

#[tokio::test]
async fn metadata_in_many_headers() {
    let c = gw().client();
    let b = gw().bucket("meta-many").await;
    // 300 headers: three times hyper's default header limit, 1.7 KB of metadata.
    let many: HashMap<String, String> = (0..300).map(|i| (format!("k{i}"), "v".into())).collect();
    let size: usize = many.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(size <= LIMIT, "{size} bytes");
    c.put_object()
        .bucket(&b)
        .key("many")
        .set_metadata(Some(many.clone()))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("PUT with 300 x-amz-meta-* headers");
    // Read back as a native NATS client sees it: the Rust SDK's and Python's HTTP
    // clients refuse a response of more than 100 headers, whoever sends it.
    let store = gw()
        .jetstream()
        .await
        .get_object_store(common::nats_bucket(&b))
        .await
        .expect("object store");
    let info = store.info("many").await.expect("object info");
    let headers = info.headers.expect("stored headers");
    let stored: HashMap<String, String> = headers
        .iter()
        .filter_map(|(name, values)| {
            let name = name.to_string().to_ascii_lowercase();
            let key = name.strip_prefix("x-amz-meta-")?.to_string();
            Some((key, values.first()?.as_str().to_string()))
        })
        .collect();
    assert_eq!(stored, many, "metadata stored");

    let too_much: HashMap<String, String> = [("big".to_string(), "x".repeat(LIMIT))]
        .into_iter()
        .collect();
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("too-much")
            .set_metadata(Some(too_much))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (400, "MetadataTooLarge"));
    assert_eq!(list_keys(&c, &b).await, ["many"]);
}
