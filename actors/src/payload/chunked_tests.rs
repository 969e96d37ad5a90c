#![allow(clippy::unwrap_used)]

use super::*;
use jetgate_protocol::S3ErrorCode;

pub(crate) const SIG1: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
pub(crate) const SIG2: &str = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
pub(crate) const SIG3: &str = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";
const SHA_64K_A: &str = "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a";
const SHA_1K_A: &str = "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a";
const SHA_HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
const SHA_WORLD: &str = "045f13dd864bafaad0dd977ac971de549b090cb2836f061d0779b26dd9bb8f4b";

/// The body of the AWS SigV4 "PUT object in multiple chunks" example.
pub(crate) fn aws_doc_body() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(format!("10000;chunk-signature={SIG1}\r\n").as_bytes());
    b.extend_from_slice(&[b'a'; 0x10000]);
    b.extend_from_slice(format!("\r\n400;chunk-signature={SIG2}\r\n").as_bytes());
    b.extend_from_slice(&[b'a'; 0x400]);
    b.extend_from_slice(format!("\r\n0;chunk-signature={SIG3}\r\n\r\n").as_bytes());
    b
}

/// Decodes `pieces` in order; merges adjacent `Data` events so splits compare equal.
fn decode(signed: bool, trailer: bool, pieces: &[&[u8]]) -> Result<Vec<ChunkEvent>, S3Error> {
    let mut d = ChunkedDecoder::new(signed, trailer);
    let mut raw = Vec::new();
    for p in pieces {
        d.push(Bytes::copy_from_slice(p), &mut raw)?;
    }
    d.finish(&mut raw)?;
    let mut out: Vec<ChunkEvent> = Vec::new();
    for ev in raw {
        match (out.last_mut(), ev) {
            (Some(ChunkEvent::Data(prev)), ChunkEvent::Data(d)) => {
                let mut v = prev.to_vec();
                v.extend_from_slice(&d);
                *prev = Bytes::from(v);
            }
            (_, ChunkEvent::Data(d)) if d.is_empty() => {}
            (_, ev) => out.push(ev),
        }
    }
    Ok(out)
}

fn end(sha: Option<&str>, sig: Option<&str>) -> ChunkEvent {
    ChunkEvent::ChunkEnd {
        sha256_hex: sha.map(str::to_string),
        signature: sig.map(str::to_string),
    }
}

fn data(d: &[u8]) -> ChunkEvent {
    ChunkEvent::Data(Bytes::copy_from_slice(d))
}

fn err_code(signed: bool, trailer: bool, body: &[u8]) -> S3ErrorCode {
    decode(signed, trailer, &[body]).unwrap_err().code
}

#[test]
fn payload_chunked_aws_doc_example() {
    let body = aws_doc_body();
    let expected = vec![
        data(&[b'a'; 0x10000]),
        end(Some(SHA_64K_A), Some(SIG1)),
        data(&[b'a'; 0x400]),
        end(Some(SHA_1K_A), Some(SIG2)),
        end(Some(EMPTY_SHA256_HEX), Some(SIG3)),
        ChunkEvent::End,
    ];
    assert_eq!(decode(true, false, &[&body]).unwrap(), expected);
    // Arbitrary piece sizes, including ones cutting header lines and CRLFs.
    for size in [1, 2, 3, 7, 64, 85, 86, 87, 1000, 65535, 65621] {
        let pieces: Vec<&[u8]> = body.chunks(size).collect();
        assert_eq!(decode(true, false, &pieces).unwrap(), expected, "{size}");
    }
}

#[test]
fn payload_chunked_data_is_zero_copy() {
    let body = Bytes::from(aws_doc_body());
    let mut d = ChunkedDecoder::new(true, false);
    let mut out = Vec::new();
    d.push(body.clone(), &mut out).unwrap();
    let ChunkEvent::Data(first) = &out[0] else {
        panic!("{:?}", out[0]);
    };
    assert_eq!(first.len(), 0x10000);
    assert!(body.as_ptr_range().contains(&first.as_ptr()));
    assert!(d.is_done());
}

