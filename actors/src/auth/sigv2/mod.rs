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

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use jetgate_protocol::error::{S3Error, S3ErrorCode};
use jetgate_protocol::messages::SignedRequest;
use percent_encoding::percent_decode_str;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::format_description::well_known::Rfc2822;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::sigv4::canonical_uri;

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
    S3Error::new(
        S3ErrorCode::InvalidArgument,
        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
    )
}

fn query_incomplete() -> S3Error {
    S3Error::new(
        S3ErrorCode::AccessDenied,
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
            return Err(S3Error::new(
                S3ErrorCode::InvalidArgument,
                format!("Duplicate query parameter '{key}'"),
            ));
        }
    }
    let [access_key, signature, expires] = found;

    match req.header("authorization") {
        Some(_) if access_key.is_some() || signature.is_some() => Err(S3Error::new(
            S3ErrorCode::InvalidArgument,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        )),
        Some(header) => parse_header(header),
        None => match (access_key, signature, expires) {
            (None, None, _) => Err(S3Error::new(
                S3ErrorCode::AccessDenied,
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
        return Err(S3Error::new(
            S3ErrorCode::InvalidArgument,
            "Unsupported Authorization Type",
        ));
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
        S3Error::new(
            S3ErrorCode::AccessDenied,
            format!("Invalid date (should be seconds since epoch): {value}"),
        )
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse().map_err(|_| invalid())
}

/// What goes on the Date line of a header-auth string to sign when `x-amz-date` is
/// present (see the module docs). Without `x-amz-date` it is always the Date header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateLine {
    /// Empty Date line, `x-amz-date` among the amz headers (the documented rule).
    Spec,
    /// The `x-amz-date` value on the Date line and not among the amz headers (the
    /// documentation's DELETE example).
    AmzDateValue,
    /// The `Date` header on the Date line and `x-amz-date` among the amz headers
    /// (botocore when the caller adds `x-amz-date`).
    DateHeader,
}

/// How the resource part is built; see [`canonical_resource`].
#[derive(Debug, Clone, Copy)]
struct ResourceForm<'a> {
    path: &'a str,
    bucket: Option<&'a str>,
    /// Sign a sub-resource sent as `k=` as bare `k`.
    bare_empty: bool,
}

/// `/<bucket>` (virtual-hosted) + path + `?` + sorted sub-resources.
fn canonical_resource(query: &[(String, String, bool)], form: ResourceForm<'_>) -> String {
    let mut out = String::new();
    if let Some(bucket) = form.bucket {
        out.push('/');
        out.push_str(bucket);
    }
    if form.path.is_empty() {
        out.push('/');
    } else {
        if form.bucket.is_some() && !form.path.starts_with('/') {
            out.push('/');
        }
        out.push_str(form.path);
    }
    let mut subs: Vec<&(String, String, bool)> = query
        .iter()
        .filter(|(k, _, _)| SUB_RESOURCES.binary_search(&k.as_str()).is_ok())
        .collect();
    // Stable: repeated parameters keep their order.
    subs.sort_by(|a, b| a.0.cmp(&b.0));
    for (i, (key, value, has_eq)) in subs.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(key);
        if *has_eq && !(form.bare_empty && value.is_empty()) {
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

/// First header value (trimmed); for query auth, the query parameter of that
/// lowercase name when the header is absent.
fn standard_header<'a>(
    req: &'a SignedRequest,
    query: &'a [(String, String, bool)],
    kind: &V2Kind,
    name: &str,
) -> &'a str {
    if let Some(value) = req.header(name) {
        return value.trim();
    }
    if matches!(kind, V2Kind::Query { .. }) {
        if let Some((_, value, _)) = query.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(name)) {
            return value.trim();
        }
    }
    ""
}

