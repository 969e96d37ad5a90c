//! SigV2: crafted header and query-string requests whose twin with one byte of the
//! signature changed is 403 SignatureDoesNotMatch (one body byte under a signed
//! Content-MD5 is 400 BadDigest), nothing stored; and s3cmd with `signature_v2`, every
//! request of which goes through a recording proxy.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use md5::{Digest, Md5};

use crate::common::{
    corrupt_b64, http_date, md5_hex, multipart_etag, random_bytes, require_tool,
    sigv2_string_to_sign, temp_dir, unix_now, uri_encode, RawRequest, RecordingProxy, ACCESS_KEY,
    SECRET_KEY,
};
use crate::{
    assert_absent, assert_no_chunks, assert_stored, gw, host, send_gw, signer, INLINE_LIMIT,
};

/// A SigV2 header-auth PUT of `data` with a signed Content-MD5 and Content-Type.
fn v2_put(bucket: &str, key: &str, data: &[u8]) -> (RawRequest, String) {
    let path = format!("/{bucket}/{}", uri_encode(key, true));
    let md5 = B64.encode(Md5::digest(data));
    let date = http_date(unix_now());
    let ctype = "application/octet-stream";
    let sts = sigv2_string_to_sign("PUT", &md5, ctype, &date, &[], &path);
    let sig = signer().sigv2(&sts);
    let req = RawRequest {
        method: "PUT".into(),
        target: path,
        headers: vec![
            ("host".into(), host()),
            ("date".into(), date),
            ("content-md5".into(), md5),
            ("content-type".into(), ctype.into()),
            ("content-length".into(), data.len().to_string()),
            ("authorization".into(), format!("AWS {ACCESS_KEY}:{sig}")),
        ],
        body: data.to_vec(),
        http_chunked: false,
    };
    (req, sig)
}

/// A SigV2 query-string (presigned) request; `expires` in unix seconds.
fn v2_presigned(method: &str, bucket: &str, key: &str, expires: i64, body: &[u8]) -> RawRequest {
    let path = format!("/{bucket}/{}", uri_encode(key, true));
    let sts = sigv2_string_to_sign(method, "", "", &expires.to_string(), &[], &path);
    let sig = signer().sigv2(&sts);
    let mut headers = vec![("host".into(), host())];
    if method == "PUT" {
        headers.push(("content-length".into(), body.len().to_string()));
    }
    RawRequest {
        method: method.into(),
        target: format!(
            "{path}?AWSAccessKeyId={ACCESS_KEY}&Expires={expires}&Signature={}",
            uri_encode(&sig, false)
        ),
        headers,
        body: body.to_vec(),
        http_chunked: false,
    }
}

/// Replaces the `Signature=` value of a presigned target with `f(signature)`.
fn with_signature(req: &RawRequest, f: impl Fn(&str) -> String) -> RawRequest {
    let (head, enc) = req.target.split_once("Signature=").expect("signature");
    let sig = percent_decode(enc);
    RawRequest {
        target: format!("{head}Signature={}", uri_encode(&f(&sig), false)),
        ..req.clone()
    }
}

fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test]
async fn sigv2_header_twins() {
    for size in [3000, INLINE_LIMIT + 200 * 1024] {
        // A bucket each: the refusals are checked in a bucket without chunks.
        let b = gw().bucket("sig-v2").await;
        let key = format!("v2/header-{size}.bin");
        let data = random_bytes(size, 80 + size as u64);
        let (good, sig) = v2_put(&b, &key, &data);

        let mut t = good.clone();
        let auth = t.headers.last_mut().expect("authorization");
        auth.1 = format!("AWS {ACCESS_KEY}:{}", corrupt_b64(&sig));
        let r = send_gw(&t).await;
        assert_eq!(
            r.status_code(),
            (403, "SignatureDoesNotMatch".into()),
            "{}",
            r.text()
        );
        assert_absent(&b, &key).await;
        assert_no_chunks(&b).await;
        // The signature holds, one body byte does not match the signed Content-MD5.
        let mut t = good.clone();
        t.body[size / 2] ^= 0x01;
        let r = send_gw(&t).await;
        assert_eq!(r.status_code(), (400, "BadDigest".into()), "{}", r.text());
        assert_absent(&b, &key).await;
        assert_no_chunks(&b).await;

        let r = send_gw(&good).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("etag"),
            Some(format!("\"{}\"", md5_hex(&data)).as_str())
        );
        assert_stored(&b, &key, &data).await;
    }
}

