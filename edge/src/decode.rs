//! HTTP → protocol: pure functions that read headers and query parameters into the
//! typed requests the workers receive. Nothing here touches the network.

use http::HeaderMap;
use jetgate_protocol::messages::ObjectHeaders;
use jetgate_protocol::shape::Headers;
use jetgate_protocol::S3Error;

pub use jetgate_protocol::query::{percent_decode, query_pairs, query_value};
pub use jetgate_protocol::route::copy_source;
pub use jetgate_protocol::shape::{conditions, copy_source_range, get_object, part_number, range};

/// Largest total size of `x-amz-meta-*` names and values, as S3 counts it.
pub const MAX_USER_METADATA: usize = 2048;

const META_PREFIX: &str = "x-amz-meta-";

/// A header as text. Values with bytes beyond ASCII are kept when they are UTF-8
/// (hyper accepts them as obs-text); anything else is replaced, never a panic.
pub(crate) fn header_text(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).map(|v| value_text(v.as_bytes()))
}

fn value_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// The edge reads headers off the HTTP request the way a worker reads them off the
/// signed request (`jetgate_protocol::shape`).
pub struct Http<'a>(pub &'a HeaderMap);

impl Headers for Http<'_> {
    fn text(&self, name: &str) -> Option<String> {
        header_text(self.0, name)
    }
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

/// Request headers that ask for behaviour jetgate does not have: refusing them beats
/// storing an object without the protection or tags the client asked for.
const UNSUPPORTED_WRITE_HEADERS: &[&str] = &[
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-website-redirect-location",
];

/// NotImplemented for a header of [`UNSUPPORTED_WRITE_HEADERS`].
pub(crate) fn refuse_unsupported(h: &HeaderMap) -> Result<(), S3Error> {
    match UNSUPPORTED_WRITE_HEADERS
        .iter()
        .find(|n| h.contains_key(**n))
    {
        Some(name) => Err(S3Error::not_implemented(&format!("The {name} header"))),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests;
