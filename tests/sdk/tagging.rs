//! Object tagging (PUT/GET/DELETE, limits and errors, on copy and multipart) through
//! the Rust SDK.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging, TaggingDirective};

use super::*;

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    let tags: Vec<Tag> = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("tag"))
        .collect();
    Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .expect("tagging")
}

async fn tags_of(c: &Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    let out = c
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get tagging {key}: {e:?}"));
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn tagging_round_trip_keeps_the_object() {
    let c = gw().client();
    let b = gw().bucket("tags").await;
    let data = random_bytes(3000, 31);
    c.put_object()
        .bucket(&b)
        .key("t.bin")
        .body(ByteStream::from(data.clone()))
        .tagging("project=blue%20sky&a%26b=c%3Dd")
        .send()
        .await
        .expect("put with tagging");
    assert_eq!(
        tags_of(&c, &b, "t.bin").await,
        pairs(&[("project", "blue sky"), ("a&b", "c=d")])
    );
    let got = c
        .get_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.tag_count(), Some(2));
    let before = (
        got.e_tag().map(str::to_string),
        got.last_modified().cloned(),
    );
    let raw = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(raw.as_ref(), data.as_slice());

    c.put_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .tagging(tagging(&[("k1", "v1"), ("empty", ""), ("ünï", "ç ö/+")]))
        .send()
        .await
        .expect("put tagging");
    assert_eq!(
        tags_of(&c, &b, "t.bin").await,
        pairs(&[("k1", "v1"), ("empty", ""), ("ünï", "ç ö/+")])
    );
    // Only the metadata changed: same bytes, ETag and Last-Modified.
    let got = c
        .get_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.tag_count(), Some(3));
    assert_eq!(
        (
            got.e_tag().map(str::to_string),
            got.last_modified().cloned()
        ),
        before
    );
    assert_eq!(get_bytes(&c, &b, "t.bin").await, data);
    // Tags are not plain headers.
    let head = c
        .head_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("head");
    assert!(head.metadata().is_none_or(|m| m.is_empty()));

    // versionId=null is the only version an unversioned bucket has.
    let out = c
        .get_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .version_id("null")
        .send()
        .await
        .expect("tagging with versionId=null");
    assert_eq!(out.tag_set().len(), 3);

    c.delete_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("delete tagging");
    assert!(tags_of(&c, &b, "t.bin").await.is_empty());
    let got = c
        .get_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.tag_count(), None);

    // A new PUT replaces the tags with its own (none).
    c.put_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .tagging(tagging(&[("x", "1")]))
        .send()
        .await
        .expect("put tagging");
    put(&c, &b, "t.bin", b"new").await;
    assert!(tags_of(&c, &b, "t.bin").await.is_empty());
}

#[tokio::test]
async fn tagging_limits_and_errors() {
    let c = gw().client();
    let b = gw().bucket("tag-limits").await;
    put(&c, &b, "k", b"x").await;
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    let eleven: Vec<(&str, &str)> = eleven
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    let bad: [&[(&str, &str)]; 4] = [
        &eleven,
        &[("a", "1"), ("a", "2")],
        &[(long_key.as_str(), "v")],
        &[("k", long_value.as_str())],
    ];
    for set in bad {
        let r = c
            .put_object_tagging()
            .bucket(&b)
            .key("k")
            .tagging(tagging(set))
            .send()
            .await;
        let (status, code, _) = fail(r);
        assert_eq!(
            (status, code.as_str()),
            (400, "InvalidTag"),
            "{} tags",
            set.len()
        );
    }
    // The limits are inclusive.
    let ok_key = "k".repeat(128);
    let ok_value = "v".repeat(256);
    let ten: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    let mut ten: Vec<(&str, &str)> = ten.iter().map(|k| (k.as_str(), "")).collect();
    ten[0] = (ok_key.as_str(), ok_value.as_str());
    c.put_object_tagging()
        .bucket(&b)
        .key("k")
        .tagging(tagging(&ten))
        .send()
        .await
        .expect("10 tags at the limits");
    assert_eq!(tags_of(&c, &b, "k").await.len(), 10);

    // x-amz-tagging on PUT is checked before anything is stored.
    let header: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    let r = c
        .put_object()
        .bucket(&b)
        .key("not-stored")
        .body(ByteStream::from_static(b"data"))
        .tagging(header.join("&"))
        .send()
        .await;
    assert_eq!(fail(r).1, "InvalidTag");
    assert!(!exists(&c, &b, "not-stored").await);

    let r = c
        .get_object_tagging()
        .bucket(&b)
        .key("missing")
        .send()
        .await;
    let (status, code, _) = fail(r);
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
    let r = c
        .put_object_tagging()
        .bucket(&b)
        .key("missing")
        .tagging(tagging(&[("a", "b")]))
        .send()
        .await;
    let (status, code, _) = fail(r);
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
    let r = c
        .delete_object_tagging()
        .bucket(&b)
        .key("missing")
        .send()
        .await;
    let (status, code, _) = fail(r);
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
}

