//! What the multipart operations (`ops/create_multipart_upload.rs`, `upload_part.rs`,
//! ...) share: reading the upload id and paging numbers, and the `Initiator`/`Owner`
//! elements of their listings.

use std::fmt::Write;

use http::header::HeaderValue;
use http::HeaderMap;
use jetgate_protocol::messages::{Owner, SignedRequest};
use jetgate_protocol::S3Error;

use crate::decode::query_value;
use crate::encode::xml::elem;

/// Headers S3 would honour on CreateMultipartUpload that jetgate does not implement.
pub(crate) const UNSUPPORTED: &[&str] = &[
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-website-redirect-location",
];

/// The signed request's headers, as the multipart operations read them.
pub(crate) fn header_map(signed: &SignedRequest) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in &signed.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            h.append(n, v);
        }
    }
    h
}

/// `uploadId`; NoSuchUpload when missing or empty.
pub(crate) fn upload_id(query: &[(String, String)]) -> Result<String, S3Error> {
    match query_value(query, "uploadId") {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(S3Error::no_such_upload()),
    }
}

/// A paging number (`max-parts`, ...), clamped to u32.
pub(crate) fn number(query: &[(String, String)], name: &str, default: u32) -> Result<u32, S3Error> {
    match query_value(query, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n.min(i64::from(u32::MAX)) as u32)
            .ok_or_else(|| {
                S3Error::invalid_argument(format!(
                    "Provided {name} not an integer or within integer range"
                ))
            }),
    }
}

/// `<tag>` (Initiator or Owner) with ID and DisplayName.
pub(crate) fn owner(out: &mut String, tag: &str, o: &Owner) {
    let _ = write!(out, "<{tag}>");
    elem(out, "ID", &o.id);
    elem(out, "DisplayName", &o.display_name);
    let _ = write!(out, "</{tag}>");
}
