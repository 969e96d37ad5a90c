//! HTTP → protocol: pure functions that read headers and query parameters into the
//! typed requests the workers receive. Nothing here touches the network.

use std::time::UNIX_EPOCH;

use http::HeaderMap;
use jetgate_protocol::messages::{
    ByteRange, Conditions, CopyObject, GetObject, ObjectHeaders, PutObject,
};
use jetgate_protocol::S3Error;

mod list;

pub use jetgate_protocol::query::{percent_decode, query_pairs, query_value};
pub use jetgate_protocol::route::copy_source;
pub use list::list_objects;

/// Largest total size of `x-amz-meta-*` names and values, as S3 counts it.
pub const MAX_USER_METADATA: usize = 2048;

const META_PREFIX: &str = "x-amz-meta-";

/// A header as text. Values with bytes beyond ASCII are kept when they are UTF-8
/// (hyper accepts them as obs-text); anything else is replaced, never a panic.
fn header_text(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| value_text(v.as_bytes()))
}

fn value_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// The content headers and `x-amz-meta-*` S3 stores with an object.
pub fn object_headers(h: &HeaderMap) -> Result<ObjectHeaders, S3Error> {
    let mut user: Vec<(String, String)> = Vec::new();
    for (name, value) in h {
        // HeaderName is lowercase already.
        let Some(meta) = name.as_str().strip_prefix(META_PREFIX) else {
            continue;
        };
        let value = value_text(value.as_bytes());
        // Repeated headers are joined with ',' as S3 does.
        match user.iter_mut().find(|(n, _)| n == meta) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => user.push((meta.to_string(), value)),
        }
    }
    let size: usize = user.iter().map(|(n, v)| n.len() + v.len()).sum();
    if size > MAX_USER_METADATA {
        return Err(S3Error::metadata_too_large());
    }
    Ok(ObjectHeaders {
        content_type: header_text(h, "content-type"),
        content_encoding: header_text(h, "content-encoding").and_then(|v| strip_aws_chunked(&v)),
        content_disposition: header_text(h, "content-disposition"),
        content_language: header_text(h, "content-language"),
        cache_control: header_text(h, "cache-control"),
        expires: header_text(h, "expires"),
        user,
    })
}

/// `aws-chunked` describes the transfer, not the object: S3 drops it from what it stores.
fn strip_aws_chunked(value: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// Preconditions; `prefix` is `""` for GET/HEAD and `"x-amz-copy-source-"` for a copy.
/// Dates S3 cannot parse are ignored, as S3 ignores them.
pub fn conditions(h: &HeaderMap, prefix: &str) -> Conditions {
    let text = |n: &str| header_text(h, &format!("{prefix}{n}"));
    let date = |n: &str| text(n).and_then(|v| unix_seconds(&v));
    Conditions {
        if_match: text("if-match"),
        if_none_match: text("if-none-match"),
        if_modified_since: date("if-modified-since"),
        if_unmodified_since: date("if-unmodified-since"),
    }
}

/// An HTTP date (RFC 1123, RFC 850 or asctime) as unix seconds.
fn unix_seconds(value: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(value).ok()?;
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok(),
        Err(e) => i64::try_from(e.duration().as_secs()).ok().map(|s| -s),
    }
}

/// The `Range` header. Like S3 (and RFC 9110), a header that is not one well-formed
/// range, including `a-b` with `a > b` and multi-range lists, is ignored: the whole
/// object is answered. Whether a valid range fits the object is the worker's call.
pub fn range(h: &HeaderMap) -> Result<Option<ByteRange>, S3Error> {
    Ok(header_text(h, "range").and_then(|v| parse_range(&v)))
}

fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        // u64::from_str accepts a leading '+'; a range does not.
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, true) => None,
        (true, false) => num(last).map(ByteRange::Suffix),
        (false, true) => num(first).map(ByteRange::From),
        (false, false) => {
            let (a, b) = (num(first)?, num(last)?);
            (a <= b).then_some(ByteRange::FromTo(a, b))
        }
    }
}

