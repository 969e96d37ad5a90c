//! The Rust `aws-sdk-s3` against a real gateway (`jetgate dev` in front of a real
//! nats-server), path-style. One gateway per test binary, one bucket per test.

mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, EncodingType, MetadataDirective,
    ObjectIdentifier,
};
use aws_sdk_s3::Client;
use common::{md5_hex, random_bytes, shared, GatewayOptions, Shared, ACCESS_KEY, SECRET_KEY};

fn gw() -> &'static Shared {
    shared(GatewayOptions::default())
}

/// HTTP status and S3 error code of a failed call.
fn fail<E, R>(
    r: Result<R, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> (
    u16,
    String,
    SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let e = r.expect_err("call should have failed");
    let status = e
        .raw_response()
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|| panic!("no HTTP response: {e:?}"));
    let code = e.code().unwrap_or_default().to_string();
    if let Some(resp) = e.raw_response() {
        assert!(
            resp.headers().get("x-amz-request-id").is_some(),
            "error response without x-amz-request-id: {status} {code}"
        );
    }
    (status, code, e)
}

async fn put(c: &Client, bucket: &str, key: &str, data: &[u8]) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"))
        .e_tag()
        .unwrap_or_default()
        .to_string()
}

async fn get_bytes(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    c.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("read body")
        .into_bytes()
        .to_vec()
}

async fn exists(c: &Client, bucket: &str, key: &str) -> bool {
    match c.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => true,
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(404), "head {key}: {e:?}");
            false
        }
    }
}

async fn list_keys(c: &Client, bucket: &str) -> Vec<String> {
    let out = c
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

#[tokio::test]
async fn bucket_lifecycle() {
    let c = gw().client();
    let b = common::unique_bucket("life");
    let out = c
        .create_bucket()
        .bucket(&b)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from("us-east-1"))
                .build(),
        )
        .send()
        .await
        .expect("create bucket with LocationConstraint body");
    assert!(
        out.request_id().is_some(),
        "x-amz-request-id on CreateBucket"
    );
    c.head_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("head bucket");

    let list = c.list_buckets().send().await.expect("list buckets");
    assert!(list.request_id().is_some());
    let names: Vec<&str> = list.buckets().iter().filter_map(|x| x.name()).collect();
    assert!(names.contains(&b.as_str()), "{b} not in {names:?}");
    for n in &names {
        // Internal stores (credentials, uploads) never show up: every name is a valid S3 name.
        assert!(
            n.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-'),
            "ListBuckets shows a name that is not an S3 bucket: {n}"
        );
    }
    let created = list
        .buckets()
        .iter()
        .find(|x| x.name() == Some(b.as_str()))
        .and_then(|x| x.creation_date());
    assert!(created.is_some(), "CreationDate in ListBuckets");

    let loc = c
        .get_bucket_location()
        .bucket(&b)
        .send()
        .await
        .expect("get bucket location");
    // S3 answers an empty LocationConstraint for us-east-1; "us-east-1" is accepted too.
    let loc = loc
        .location_constraint()
        .map(|l| l.as_str().to_string())
        .unwrap_or_default();
    assert!(loc.is_empty() || loc == "us-east-1", "location {loc:?}");

    put(&c, &b, "k", b"x").await;
    let (status, code, _) = fail(c.delete_bucket().bucket(&b).send().await);
    assert_eq!((status, code.as_str()), (409, "BucketNotEmpty"));
    c.delete_object()
        .bucket(&b)
        .key("k")
        .send()
        .await
        .expect("delete object");
    c.delete_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("delete empty bucket");
    let (status, _, _) = fail(c.head_bucket().bucket(&b).send().await);
    assert_eq!(status, 404);
    let list = c.list_buckets().send().await.expect("list buckets");
    assert!(!list.buckets().iter().any(|x| x.name() == Some(b.as_str())));
}

