//! Golden vectors from the AWS S3 SigV4 documentation (examplebucket, 2013-05-24).

use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::{ChunkBatch, ChunkSig, SignedRequest};
use sha2::{Digest, Sha256};
use time::macros::datetime;
use time::OffsetDateTime;

use super::*;

pub(super) const AK: &str = "AKIAIOSFODNN7EXAMPLE";
pub(super) const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub(super) const HOST: &str = "examplebucket.s3.amazonaws.com";
pub(super) const TS: &str = "20130524T000000Z";
pub(super) const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";

pub(super) fn now() -> OffsetDateTime {
    datetime!(2013-05-24 00:00:00 UTC)
}

pub(super) fn request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> SignedRequest {
    SignedRequest {
        virtual_host_bucket: None,
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

pub(super) fn authorization(signed_headers: &str, signature: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={AK}/{SCOPE},SignedHeaders={signed_headers},Signature={signature}")
}

/// The GET Object example: `Range: bytes=0-9`.
pub(super) fn get_object_request(signature: &str) -> SignedRequest {
    request(
        "GET",
        "/test.txt",
        "",
        &[
            ("host", HOST),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", TS),
            (
                "authorization",
                &authorization("host;range;x-amz-content-sha256;x-amz-date", signature),
            ),
        ],
    )
}

pub(super) const GET_OBJECT_SIG: &str =
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

pub(super) fn verify_now(req: &SignedRequest) -> Result<(), S3Error> {
    verify_at(req, now())
}

pub(super) fn verify_at(req: &SignedRequest, at: OffsetDateTime) -> Result<(), S3Error> {
    let auth = parse(req)?;
    assert_eq!(auth.access_key, AK);
    verify(req, &auth, SECRET, at, &VerifyConfig::default())
}

#[test]
fn get_object_canonical_request_and_signature() {
    let req = get_object_request(GET_OBJECT_SIG);
    let auth = parse(&req).expect("parse");
    assert_eq!(auth.kind, AuthKind::Header);
    assert_eq!(auth.scope(), SCOPE);
    let creq = canonical_request(&req, &auth).expect("canonical request");
    assert_eq!(
        creq,
        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
         x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
         x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let sts = string_to_sign(TS, SCOPE, &creq);
    assert_eq!(
        sts,
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\
         7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    );
    let key = signing_key(SECRET, "20130524", "us-east-1", "s3");
    assert_eq!(sign_string(&key, &sts), GET_OBJECT_SIG);
    verify_now(&req).expect("documented GET Object signature verifies");
}

#[test]
fn put_object_with_dollar_in_key() {
    let sig = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd";
    let signed = "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class";
    let headers = [
        ("host", HOST),
        ("date", "Fri, 24 May 2013 00:00:00 GMT"),
        ("authorization", &authorization(signed, sig)),
        ("x-amz-date", TS),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        (
            "x-amz-content-sha256",
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        ),
    ];
    // The docs send the `$` literally; an SDK sends `%24`. Both canonicalise alike.
    for path in ["/test$file.text", "/test%24file.text"] {
        let req = request("PUT", path, "", &headers);
        let auth = parse(&req).expect("parse");
        let creq = canonical_request(&req, &auth).expect("canonical request");
        assert!(creq.starts_with("PUT\n/test%24file.text\n\n"), "{creq}");
        verify_now(&req).expect("documented PUT Object signature verifies");
    }
}

fn bucket_get(query: &str, sig: &str) -> SignedRequest {
    request(
        "GET",
        "/",
        query,
        &[
            ("host", HOST),
            ("x-amz-date", TS),
            ("x-amz-content-sha256", EMPTY_SHA256),
            (
                "authorization",
                &authorization("host;x-amz-content-sha256;x-amz-date", sig),
            ),
        ],
    )
}

#[test]
fn get_bucket_lifecycle() {
    let req = bucket_get(
        "lifecycle",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    );
    let auth = parse(&req).expect("parse");
    let creq = canonical_request(&req, &auth).expect("canonical request");
    assert!(creq.starts_with("GET\n/\nlifecycle=\n"), "{creq}");
    verify_now(&req).expect("documented lifecycle signature verifies");
}

#[test]
fn list_objects_query_sorted() {
    let sig = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7";
    // Parameter order on the wire does not matter: the canonical query is sorted.
    for query in ["max-keys=2&prefix=J", "prefix=J&max-keys=2"] {
        let req = bucket_get(query, sig);
        let auth = parse(&req).expect("parse");
        let creq = canonical_request(&req, &auth).expect("canonical request");
        assert!(creq.starts_with("GET\n/\nmax-keys=2&prefix=J\n"), "{creq}");
        verify_now(&req).expect("documented list signature verifies");
    }
}

pub(super) const PRESIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

pub(super) fn presigned_request(query: &str) -> SignedRequest {
    request("GET", "/test.txt", query, &[("host", HOST)])
}

#[test]
fn presigned_get_object() {
    let req = presigned_request(PRESIGNED_QUERY);
    let auth = parse(&req).expect("parse");
    assert_eq!(
        auth.kind,
        AuthKind::Presigned {
            expires_secs: 86400
        }
    );
    assert_eq!(auth.payload_hash, UNSIGNED_PAYLOAD);
    assert_eq!(auth.signed_headers, vec!["host".to_string()]);
    let creq = canonical_request(&req, &auth).expect("canonical request");
    assert_eq!(
        creq,
        "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\n\
         host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
    );
    verify_now(&req).expect("documented presigned URL verifies");
    // Still valid one second before expiry, a day later.
    verify_at(&req, now() + time::Duration::seconds(86_399)).expect("valid until expiry");
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Request of the chunked-upload examples (`PUT /examplebucket/chunkObject.txt`).
fn chunked_put(
    content_sha256: &str,
    signed: &str,
    seed: &str,
    extra: &[(&str, &str)],
) -> SignedRequest {
    let mut headers = vec![
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", TS),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("x-amz-content-sha256", content_sha256),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
    ];
    headers.extend_from_slice(extra);
    let auth = authorization(signed, seed);
    headers.push(("authorization", &auth));
    request("PUT", "/examplebucket/chunkObject.txt", "", &headers)
}

#[test]
fn chunked_upload_seed_and_chunks() {
    let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    let req = chunked_put(
        STREAMING_PAYLOAD,
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
        seed,
        &[("content-length", "66824")],
    );
    let auth = parse(&req).expect("parse");
    assert!(auth.has_signed_chunks());
    verify_now(&req).expect("documented seed signature verifies");

    let ctx = auth.chunk_context();
    assert_eq!(ctx.seed_signature, seed);
    let key = signing_key(SECRET, &auth.date, &auth.region, &auth.service);
    assert_eq!(
        signing_key_for_scope(SECRET, &ctx.scope).expect("scope"),
        key
    );
    let hashes = [
        sha256_hex(&[b'a'; 65536]),
        sha256_hex(&[b'a'; 1024]),
        sha256_hex(b""),
    ];
    let sigs = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ];
    let mut prev = seed.to_string();
    for (hash, sig) in hashes.iter().zip(sigs) {
        assert_eq!(chunk_signature(&key, TS, SCOPE, &prev, hash), sig);
        prev = sig.to_string();
    }

    let chunks: Vec<ChunkSig> = hashes
        .iter()
        .zip(sigs)
        .map(|(h, s)| ChunkSig {
            sha256: h.clone(),
            signature: s.to_string(),
        })
        .collect();
    let whole = ChunkBatch {
        access_key: AK.to_string(),
        context: ctx.clone(),
        prev_signature: seed.to_string(),
        chunks: chunks.clone(),
        trailer: None,
    };
    verify_chunk_batch(&key, &whole).expect("all chunks verify in one batch");
    // A batch can start mid-stream, chained from the previous batch's last signature.
    let tail = ChunkBatch {
        prev_signature: sigs[0].to_string(),
        chunks: chunks[1..].to_vec(),
        ..whole
    };
    verify_chunk_batch(&key, &tail).expect("a later batch verifies");
}

pub(super) const TRAILER_SEED: &str =
    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
pub(super) const TRAILER_CHUNK_SIGS: [&str; 3] = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
];
pub(super) const TRAILER_SIG: &str =
    "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

/// The chunk batch of the trailing-headers example, all chunks plus the trailer.
pub(super) fn trailer_batch() -> ChunkBatch {
    let hashes = [
        sha256_hex(&[b'a'; 65536]),
        sha256_hex(&[b'a'; 1024]),
        sha256_hex(b""),
    ];
    ChunkBatch {
        access_key: AK.to_string(),
        context: jetgate_protocol::messages::ChunkContext {
            timestamp: TS.to_string(),
            scope: SCOPE.to_string(),
            seed_signature: TRAILER_SEED.to_string(),
            session: false,
        },
        prev_signature: TRAILER_SEED.to_string(),
        chunks: hashes
            .iter()
            .zip(TRAILER_CHUNK_SIGS)
            .map(|(h, s)| ChunkSig {
                sha256: h.clone(),
                signature: s.to_string(),
            })
            .collect(),
        trailer: Some(ChunkSig {
            sha256: sha256_hex(b"x-amz-checksum-crc32c:sOO8/Q==\n"),
            signature: TRAILER_SIG.to_string(),
        }),
    }
}

#[test]
fn chunked_upload_with_trailer() {
    let req = chunked_put(
        STREAMING_PAYLOAD_TRAILER,
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
        TRAILER_SEED,
        &[("x-amz-trailer", "x-amz-checksum-crc32c"), ("content-length", "66824")],
    );
    let auth = parse(&req).expect("parse");
    let creq = canonical_request(&req, &auth).expect("canonical request");
    assert_eq!(
        sha256_hex(creq.as_bytes()),
        "44d48b8c2f70eae815a0198cc73d7a546a73a93359c070abbaa5e6c7de112559"
    );
    verify_now(&req).expect("documented trailer seed signature verifies");

    let batch = trailer_batch();
    assert_eq!(batch.context, auth.chunk_context());
    let key = signing_key(SECRET, "20130524", "us-east-1", "s3");
    let trailer_hash = sha256_hex(b"x-amz-checksum-crc32c:sOO8/Q==\n");
    assert_eq!(
        trailer_hash,
        "1e376db7e1a34a8ef1c4bcee131a2d60a1cb62503747488624e10995f448d774"
    );
    assert_eq!(
        trailer_signature(&key, TS, SCOPE, TRAILER_CHUNK_SIGS[2], &trailer_hash),
        TRAILER_SIG
    );
    verify_chunk_batch(&key, &batch).expect("documented chunks and trailer verify");
    // The trailer may arrive in a batch of its own, chained from the final chunk.
    let trailer_only = ChunkBatch {
        prev_signature: TRAILER_CHUNK_SIGS[2].to_string(),
        chunks: vec![],
        ..batch
    };
    verify_chunk_batch(&key, &trailer_only).expect("trailer-only batch verifies");
}

#[test]
fn date_header_fallback_converts_to_iso8601() {
    let req = request(
        "GET",
        "/",
        "",
        &[
            ("host", HOST),
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("authorization", &authorization("date;host", "00")),
        ],
    );
    let auth = parse(&req).expect("parse");
    assert_eq!(auth.timestamp, TS);
}

#[test]
fn secret_key_is_redacted() {
    let key = SecretKey::new(SECRET);
    assert_eq!(format!("{key:?}"), "[redacted]");
    assert_eq!(format!("{key}"), "[redacted]");
    assert_eq!(key.expose(), SECRET);
}

/// Cost of one header verification and of one chunk-batch key, for comparing
/// changes to the key derivation. Prints timings; asserts nothing about them.
/// `cargo test --release -p jetgate-actors sigv4::tests_golden::verify_timing -- --ignored --nocapture`
#[test]
#[ignore = "timing loop, run by hand"]
fn verify_timing() {
    const N: u32 = 200_000;
    let req = get_object_request(GET_OBJECT_SIG);
    let auth = parse(&req).expect("parse");
    let cfg = VerifyConfig::default();
    let start = std::time::Instant::now();
    for _ in 0..N {
        verify(&req, &auth, SECRET, now(), &cfg).expect("verifies");
    }
    let per_verify = start.elapsed() / N;
    let start = std::time::Instant::now();
    for _ in 0..N {
        std::hint::black_box(signing_key_for_scope(SECRET, SCOPE).expect("scope"));
    }
    let per_key = start.elapsed() / N;
    let start = std::time::Instant::now();
    for _ in 0..N {
        std::hint::black_box(signing_key(SECRET, "20130524", "us-east-1", "s3"));
    }
    let per_derivation = start.elapsed() / N;
    println!(
        "verify (header auth): {per_verify:?}; signing key for a chunk batch: {per_key:?}; \
         uncached derivation: {per_derivation:?}"
    );
}
