//! UploadPartCopy: parts made of ranges of an existing object, and the ranges S3
//! refuses (400 `InvalidArgument`, nothing staged).

use super::*;

#[tokio::test]
async fn upload_part_copy_with_ranges() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpy").await;
    let src = random_bytes(6 * MIB + 5, 50);
    s3.put_object()
        .bucket(&b)
        .key("src object")
        .body(ByteStream::from(src.clone()))
        .send()
        .await
        .expect("put source");
    let k = "copied";
    let id = create(&s3, &b, k).await;
    let mut etags = Vec::new();
    for (n, range) in [
        (1, format!("bytes=0-{}", 5 * MIB - 1)),
        (2, format!("bytes={}-{}", 5 * MIB, src.len() - 1)),
    ] {
        let r = s3
            .upload_part_copy()
            .bucket(&b)
            .key(k)
            .upload_id(&id)
            .part_number(n)
            .copy_source(format!("{b}/src%20object"))
            .copy_source_range(range)
            .send()
            .await
            .unwrap_or_else(|e| panic!("upload part copy {n}: {e:?}"));
        let etag = r
            .copy_part_result()
            .and_then(|c| c.e_tag())
            .expect("copy part etag")
            .to_string();
        etags.push(etag);
    }
    assert_eq!(etags[0], format!("\"{}\"", md5_hex(&src[..5 * MIB])));
    let etag = complete(&s3, &b, k, &id, &[(1, &etags[0]), (2, &etags[1])])
        .await
        .expect("complete");
    assert_eq!(etag, multipart_etag(&[&src[..5 * MIB], &src[5 * MIB..]]));
    assert_object(&s3, &b, k, &src).await;
    // The upload is gone (the source exists, so only the upload can be missing).
    let e = s3
        .upload_part_copy()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .part_number(1)
        .copy_source(format!("{b}/{k}"))
        .send()
        .await
        .expect_err("completed upload");
    assert_eq!(e.code(), Some("NoSuchUpload"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
}

/// A copy range S3 refuses is 400 `InvalidArgument` (s3-tests' `improper_range` and
/// `invalid_range`), and no part is staged for it.
#[tokio::test]
async fn upload_part_copy_refuses_bad_ranges() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpr").await;
    let src = random_bytes(1000, 51);
    s3.put_object()
        .bucket(&b)
        .key("src")
        .body(ByteStream::from(src.clone()))
        .send()
        .await
        .expect("put source");
    let k = "ranged";
    let id = create(&s3, &b, k).await;
    for range in [
        "bytes=0-1000",
        "bytes=1000-1000",
        "bytes=5-",
        "bytes=-5",
        "bytes=9-0",
        "0-9",
        "bytes=0-9,20-29",
        "bytes=a-b",
    ] {
        let e = s3
            .upload_part_copy()
            .bucket(&b)
            .key(k)
            .upload_id(&id)
            .part_number(1)
            .copy_source(format!("{b}/src"))
            .copy_source_range(range)
            .send()
            .await
            .expect_err(range);
        assert_eq!(
            (e.raw_response().map(|r| r.status().as_u16()), e.code()),
            (Some(400), Some("InvalidArgument")),
            "{range}"
        );
    }
    let parts = s3
        .list_parts()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .send()
        .await
        .expect("list parts");
    assert!(parts.parts().is_empty(), "staged: {:?}", parts.parts());
    // The last byte exactly is a valid range.
    let ok = s3
        .upload_part_copy()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .part_number(1)
        .copy_source(format!("{b}/src"))
        .copy_source_range("bytes=999-999")
        .send()
        .await
        .expect("last byte");
    let etag = ok
        .copy_part_result()
        .and_then(|c| c.e_tag())
        .expect("etag")
        .to_string();
    assert_eq!(etag, format!("\"{}\"", md5_hex(&src[999..])));
}