#[tokio::test]
async fn missing_bucket_and_key_errors() {
    let c = gw().client();
    let missing = common::unique_bucket("nobucket");
    let (status, code, _) = fail(c.get_object().bucket(&missing).key("k").send().await);
    assert_eq!((status, code.as_str()), (404, "NoSuchBucket"));
    let (status, code, _) = fail(c.list_objects_v2().bucket(&missing).send().await);
    assert_eq!((status, code.as_str()), (404, "NoSuchBucket"));
    let (status, code, _) = fail(c.delete_bucket().bucket(&missing).send().await);
    assert_eq!((status, code.as_str()), (404, "NoSuchBucket"));
    let (status, code, _) = fail(
        c.put_object()
            .bucket(&missing)
            .key("k")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchBucket"));

    let b = gw().bucket("nokey").await;
    let (status, code, _) = fail(c.get_object().bucket(&b).key("missing").send().await);
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
    let (status, _, _) = fail(c.head_object().bucket(&b).key("missing").send().await);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_bucket_names_are_rejected() {
    let c = gw().client();
    for name in [
        "Upper-Case",
        "ab",
        "under_score",
        "192.168.5.4",
        "bad..dots",
        "-start",
    ] {
        let (status, code, _) = fail(c.create_bucket().bucket(name).send().await);
        assert_eq!(
            (status, code.as_str()),
            (400, "InvalidBucketName"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn dotted_bucket_names_work() {
    let c = gw().client();
    let b = format!("{}.with.dots", common::unique_bucket("dot"));
    c.create_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("create dotted");
    c.head_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("head dotted");
    put(&c, &b, "a/b", b"dotted").await;
    assert_eq!(get_bytes(&c, &b, "a/b").await, b"dotted");
    assert_eq!(list_keys(&c, &b).await, vec!["a/b"]);
    let list = c.list_buckets().send().await.expect("list buckets");
    assert!(list.buckets().iter().any(|x| x.name() == Some(b.as_str())));
    let v1 = c.list_objects().bucket(&b).send().await.expect("list v1");
    assert_eq!(v1.name(), Some(b.as_str()));
}

#[tokio::test]
async fn object_round_trip_with_headers_and_metadata() {
    let c = gw().client();
    let b = gw().bucket("meta").await;
    let data = random_bytes(100_000, 11);
    let expires = DateTime::from_secs(4_102_444_800); // 2100-01-01
    let before = SystemTime::now() - Duration::from_secs(5);
    let out = c
        .put_object()
        .bucket(&b)
        .key("doc.json")
        .body(ByteStream::from(data.clone()))
        .content_type("application/json")
        .content_encoding("identity")
        .content_disposition("attachment; filename=\"doc.json\"")
        .content_language("de-DE")
        .cache_control("max-age=60")
        .expires(expires)
        .metadata("color", "blue")
        .metadata("two-words", "hello world")
        .send()
        .await
        .expect("put");
    let etag = quoted(&md5_hex(&data));
    assert_eq!(
        out.e_tag(),
        Some(etag.as_str()),
        "ETag is the quoted MD5 hex"
    );
    assert!(out.request_id().is_some());

    let head = c
        .head_object()
        .bucket(&b)
        .key("doc.json")
        .send()
        .await
        .expect("head");
    let got = c
        .get_object()
        .bucket(&b)
        .key("doc.json")
        .send()
        .await
        .expect("get");
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(got.content_length(), Some(data.len() as i64));
    for (what, h, g) in [
        ("etag", head.e_tag(), got.e_tag()),
        ("content-type", head.content_type(), got.content_type()),
        (
            "content-encoding",
            head.content_encoding(),
            got.content_encoding(),
        ),
        (
            "content-disposition",
            head.content_disposition(),
            got.content_disposition(),
        ),
        (
            "content-language",
            head.content_language(),
            got.content_language(),
        ),
        ("cache-control", head.cache_control(), got.cache_control()),
    ] {
        let want = match what {
            "etag" => etag.as_str(),
            "content-type" => "application/json",
            "content-encoding" => "identity",
            "content-disposition" => "attachment; filename=\"doc.json\"",
            "content-language" => "de-DE",
            _ => "max-age=60",
        };
        assert_eq!(h, Some(want), "HEAD {what}");
        assert_eq!(g, Some(want), "GET {what}");
    }
    assert_eq!(head.expires_string(), Some("Fri, 01 Jan 2100 00:00:00 GMT"));
    assert_eq!(got.expires_string(), Some("Fri, 01 Jan 2100 00:00:00 GMT"));
    let meta = head.metadata().expect("metadata");
    assert_eq!(meta.get("color").map(String::as_str), Some("blue"));
    assert_eq!(
        meta.get("two-words").map(String::as_str),
        Some("hello world")
    );
    assert_eq!(got.metadata(), head.metadata());
    let lm = head.last_modified().expect("Last-Modified");
    let lm = SystemTime::try_from(*lm).expect("time");
    assert!(
        lm >= before && lm <= SystemTime::now() + Duration::from_secs(5),
        "Last-Modified {lm:?}"
    );
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(md5_hex(&body), md5_hex(&data));

    // Overwrite: the new object wins, including its metadata.
    let out = c
        .put_object()
        .bucket(&b)
        .key("doc.json")
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .expect("overwrite");
    assert_eq!(out.e_tag(), Some(quoted(&md5_hex(b"v2")).as_str()));
    let head = c
        .head_object()
        .bucket(&b)
        .key("doc.json")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(2));
    assert!(head.metadata().map(|m| m.is_empty()).unwrap_or(true));
    assert_ne!(head.content_type(), Some("application/json"));
}

#[tokio::test]
async fn empty_object() {
    let c = gw().client();
    let b = gw().bucket("empty").await;
    let etag = put(&c, &b, "zero", b"").await;
    assert_eq!(etag, quoted("d41d8cd98f00b204e9800998ecf8427e"));
    let head = c
        .head_object()
        .bucket(&b)
        .key("zero")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(0));
    assert!(get_bytes(&c, &b, "zero").await.is_empty());
}

#[tokio::test]
async fn streaming_upload_and_download_of_a_file() {
    let c = gw().client();
    let b = gw().bucket("stream").await;
    let dir = common::temp_dir("sdk-stream-");
    let path = dir.path().join("data.bin");
    let size = 24 * 1024 * 1024 + 123;
    let md5 = common::write_random_file(&path, size, 5);
    let body = ByteStream::from_path(&path).await.expect("file body");
    let out = c
        .put_object()
        .bucket(&b)
        .key("big/file.bin")
        .body(body)
        .send()
        .await
        .expect("streamed put");
    assert_eq!(out.e_tag(), Some(quoted(&md5).as_str()));

    let mut got = c
        .get_object()
        .bucket(&b)
        .key("big/file.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.content_length(), Some(size as i64));
    use md5::Digest;
    let mut h = md5::Md5::new();
    let mut n = 0u64;
    while let Some(chunk) = got.body.try_next().await.expect("body chunk") {
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    assert_eq!(n, size);
    assert_eq!(hex::encode(h.finalize()), md5);
}

#[tokio::test]
async fn delete_object_and_missing_key() {
    let c = gw().client();
    let b = gw().bucket("del").await;
    put(&c, &b, "gone", b"x").await;
    c.delete_object()
        .bucket(&b)
        .key("gone")
        .send()
        .await
        .expect("delete");
    assert!(!exists(&c, &b, "gone").await);
    // Deleting a key that does not exist is a success (204).
    let out = c
        .delete_object()
        .bucket(&b)
        .key("never-existed")
        .send()
        .await
        .expect("delete missing key is 204");
    assert!(out.request_id().is_some());
    assert!(list_keys(&c, &b).await.is_empty());
}

#[tokio::test]
async fn delete_objects_plain_and_quiet() {
    let c = gw().client();
    let b = gw().bucket("multidel").await;
    for k in ["a", "b", "c", "d", "dir/e f"] {
        put(&c, &b, k, k.as_bytes()).await;
    }
    let ids = |keys: &[&str]| -> Delete {
        Delete::builder()
            .set_objects(Some(
                keys.iter()
                    .map(|k| ObjectIdentifier::builder().key(*k).build().expect("id"))
                    .collect(),
            ))
            .build()
            .expect("delete")
    };
    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(ids(&["a", "b", "missing"]))
        .send()
        .await
        .expect("delete objects");
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    assert_eq!(deleted, vec!["a", "b", "missing"]);
    assert!(out.errors().is_empty(), "{:?}", out.errors());

    let mut del = ids(&["c", "dir/e f"]);
    del.quiet = Some(true);
    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(del)
        .send()
        .await
        .expect("quiet delete");
    assert!(
        out.deleted().is_empty(),
        "Quiet mode lists no deleted keys: {:?}",
        out.deleted()
    );
    assert!(out.errors().is_empty());
    assert_eq!(list_keys(&c, &b).await, vec!["d"]);
}

#[tokio::test]
async fn copy_object_copy_and_replace_directives() {
    let c = gw().client();
    let b = gw().bucket("copy").await;
    let b2 = gw().bucket("copydst").await;
    let src_key = "src dir/ü+=%.txt";
    let data = random_bytes(70_000, 3);
    c.put_object()
        .bucket(&b)
        .key(src_key)
        .body(ByteStream::from(data.clone()))
        .content_type("text/plain")
        .metadata("origin", "source")
        .send()
        .await
        .expect("put source");
    let source = format!(
        "{b}/{}",
        src_key
            .bytes()
            .map(|ch| match ch {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                    (ch as char).to_string()
                }
                _ => format!("%{ch:02X}"),
            })
            .collect::<String>()
    );

    // Default directive: COPY — metadata and Content-Type travel with the bytes.
    let out = c
        .copy_object()
        .bucket(&b2)
        .key("copied")
        .copy_source(&source)
        .send()
        .await
        .expect("copy");
    let etag = quoted(&md5_hex(&data));
    assert_eq!(
        out.copy_object_result().and_then(|r| r.e_tag()),
        Some(etag.as_str())
    );
    let head = c
        .head_object()
        .bucket(&b2)
        .key("copied")
        .send()
        .await
        .expect("head copy");
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("source")
    );
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(get_bytes(&c, &b2, "copied").await, data);

    // REPLACE: the request's metadata replaces the source's.
    c.copy_object()
        .bucket(&b)
        .key("replaced")
        .copy_source(&source)
        .metadata_directive(MetadataDirective::Replace)
        .content_type("application/x-new")
        .metadata("fresh", "yes")
        .send()
        .await
        .expect("copy replace");
    let head = c
        .head_object()
        .bucket(&b)
        .key("replaced")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("application/x-new"));
    let meta = head.metadata().expect("metadata");
    assert_eq!(meta.get("fresh").map(String::as_str), Some("yes"));
    assert!(
        !meta.contains_key("origin"),
        "REPLACE kept source metadata: {meta:?}"
    );
    assert_eq!(get_bytes(&c, &b, "replaced").await, data);

    // Copying onto itself with REPLACE updates the metadata in place.
    c.copy_object()
        .bucket(&b)
        .key(src_key)
        .copy_source(&source)
        .metadata_directive(MetadataDirective::Replace)
        .metadata("origin", "rewritten")
        .send()
        .await
        .expect("self copy replace");
    let head = c
        .head_object()
        .bucket(&b)
        .key(src_key)
        .send()
        .await
        .expect("head");
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("rewritten")
    );
    assert_eq!(get_bytes(&c, &b, src_key).await, data);

    let (status, code, _) = fail(
        c.copy_object()
            .bucket(&b)
            .key("x")
            .copy_source(format!("{b}/does-not-exist"))
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
}

#[tokio::test]
async fn ranges() {
    let c = gw().client();
    let b = gw().bucket("range").await;
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    put(&c, &b, "r", &data).await;
    for (range, from, to) in [
        ("bytes=0-9", 0usize, 9usize),
        ("bytes=10-19", 10, 19),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=500-5000", 500, 999),
        ("bytes=999-999", 999, 999),
    ] {
        let out = c
            .get_object()
            .bucket(&b)
            .key("r")
            .range(range)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{range}: {e:?}"));
        assert_eq!(
            out.content_range(),
            Some(format!("bytes {from}-{to}/1000").as_str()),
            "{range}"
        );
        assert_eq!(
            out.content_length(),
            Some((to - from + 1) as i64),
            "{range}"
        );
        let body = out.body.collect().await.expect("body").into_bytes();
        assert_eq!(&body[..], &data[from..=to], "{range}");
    }
    for range in ["bytes=1000-", "bytes=2000-3000"] {
        let (status, code, _) = fail(c.get_object().bucket(&b).key("r").range(range).send().await);
        assert_eq!((status, code.as_str()), (416, "InvalidRange"), "{range}");
    }
}

#[tokio::test]
async fn conditional_get_and_head() {
    let c = gw().client();
    let b = gw().bucket("cond").await;
    let etag = put(&c, &b, "c", b"conditional").await;
    let head = c
        .head_object()
        .bucket(&b)
        .key("c")
        .send()
        .await
        .expect("head");
    let lm = *head.last_modified().expect("last modified");
    let past = DateTime::from_secs(lm.secs() - 3600);
    let future = DateTime::from_secs(lm.secs() + 3600);

    // Matching conditions succeed.
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .send()
        .await
        .expect("If-Match ok");
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_none_match("\"other\"")
        .send()
        .await
        .expect("If-None-Match ok");
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_modified_since(past)
        .send()
        .await
        .expect("If-Modified-Since ok");
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_unmodified_since(future)
        .send()
        .await
        .expect("If-Unmodified-Since ok");
    c.head_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .send()
        .await
        .expect("HEAD If-Match ok");

    let (s, code, _) = fail(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_match("\"nope\"")
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    let (s, _, _) = fail(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_none_match(&etag)
            .send()
            .await,
    );
    assert_eq!(s, 304);
    let (s, _, _) = fail(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_modified_since(future)
            .send()
            .await,
    );
    assert_eq!(s, 304);
    let (s, code, _) = fail(
        c.get_object()
            .bucket(&b)
            .key("c")
            .if_unmodified_since(past)
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    let (s, _, _) = fail(
        c.head_object()
            .bucket(&b)
            .key("c")
            .if_match("\"nope\"")
            .send()
            .await,
    );
    assert_eq!(s, 412);
    let (s, _, _) = fail(
        c.head_object()
            .bucket(&b)
            .key("c")
            .if_none_match(&etag)
            .send()
            .await,
    );
    assert_eq!(s, 304);
    // If-Match wins over If-Unmodified-Since (RFC 7232 §6).
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .if_unmodified_since(past)
        .send()
        .await
        .expect("If-Match true + If-Unmodified-Since false → 200");
}

#[tokio::test]
async fn put_if_none_match_star() {
    let c = gw().client();
    let b = gw().bucket("ifnone").await;
    c.put_object()
        .bucket(&b)
        .key("once")
        .if_none_match("*")
        .body(ByteStream::from_static(b"first"))
        .send()
        .await
        .expect("first conditional put");
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("once")
            .if_none_match("*")
            .body(ByteStream::from_static(b"second"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    assert_eq!(get_bytes(&c, &b, "once").await, b"first");
}

const LIST_KEYS: &[&str] = &[
    "a.txt",
    "b/1.txt",
    "b/2.txt",
    "b/c/3.txt",
    "b/c/4.txt",
    "d e/5.txt",
    "z",
];

async fn fill_listing_bucket(c: &Client, tag: &str) -> String {
    let b = gw().bucket(tag).await;
    for k in LIST_KEYS.iter().rev() {
        put(c, &b, k, k.as_bytes()).await;
    }
    b
}

#[tokio::test]
async fn list_objects_v2() {
    let c = gw().client();
    let b = fill_listing_bucket(&c, "listv2").await;

    let all = c.list_objects_v2().bucket(&b).send().await.expect("list");
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, LIST_KEYS, "lexicographic order");
    assert_eq!(all.key_count(), Some(LIST_KEYS.len() as i32));
    assert_eq!(all.is_truncated(), Some(false));
    let first = &all.contents()[0];
    assert_eq!(first.size(), Some(5));
    assert_eq!(first.e_tag(), Some(quoted(&md5_hex(b"a.txt")).as_str()));
    assert!(first.last_modified().is_some());

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .prefix("b/")
        .send()
        .await
        .expect("prefix");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["b/1.txt", "b/2.txt", "b/c/3.txt", "b/c/4.txt"]);

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .expect("delimiter");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["a.txt", "z"]);
    assert_eq!(prefixes, vec!["b/", "d e/"]);
    assert_eq!(
        out.key_count(),
        Some(4),
        "KeyCount counts keys and common prefixes"
    );

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .prefix("b/")
        .delimiter("/")
        .send()
        .await
        .expect("prefix + delimiter");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["b/1.txt", "b/2.txt"]);
    assert_eq!(prefixes, vec!["b/c/"]);

    // Pagination with max-keys and continuation tokens visits every key once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = c
            .list_objects_v2()
            .bucket(&b)
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        assert!(out.contents().len() <= 2);
        assert_eq!(out.max_keys(), Some(2));
        seen.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        if out.is_truncated() == Some(true) {
            token = out.next_continuation_token().map(str::to_string);
            assert!(
                token.is_some(),
                "truncated page without NextContinuationToken"
            );
        } else {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(seen, LIST_KEYS);
    assert_eq!(pages, 4);

    // Pagination with a delimiter: common prefixes count against max-keys, once each.
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let out = c
            .list_objects_v2()
            .bucket(&b)
            .delimiter("/")
            .max_keys(1)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        entries.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        entries.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string)),
        );
        if out.is_truncated() != Some(true) {
            token = None;
            break;
        }
        token = out.next_continuation_token().map(str::to_string);
    }
    assert!(token.is_none(), "pagination with delimiter does not end");
    assert_eq!(entries, vec!["a.txt", "b/", "d e/", "z"]);

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .start_after("b/c/3.txt")
        .send()
        .await
        .expect("start-after");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, vec!["b/c/4.txt", "d e/5.txt", "z"]);
    assert_eq!(out.start_after(), Some("b/c/3.txt"));

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(0)
        .send()
        .await
        .expect("max-keys 0");
    assert!(out.contents().is_empty());

    let out = c
        .list_objects_v2()
        .bucket(&b)
        .prefix("nothing/")
        .send()
        .await
        .expect("empty");
    assert!(out.contents().is_empty());
    assert_eq!(out.key_count(), Some(0));
}

