//! Object PUT/GET/HEAD/DELETE/COPY, headers, ranges and conditions.

use super::*;

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
