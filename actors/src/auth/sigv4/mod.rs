//! SigV4 verification (S3 flavour) as pure functions.
//!
//! Nothing here does I/O or looks up credentials: the auth verifier role fetches the
//! secret for `ParsedAuth::access_key` and hands it to [`verify`]. The flow is
//!
//! 1. [`parse`] the request (Authorization header or presigned query parameters),
//! 2. look the access key up (unknown key → `InvalidAccessKeyId`, the caller's job),
//! 3. [`verify`] scope, clock and signature,
//! 4. for `STREAMING-*` payloads, check chunk runs with [`verify_chunk_batch`] using
//!    [`signing_key_for_scope`] and [`ParsedAuth::chunk_context`].
//!
//! Signing keys are derived once per (secret, date, region, service) and kept in a
//! bounded cache ([`signing_key_cached`], `key_cache.rs`).
//!
//! S3 differs from generic SigV4 in that the canonical URI is encoded once (not
//! double-encoded) and never dot-segment normalised; see [`canonical_uri`].

mod canonical;
mod key_cache;
mod parse;
mod sign;
mod verify;

#[cfg(test)]
mod tests_aws_sdk;
#[cfg(test)]
mod tests_golden;
#[cfg(test)]
mod tests_negative;

use std::fmt;

use jetgate_protocol::messages::ChunkContext;

pub use canonical::{canonical_query, canonical_request, canonical_uri, uri_encode};
pub use key_cache::{signing_key_cached, signing_key_for_scope};
pub use parse::parse;
pub(crate) use parse::parse_credential;
pub use sign::{
    chunk_signature, sign_string, signatures_match, signing_key, string_to_sign, trailer_signature,
    verify_chunk_batch,
};
pub use verify::{verify, VerifyConfig};

/// The only algorithm S3 accepts for SigV4.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Hex SHA-256 of the empty string; appears in every chunk string-to-sign.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Longest presigned validity S3 allows (7 days), in seconds.
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;

/// `x-amz-content-sha256` values that are not a hex digest.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
pub const STREAMING_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// Where the signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `Authorization: AWS4-HMAC-SHA256 ...`
    Header,
    /// `X-Amz-Algorithm=...&X-Amz-Signature=...` in the query string.
    Presigned { expires_secs: u64 },
}

/// SigV4 inputs extracted from a request, before any secret is involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAuth {
    pub access_key: String,
    /// Credential scope date, `yyyymmdd`.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Request time in ISO 8601 basic form (`20130524T000000Z`), as used in the
    /// string to sign. Taken from `x-amz-date` / `X-Amz-Date`, or converted from
    /// the `Date` header when that is all the client sent.
    pub timestamp: String,
    /// Lowercase header names, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// Lowercase hex signature as provided by the client.
    pub signature: String,
    pub kind: AuthKind,
    /// Last line of the canonical request: the `x-amz-content-sha256` value for
    /// header auth (hex digest or one of the `UNSIGNED`/`STREAMING` constants),
    /// `UNSIGNED-PAYLOAD` for presigned URLs unless the client signed a hash.
    pub payload_hash: String,
}

impl ParsedAuth {
    /// Credential scope, e.g. `20130524/us-east-1/s3/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }

    /// What the chunk signatures of a `STREAMING-AWS4-HMAC-SHA256-*` body chain from:
    /// the seed is the request signature itself.
    pub fn chunk_context(&self) -> ChunkContext {
        ChunkContext {
            timestamp: self.timestamp.clone(),
            scope: self.scope(),
            seed_signature: self.signature.clone(),
            session: false,
        }
    }

    /// True when the body is `aws-chunked` with per-chunk signatures to verify.
    pub fn has_signed_chunks(&self) -> bool {
        self.payload_hash == STREAMING_PAYLOAD || self.payload_hash == STREAMING_PAYLOAD_TRAILER
    }
}

/// A secret access key that never shows up in logs: `Debug` and `Display` print
/// `[redacted]`. Read it with [`SecretKey::expose`] only where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> Self {
        SecretKey(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretKey {
    fn from(secret: String) -> Self {
        SecretKey(secret)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
