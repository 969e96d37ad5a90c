//! Conditional writes as S3 documents them: `If-Match` and `If-None-Match: *` on
//! PutObject, CopyObject destinations and CompleteMultipartUpload, `If-Match` on
//! DeleteObject and per key in DeleteObjects. Every refusal is checked in what is
//! stored afterwards (bytes, keys, chunk messages), not only in the status.

use common::{chunk_messages, completed, create_upload_with, nats_bucket, put_part};

use super::*;

/// Chunk messages of the bucket's stream: a refused write leaves none behind.
async fn chunks(b: &str) -> u64 {
    chunk_messages(&gw().jetstream().await, &nats_bucket(b)).await
}

#[tokio::test]
async fn put_if_match() {
    let c = gw().client();
    let b = gw().bucket("im-put-one").await;
    let v1 = put(&c, &b, "k", b"version one").await;
    let before = chunks(&b).await;
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("k")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .body(ByteStream::from_static(b"not written"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    assert_eq!(get_bytes(&c, &b, "k").await, b"version one");
    assert_eq!(chunks(&b).await, before, "a refused PUT leaves no chunks");

    // If-Match on a key that does not exist: 404, and the key stays absent.
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("absent")
            .if_match(&v1)
            .body(ByteStream::from_static(b"not written"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (404, "NoSuchKey"));
    assert_eq!(list_keys(&c, &b).await, ["k"]);

    let v2 = c
        .put_object()
        .bucket(&b)
        .key("k")
        .if_match(&v1)
        .body(ByteStream::from_static(b"version two"))
        .send()
        .await
        .expect("If-Match with the current ETag");
    assert_eq!(get_bytes(&c, &b, "k").await, b"version two");
    // The ETag it replaced no longer matches.
    let (s, _, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("k")
            .if_match(&v1)
            .body(ByteStream::from_static(b"stale"))
            .send()
            .await,
    );
    assert_eq!(s, 412);
    assert_eq!(v2.e_tag(), Some(quoted(&md5_hex(b"version two")).as_str()));
    assert_eq!(get_bytes(&c, &b, "k").await, b"version two");
    // `*` matches any existing object.
    c.put_object()
        .bucket(&b)
        .key("k")
        .if_match("*")
        .body(ByteStream::from_static(b"three"))
        .send()
        .await
        .expect("If-Match: * on an existing key");
    assert_eq!(get_bytes(&c, &b, "k").await, b"three");
}

#[tokio::test]
async fn write_conditions_jetgate_cannot_honour_are_refused() {
    let c = gw().client();
    let b = gw().bucket("im-refuse").await;
    put(&c, &b, "k", b"kept").await;
    let (s, code, _) = fail(
        c.put_object()
            .bucket(&b)
            .key("k")
            .if_none_match("\"abc\"")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (501, "NotImplemented"));
    let (s, code, _) = fail(
        c.delete_object()
            .bucket(&b)
            .key("k")
            .if_match_size(4)
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (501, "NotImplemented"));
    assert_eq!(get_bytes(&c, &b, "k").await, b"kept");
}

#[tokio::test]
async fn copy_destination_conditions() {
    let c = gw().client();
    let b = gw().bucket("im-copy").await;
    put(&c, &b, "src", b"source bytes").await;
    let dst = put(&c, &b, "dst", b"destination bytes").await;
    let before = chunks(&b).await;
    let copy = |key: &str| {
        c.copy_object()
            .bucket(&b)
            .key(key)
            .copy_source(format!("{b}/src"))
    };
    let (s, code, _) = fail(copy("dst").if_none_match("*").send().await);
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    let (s, code, _) = fail(copy("dst").if_match("\"nope\"").send().await);
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    let (s, code, _) = fail(copy("new").if_match(&dst).send().await);
    assert_eq!((s, code.as_str()), (404, "NoSuchKey"));
    assert_eq!(get_bytes(&c, &b, "dst").await, b"destination bytes");
    assert_eq!(list_keys(&c, &b).await, ["dst", "src"]);
    assert_eq!(chunks(&b).await, before, "refused copies leave no chunks");

    copy("dst")
        .if_match(&dst)
        .send()
        .await
        .expect("copy onto the ETag it names");
    copy("fresh")
        .if_none_match("*")
        .send()
        .await
        .expect("copy to a new key with If-None-Match: *");
    assert_eq!(get_bytes(&c, &b, "dst").await, b"source bytes");
    assert_eq!(get_bytes(&c, &b, "fresh").await, b"source bytes");
}

#[tokio::test]
async fn delete_if_match() {
    let c = gw().client();
    let b = gw().bucket("im-delete").await;
    let etag = put(&c, &b, "k", b"delete me only as I am").await;
    let (s, code, _) = fail(
        c.delete_object()
            .bucket(&b)
            .key("k")
            .if_match("\"0123456789abcdef0123456789abcdef\"")
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    assert_eq!(get_bytes(&c, &b, "k").await, b"delete me only as I am");
    let (s, code, _) = fail(
        c.delete_object()
            .bucket(&b)
            .key("absent")
            .if_match(&etag)
            .send()
            .await,
    );
    assert_eq!((s, code.as_str()), (404, "NoSuchKey"));
    c.delete_object()
        .bucket(&b)
        .key("k")
        .if_match(&etag)
        .send()
        .await
        .expect("delete with the current ETag");
    assert!(list_keys(&c, &b).await.is_empty());
    assert_eq!(
        chunks(&b).await,
        0,
        "the deleted object's chunks are purged"
    );
}

#[tokio::test]
async fn delete_objects_with_etags() {
    let c = gw().client();
    let b = gw().bucket("im-multidel").await;
    let a = put(&c, &b, "a", b"a").await;
    put(&c, &b, "b", b"b").await;
    let id = |k: &str, etag: &str| {
        ObjectIdentifier::builder()
            .key(k)
            .e_tag(etag)
            .build()
            .expect("id")
    };
    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .objects(id("a", &a))
                .objects(id("b", "\"0123456789abcdef0123456789abcdef\""))
                .build()
                .expect("delete"),
        )
        .send()
        .await
        .expect("delete objects");
    let deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, ["a"]);
    let errors: Vec<_> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap_or_default(), e.code().unwrap_or_default()))
        .collect();
    assert_eq!(errors, [("b", "PreconditionFailed")]);
    assert_eq!(list_keys(&c, &b).await, ["b"]);
}

#[tokio::test]
async fn complete_if_match() {
    let c = gw().client();
    let b = gw().bucket("im-complete").await;
    let old = put(&c, &b, "k", b"the object the upload replaces").await;
    let part_body = random_bytes(1000, 41);
    let id = create_upload_with(&c, &b, "k", |r| r).await;
    let part = put_part(&c, &b, "k", &id, 1, &part_body).await;
    let complete = || {
        c.complete_multipart_upload()
            .bucket(&b)
            .key("k")
            .upload_id(&id)
            .multipart_upload(completed(&[(1, &part)]))
    };
    let (s, code, _) = fail(complete().if_match("\"nope\"").send().await);
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    let (s, code, _) = fail(complete().if_none_match("*").send().await);
    assert_eq!((s, code.as_str()), (412, "PreconditionFailed"));
    assert_eq!(
        get_bytes(&c, &b, "k").await,
        b"the object the upload replaces"
    );
    // A refused Complete leaves the upload as it was: it can still complete.
    complete()
        .if_match(&old)
        .send()
        .await
        .expect("Complete with the current ETag");
    assert_eq!(get_bytes(&c, &b, "k").await, part_body);
}