#[tokio::test]
async fn list_objects_v1() {
    let c = gw().client();
    let b = fill_listing_bucket(&c, "listv1").await;
    let out = c.list_objects().bucket(&b).send().await.expect("list v1");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, LIST_KEYS);
    assert_eq!(out.is_truncated(), Some(false));

    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..10 {
        let out = c
            .list_objects()
            .bucket(&b)
            .max_keys(3)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("page");
        seen.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        if out.is_truncated() != Some(true) {
            marker = None;
            break;
        }
        // Without a delimiter NextMarker is optional: the last key is the marker.
        marker = out
            .next_marker()
            .map(str::to_string)
            .or_else(|| seen.last().cloned());
    }
    assert!(marker.is_none(), "v1 pagination does not end");
    assert_eq!(seen, LIST_KEYS);

    let out = c
        .list_objects()
        .bucket(&b)
        .delimiter("/")
        .max_keys(2)
        .send()
        .await
        .expect("v1 delimiter");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["a.txt"]);
    assert_eq!(prefixes, vec!["b/"]);
    assert_eq!(out.is_truncated(), Some(true));
    assert_eq!(out.next_marker(), Some("b/"), "NextMarker with a delimiter");
    let out = c
        .list_objects()
        .bucket(&b)
        .delimiter("/")
        .marker("b/")
        .send()
        .await
        .expect("v1 delimiter page 2");
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = out
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, vec!["z"]);
    assert_eq!(prefixes, vec!["d e/"]);

    let out = c
        .list_objects()
        .bucket(&b)
        .marker("b/c/4.txt")
        .prefix("b/")
        .send()
        .await
        .expect("marker");
    assert!(out.contents().is_empty());
}