fn small_signed_trailer_body() -> Vec<u8> {
    let s = "a".repeat(64);
    format!(
        "5;chunk-signature={s}\r\nhello\r\n6;chunk-signature={s}\r\n world\r\n\
         0;chunk-signature={s}\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n\
         x-amz-trailer-signature:{s}\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn payload_chunked_signed_trailer_every_split() {
    let s = "a".repeat(64);
    let body = small_signed_trailer_body();
    let expected = vec![
        data(b"hello"),
        end(Some(SHA_HELLO), Some(&s)),
        data(b" world"),
        end(Some(SHA_WORLD), Some(&s)),
        end(Some(EMPTY_SHA256_HEX), Some(&s)),
        ChunkEvent::Trailers {
            headers: vec![("x-amz-checksum-crc32c".into(), "sOO8/Q==".into())],
            signature: Some(s.clone()),
            // The AWS doc's trailer example hashes exactly this canonical text.
            canonical_sha256_hex:
                "1e376db7e1a34a8ef1c4bcee131a2d60a1cb62503747488624e10995f448d774".into(),
        },
        ChunkEvent::End,
    ];
    assert_eq!(decode(true, true, &[&body]).unwrap(), expected);
    // Every single split, and from each split point a second one at various distances
    // (covering a cut inside a header line plus one inside its CRLF, and so on).
    for i in 0..=body.len() {
        for d in [0, 1, 2, 3, 4, 5, 7, 11, 17, 31, 64, 65, 66, 67, 88, 90] {
            let j = (i + d).min(body.len());
            let pieces = [&body[..i], &body[i..j], &body[j..]];
            assert_eq!(decode(true, true, &pieces).unwrap(), expected, "{i} {j}");
        }
    }
    let bytewise: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(decode(true, true, &bytewise).unwrap(), expected);
}

/// What botocore (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `x-amz-trailer:
/// x-amz-checksum-crc32`) sends for `hello world` in one chunk.
pub(crate) fn botocore_body() -> Vec<u8> {
    b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n".to_vec()
}

#[test]
fn payload_chunked_unsigned_trailer_variants() {
    let trailers = ChunkEvent::Trailers {
        headers: vec![("x-amz-checksum-crc32".into(), "DUoRhQ==".into())],
        signature: None,
        canonical_sha256_hex: "107665b56f625e9470930c2dd753eb4a2ee7ead7ca87cbc97f90fe0c3125b99f"
            .into(),
    };
    let expected = vec![
        data(b"hello world"),
        end(None, None),
        end(None, None),
        trailers,
        ChunkEvent::End,
    ];
    let body = botocore_body();
    for i in 0..=body.len() {
        assert_eq!(
            decode(false, true, &[&body[..i], &body[i..]]).unwrap(),
            expected
        );
    }
    let variants: [&[u8]; 6] = [
        // No blank line after the trailers.
        b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n",
        // Not even the CRLF of the trailer line.
        b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==",
        // A blank line between the final chunk and the trailers.
        b"b\r\nhello world\r\n0\r\n\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
        // Bare LFs, spaces and upper case.
        b"b\nhello world\n0\nX-Amz-Checksum-CRC32 : DUoRhQ==\n\n",
        // Extra CRLF after the end, and a chunk extension.
        b"b;foo=bar\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n\r\n",
        // Upper-case hex size.
        b"B\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n",
    ];
    for v in variants {
        assert_eq!(
            decode(false, true, &[v]).unwrap(),
            expected,
            "{}",
            String::from_utf8_lossy(v)
        );
    }
    // No trailers at all: with and without the final blank line.
    let bare = vec![
        data(b"hi"),
        end(None, None),
        end(None, None),
        ChunkEvent::End,
    ];
    assert_eq!(
        decode(false, true, &[b"2\r\nhi\r\n0\r\n\r\n"]).unwrap(),
        bare
    );
    assert_eq!(decode(false, true, &[b"2\r\nhi\r\n0\r\n"]).unwrap(), bare);
}

#[test]
fn payload_chunked_truncated_is_incomplete() {
    let body = aws_doc_body();
    // Every cut before the final chunk's header line is complete.
    let final_line = body.len() - 2;
    for cut in [0, 1, 40, 86, 87, 100, 0x10000, 0x10000 + 87, final_line - 1] {
        assert_eq!(
            err_code(true, false, &body[..cut]),
            S3ErrorCode::IncompleteBody,
            "{cut}"
        );
    }
    let small = botocore_body();
    for cut in 0..18 {
        assert_eq!(
            err_code(false, true, &small[..cut]),
            S3ErrorCode::IncompleteBody,
            "{cut}"
        );
    }
}

#[test]
fn payload_chunked_malformed_is_invalid_request() {
    let long = format!("5;{}\r\nhello\r\n0\r\n\r\n", "x".repeat(MAX_LINE));
    let huge_trailer = format!("0\r\nx-a:{}\r\n\r\n", "v".repeat(MAX_TRAILER_BLOCK));
    let many_trailers = format!("0\r\n{}\r\n", "x-a:v\r\n".repeat(MAX_TRAILER_BLOCK / 7 + 1));
    let sig = "a".repeat(64);
    let cases: Vec<(bool, Vec<u8>)> = vec![
        (false, long.into_bytes()),
        (false, huge_trailer.into_bytes()),
        (false, many_trailers.into_bytes()),
        (false, b"zz\r\nhello\r\n0\r\n\r\n".to_vec()),
        (false, b"\r\nhello\r\n0\r\n\r\n".to_vec()),
        (false, b"-5\r\nhello\r\n0\r\n\r\n".to_vec()),
        (false, b"10000000000000000\r\n".to_vec()),
        (false, b"5\r\nhelloXX0\r\n\r\n".to_vec()),
        (false, b"5\r\nhello\rX0\r\n\r\n".to_vec()),
        (false, b"0\r\nno-colon\r\n\r\n".to_vec()),
        (false, b"0\r\n:value\r\n\r\n".to_vec()),
        (false, b"0\r\n\r\ngarbage".to_vec()),
        (false, b"\xff\r\n".to_vec()),
        // Signed: missing or malformed chunk-signature.
        (true, b"5\r\nhello\r\n".to_vec()),
        (true, b"5;chunk-signature=abc\r\nhello\r\n".to_vec()),
        (
            true,
            format!("0;chunk-signature={sig}\r\nx-amz-trailer-signature:{sig}\r\nx-a:b\r\n\r\n")
                .into_bytes(),
        ),
    ];
    for (signed, body) in cases {
        assert_eq!(
            err_code(signed, true, &body),
            S3ErrorCode::InvalidRequest,
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }
    // A 16-digit size is accepted (and then truncated).
    assert_eq!(
        err_code(false, false, b"ffffffffffffffff\r\nabc"),
        S3ErrorCode::IncompleteBody
    );
}

#[test]
fn payload_chunked_line_limit_is_bounded_while_streaming() {
    // The error comes as soon as the limit is passed, without waiting for a newline.
    let mut d = ChunkedDecoder::new(false, false);
    let mut out = Vec::new();
    d.push(Bytes::from(vec![b'0'; MAX_LINE]), &mut out).unwrap();
    let e = d.push(Bytes::from_static(b"0"), &mut out).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::InvalidRequest);
}
