//! SigV2 verification (S3 "Signing and Authenticating REST Requests") as pure functions.
//!
//! Older clients still sign this way: s3cmd by default and old SDKs use the
//! `Authorization: AWS AKID:base64(HMAC-SHA1)` header, and botocore's
//! `generate_presigned_url` against a custom endpoint produces query-string auth
//! (`?AWSAccessKeyId=..&Signature=..&Expires=..`). Nothing here does I/O or looks up
//! credentials; the flow mirrors [`super::sigv4`]:
//!
//! 1. [`is_sigv2`] tells whether a request is SigV2 at all (cheap, no allocation),
//! 2. [`parse`] extracts access key, signature and kind,
//! 3. the caller looks the access key up (unknown key → `InvalidAccessKeyId`),
//! 4. [`verify`] checks the clock (header auth) or the expiry (query auth), then the
//!    signature in constant time.
//!
//! ```text
//! StringToSign = HTTP-Verb "\n" Content-MD5 "\n" Content-Type "\n" Date "\n"
//!                CanonicalizedAmzHeaders CanonicalizedResource
//! ```
//!
//! * Query auth puts the `Expires` value on the Date line. Clients move `x-amz-*`,
//!   `Content-Type` and `Content-MD5` into the query string of a presigned URL (botocore
//!   does), so for query auth a header that is absent is taken from the query parameter
//!   of the same (lowercase) name. A header that *is* sent always wins, so a header
//!   cannot be swapped under a signed query value.
//! * Header auth with `x-amz-date`: the Date line is empty and `x-amz-date` is one of the
//!   amz headers (the rule in the AWS text, and what s3cmd does). [`verify`] also accepts
//!   the two other forms seen in the wild: the AWS documentation's own DELETE example
//!   (the `x-amz-date` value on the Date line, not repeated as an amz header) and
//!   botocore with a caller-supplied `x-amz-date` (the `Date` header on the Date line
//!   *and* `x-amz-date` as an amz header). All of them bind the `x-amz-date` value,
//!   which is the time the clock check uses.
//! * The resource is the path exactly as sent (percent-encoded, not decoded). If that
//!   does not match, [`verify`] also tries the S3 normalised encoding
//!   ([`super::sigv4::canonical_uri`]), for clients whose HTTP library re-encodes the
//!   path after signing. Sub-resources ([`SUB_RESOURCES`]) are appended sorted, with
//!   percent-decoded values (a raw `+` stays `+`, as botocore's `unquote` leaves it).
//!   A sub-resource sent as `k=` (empty value) is signed as `k=` by botocore and as `k`
//!   by others; both are tried.
//!
//! Virtual-hosted-style requests sign `/<bucket><path>`: pass the bucket from the Host
//! header to [`string_to_sign_for`] / [`verify_for`]. [`string_to_sign`] and
//! [`verify`] are the path-style forms (`virtual_host_bucket = None`).

mod string_to_sign;
mod verify;

#[cfg(test)]
mod tests;

#[cfg(test)]
use verify::parse_request_time;

use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::SignedRequest;
use percent_encoding::percent_decode_str;

pub use string_to_sign::{sign, string_to_sign, string_to_sign_for};
pub use verify::{verify, verify_for};

/// Query parameters that are part of the CanonicalizedResource, sorted bytewise (the
/// order they are emitted in). The AWS SigV2 list, plus the ones botocore and MinIO
/// sign for newer APIs (`accelerate`, `object-lock`, `retention`, `select`, ...): a
/// parameter missing from this list would be an unsigned operation selector.
pub const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "encryption",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Where the SigV2 signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2Kind {
    /// `Authorization: AWS AKID:signature`
    Header,
    /// `AWSAccessKeyId=..&Signature=..&Expires=..` in the query string; `expires` in
    /// unix seconds.
    Query { expires: i64 },
}

/// SigV2 inputs extracted from a request, before any secret is involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedV2 {
    pub access_key: String,
    /// Base64 signature as provided (percent-decoding of the query already undone).
    pub signature: String,
    pub kind: V2Kind,
}

const AUTH_PREFIX: &str = "AWS ";