#[tokio::test]
async fn list_encoding_type_url() {
    let c = gw().client();
    let b = gw().bucket("listenc").await;
    let key = "dir one/ä+b=c%d.txt";
    put(&c, &b, key, b"x").await;
    // The SDK URL-decodes keys itself when it asked for encoding-type=url.
    let out = c
        .list_objects_v2()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .expect("list url");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    let keys: Vec<&str> = out.contents().iter().filter_map(|o| o.key()).collect();
    assert!(
        keys == vec![key]
            || keys == vec!["dir+one/%C3%A4%2Bb%3Dc%25d.txt"]
            || keys == vec!["dir%20one/%C3%A4%2Bb%3Dc%25d.txt"],
        "keys {keys:?}"
    );
    let out = c
        .list_objects()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .delimiter("/")
        .send()
        .await
        .expect("list v1 url");
    assert_eq!(out.encoding_type(), Some(&EncodingType::Url));
    assert_eq!(out.common_prefixes().len(), 1);
}

/// Keeps the headers of the last request sent (for failure messages).
#[derive(Debug, Clone, Default)]
struct CaptureHeaders(std::sync::Arc<std::sync::Mutex<String>>);

impl aws_sdk_s3::config::Intercept for CaptureHeaders {
    fn name(&self) -> &'static str {
        "CaptureHeaders"
    }
    fn read_before_transmit(
        &self,
        ctx: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let req = ctx.request();
        let mut text = format!("{} {}\n", req.method(), req.uri());
        for (k, v) in req.headers() {
            text.push_str(&format!("{k}: {v}\n"));
        }
        *self.0.lock().expect("capture lock") = text;
        Ok(())
    }
}

