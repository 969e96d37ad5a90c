#![allow(clippy::unwrap_used)]

use super::*;
use crate::payload::chunked::tests::{aws_doc_body, botocore_body, SIG1, SIG2, SIG3};
use crate::payload::chunked::EMPTY_SHA256_HEX;
use jetgate_protocol::S3ErrorCode;

const HELLO_MD5_B64: &str = "XrY7u+Ae7tCTyyK7j1rNww==";
const HELLO_MD5_HEX: &str = "5eb63bbbe01eeed093cb22bb8f5acdc3";
const HELLO_SHA256: &str = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

fn req(headers: &[(&str, &str)]) -> SignedRequest {
    SignedRequest {
        virtual_host_bucket: None,
        method: "PUT".into(),
        path: "/bucket/key".into(),
        query: String::new(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

/// Feeds `body` in `piece`-sized pieces; returns the decoded data and the outcome.
fn run(headers: &[(&str, &str)], body: &[u8], piece: usize) -> (Vec<u8>, Result<Digests, S3Error>) {
    let mut v = match PayloadVerifier::new(&req(headers)) {
        Ok(v) => v,
        Err(e) => return (Vec::new(), Err(e)),
    };
    let mut data = Vec::new();
    for p in body.chunks(piece.max(1)) {
        match v.push(Bytes::copy_from_slice(p)) {
            Ok(out) => out.iter().for_each(|b| data.extend_from_slice(b)),
            Err(e) => return (data, Err(e)),
        }
    }
    (data, futures::executor::block_on(v.finish()))
}

fn code(headers: &[(&str, &str)], body: &[u8]) -> S3ErrorCode {
    run(headers, body, 7).1.unwrap_err().code
}

const BOTO: [(&str, &str); 5] = [
    ("content-encoding", "aws-chunked"),
    ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
    ("x-amz-trailer", "x-amz-checksum-crc32"),
    ("x-amz-decoded-content-length", "11"),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
];

#[test]
fn payload_verifier_aws_doc_signed_chunks() {
    let headers = [
        ("content-encoding", "aws-chunked"),
        ("content-length", "66824"),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("x-amz-decoded-content-length", "66560"),
    ];
    let body = aws_doc_body();
    assert_eq!(body.len(), 66824);
    let mut v = PayloadVerifier::new(&req(&headers)).unwrap();
    assert_eq!(v.mode(), PayloadMode::StreamingSigned);
    let (first, rest) = body.split_at(66_000);
    let out = v.push(Bytes::copy_from_slice(first)).unwrap();
    assert_eq!(out.iter().map(Bytes::len).sum::<usize>(), 65536 + 288);
    assert_eq!(v.pending_chunk_sigs(), 1);
    let sigs = v.take_chunk_sigs();
    assert_eq!(sigs[0].signature, SIG1);
    assert_eq!(
        sigs[0].sha256,
        "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a"
    );
    v.push(Bytes::copy_from_slice(rest)).unwrap();
    let d = futures::executor::block_on(v.finish()).unwrap();
    assert_eq!(d.decoded_len, 66560);
    assert_eq!(hex::encode(d.md5), "da0d2e17cd5a8f14633c6b4aebad7e02");
    assert_eq!(
        hex::encode(d.sha256.unwrap()),
        "cd69d3887c6af9264b100d7b7602331335d9aa7e3bd7c30cdc6d6f4bfbb3c888"
    );
    let rest: Vec<(&str, &str)> = d
        .chunk_sigs
        .iter()
        .map(|c| (c.sha256.as_str(), c.signature.as_str()))
        .collect();
    assert_eq!(
        rest,
        [
            (
                "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a",
                SIG2
            ),
            (EMPTY_SHA256_HEX, SIG3)
        ]
    );
    assert!(d.trailer_sig.is_none());
    assert!(d.checksum.is_none());
    // Every piece size gives the same data.
    for piece in [1, 100, 4096, 65536] {
        let (data, res) = run(&headers, &body, piece);
        assert_eq!(data, vec![b'a'; 66560]);
        assert_eq!(res.unwrap().chunk_sigs.len(), 3);
    }
}

#[test]
fn payload_verifier_botocore_unsigned_trailer() {
    let body = botocore_body();
    for piece in 1..=body.len() {
        let (data, res) = run(&BOTO, &body, piece);
        assert_eq!(data, b"hello world");
        let d = res.unwrap();
        assert_eq!(
            d.checksum,
            Some((ChecksumAlgorithm::Crc32, "DUoRhQ==".into()))
        );
        assert_eq!(hex::encode(d.md5), HELLO_MD5_HEX);
        assert_eq!(hex::encode(d.sha256.unwrap()), HELLO_SHA256);
        assert!(d.chunk_sigs.is_empty() && d.trailer_sig.is_none());
    }
}

#[test]
fn payload_verifier_trailer_errors() {
    let wrong = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
    let e = run(&BOTO, wrong, 5).1.unwrap_err();
    assert_eq!(e.code, S3ErrorCode::BadDigest);
    assert_eq!(
        e.message,
        "The CRC32 you specified did not match the calculated checksum."
    );
    // Declared but never sent.
    assert_eq!(
        code(&BOTO, b"b\r\nhello world\r\n0\r\n\r\n"),
        S3ErrorCode::InvalidRequest
    );
    // Not base64 / wrong length.
    let bad = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
    let e = run(&BOTO, bad, 5).1.unwrap_err();
    assert_eq!(e.code, S3ErrorCode::InvalidRequest);
    assert_eq!(
        e.message,
        "Value for x-amz-checksum-crc32 header is invalid."
    );
    // A checksum trailer other than the declared one.
    let other = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32c:yZRlqg==\r\n\r\n";
    assert_eq!(code(&BOTO, other), S3ErrorCode::InvalidRequest);
    // Trailers in a mode without trailers.
    let sig = "a".repeat(64);
    let signed_only = format!("0;chunk-signature={sig}\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    let h = [("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")];
    assert_eq!(
        code(&h, signed_only.as_bytes()),
        S3ErrorCode::InvalidRequest
    );
    // x-amz-trailer without a trailer mode.
    let h = [
        ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ];
    assert_eq!(code(&h, b"hello world"), S3ErrorCode::InvalidRequest);
}

#[test]
fn payload_verifier_signed_trailer() {
    let sig = "b".repeat(64);
    let headers = [
        (
            "x-amz-content-sha256",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        ),
        ("x-amz-trailer", "x-amz-checksum-crc32c"),
        ("x-amz-decoded-content-length", "11"),
    ];
    let body = format!(
        "b;chunk-signature={sig}\r\nhello world\r\n0;chunk-signature={sig}\r\n\
         x-amz-checksum-crc32c:yZRlqg==\r\nx-amz-trailer-signature:{sig}\r\n\r\n"
    );
    let (data, res) = run(&headers, body.as_bytes(), 3);
    assert_eq!(data, b"hello world");
    let d = res.unwrap();
    assert_eq!(d.chunk_sigs.len(), 2);
    assert_eq!(d.chunk_sigs[0].sha256, HELLO_SHA256);
    let t = d.trailer_sig.unwrap();
    assert_eq!(t.signature, sig);
    assert_eq!(
        t.sha256,
        "7ac6e7163d25152093f55d87f0bc3ce15a6b93ff690d87cf5f8637eacd5a4fb1"
    );
    assert_eq!(
        d.checksum,
        Some((ChecksumAlgorithm::Crc32c, "yZRlqg==".into()))
    );
    // Without the trailer signature.
    let unsigned = format!(
        "b;chunk-signature={sig}\r\nhello world\r\n0;chunk-signature={sig}\r\n\
         x-amz-checksum-crc32c:yZRlqg==\r\n\r\n"
    );
    assert_eq!(
        code(&headers, unsigned.as_bytes()),
        S3ErrorCode::InvalidRequest
    );
}

#[test]
fn payload_verifier_literal_and_unsigned() {
    let (data, res) = run(&[("x-amz-content-sha256", HELLO_SHA256)], b"hello world", 4);
    assert_eq!(data, b"hello world");
    assert_eq!(hex::encode(res.unwrap().md5), HELLO_MD5_HEX);
    assert_eq!(
        code(
            &[("x-amz-content-sha256", EMPTY_SHA256_HEX)],
            b"hello world"
        ),
        S3ErrorCode::XAmzContentSHA256Mismatch
    );
    let (_, res) = run(&[], b"", 1);
    let d = res.unwrap();
    assert_eq!(d.decoded_len, 0);
    assert_eq!(hex::encode(d.sha256.unwrap()), EMPTY_SHA256_HEX);
    assert_eq!(
        code(&[("x-amz-content-sha256", "nope")], b""),
        S3ErrorCode::InvalidArgument
    );
}

#[test]
fn payload_verifier_content_md5() {
    let ok = run(&[("content-md5", HELLO_MD5_B64)], b"hello world", 3);
    assert!(ok.1.is_ok());
    let e = run(
        &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
        b"hello world",
        3,
    )
    .1
    .unwrap_err();
    assert_eq!(e.code, S3ErrorCode::BadDigest);
    for bad in ["not base64!", "AAAA", ""] {
        assert_eq!(
            code(&[("content-md5", bad)], b"hello world"),
            S3ErrorCode::InvalidDigest,
            "{bad}"
        );
    }
}

#[test]
fn payload_verifier_checksum_headers() {
    let ok = run(&[("x-amz-checksum-crc32", "DUoRhQ==")], b"hello world", 2);
    assert_eq!(
        ok.1.unwrap().checksum,
        Some((ChecksumAlgorithm::Crc32, "DUoRhQ==".into()))
    );
    let sha1 = [("x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=")];
    assert!(run(&sha1, b"hello world", 2).1.is_ok());
    assert_eq!(
        code(
            &[("x-amz-checksum-crc64nvme", "AAAAAAAAAAA=")],
            b"hello world"
        ),
        S3ErrorCode::BadDigest
    );
    assert_eq!(
        code(&[("x-amz-checksum-crc32", "xyz")], b"hello world"),
        S3ErrorCode::InvalidRequest
    );
    let two = [
        ("x-amz-checksum-crc32", "DUoRhQ=="),
        ("x-amz-checksum-crc32c", "yZRlqg=="),
    ];
    assert_eq!(code(&two, b"hello world"), S3ErrorCode::InvalidRequest);
    // Only the algorithm: computed, nothing to check.
    let d = run(
        &[("x-amz-checksum-algorithm", "crc64nvme")],
        b"hello world",
        2,
    )
    .1
    .unwrap();
    assert_eq!(
        d.checksum,
        Some((ChecksumAlgorithm::Crc64Nvme, "jSnVw/bqjr4=".into()))
    );
}

#[test]
fn payload_verifier_lengths() {
    let mut h = BOTO;
    h[3] = ("x-amz-decoded-content-length", "12");
    assert_eq!(code(&h, &botocore_body()), S3ErrorCode::IncompleteBody);
    h[3] = ("x-amz-decoded-content-length", "10");
    assert_eq!(code(&h, &botocore_body()), S3ErrorCode::IncompleteBody);
    h[3] = ("x-amz-decoded-content-length", "ten");
    assert_eq!(code(&h, &botocore_body()), S3ErrorCode::InvalidArgument);
    // Truncated chunked body.
    let body = botocore_body();
    assert_eq!(code(&BOTO, &body[..10]), S3ErrorCode::IncompleteBody);
    // Plain body vs Content-Length, short and long.
    assert_eq!(
        code(&[("content-length", "12")], b"hello world"),
        S3ErrorCode::IncompleteBody
    );
    assert_eq!(
        code(&[("content-length", "5")], b"hello world"),
        S3ErrorCode::IncompleteBody
    );
    assert!(run(&[("content-length", "11")], b"hello world", 3)
        .1
        .is_ok());
}

#[test]
fn without_sha256_skips_the_hash_only_when_the_signature_does_not_need_it() {
    let unsigned = req(&[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]);
    let mut v = PayloadVerifier::new(&unsigned).unwrap().without_sha256();
    v.push(Bytes::from_static(b"hello world")).unwrap();
    assert!(futures::executor::block_on(v.finish())
        .unwrap()
        .sha256
        .is_none());

    let literal = req(&[("x-amz-content-sha256", HELLO_SHA256)]);
    let mut v = PayloadVerifier::new(&literal).unwrap().without_sha256();
    v.push(Bytes::from_static(b"hello world")).unwrap();
    assert_eq!(
        hex::encode(
            futures::executor::block_on(v.finish())
                .unwrap()
                .sha256
                .unwrap()
        ),
        HELLO_SHA256
    );

    // A literal hash is still enforced with the shortcut on.
    let mut v = PayloadVerifier::new(&literal).unwrap().without_sha256();
    v.push(Bytes::from_static(b"other")).unwrap();
    assert!(futures::executor::block_on(v.finish()).is_err());
}
