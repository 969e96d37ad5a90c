//! SigV4 with a plain body: a literal payload SHA-256, `UNSIGNED-PAYLOAD` and presigned
//! query auth. The Rust SDK sends each (recorded on the wire); crafted twins with one
//! byte of the body or signature changed are refused with S3's code, nothing stored.

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use crate::common::{
    corrupt_hex, md5_hex, random_bytes, s3_client, send, sha256_hex, uri_encode, RawRequest,
    RecordingProxy, Stamp, ACCESS_KEY, SECRET_KEY,
};
use crate::{
    assert_absent, assert_no_chunks, assert_stored, gw, host, published, send_gw, signer,
    INLINE_LIMIT,
};

/// A header-signed PUT whose `x-amz-content-sha256` is `payload`.
fn header_put(bucket: &str, key: &str, data: &[u8], payload: &str) -> (RawRequest, String) {
    let path = format!("/{bucket}/{}", uri_encode(key, true));
    let stamp = Stamp::now();
    let head = signer().sign_head(
        &stamp,
        "PUT",
        &path,
        "",
        vec![
            ("host".into(), host()),
            ("x-amz-date".into(), stamp.time.clone()),
            ("x-amz-content-sha256".into(), payload.into()),
            ("content-length".into(), data.len().to_string()),
        ],
    );
    let req = RawRequest {
        method: "PUT".into(),
        target: path,
        headers: head.headers,
        body: data.to_vec(),
        http_chunked: false,
    };
    (req, head.signature)
}

/// The same request with one digit of its Authorization signature changed.
fn bad_signature(req: &RawRequest, sig: &str) -> RawRequest {
    let mut t = req.clone();
    let auth = t
        .headers
        .iter_mut()
        .find(|(n, _)| n == "authorization")
        .expect("authorization");
    auth.1 = auth.1.replace(sig, &corrupt_hex(sig));
    t
}

/// A presigned (query-auth) PUT, valid for `expires` seconds from `stamp`.
fn presigned_put(bucket: &str, key: &str, data: &[u8], stamp: &Stamp, expires: u64) -> RawRequest {
    presigned_put_hashed(bucket, key, data, stamp, expires, None)
}

/// [`presigned_put`] that also signs `X-Amz-Content-Sha256=<content_sha256>` in the URL.
fn presigned_put_hashed(
    bucket: &str,
    key: &str,
    data: &[u8],
    stamp: &Stamp,
    expires: u64,
    content_sha256: Option<&str>,
) -> RawRequest {
    let s = signer();
    let path = format!("/{bucket}/{}", uri_encode(key, true));
    let credential = format!("{}/{}", s.access, s.scope(stamp));
    // Canonical order: X-Amz-Content-Sha256 sorts between Algorithm and Credential.
    let hashed = content_sha256
        .map(|h| format!("&X-Amz-Content-Sha256={h}"))
        .unwrap_or_default();
    let query = format!(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256{hashed}&X-Amz-Credential={}&X-Amz-Date={}\
         &X-Amz-Expires={expires}&X-Amz-SignedHeaders=host",
        uri_encode(&credential, false),
        stamp.time
    );
    let canonical = crate::common::Signer::canonical_request(
        "PUT",
        &path,
        &query,
        &[("host".into(), host())],
        // A signed X-Amz-Content-Sha256 is the canonical payload hash of the URL.
        content_sha256.unwrap_or("UNSIGNED-PAYLOAD"),
    );
    let sig = s.sign_canonical(stamp, &canonical);
    RawRequest {
        method: "PUT".into(),
        target: format!("{path}?{query}&X-Amz-Signature={sig}"),
        headers: vec![
            ("host".into(), host()),
            ("content-length".into(), data.len().to_string()),
        ],
        body: data.to_vec(),
        http_chunked: false,
    }
}

async fn accepted(req: &RawRequest, bucket: &str, key: &str, data: &[u8]) {
    let r = send_gw(req).await;
    assert_eq!(r.status, 200, "{bucket}/{key}: {}", r.text());
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", md5_hex(data)).as_str())
    );
    assert_stored(bucket, key, data).await;
}

async fn refused(req: &RawRequest, bucket: &str, key: &str, status: u16, code: &str) {
    let r = send_gw(req).await;
    assert_eq!(
        r.status_code(),
        (status, code.to_string()),
        "{bucket}/{key}: {}",
        r.text()
    );
    assert_absent(bucket, key).await;
    assert_no_chunks(bucket).await;
}

#[tokio::test]
async fn literal_payload_hash_twins() {
    for size in [2000, 3 * 1024 * 1024 + 1] {
        // A bucket each: the refusals are checked in a bucket without chunks.
        let b = gw().bucket("sig-literal").await;
        let key = format!("literal-{size}.bin");
        let data = random_bytes(size, 110 + size as u64);
        let (good, sig) = header_put(&b, &key, &data, &sha256_hex(&data));

        let before = published(&b).await;
        let mut t = good.clone();
        t.body[size - 1] ^= 0x01;
        refused(&t, &b, &key, 400, "XAmzContentSHA256Mismatch").await;
        if size > INLINE_LIMIT {
            // The body was stored while it streamed; the digest came at its end.
            assert!(
                published(&b).await - before >= 3,
                "nothing stored before the verdict"
            );
        }
        refused(
            &bad_signature(&good, &sig),
            &b,
            &key,
            403,
            "SignatureDoesNotMatch",
        )
        .await;
        accepted(&good, &b, &key, &data).await;
    }
}

