//! How a GET answers, read from the request: its byte range, preconditions, part number
//! and `response-*` overrides. One reading for both sides: the edge decodes the HTTP
//! request with it, and the object worker re-reads the signed request with it, so a
//! relayed call cannot change what a presigned URL's query asked for.

use std::time::UNIX_EPOCH;

use crate::messages::{ByteRange, Conditions, GetObject, SignedRequest};
use crate::query::query_value;
use crate::S3Error;

/// A request's headers by (lowercase) name, as trimmed text.
pub trait Headers {
    fn text(&self, name: &str) -> Option<String>;
}

impl Headers for SignedRequest {
    fn text(&self, name: &str) -> Option<String> {
        self.header(name).map(|v| v.trim().to_string())
    }
}

/// Preconditions; `prefix` is `""` for GET/HEAD and `"x-amz-copy-source-"` for a copy.
/// Dates S3 cannot parse are ignored, as S3 ignores them.
pub fn conditions(h: &impl Headers, prefix: &str) -> Conditions {
    let text = |n: &str| h.text(&format!("{prefix}{n}"));
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
pub fn range(h: &impl Headers) -> Option<ByteRange> {
    h.text("range").and_then(|v| parse_range(&v))
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
pub fn copy_source_range(h: &impl Headers) -> Result<Option<(u64, u64)>, S3Error> {
    let Some(value) = h.text("x-amz-copy-source-range") else {
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
    h: &impl Headers,
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
    let range = range(h);
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