/// GET (or `method`) of an absolute http URL with no extra headers.
async fn get_url(uri: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    request_url("GET", uri, &[], &[]).await
}

async fn request_url(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let rest = uri.strip_prefix("http://").expect("http url");
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    common::raw_http(addr, &bytes).await
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn presigned_get_and_put() {
    let c = gw().client();
    let b = gw().bucket("presign").await;
    let cfg = || {
        aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(600)).expect("cfg")
    };
    let put_req = c
        .put_object()
        .bucket(&b)
        .key("pre signed/ü.txt")
        .presigned(cfg())
        .await
        .expect("presign put");
    let headers: Vec<(&str, &str)> = put_req.headers().collect();
    let (status, h, body) = request_url("PUT", put_req.uri(), &headers, b"via presigned put").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(header(&h, "x-amz-request-id").is_some());
    assert_eq!(
        get_bytes(&c, &b, "pre signed/ü.txt").await,
        b"via presigned put"
    );

    let get_req = c
        .get_object()
        .bucket(&b)
        .key("pre signed/ü.txt")
        .presigned(cfg())
        .await
        .expect("presign get");
    let (status, h, body) = get_url(get_req.uri()).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"via presigned put");
    assert_eq!(
        header(&h, "etag"),
        Some(quoted(&md5_hex(b"via presigned put")).as_str())
    );

    // Tampering with the signed URL breaks the signature.
    let tampered = get_req.uri().replace("%C3%BC.txt", "x.txt");
    assert_ne!(tampered, get_req.uri());
    let (status, _, body) = get_url(&tampered).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("<Code>SignatureDoesNotMatch</Code>"));
}

