//! The SigV2 string to sign (see the module docs of [`super`]) and the HMAC over it.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::SignedRequest;
use sha1::Sha1;

use super::{query_params, V2Kind, SUB_RESOURCES};

/// What goes on the Date line of a header-auth string to sign when `x-amz-date` is
/// present (see the module docs). Without `x-amz-date` it is always the Date header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateLine {
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
pub(super) struct ResourceForm<'a> {
    pub(super) path: &'a str,
    pub(super) bucket: Option<&'a str>,
    /// Sign a sub-resource sent as `k=` as bare `k`.
    pub(super) bare_empty: bool,
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

pub(super) fn missing_date() -> S3Error {
    S3Error::access_denied_with("AWS authentication requires a valid Date or x-amz-date header")
}

pub(super) fn build_string_to_sign(
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

pub(super) fn hmac_sha1(secret: &str, data: &str) -> [u8; 20] {
    // HMAC takes keys of any length (long keys are hashed), so this cannot fail;
    // neither the key length nor the data is something a client can make invalid.
    #[allow(clippy::expect_used)]
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().into()
}