/// `name:v1,v2\n` for every `x-amz-*` header, names lowercased and sorted, values
/// trimmed, repeats joined with `,` in arrival order. For query auth, `x-amz-*` query
/// parameters fill in names that were not sent as headers.
fn canonical_amz_headers(
    req: &SignedRequest,
    query: &[(String, String, bool)],
    kind: &V2Kind,
    skip_amz_date: bool,
) -> String {
    let mut headers: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name.starts_with("x-amz-") {
            headers.entry(name).or_default().push(value.trim());
        }
    }
    if matches!(kind, V2Kind::Query { .. }) {
        let mut from_query: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (name, value, _) in query {
            let name = name.to_ascii_lowercase();
            if name.starts_with("x-amz-") && !headers.contains_key(&name) {
                from_query.entry(name).or_default().push(value.trim());
            }
        }
        headers.extend(from_query);
    }
    let mut out = String::new();
    for (name, values) in headers {
        if skip_amz_date && name == "x-amz-date" {
            continue;
        }
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

fn missing_date() -> S3Error {
    S3Error::new(
        S3ErrorCode::AccessDenied,
        "AWS authentication requires a valid Date or x-amz-date header",
    )
}

fn build_string_to_sign(
    req: &SignedRequest,
    kind: &V2Kind,
    query: &[(String, String, bool)],
    date_line: DateLine,
    resource: ResourceForm<'_>,
) -> Result<String, S3Error> {
    let amz_date = req.header("x-amz-date").map(str::trim);
    let (date, skip_amz_date) = match kind {
        V2Kind::Query { expires } => {
            // The Expires text as sent, if it is the value that was parsed (it is
            // digits only, but may carry leading zeros).
            let raw = query
                .iter()
                .find(|(k, _, _)| k == "Expires")
                .map(|(_, v, _)| v.as_str())
                .filter(|raw| raw.parse::<i64>().ok() == Some(*expires));
            (
                raw.map_or_else(|| expires.to_string(), str::to_string),
                false,
            )
        }
        V2Kind::Header => match (amz_date, date_line) {
            (None, _) => {
                let date = req.header("date").ok_or_else(missing_date)?;
                (date.trim().to_string(), false)
            }
            (Some(_), DateLine::Spec) => (String::new(), false),
            (Some(amz), DateLine::AmzDateValue) => (amz.to_string(), true),
            (Some(_), DateLine::DateHeader) => {
                let date = req.header("date").ok_or_else(missing_date)?;
                (date.trim().to_string(), false)
            }
        },
    };
    let mut out = String::new();
    out.push_str(&req.method);
    out.push('\n');
    out.push_str(standard_header(req, query, kind, "content-md5"));
    out.push('\n');
    out.push_str(standard_header(req, query, kind, "content-type"));
    out.push('\n');
    out.push_str(&date);
    out.push('\n');
    out.push_str(&canonical_amz_headers(req, query, kind, skip_amz_date));
    out.push_str(&canonical_resource(query, resource));
    Ok(out)
}

/// The string to sign of a path-style request, by the documented rules (for header auth
/// with `x-amz-date`, an empty Date line). Fails with `AccessDenied` when header auth
/// has neither `Date` nor `x-amz-date`.
pub fn string_to_sign(req: &SignedRequest, kind: &V2Kind) -> Result<String, S3Error> {
    string_to_sign_for(req, kind, None)
}

/// [`string_to_sign`] for a request that may be virtual-hosted: `virtual_host_bucket`
/// is the bucket taken from the Host header (`<bucket>.<domain>`), which SigV2 signs as
/// the first path segment (`/bucket/key`). `None` means path style (`req.path` already
/// starts with the bucket).
pub fn string_to_sign_for(
    req: &SignedRequest,
    kind: &V2Kind,
    virtual_host_bucket: Option<&str>,
) -> Result<String, S3Error> {
    let query = query_params(&req.query);
    build_string_to_sign(
        req,
        kind,
        &query,
        DateLine::Spec,
        ResourceForm {
            path: &req.path,
            bucket: virtual_host_bucket,
            bare_empty: false,
        },
    )
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`, as a client computes it.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    STANDARD.encode(hmac_sha1(secret, string_to_sign))
}

fn hmac_sha1(secret: &str, data: &str) -> [u8; 20] {
    // HMAC takes keys of any length (long keys are hashed), so this cannot fail;
    // neither the key length nor the data is something a client can make invalid.
    #[allow(clippy::expect_used)]
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Base64 as clients write it: padded or not.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Compares decoded bytes in constant time. A space in the provided signature is a `+`
/// that went through form decoding somewhere (base64 has no spaces).
fn signature_matches(expected: &[u8; 20], provided: &str) -> bool {
    let provided = provided.trim().replace(' ', "+");
    match LENIENT_BASE64.decode(provided.as_bytes()) {
        Ok(bytes) => expected.as_slice().ct_eq(&bytes).into(),
        Err(_) => false,
    }
}

const AMZ_BASIC: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// A SigV2 request time: RFC 7231 HTTP date, RFC 2822 (`+0000` zones, as s3cmd sends
/// in `x-amz-date`), or ISO 8601 basic (`20130524T000000Z`).
fn parse_request_time(value: &str) -> Option<OffsetDateTime> {
    let value = value.trim();
    if let Ok(t) = httpdate::parse_http_date(value) {
        return Some(OffsetDateTime::from(t));
    }
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc2822) {
        return Some(t);
    }
    if value.len() == 16 {
        if let Ok(t) = PrimitiveDateTime::parse(value, AMZ_BASIC) {
            return Some(t.assume_utc());
        }
    }
    None
}

fn check_time(
    req: &SignedRequest,
    kind: &V2Kind,
    now: OffsetDateTime,
    max_skew: Duration,
) -> Result<(), S3Error> {
    match *kind {
        V2Kind::Header => {
            let stamp = req
                .header("x-amz-date")
                .or_else(|| req.header("date"))
                .ok_or_else(missing_date)?;
            let signed_at = parse_request_time(stamp).ok_or_else(missing_date)?;
            // A skew too large for `time::Duration` cannot be within any sane window.
            let max_skew = time::Duration::try_from(max_skew).unwrap_or(time::Duration::MAX);
            if (now - signed_at).abs() > max_skew {
                return Err(S3Error::new(
                    S3ErrorCode::RequestTimeTooSkewed,
                    "The difference between the request time and the current time is too large.",
                ));
            }
        }
        V2Kind::Query { expires } => {
            if now.unix_timestamp() > expires {
                return Err(S3Error::new(
                    S3ErrorCode::AccessDenied,
                    "Request has expired",
                ));
            }
        }
    }
    Ok(())
}

/// Path-style [`verify_for`].
pub fn verify(
    req: &SignedRequest,
    parsed: &ParsedV2,
    secret: &str,
    now: OffsetDateTime,
    max_skew: Duration,
) -> Result<(), S3Error> {
    verify_for(req, parsed, secret, now, max_skew, None)
}

/// Checks the clock (header auth: `x-amz-date`, else `Date`, within `max_skew` of `now`,
/// else `RequestTimeTooSkewed`) or the expiry (query auth: `Expires` before `now` is
/// `AccessDenied`), then the signature in constant time (`SignatureDoesNotMatch`).
///
/// The variants listed in the module docs are tried in turn; each is a complete
/// signature over the same request, so accepting any of them signs the same things.
/// `virtual_host_bucket`: see [`string_to_sign_for`].
pub fn verify_for(
    req: &SignedRequest,
    parsed: &ParsedV2,
    secret: &str,
    now: OffsetDateTime,
    max_skew: Duration,
    virtual_host_bucket: Option<&str>,
) -> Result<(), S3Error> {
    check_time(req, &parsed.kind, now, max_skew)?;

    let query = query_params(&req.query);
    let date_lines: &[DateLine] = match (&parsed.kind, req.header("x-amz-date")) {
        (V2Kind::Header, Some(_)) if req.header("date").is_some() => {
            &[DateLine::Spec, DateLine::AmzDateValue, DateLine::DateHeader]
        }
        (V2Kind::Header, Some(_)) => &[DateLine::Spec, DateLine::AmzDateValue],
        _ => &[DateLine::Spec],
    };
    let normalized = canonical_uri(&req.path);
    let mut paths = vec![req.path.as_str()];
    if req.path.starts_with('/') && req.path != normalized {
        paths.push(normalized.as_str());
    }
    let has_empty_sub = query.iter().any(|(k, v, has_eq)| {
        *has_eq && v.is_empty() && SUB_RESOURCES.binary_search(&k.as_str()).is_ok()
    });
    let bare_forms: &[bool] = if has_empty_sub {
        &[false, true]
    } else {
        &[false]
    };

    for &date_line in date_lines {
        for &path in &paths {
            for &bare_empty in bare_forms {
                let resource = ResourceForm {
                    path,
                    bucket: virtual_host_bucket,
                    bare_empty,
                };
                let sts = build_string_to_sign(req, &parsed.kind, &query, date_line, resource)?;
                if signature_matches(&hmac_sha1(secret, &sts), &parsed.signature) {
                    return Ok(());
                }
            }
        }
    }
    Err(S3Error::new(
        S3ErrorCode::SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    ))
}