#[tokio::test]
async fn unsigned_payload_and_presigned_twins() {
    let b = gw().bucket("sig-unsigned").await;
    let data = random_bytes(INLINE_LIMIT + 1000, 120);
    let (good, sig) = header_put(&b, "unsigned.bin", &data, "UNSIGNED-PAYLOAD");
    refused(
        &bad_signature(&good, &sig),
        &b,
        "unsigned.bin",
        403,
        "SignatureDoesNotMatch",
    )
    .await;

    let stamp = Stamp::now();
    let good_q = presigned_put(&b, "presigned.bin", &data, &stamp, 600);
    let (head, sig_q) = good_q
        .target
        .rsplit_once("X-Amz-Signature=")
        .expect("signature");
    let t = RawRequest {
        target: format!("{head}X-Amz-Signature={}", corrupt_hex(sig_q)),
        ..good_q.clone()
    };
    refused(&t, &b, "presigned.bin", 403, "SignatureDoesNotMatch").await;
    // Correctly signed an hour ago, valid for a minute.
    let old = Stamp::at(&crate::common::amz_time(crate::common::unix_now() - 3600));
    let expired = presigned_put(&b, "presigned.bin", &data, &old, 60);
    refused(&expired, &b, "presigned.bin", 403, "AccessDenied").await;

    accepted(&good, &b, "unsigned.bin", &data).await;
    accepted(&good_q, &b, "presigned.bin", &data).await;
}

/// The Rust SDK's own plain-body forms over HTTP: an in-memory body signs its SHA-256,
/// `disable_payload_signing` sends `UNSIGNED-PAYLOAD`, a presigned PUT the query form.
/// A presigned URL that signs `X-Amz-Content-Sha256` accepts that body only: a changed
/// byte is `XAmzContentSHA256Mismatch` with nothing stored, the signed body is stored.
#[tokio::test]
async fn presigned_content_sha256_binds_the_body() {
    let b = gw().bucket("sig-presigned-hash").await;
    let key = "hashed.bin";
    let data = random_bytes(3000, 177);
    let stamp = Stamp::now();
    let hash = sha256_hex(&data);
    let good = presigned_put_hashed(&b, key, &data, &stamp, 600, Some(&hash));
    let mut changed = good.clone();
    changed.body[7] ^= 0x01;
    refused(&changed, &b, key, 400, "XAmzContentSHA256Mismatch").await;
    accepted(&good, &b, key, &data).await;
}

#[tokio::test]
async fn rust_sdk_plain_body_forms() {
    let b = gw().bucket("sig-sdk-plain").await;
    let proxy = RecordingProxy::start(&host()).await;
    let s3 = s3_client(&proxy.endpoint(), ACCESS_KEY, SECRET_KEY, |c| c);
    let data = random_bytes(INLINE_LIMIT + 4321, 130);

    s3.put_object()
        .bucket(&b)
        .key("literal.bin")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .expect("put with a signed payload hash");
    assert_stored(&b, "literal.bin", &data).await;
    assert_eq!(
        proxy.header_values("x-amz-content-sha256"),
        vec![sha256_hex(&data)]
    );

    s3.put_object()
        .bucket(&b)
        .key("unsigned.bin")
        .body(ByteStream::from(data.clone()))
        .customize()
        .disable_payload_signing()
        .send()
        .await
        .expect("put with UNSIGNED-PAYLOAD");
    assert_stored(&b, "unsigned.bin", &data).await;
    assert_eq!(
        proxy
            .header_values("x-amz-content-sha256")
            .last()
            .map(String::as_str),
        Some("UNSIGNED-PAYLOAD")
    );

    let presigned = s3
        .put_object()
        .bucket(&b)
        .key("presigned.bin")
        .presigned(
            PresigningConfig::expires_in(std::time::Duration::from_secs(600)).expect("expiry"),
        )
        .await
        .expect("presign");
    let uri: http::Uri = presigned.uri().parse().expect("presigned URI");
    assert!(
        uri.query().is_some_and(|q| q.contains("X-Amz-Signature=")),
        "{uri}"
    );
    let mut headers: Vec<(String, String)> = presigned
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    headers.push(("host".into(), proxy.addr.clone()));
    headers.push(("content-length".into(), data.len().to_string()));
    let req = RawRequest {
        method: "PUT".into(),
        target: uri.path_and_query().expect("path").to_string(),
        headers,
        body: data.clone(),
        http_chunked: false,
    };
    let r = send(&proxy.addr, &req).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_stored(&b, "presigned.bin", &data).await;
}
