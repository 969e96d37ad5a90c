//! Cross-checks against signatures made by the AWS SDK's own signer (`aws-sigv4`), for
//! keys and query values with spaces, `+`, `%`, `=`, unicode and other awkward bytes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use jetgate_protocol::messages::{ChunkBatch, ChunkContext, ChunkSig, SignedRequest};
use jetgate_protocol::S3ErrorCode;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::tests_golden::{AK, SECRET};
use super::*;

const HOST: &str = "s3.us-east-1.amazonaws.com";
/// 2013-05-24T00:00:00Z plus a few hours, so the timestamp is not all zeros.
const EPOCH_SECS: u64 = 1_369_353_600 + 3 * 3600 + 25 * 60 + 7;

fn signing_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EPOCH_SECS)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from(signing_time())
}

/// Independent encoder in the style of the S3 SDKs' greedy labels: every byte except
/// unreserved characters (and `/` when `keep_slash`) as `%XX`.
fn sdk_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn s3_settings(location: SignatureLocation) -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = match location {
        SignatureLocation::Headers => PayloadChecksumKind::XAmzSha256,
        _ => PayloadChecksumKind::NoHeader,
    };
    settings.signature_location = location;
    if matches!(location, SignatureLocation::QueryParams) {
        settings.expires_in = Some(Duration::from_secs(3600));
    }
    settings
}

fn identity() -> Identity {
    Credentials::new(AK, SECRET, None, None, "test").into()
}

/// Signs with the AWS signer and returns the request as the edge would hand it over.
/// `path` and `query` are exactly what goes on the wire.
fn aws_signed(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    location: SignatureLocation,
) -> SignedRequest {
    let identity = identity();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(signing_time())
        .settings(s3_settings(location))
        .build()
        .expect("signing params")
        .into();
    let uri = if query.is_empty() {
        format!("https://{HOST}{path}")
    } else {
        format!("https://{HOST}{path}?{query}")
    };
    let mut all_headers: Vec<(&str, &str)> = vec![("host", HOST)];
    all_headers.extend_from_slice(headers);
    let body = match location {
        SignatureLocation::Headers => SignableBody::Bytes(body),
        _ => SignableBody::UnsignedPayload,
    };
    let signable = SignableRequest::new(method, uri, all_headers.iter().copied(), body)
        .expect("signable request");
    let (instructions, _signature) = sign(signable, &params).expect("sign").into_parts();

    let mut query = query.to_string();
    for (name, value) in instructions.params() {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("{name}={}", sdk_encode(value, false)));
    }
    let mut out_headers: Vec<(String, String)> = all_headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    for (name, value) in instructions.headers() {
        out_headers.push((name.to_ascii_lowercase(), value.to_string()));
    }
    SignedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query,
        headers: out_headers,
        virtual_host_bucket: None,
    }
}

fn check(req: &SignedRequest) -> Result<ParsedAuth, jetgate_protocol::error::S3Error> {
    let auth = parse(req)?;
    verify(req, &auth, SECRET, now(), &VerifyConfig::default())?;
    Ok(auth)
}

const AWKWARD_KEYS: &[&str] = &[
    "plain.txt",
    "with space.txt",
    "two  spaces",
    "plus+sign",
    "percent%literal",
    "100%",
    "equals=sign&amp",
    "caf\u{e9}/\u{fc}n\u{ef}c\u{f8}d\u{e9}/\u{65e5}\u{672c}\u{8a9e}",
    "emoji \u{1f980}",
    "dir/sub dir/file",
    "a//double/slash",
    "dots/../and/./dots",
    "!*'()$,:;@[]",
    "tilde~under_score-dash.dot",
];

#[test]
fn header_auth_awkward_keys_signed_by_aws_sdk() {
    for key in AWKWARD_KEYS {
        let path = format!("/bucket/{}", sdk_encode(key, true));
        for method in ["GET", "PUT"] {
            let req = aws_signed(method, &path, "", &[], b"hello", SignatureLocation::Headers);
            check(&req).unwrap_or_else(|e| panic!("{method} {key:?} ({path}): {e}"));
        }
    }
}

