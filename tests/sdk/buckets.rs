//! Bucket operations and bucket names.

use super::*;

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
    // A HEAD answer has no body: the SDK names a bare 404 `NotFound`.
    let (status, code, _) = fail(c.head_bucket().bucket(&b).send().await);
    assert_eq!((status, code.as_str()), (404, "NotFound"));
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
    let (status, code, _) = fail(c.head_object().bucket(&b).key("missing").send().await);
    assert_eq!((status, code.as_str()), (404, "NotFound"));
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

/// ListBuckets pages as S3 does since 2024: `max-buckets` with a continuation token, a
/// `prefix` (echoed), `bucket-region`, and each bucket's region.
#[tokio::test]
async fn list_buckets_paginated() {
    let c = gw().client();
    let stem = common::unique_bucket("lbp");
    let names: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|s| format!("{stem}-{s}"))
        .collect();
    for b in &names {
        c.create_bucket().bucket(b).send().await.expect("create");
    }
    let page = |token: Option<String>| {
        c.list_buckets()
            .prefix(&stem)
            .max_buckets(2)
            .set_continuation_token(token)
            .send()
    };
    let first = page(None).await.expect("first page");
    let listed = |out: &aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect()
    };
    assert_eq!(listed(&first), names[..2]);
    assert_eq!(first.prefix(), Some(stem.as_str()));
    assert_eq!(first.buckets()[0].bucket_region(), Some("us-east-1"));
    let token = first.continuation_token().expect("more buckets follow");
    let second = page(Some(token.to_string())).await.expect("second page");
    assert_eq!(listed(&second), names[2..]);
    assert_eq!(second.continuation_token(), None, "the last page");

    let elsewhere = c
        .list_buckets()
        .prefix(&stem)
        .bucket_region("eu-west-1")
        .send()
        .await
        .expect("another region");
    assert!(elsewhere.buckets().is_empty());
    let (status, code, _) = fail(c.list_buckets().max_buckets(0).send().await);
    assert_eq!((status, code.as_str()), (400, "InvalidArgument"));
}

/// A DeleteBucket whose worker died between closing the bucket to writers and deleting
/// its stream leaves the stream closed (its subjects swapped for a sentinel). Writes
/// answer 503 and reads still work meanwhile; a DeleteBucket during a fresh closing
/// answers 409 OperationAborted; one after the closing is stale reopens the bucket
/// first, then answers as for an open bucket.
#[tokio::test]
async fn a_bucket_left_closed_is_reopened() {
    use aws_sdk_s3::config::retry::RetryConfig;
    let c = gw().client_with(ACCESS_KEY, SECRET_KEY, |b| {
        b.retry_config(RetryConfig::disabled())
    });
    let b = gw().bucket("closed").await;
    put(&c, &b, "kept", b"kept").await;
    let js = gw().jetstream().await;
    let nb = common::nats_bucket(&b);
    let stream = format!("OBJ_{nb}");
    let open = js
        .get_stream(&stream)
        .await
        .expect("bucket stream")
        .cached_info()
        .config
        .clone();
    let now_ms = || {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64
    };
    let closed = |since_ms: i64| {
        let mut cfg = open.clone();
        cfg.subjects = vec![format!("$O.{nb}.closing")];
        let marker = serde_json::json!({"since_ms": since_ms, "subjects": open.subjects});
        cfg.metadata
            .insert("jetgate.closing".into(), marker.to_string());
        cfg
    };

    js.update_stream(closed(now_ms())).await.expect("close");
    let put_new = || {
        c.put_object()
            .bucket(&b)
            .key("new")
            .body(ByteStream::from_static(b"new"))
            .send()
    };
    let (status, code, _) = fail(put_new().await);
    assert_eq!((status, code.as_str()), (503, "ServiceUnavailable"));
    assert_eq!(get_bytes(&c, &b, "kept").await, b"kept");
    assert_eq!(list_keys(&c, &b).await, ["kept"]);
    let (status, code, _) = fail(c.delete_bucket().bucket(&b).send().await);
    assert_eq!((status, code.as_str()), (409, "OperationAborted"));

    js.update_stream(closed(now_ms() - 31_000))
        .await
        .expect("close, long ago");
    let (status, code, _) = fail(c.delete_bucket().bucket(&b).send().await);
    assert_eq!((status, code.as_str()), (409, "BucketNotEmpty"));
    let now = js
        .get_stream(&stream)
        .await
        .expect("bucket stream")
        .cached_info()
        .config
        .clone();
    assert_eq!(now.subjects, open.subjects, "subjects given back");
    assert!(!now.metadata.contains_key("jetgate.closing"));
    put_new().await.expect("PUT to the reopened bucket");
    assert_eq!(list_keys(&c, &b).await, ["kept", "new"]);
}