#[tokio::test]
async fn expired_presigned_url_is_denied() {
    let b = gw().bucket("presignexp").await;
    // Signed two hours ago, valid for one hour: expired, whatever the skew window.
    let past = SystemTime::now() - Duration::from_secs(7200);
    let c = gw().client_with(ACCESS_KEY, SECRET_KEY, |cfg| {
        cfg.time_source(aws_smithy_async::time::StaticTimeSource::new(past))
    });
    put(&gw().client(), &b, "k", b"secret").await;
    let req = c
        .get_object()
        .bucket(&b)
        .key("k")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::builder()
                .start_time(past)
                .expires_in(Duration::from_secs(3600))
                .build()
                .expect("cfg"),
        )
        .await
        .expect("presign");
    let (status, h, body) = get_url(req.uri()).await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(header(&h, "x-amz-request-id").is_some());
}

#[tokio::test]
async fn bad_signature_unknown_key_and_skew() {
    let b = gw().bucket("auth").await;
    let good = gw().client();

    let sent = CaptureHeaders::default();
    let cap = sent.clone();
    let wrong_secret = gw().client_with(ACCESS_KEY, "not-the-secret", |c| c.interceptor(cap));
    let res = wrong_secret
        .put_object()
        .bucket(&b)
        .key("k1")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert!(
        res.is_err(),
        "PUT signed with a wrong secret was accepted; request headers:\n{}",
        sent.0.lock().expect("lock")
    );
    let (s, code, _) = fail(res);
    assert_eq!((s, code.as_str()), (403, "SignatureDoesNotMatch"));
    let (s, code, _) = fail(wrong_secret.list_buckets().send().await);
    assert_eq!((s, code.as_str()), (403, "SignatureDoesNotMatch"));

    let unknown = gw().client_with("AKIDONOTEXIST", SECRET_KEY, |c| c);
    let (s, code, _) = fail(
        unknown
            .put_object()
            .bucket(&b)
            .key("k2")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (403, "InvalidAccessKeyId"));

    // No retries: the SDK corrects its clock from the response's Date header and retries.
    let skewed = gw().client_with(ACCESS_KEY, SECRET_KEY, |c| {
        c.time_source(aws_smithy_async::time::StaticTimeSource::new(
            SystemTime::now() - Duration::from_secs(3600),
        ))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
    });
    let (s, code, _) = fail(
        skewed
            .put_object()
            .bucket(&b)
            .key("k3")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (403, "RequestTimeTooSkewed"));

    assert!(
        list_keys(&good, &b).await.is_empty(),
        "a rejected PUT stored something"
    );

    // No credentials at all.
    let (status, h, body) =
        request_url("GET", &format!("{}/{b}/k1", gw().endpoint), &[], &[]).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("<Code>AccessDenied</Code>"));
    assert!(header(&h, "x-amz-request-id").is_some());
}

