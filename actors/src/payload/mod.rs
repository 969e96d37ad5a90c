//! Request payload decoding and verification: pure, streaming, bounded-memory code.
//!
//! - [`PayloadMode`]: what `x-amz-content-sha256` says about the body.
//! - [`ChunkedDecoder`]: the `aws-chunked` framing decoder (signed, unsigned, trailers).
//! - [`ChecksumAlgorithm`] / [`ChecksumHasher`]: the `x-amz-checksum-*` algorithms.
//! - [`PayloadVerifier`]: fed the raw body, yields the object data and checks lengths,
//!   `Content-MD5`, the literal payload hash and additional checksums; collects chunk
//!   signatures for the auth service (it knows no secrets).

pub mod checksum;
pub mod chunked;
pub mod crc_combine;
pub mod md5x;
mod verifier;

pub use checksum::{ChecksumAlgorithm, ChecksumHasher};
pub use chunked::{ChunkEvent, ChunkedDecoder};
pub use verifier::{Digests, PayloadVerifier};

use jetgate_protocol::query::query_pairs;
use jetgate_protocol::{S3Error, SignedRequest};

/// Header values of `x-amz-content-sha256` that name a body encoding.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
pub const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// How the request body is encoded and protected, from `x-amz-content-sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMode {
    /// A plain body whose SHA-256 the client signed.
    Literal([u8; 32]),
    /// A plain body, not covered by the signature (`UNSIGNED-PAYLOAD` or no header).
    Unsigned,
    /// `aws-chunked`, every chunk signed.
    StreamingSigned,
    /// `aws-chunked`, every chunk signed, then signed trailers.
    StreamingSignedTrailer,
    /// `aws-chunked` without signatures, then trailers.
    StreamingUnsignedTrailer,
}

impl PayloadMode {
    /// Parses the `x-amz-content-sha256` value (`None`: header absent → `Unsigned`).
    /// Other `STREAMING-*` values (ECDSA) are `NotImplemented`; anything else that is
    /// not 64 hex digits is `InvalidArgument`.
    pub fn parse(value: Option<&str>) -> Result<Self, S3Error> {
        let Some(v) = value.map(str::trim) else {
            return Ok(PayloadMode::Unsigned);
        };
        Ok(match v {
            UNSIGNED_PAYLOAD => PayloadMode::Unsigned,
            STREAMING_SIGNED => PayloadMode::StreamingSigned,
            STREAMING_SIGNED_TRAILER => PayloadMode::StreamingSignedTrailer,
            STREAMING_UNSIGNED_TRAILER => PayloadMode::StreamingUnsignedTrailer,
            v if v.starts_with("STREAMING-") => {
                return Err(S3Error::not_implemented(&format!(
                    "x-amz-content-sha256: {v}"
                )));
            }
            v => {
                let mut hash = [0u8; 32];
                if v.len() != 64 || hex::decode_to_slice(v, &mut hash).is_err() {
                    return Err(S3Error::invalid_argument(
                        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, \
                         STREAMING-AWS4-HMAC-SHA256-PAYLOAD, \
                         STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, \
                         STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.",
                    ));
                }
                PayloadMode::Literal(hash)
            }
        })
    }

    /// The mode of a request, from its `x-amz-content-sha256` header or, in a presigned
    /// URL, its signed `X-Amz-Content-Sha256` parameter: a URL that signs the body's hash
    /// accepts only that body. The two disagreeing is a mismatch, never a choice.
    pub fn from_request(req: &SignedRequest) -> Result<Self, S3Error> {
        let pairs = query_pairs(&req.query);
        let in_query = pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
            .map(|(_, v)| v.as_str());
        match (req.header("x-amz-content-sha256"), in_query) {
            (Some(h), Some(q)) if h != q => Err(S3Error::x_amz_content_sha256_mismatch_with(
                "The provided 'x-amz-content-sha256' header does not match the signed URL.",
            )),
            (h, q) => Self::parse(h.or(q)),
        }
    }

    /// The body is `aws-chunked` framed.
    pub fn is_chunked(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSigned
                | PayloadMode::StreamingSignedTrailer
                | PayloadMode::StreamingUnsignedTrailer
        )
    }

    /// The chunks carry signatures to verify.
    pub fn is_signed_chunked(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSigned | PayloadMode::StreamingSignedTrailer
        )
    }

    /// Trailers may follow the final chunk.
    pub fn has_trailer(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSignedTrailer | PayloadMode::StreamingUnsignedTrailer
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;

    #[test]
    fn presigned_content_sha256_is_the_mode() {
        let hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let mut req = SignedRequest {
            method: "PUT".into(),
            path: "/b/k".into(),
            query: format!("X-Amz-Signature=x&X-Amz-Content-Sha256={hash}"),
            headers: vec![],
            virtual_host_bucket: None,
        };
        assert!(matches!(
            PayloadMode::from_request(&req).unwrap(),
            PayloadMode::Literal(_)
        ));
        req.headers
            .push(("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
        assert_eq!(
            PayloadMode::from_request(&req).unwrap_err().code,
            S3ErrorCode::XAmzContentSHA256Mismatch
        );
    }

    #[test]
    fn payload_mode_parse() {
        assert_eq!(PayloadMode::parse(None).unwrap(), PayloadMode::Unsigned);
        assert_eq!(
            PayloadMode::parse(Some("UNSIGNED-PAYLOAD")).unwrap(),
            PayloadMode::Unsigned
        );
        assert_eq!(
            PayloadMode::parse(Some(STREAMING_SIGNED)).unwrap(),
            PayloadMode::StreamingSigned
        );
        assert_eq!(
            PayloadMode::parse(Some(STREAMING_SIGNED_TRAILER)).unwrap(),
            PayloadMode::StreamingSignedTrailer
        );
        assert_eq!(
            PayloadMode::parse(Some(STREAMING_UNSIGNED_TRAILER)).unwrap(),
            PayloadMode::StreamingUnsignedTrailer
        );
        let empty = chunked::EMPTY_SHA256_HEX;
        let PayloadMode::Literal(h) = PayloadMode::parse(Some(empty)).unwrap() else {
            panic!("not literal");
        };
        assert_eq!(hex::encode(h), empty);
        assert!(PayloadMode::parse(Some(&empty.to_uppercase()))
            .unwrap()
            .eq(&PayloadMode::Literal(h)));
        let e = PayloadMode::parse(Some("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::NotImplemented);
        for bad in ["", "abc", &empty[..63], &format!("{}zz", &empty[..62])] {
            let e = PayloadMode::parse(Some(bad)).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::InvalidArgument, "{bad:?}");
        }
        assert!(PayloadMode::StreamingUnsignedTrailer.is_chunked());
        assert!(!PayloadMode::StreamingUnsignedTrailer.is_signed_chunked());
        assert!(PayloadMode::StreamingSignedTrailer.has_trailer());
        assert!(!PayloadMode::StreamingSigned.has_trailer());
        assert!(!PayloadMode::Unsigned.is_chunked());
    }
}