#[tokio::test]
async fn sigv2_presigned_twins() {
    let b = gw().bucket("sig-v2-query").await;
    let key = "v2/presigned.bin";
    let data = random_bytes(INLINE_LIMIT + 64 * 1024, 90);
    let expires = unix_now() + 600;
    let good = v2_presigned("PUT", &b, key, expires, &data);

    let r = send_gw(&with_signature(&good, corrupt_b64)).await;
    assert_eq!(
        r.status_code(),
        (403, "SignatureDoesNotMatch".into()),
        "{}",
        r.text()
    );
    assert_absent(&b, key).await;
    assert_no_chunks(&b).await;
    // Correctly signed, but already expired.
    let expired = v2_presigned("PUT", &b, key, unix_now() - 60, &data);
    let r = send_gw(&expired).await;
    assert_eq!(
        r.status_code(),
        (403, "AccessDenied".into()),
        "{}",
        r.text()
    );
    assert_absent(&b, key).await;
    assert_no_chunks(&b).await;

    let r = send_gw(&good).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", md5_hex(&data)).as_str())
    );
    assert_stored(&b, key, &data).await;

    // Presigned GET of what was stored, and its twin.
    let get = v2_presigned("GET", &b, key, expires, &[]);
    let r = send_gw(&get).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body == data, "presigned GET returned other bytes");
    let r = send_gw(&with_signature(&get, corrupt_b64)).await;
    assert_eq!(
        r.status_code(),
        (403, "SignatureDoesNotMatch".into()),
        "{}",
        r.text()
    );
}

/// s3cmd with `signature_v2 = True`: a small PUT, a multipart PUT (5 MiB parts), GETs,
/// and nothing but SigV2 on the wire.
#[tokio::test]
async fn s3cmd_sigv2_round_trip() {
    let test = "signatures/sigv2.rs::s3cmd_sigv2_round_trip";
    let Some(bin) = require_tool(test, &["s3cmd"]) else {
        return;
    };
    let b = gw().bucket("sig-s3cmd").await;
    let proxy = RecordingProxy::start(&host()).await;
    let dir = temp_dir("s3cmd-");
    let cfg = dir.path().join("s3cfg");
    std::fs::write(
        &cfg,
        format!(
            "[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\n\
             host_base = {addr}\nhost_bucket = {addr}\nuse_https = False\n\
             signature_v2 = True\nbucket_location = us-east-1\n\
             multipart_chunk_size_mb = 5\n",
            addr = proxy.addr
        ),
    )
    .expect("write s3cmd config");
    let s3cmd = |args: Vec<String>| {
        let bin = bin.clone();
        let cfg = cfg.clone();
        async move {
            let out = tokio::process::Command::new(bin)
                .arg("-c")
                .arg(&cfg)
                .args(&args)
                .env_remove("HTTP_PROXY")
                .env_remove("http_proxy")
                .output()
                .await
                .expect("run s3cmd");
            assert!(
                out.status.success(),
                "s3cmd {args:?}: {}\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let small = random_bytes(4096, 91);
    let large = random_bytes(12 * 1024 * 1024 + 5, 92);
    let p = |n: &str| dir.path().join(n).display().to_string();
    std::fs::write(p("small"), &small).expect("write");
    std::fs::write(p("large"), &large).expect("write");
    s3cmd(vec![
        "put".into(),
        p("small"),
        format!("s3://{b}/s3cmd/small.bin"),
    ])
    .await;
    s3cmd(vec![
        "put".into(),
        p("large"),
        format!("s3://{b}/s3cmd/large.bin"),
    ])
    .await;
    s3cmd(vec![
        "get".into(),
        format!("s3://{b}/s3cmd/small.bin"),
        p("small.out"),
    ])
    .await;
    s3cmd(vec![
        "get".into(),
        format!("s3://{b}/s3cmd/large.bin"),
        p("large.out"),
    ])
    .await;
    assert!(std::fs::read(p("small.out")).expect("read") == small);
    assert!(std::fs::read(p("large.out")).expect("read") == large);

    assert_stored(&b, "s3cmd/small.bin", &small).await;
    let parts: Vec<&[u8]> = large.chunks(5 * 1024 * 1024).collect();
    let got = gw()
        .client()
        .head_object()
        .bucket(&b)
        .key("s3cmd/large.bin")
        .send()
        .await
        .expect("head large");
    assert_eq!(got.e_tag(), Some(multipart_etag(&parts).as_str()));

    let auths = proxy.header_values("authorization");
    let v2 = format!("AWS {ACCESS_KEY}:");
    assert!(
        auths.len() >= 9 && auths.iter().all(|a| a.starts_with(&v2)),
        "s3cmd sent other than SigV2: {auths:?}"
    );
}