/// `x-amz-copy-source-range` of UploadPartCopy: exactly `bytes=first-last`, else
/// `InvalidArgument` (unlike GET, S3 does not ignore a bad one here).
pub fn copy_source_range(h: &HeaderMap) -> Result<Option<(u64, u64)>, S3Error> {
    let Some(value) = header_text(h, "x-amz-copy-source-range") else {
        return Ok(None);
    };
    match parse_range(&value) {
        Some(ByteRange::FromTo(a, b)) => Ok(Some((a, b))),
        _ => Err(S3Error::invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        )),
    }
}

/// `response-*` query parameters and the header each one overrides.
const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    ("response-content-type", "content-type"),
    ("response-content-language", "content-language"),
    ("response-expires", "expires"),
    ("response-cache-control", "cache-control"),
    ("response-content-disposition", "content-disposition"),
    ("response-content-encoding", "content-encoding"),
];

/// GetObject / HeadObject.
pub fn get_object(
    bucket: &str,
    key: &str,
    head: bool,
    h: &HeaderMap,
    query: &[(String, String)],
) -> Result<GetObject, S3Error> {
    let overrides = RESPONSE_OVERRIDES
        .iter()
        .filter_map(|(param, header)| {
            query_value(query, param).map(|v| (header.to_string(), v.to_string()))
        })
        .collect();
    let part_number = match query_value(query, "partNumber") {
        Some(v) => Some(part_number(v)?),
        None => None,
    };
    let range = range(h)?;
    if part_number.is_some() && range.is_some() {
        return Err(S3Error::invalid_request(
            "Cannot specify both Range header and partNumber query parameter",
        ));
    }
    Ok(GetObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        head,
        range,
        conditions: conditions(h, ""),
        overrides,
        part_number,
    })
}

/// A `partNumber`: an integer in 1..=10000.
pub fn part_number(value: &str) -> Result<u32, S3Error> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            S3Error::invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            )
        })
}

/// Request headers that ask for behaviour jetgate does not have: refusing them beats
/// storing an object without the protection or tags the client asked for.
const UNSUPPORTED_WRITE_HEADERS: &[&str] = &[
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-website-redirect-location",
];

fn refuse_unsupported(h: &HeaderMap) -> Result<(), S3Error> {
    match UNSUPPORTED_WRITE_HEADERS
        .iter()
        .find(|n| h.contains_key(**n))
    {
        Some(name) => Err(S3Error::not_implemented(&format!("The {name} header"))),
        None => Ok(()),
    }
}

/// PutObject. Its conditions (`If-None-Match`, `If-Match`) are read by the worker from
/// the signed request (`WriteCondition`).
pub fn put_object(bucket: &str, key: &str, h: &HeaderMap) -> Result<PutObject, S3Error> {
    refuse_unsupported(h)?;
    Ok(PutObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        headers: object_headers(h)?,
    })
}

/// CopyObject: source from `x-amz-copy-source`, `x-amz-metadata-directive` COPY
/// (default) or REPLACE, and the `x-amz-copy-source-if-*` preconditions.
pub fn copy_object(bucket: &str, key: &str, h: &HeaderMap) -> Result<CopyObject, S3Error> {
    refuse_unsupported(h)?;
    let source = header_text(h, "x-amz-copy-source")
        .ok_or_else(|| S3Error::invalid_argument("Copy Source must be specified"))?;
    let (source_bucket, source_key) = copy_source(&source)?;
    let replace_metadata = match header_text(h, "x-amz-metadata-directive").as_deref() {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(_) => return Err(S3Error::invalid_argument("Unknown metadata directive.")),
    };
    if source_bucket == bucket && source_key == key && !replace_metadata {
        return Err(S3Error::invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    Ok(CopyObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        source_bucket,
        source_key,
        replace_metadata,
        headers: object_headers(h)?,
        source_conditions: conditions(h, "x-amz-copy-source-"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests;
