//! HMAC chain, strings to sign, chunk and trailer signatures.

use hmac::{Hmac, Mac};
use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::ChunkBatch;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ALGORITHM, EMPTY_SHA256};

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (long keys are hashed), so this cannot fail;
    // neither the key length nor the data is something a client can make invalid.
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
/// Derived afresh on each call; verification goes through
/// [`super::key_cache::signing_key_cached`].
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_secret = format!("AWS4{secret}");
    let k_date = hmac(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// `AWS4-HMAC-SHA256\n<timestamp>\n<scope>\n<hex sha256(canonical request)>`.
pub fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    format!("{ALGORITHM}\n{timestamp}\n{scope}\n{hash}")
}

/// Lowercase hex `HMAC(key, string_to_sign)`.
pub fn sign_string(key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(key, string_to_sign.as_bytes()))
}

/// Signature of one `aws-chunked` chunk. The empty-string hash line is a fixed part of
/// the format (it stands for the chunk headers, which are always empty for S3).
pub fn chunk_signature(
    key: &[u8; 32],
    timestamp: &str,
    scope: &str,
    prev_sig: &str,
    chunk_sha256_hex: &str,
) -> String {
    let sts = format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{timestamp}\n{scope}\n{prev_sig}\n{EMPTY_SHA256}\n{chunk_sha256_hex}"
    );
    sign_string(key, &sts)
}

/// Signature of the trailing headers chunk (`x-amz-trailer-signature`). Unlike a data
/// chunk it has no empty-hash line; `trailer_sha256_hex` is the hash of the canonical
/// trailer text, `name:value\n` per trailing header.
pub fn trailer_signature(
    key: &[u8; 32],
    timestamp: &str,
    scope: &str,
    prev_sig: &str,
    trailer_sha256_hex: &str,
) -> String {
    let sts =
        format!("AWS4-HMAC-SHA256-TRAILER\n{timestamp}\n{scope}\n{prev_sig}\n{trailer_sha256_hex}");
    sign_string(key, &sts)
}

/// Constant-time comparison of an expected (lowercase hex) signature with the one the
/// client sent. The client's value is lowercased first: hex case carries no meaning.
/// Length differences return early, which leaks only the length (always 64 for a
/// well-formed signature).
pub fn signatures_match(expected: &str, provided: &str) -> bool {
    let provided = provided.to_ascii_lowercase();
    expected.as_bytes().ct_eq(provided.as_bytes()).into()
}

fn chunk_mismatch(what: &str) -> S3Error {
    S3Error::signature_does_not_match_with(format!(
        "The request signature we calculated does not match the signature you provided ({what})."
    ))
}

/// Verifies a run of chunk signatures chained from `batch.prev_signature`, then the
/// trailer signature (chained from the last chunk's signature) when present. Fails with
/// `SignatureDoesNotMatch` at the first mismatch.
pub fn verify_chunk_batch(key: &[u8; 32], batch: &ChunkBatch) -> Result<(), S3Error> {
    let ctx = &batch.context;
    // Chain from our own (lowercase) value once it matched, as the client's signer
    // chains from the lowercase hex it computed.
    let mut prev = batch.prev_signature.to_ascii_lowercase();
    for (i, chunk) in batch.chunks.iter().enumerate() {
        let expected = chunk_signature(key, &ctx.timestamp, &ctx.scope, &prev, &chunk.sha256);
        if !signatures_match(&expected, &chunk.signature) {
            return Err(chunk_mismatch(&format!("chunk {i} of this batch")));
        }
        prev = expected;
    }
    if let Some(trailer) = &batch.trailer {
        let expected = trailer_signature(key, &ctx.timestamp, &ctx.scope, &prev, &trailer.sha256);
        if !signatures_match(&expected, &trailer.signature) {
            return Err(chunk_mismatch("trailer"));
        }
    }
    Ok(())
}