#[tokio::test]
async fn content_md5_is_verified() {
    let c = gw().client();
    let b = gw().bucket("md5").await;
    let good = b64(&md5_raw(b"payload"));
    c.put_object()
        .bucket(&b)
        .key("good")
        .content_md5(good)
        .body(ByteStream::from_static(b"payload"))
        .send()
        .await
        .expect("correct Content-MD5");
    let wrong = b64(&md5_raw(b"something else"));
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("bad")
            .content_md5(wrong)
            .body(ByteStream::from_static(b"payload"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (400, "BadDigest"));
    assert!(
        !exists(&c, &b, "bad").await,
        "BadDigest PUT stored the object"
    );
    assert_eq!(list_keys(&c, &b).await, vec!["good"]);
}

/// Swaps the body for same-length different bytes after signing, so the signed
/// literal `x-amz-content-sha256` no longer matches what arrives.
#[derive(Debug)]
struct SwapBody;

impl aws_sdk_s3::config::Intercept for SwapBody {
    fn name(&self) -> &'static str {
        "SwapBody"
    }
    fn modify_before_transmit(
        &self,
        ctx: &mut aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _rc: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let req = ctx.request_mut();
        let sha = req
            .headers()
            .get("x-amz-content-sha256")
            .unwrap_or_default()
            .to_string();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("expected a literal payload hash, SDK sent {sha:?}").into());
        }
        let len = req.body().bytes().map(|b| b.len()).unwrap_or(0);
        *req.body_mut() = aws_sdk_s3::primitives::SdkBody::from(vec![b'#'; len]);
        Ok(())
    }
}

