//! Helpers the edge's unit tests share.

use http::{HeaderMap, HeaderName, HeaderValue};
use jetgate_protocol::{S3Error, S3ErrorCode};

/// A header map with `pairs` appended in order (repeated names kept).
pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        h.append(
            HeaderName::from_bytes(n.as_bytes()).expect("valid header name"),
            HeaderValue::from_bytes(v.as_bytes()).expect("valid header value"),
        );
    }
    h
}

/// The S3 code of an expected error.
pub fn code<T: std::fmt::Debug>(r: Result<T, S3Error>) -> S3ErrorCode {
    r.expect_err("an S3 error").code
}
