//! Scope, clock and signature checks.

use std::time::Duration;

use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::SignedRequest;
use time::OffsetDateTime;

use super::canonical::{canonical_request_with_uri, canonical_uri};
use super::key_cache::signing_key_cached;
use super::parse::{check_expires, parse_amz_date};
use super::sign::{sign_string, signatures_match, string_to_sign};
use super::{AuthKind, ParsedAuth};

/// What [`verify`] checks against.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Region clients must sign for. Empty accepts any region (some clients, e.g.
    /// ones pointed at a custom endpoint, sign with whatever region they were given).
    pub region: String,
    /// Allowed difference between the request time and `now` (S3: 15 minutes).
    pub max_skew: Duration,
    /// Reject requests carrying `x-amz-*` headers that are not signed, as S3 does, so
    /// nobody can add e.g. `x-amz-copy-source` or `x-amz-acl` to a signed request.
    /// Headers that SDKs deliberately leave unsigned, or that are covered by the
    /// string to sign anyway, are exempt (see [`UNSIGNED_AMZ_HEADERS_ALLOWED`]).
    pub reject_unsigned_amz_headers: bool,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            region: "us-east-1".to_string(),
            max_skew: Duration::from_secs(15 * 60),
            reject_unsigned_amz_headers: true,
        }
    }
}

/// `x-amz-*` headers allowed unsigned. The AWS SDK signers exclude `x-amz-user-agent`
/// (and `x-amz-checksum-mode` for presigned URLs); `x-amz-content-sha256` and
/// `x-amz-date` are bound by the canonical request / string to sign regardless.
pub const UNSIGNED_AMZ_HEADERS_ALLOWED: &[&str] = &[
    "x-amz-user-agent",
    "x-amz-checksum-mode",
    "x-amz-content-sha256",
    "x-amz-date",
];

fn check_scope(auth: &ParsedAuth, cfg: &VerifyConfig) -> Result<(), S3Error> {
    let presigned = matches!(auth.kind, AuthKind::Presigned { .. });
    let malformed = |detail: String| match presigned {
        true => S3Error::authorization_query_parameters_error(format!(
            "Error parsing the X-Amz-Credential parameter; {detail}"
        )),
        false => S3Error::authorization_header_malformed(format!(
            "The authorization header is malformed; {detail}"
        )),
    };
    if auth.service != "s3" {
        return Err(malformed(format!(
            "incorrect service \"{}\". This endpoint belongs to \"s3\".",
            auth.service
        )));
    }
    if !cfg.region.is_empty() && auth.region != cfg.region {
        return Err(malformed(format!(
            "the region '{}' is wrong; expecting '{}'",
            auth.region, cfg.region
        )));
    }
    Ok(())
}

fn check_time(auth: &ParsedAuth, now: OffsetDateTime, cfg: &VerifyConfig) -> Result<(), S3Error> {
    let Some(signed_at) = parse_amz_date(&auth.timestamp) else {
        return Err(S3Error::access_denied_with(
            "AWS authentication requires a valid Date or x-amz-date header",
        ));
    };
    // A skew too large for `time::Duration` cannot be within any sane window.
    let max_skew = time::Duration::try_from(cfg.max_skew).unwrap_or(time::Duration::MAX);
    match auth.kind {
        AuthKind::Header => {
            if (now - signed_at).abs() > max_skew {
                return Err(S3Error::request_time_too_skewed());
            }
        }
        AuthKind::Presigned { expires_secs } => {
            check_expires(expires_secs)?;
            // A presigned URL may be used long after it was made (up to its expiry),
            // so only a signing time in the future is limited by the skew window.
            if signed_at - now > max_skew {
                return Err(S3Error::access_denied_with("Request is not valid yet"));
            }
            let expires = time::Duration::seconds(i64::try_from(expires_secs).unwrap_or(i64::MAX));
            if now - signed_at > expires {
                return Err(S3Error::access_denied_with("Request has expired"));
            }
        }
    }
    Ok(())
}

fn check_unsigned_headers(req: &SignedRequest, auth: &ParsedAuth) -> Result<(), S3Error> {
    let unsigned: Vec<&str> = req
        .headers
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| name.starts_with("x-amz-"))
        .filter(|name| !UNSIGNED_AMZ_HEADERS_ALLOWED.contains(name))
        .filter(|name| !auth.signed_headers.iter().any(|s| s == name))
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    Err(S3Error::access_denied_with(format!(
        "There were headers present in the request which were not signed: {}",
        unsigned.join(", ")
    )))
}

/// Checks region/service, clock skew or presigned expiry, unsigned `x-amz-*` headers,
/// then the signature in constant time.
///
/// The canonical URI is the S3 one ([`canonical_uri`]). If that does not match and the
/// raw path differs from it, the raw path as sent is tried too: some signers sign the
/// path bytes exactly as they put them on the wire (e.g. a literal `$`), and a
/// signature over the exact bytes received is just as binding.
pub fn verify(
    req: &SignedRequest,
    auth: &ParsedAuth,
    secret: &str,
    now: OffsetDateTime,
    cfg: &VerifyConfig,
) -> Result<(), S3Error> {
    check_scope(auth, cfg)?;
    check_time(auth, now, cfg)?;
    if cfg.reject_unsigned_amz_headers {
        check_unsigned_headers(req, auth)?;
    }

    let key = signing_key_cached(secret, &auth.date, &auth.region, &auth.service);
    let scope = auth.scope();
    // The route table reads a raw `+` in the path as a space, as S3 does; the signature
    // must bind that same key, so a raw `+` canonicalises as `%20`, and the exact-bytes
    // candidate is not offered for such a path (it would bind a key with a plus).
    let normalized = canonical_uri(&req.path.replace('+', "%20"));
    let mut candidates = vec![normalized.as_str()];
    if req.path.starts_with('/') && req.path != normalized && !req.path.contains('+') {
        candidates.push(req.path.as_str());
    }
    for uri in candidates {
        let creq = canonical_request_with_uri(req, auth, uri)?;
        let expected = sign_string(&key, &string_to_sign(&auth.timestamp, &scope, &creq));
        if signatures_match(&expected, &auth.signature) {
            return Ok(());
        }
    }
    Err(S3Error::signature_does_not_match())
}