#[tokio::test]
async fn tagging_on_copy_and_multipart() {
    let c = gw().client();
    let b = gw().bucket("tag-copy").await;
    c.put_object()
        .bucket(&b)
        .key("src")
        .body(ByteStream::from_static(b"source"))
        .tagging("origin=src")
        .send()
        .await
        .expect("put");
    let copy = |dst: &'static str| {
        c.copy_object()
            .bucket(&b)
            .key(dst)
            .copy_source(format!("{b}/src"))
    };
    copy("copied").send().await.expect("copy");
    assert_eq!(tags_of(&c, &b, "copied").await, pairs(&[("origin", "src")]));
    copy("replaced")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("new=1&other=2")
        .send()
        .await
        .expect("copy REPLACE");
    assert_eq!(
        tags_of(&c, &b, "replaced").await,
        pairs(&[("new", "1"), ("other", "2")])
    );
    copy("untagged")
        .tagging_directive(TaggingDirective::Replace)
        .send()
        .await
        .expect("copy REPLACE without tags");
    assert!(tags_of(&c, &b, "untagged").await.is_empty());

    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .tagging("kind=multipart")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("upload id");
    let part = c
        .upload_part()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"only part"))
        .send()
        .await
        .expect("part");
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert_eq!(tags_of(&c, &b, "mp").await, pairs(&[("kind", "multipart")]));
    let r = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp2")
        .tagging("a=1&a=2")
        .send()
        .await;
    assert_eq!(fail(r).1, "InvalidTag");
}

/// Bucket tagging: 404 NoSuchTagSet until set, the set round-trips exactly (empty values
/// included), S3's limits refuse without touching what is stored, DELETE removes it, and
/// the tags sit in the bucket stream's metadata where native NATS tools show them.
#[tokio::test]
async fn bucket_tagging() {
    let c = gw().client();
    let b = gw().bucket("btag").await;
    let get = || c.get_bucket_tagging().bucket(&b).send();
    let (s, code, _) = fail(get().await);
    assert_eq!((s, code.as_str()), (404, "NoSuchTagSet"));

    c.put_bucket_tagging()
        .bucket(&b)
        .tagging(tagging(&[("team", "a & b"), ("empty", "")]))
        .send()
        .await
        .expect("put bucket tagging");
    let stored = |out: aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput| {
        out.tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect::<Vec<_>>()
    };
    let want = vec![
        ("team".to_string(), "a & b".to_string()),
        ("empty".to_string(), String::new()),
    ];
    assert_eq!(stored(get().await.expect("get")), want);

    // 51 tags (more than a bucket may carry) and duplicate keys are refused.
    let names: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let fifty_ok = c
        .put_bucket_tagging()
        .bucket(&b)
        .tagging(tagging(&many[..50]))
        .send()
        .await;
    assert!(fifty_ok.is_ok(), "50 tags: {fifty_ok:?}");
    c.put_bucket_tagging()
        .bucket(&b)
        .tagging(tagging(&[("team", "a & b"), ("empty", "")]))
        .send()
        .await
        .expect("put back");
    for bad in [many.clone(), vec![("dup", "1"), ("dup", "2")]] {
        let (s, code, _) = fail(
            c.put_bucket_tagging()
                .bucket(&b)
                .tagging(tagging(&bad))
                .send()
                .await,
        );
        assert_eq!((s, code.as_str()), (400, "InvalidTag"));
    }
    assert_eq!(stored(get().await.expect("get")), want, "unchanged");

    // Native NATS tools see the tags in the stream's metadata.
    let js = gw().jetstream().await;
    let mut stream = js
        .get_stream(format!("OBJ_{}", common::nats_bucket(&b)))
        .await
        .expect("stream");
    let info = stream.info().await.expect("info");
    assert!(
        info.config
            .metadata
            .get("jetgate.tags")
            .is_some_and(|v| v.contains("a & b")),
        "stream metadata: {:?}",
        info.config.metadata
    );

    c.delete_bucket_tagging()
        .bucket(&b)
        .send()
        .await
        .expect("delete bucket tagging");
    let (s, code, _) = fail(get().await);
    assert_eq!((s, code.as_str()), (404, "NoSuchTagSet"));
    let missing = common::unique_bucket("btag-none");
    let (s, code, _) = fail(c.get_bucket_tagging().bucket(&missing).send().await);
    assert_eq!((s, code.as_str()), (404, "NoSuchBucket"));
}