/// True when the request carries SigV2 auth: an `Authorization: AWS ...` header (note
/// the space: `AWS4-HMAC-SHA256` is SigV4), or, without an Authorization header, both
/// `AWSAccessKeyId` and `Signature` query parameters. Does not allocate.
pub fn is_sigv2(req: &SignedRequest) -> bool {
    if let Some(auth) = req.header("authorization") {
        return auth.trim_start().starts_with(AUTH_PREFIX);
    }
    let (mut access_key, mut signature) = (false, false);
    for segment in req.query.split('&') {
        match segment.split_once('=').map_or(segment, |(k, _)| k) {
            "AWSAccessKeyId" => access_key = true,
            "Signature" => signature = true,
            _ => {}
        }
    }
    access_key && signature
}

/// Splits a raw query into `(key, value, has_eq)`, percent-decoded; a raw `+` is kept
/// as `+` (botocore percent-encodes a plus, and base64 signatures contain it raw when a
/// client did not encode them). Empty segments are skipped.
fn query_params(raw: &str) -> Vec<(String, String, bool)> {
    raw.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (k, v, has_eq) = match segment.split_once('=') {
                Some((k, v)) => (k, v, true),
                None => (segment, "", false),
            };
            (decode(k), decode(v), has_eq)
        })
        .collect()
}

fn decode(raw: &str) -> String {
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

fn invalid_header() -> S3Error {
    S3Error::invalid_argument(
        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
    )
}

fn query_incomplete() -> S3Error {
    S3Error::access_denied_with(
        "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
    )
}

/// Extracts SigV2 from the Authorization header or the query string.
///
/// Does not check clock, expiry or signature: that is [`verify`], which needs the secret.
pub fn parse(req: &SignedRequest) -> Result<ParsedV2, S3Error> {
    let params = query_params(&req.query);
    let mut found: [Option<&str>; 3] = [None; 3];
    for (key, value, _) in &params {
        let slot = match key.as_str() {
            "AWSAccessKeyId" => 0,
            "Signature" => 1,
            "Expires" => 2,
            _ => continue,
        };
        if found[slot].replace(value.as_str()).is_some() {
            return Err(S3Error::invalid_argument(format!(
                "Duplicate query parameter '{key}'"
            )));
        }
    }
    let [access_key, signature, expires] = found;

    match req.header("authorization") {
        Some(_) if access_key.is_some() || signature.is_some() => Err(S3Error::invalid_argument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        )),
        Some(header) => parse_header(header),
        None => match (access_key, signature, expires) {
            (None, None, _) => Err(S3Error::access_denied_with(
                "Access Denied: anonymous requests are not allowed",
            )),
            (Some(access_key), Some(signature), Some(expires))
                if !access_key.is_empty() && !signature.is_empty() =>
            {
                Ok(ParsedV2 {
                    access_key: access_key.to_string(),
                    signature: signature.to_string(),
                    kind: V2Kind::Query {
                        expires: parse_expires(expires)?,
                    },
                })
            }
            _ => Err(query_incomplete()),
        },
    }
}

fn parse_header(header: &str) -> Result<ParsedV2, S3Error> {
    let Some(rest) = header.trim().strip_prefix(AUTH_PREFIX) else {
        return Err(S3Error::invalid_argument("Unsupported Authorization Type"));
    };
    // Base64 has no ':', so the last one separates key and signature.
    let (access_key, signature) = rest.trim().rsplit_once(':').ok_or_else(invalid_header)?;
    let (access_key, signature) = (access_key.trim(), signature.trim());
    if access_key.is_empty()
        || signature.is_empty()
        || access_key.contains(char::is_whitespace)
        || signature.contains(char::is_whitespace)
    {
        return Err(invalid_header());
    }
    Ok(ParsedV2 {
        access_key: access_key.to_string(),
        signature: signature.to_string(),
        kind: V2Kind::Header,
    })
}

/// `Expires`: unix seconds, digits only.
fn parse_expires(value: &str) -> Result<i64, S3Error> {
    let invalid = || {
        S3Error::access_denied_with(format!(
            "Invalid date (should be seconds since epoch): {value}"
        ))
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse().map_err(|_| invalid())
}