#[test]
fn literal_path_bytes_signed_as_sent() {
    // A signer that puts `$`, `=`, `@` etc. on the wire unencoded and signs the path
    // exactly as sent; accepted through the raw-path candidate.
    for path in ["/bucket/x$y=z", "/bucket/a/c@d:e"] {
        let req = aws_signed("GET", path, "", &[], b"", SignatureLocation::Headers);
        check(&req).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

#[test]
fn a_raw_plus_in_the_path_is_signed_as_the_space_it_routes_to() {
    // The route table acts on key "a b" for `/bucket/a+b`: a signature for the key
    // "a+b" must not be accepted for it, one for "a b" must.
    for path in ["/bucket/a+b", "/bucket/a+b/c@d:e"] {
        let req = aws_signed("GET", path, "", &[], b"", SignatureLocation::Headers);
        assert_eq!(
            check(&req).expect_err(path).code,
            S3ErrorCode::SignatureDoesNotMatch,
            "{path}"
        );
    }
    let mut req = aws_signed(
        "GET",
        "/bucket/a%20b",
        "",
        &[],
        b"",
        SignatureLocation::Headers,
    );
    req.path = "/bucket/a+b".into();
    check(&req).expect("a raw plus signed as a space");
}

#[test]
fn header_auth_awkward_queries_signed_by_aws_sdk() {
    let queries = [
        "list-type=2&prefix=with%20space".to_string(),
        "list-type=2&prefix=plus%2Bsign".to_string(),
        // A raw `+` is a space to form-urlencoded parsers and to the AWS signer.
        "list-type=2&prefix=raw+plus".to_string(),
        format!(
            "prefix={}&delimiter=%2F",
            sdk_encode("caf\u{e9} \u{1f980}=&", false)
        ),
        "versions&key-marker=&max-keys=10".to_string(),
        "uploads".to_string(),
        "z=1&a=2&m=%7E".to_string(),
        "tagging&versionId=3%2F4".to_string(),
    ];
    for query in &queries {
        let req = aws_signed(
            "GET",
            "/bucket",
            query,
            &[],
            b"",
            SignatureLocation::Headers,
        );
        check(&req).unwrap_or_else(|e| panic!("{query}: {e}"));
    }
}

#[test]
fn header_auth_with_extra_signed_headers() {
    let headers = [
        ("content-type", "text/plain"),
        ("x-amz-meta-note", "  spaced   out  value "),
        ("x-amz-storage-class", "STANDARD"),
        ("content-md5", "XUFAKrxLKna5cZ2REBfFkg=="),
    ];
    let req = aws_signed(
        "PUT",
        "/bucket/obj",
        "",
        &headers,
        b"hello",
        SignatureLocation::Headers,
    );
    let auth = check(&req).expect("verifies");
    assert!(auth.signed_headers.iter().any(|h| h == "x-amz-meta-note"));
    // Changing a signed metadata value breaks it.
    let mut tampered = req.clone();
    for (n, v) in tampered.headers.iter_mut() {
        if n == "x-amz-meta-note" {
            *v = "other".to_string();
        }
    }
    assert_eq!(
        check(&tampered).expect_err("tampered").code,
        jetgate_protocol::error::S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn presigned_awkward_keys_signed_by_aws_sdk() {
    for key in AWKWARD_KEYS {
        let path = format!("/bucket/{}", sdk_encode(key, true));
        let query = "response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22";
        let req = aws_signed(
            "GET",
            &path,
            query,
            &[],
            b"",
            SignatureLocation::QueryParams,
        );
        let auth = check(&req).unwrap_or_else(|e| panic!("{key:?}: {e}"));
        assert_eq!(auth.kind, AuthKind::Presigned { expires_secs: 3600 });
        assert_eq!(auth.payload_hash, UNSIGNED_PAYLOAD);
    }
}

#[test]
fn chunk_signatures_match_aws_sdk() {
    let identity = identity();
    let params: aws_sigv4::sign::v4::SigningParams<'_, ()> = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("s3")
        .time(signing_time())
        .settings(())
        .build()
        .expect("signing params");
    let key = signing_key(SECRET, "20130524", "us-east-1", "s3");
    let timestamp = "20130524T032507Z";
    let scope = "20130524/us-east-1/s3/aws4_request";
    let seed = "0000000000000000000000000000000000000000000000000000000000000abc";

    let payloads: Vec<bytes::Bytes> = (0..4u8)
        .map(|i| bytes::Bytes::from(vec![i.wrapping_mul(37); usize::from(i) * 1000]))
        .collect();
    let mut running = seed.to_string();
    let mut chunks = Vec::new();
    for payload in &payloads {
        let sig = v4::sign_chunk(payload, &running, &params)
            .expect("sign chunk")
            .into_parts()
            .1;
        let sha = hex::encode(Sha256::digest(payload));
        assert_eq!(chunk_signature(&key, timestamp, scope, &running, &sha), sig);
        chunks.push(ChunkSig {
            sha256: sha,
            signature: sig.clone(),
        });
        running = sig;
    }
    let batch = ChunkBatch {
        access_key: AK.to_string(),
        context: ChunkContext {
            timestamp: timestamp.to_string(),
            scope: scope.to_string(),
            seed_signature: seed.to_string(),
            session: false,
        },
        prev_signature: seed.to_string(),
        chunks,
        trailer: None,
    };
    verify_chunk_batch(&key, &batch).expect("SDK-signed chunks verify");
}