#[tokio::test]
async fn content_sha256_mismatch_stores_nothing() {
    let b = gw().bucket("sha").await;
    let c = gw().client_with(ACCESS_KEY, SECRET_KEY, |cfg| {
        cfg.interceptor(SwapBody).request_checksum_calculation(
            aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
        )
    });
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("tampered")
            .body(ByteStream::from_static(b"original payload"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (400, "XAmzContentSHA256Mismatch"));
    let good = gw().client();
    assert!(
        !exists(&good, &b, "tampered").await,
        "mismatched PUT stored the object"
    );
    assert!(list_keys(&good, &b).await.is_empty());
}

#[tokio::test]
async fn unsupported_subresources_are_not_implemented() {
    let c = gw().client();
    let b = gw().bucket("unsup").await;
    put(&c, &b, "k", b"x").await;
    let (s, code, _) = fail(c.get_bucket_acl().bucket(&b).send().await);
    assert_eq!((s, code.as_str()), (501, "NotImplemented"), "GET ?acl");
    let (s, code, _) = fail(c.get_bucket_versioning().bucket(&b).send().await);
    assert_eq!(
        (s, code.as_str()),
        (501, "NotImplemented"),
        "GET ?versioning"
    );
    let (s, code, _) = fail(c.get_bucket_policy().bucket(&b).send().await);
    assert_eq!((s, code.as_str()), (501, "NotImplemented"), "GET ?policy");
    let (s, code, _) = fail(
        c.get_bucket_lifecycle_configuration()
            .bucket(&b)
            .send()
            .await,
    );
    assert_eq!(
        (s, code.as_str()),
        (501, "NotImplemented"),
        "GET ?lifecycle"
    );
    let (s, code, _) = fail(c.get_object_acl().bucket(&b).key("k").send().await);
    assert_eq!(
        (s, code.as_str()),
        (501, "NotImplemented"),
        "GET object ?acl"
    );
    let (s, code, _) = fail(c.get_object_tagging().bucket(&b).key("k").send().await);
    assert_eq!(
        (s, code.as_str()),
        (501, "NotImplemented"),
        "GET object ?tagging"
    );
    let (s, code, _) = fail(
        c.put_bucket_versioning()
            .bucket(&b)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(
        (s, code.as_str()),
        (501, "NotImplemented"),
        "PUT ?versioning"
    );
    // Nothing fell through to a bucket or object operation.
    c.head_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("bucket still there");
    assert_eq!(get_bytes(&c, &b, "k").await, b"x");
    assert_eq!(list_keys(&c, &b).await, vec!["k"]);
}

#[tokio::test]
async fn awkward_keys_round_trip() {
    let c = gw().client();
    let b = gw().bucket("keys").await;
    let mut keys = vec![
        "with space".to_string(),
        "plus+sign".into(),
        "percent%20literal".into(),
        "equals=sign&amp".into(),
        "ünïcødé/日本語/🙂".into(),
        "a/b/c/d/e/f/g/h/i/j/deep.txt".into(),
        "trailing/".into(),
        "question?mark#hash".into(),
        "tilde~and'quote\"".into(),
        "semi;colon,comma:colon@at$dollar".into(),
    ];
    keys.push("k".repeat(1024));
    for (i, k) in keys.iter().enumerate() {
        let data = format!("value {i}").into_bytes();
        put(&c, &b, k, &data).await;
        assert_eq!(get_bytes(&c, &b, k).await, data, "{k}");
        assert!(exists(&c, &b, k).await, "{k}");
    }
    let mut want: Vec<String> = keys.clone();
    want.sort();
    assert_eq!(list_keys(&c, &b).await, want);
    for k in &keys {
        let out = c
            .list_objects_v2()
            .bucket(&b)
            .prefix(k)
            .send()
            .await
            .expect("prefix list");
        assert!(
            out.contents().iter().any(|o| o.key() == Some(k.as_str())),
            "prefix {k}"
        );
    }
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("k".repeat(1025))
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (400, "KeyTooLongError"));
    for k in &keys {
        c.delete_object()
            .bucket(&b)
            .key(k)
            .send()
            .await
            .expect("delete");
        assert!(!exists(&c, &b, k).await, "{k}");
    }
    assert!(list_keys(&c, &b).await.is_empty());
}

#[tokio::test]
async fn request_id_on_every_response() {
    let c = gw().client();
    let b = gw().bucket("reqid").await;
    let out = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    assert!(out.request_id().is_some_and(|s| !s.is_empty()));
    let out = c
        .get_object()
        .bucket(&b)
        .key("k")
        .send()
        .await
        .expect("get");
    assert!(out.request_id().is_some_and(|s| !s.is_empty()));
    let out = c
        .head_object()
        .bucket(&b)
        .key("k")
        .send()
        .await
        .expect("head");
    assert!(out.request_id().is_some_and(|s| !s.is_empty()));
    let out = c.list_objects_v2().bucket(&b).send().await.expect("list");
    assert!(out.request_id().is_some_and(|s| !s.is_empty()));
    let out = c
        .delete_object()
        .bucket(&b)
        .key("k")
        .send()
        .await
        .expect("delete");
    assert!(out.request_id().is_some_and(|s| !s.is_empty()));
    // Each request gets its own id.
    let a = c
        .head_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("head bucket");
    let z = c
        .head_bucket()
        .bucket(&b)
        .send()
        .await
        .expect("head bucket");
    assert_ne!(a.request_id(), z.request_id());
    // Errors too (checked in `fail`), and unauthenticated garbage.
    let (status, h, _) = common::raw_http(
        &gw().endpoint["http://".len()..],
        b"GET /%%%/?acl&&& HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(status >= 400, "garbage request answered {status}");
    assert!(
        header(&h, "x-amz-request-id").is_some(),
        "no request id on {status}"
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn md5_raw(data: &[u8]) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(data).to_vec()
}
