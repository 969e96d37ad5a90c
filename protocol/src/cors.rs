//! Bucket CORS configuration and the preflight / actual-request check, as the edge and
//! the listing role exchange them. The rules are stored as JSON of [`CorsConfiguration`]
//! in the metadata of the bucket's stream, so they live and die with the bucket.

use serde::{Deserialize, Serialize};

/// Stream-metadata key holding the JSON of a bucket's [`CorsConfiguration`].
pub const STREAM_METADATA_KEY: &str = "jetgate-cors";

/// One `<CORSRule>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<i64>,
}

/// A bucket's `<CORSConfiguration>`: the rules in document order (first match wins).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsConfiguration {
    pub rules: Vec<CorsRule>,
}

/// PutBucketCors carries the XML in the body; GetBucketCors and DeleteBucketCors are a
/// plain [`crate::messages::BucketOp`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetCorsReply {
    pub config: CorsConfiguration,
}

/// Asks the listing role whether a cross-origin request is allowed (unsigned: browsers
/// send preflights without credentials).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CorsCheck {
    pub bucket: String,
    pub origin: String,
    /// The method of the actual request (`Access-Control-Request-Method` in a preflight).
    pub method: String,
    /// `Access-Control-Request-Headers` of a preflight, split and lowercased.
    pub request_headers: Vec<String>,
    pub preflight: bool,
}

/// The answer: the headers to add, or why not (a preflight turns that into a 403; an
/// actual request simply gets no CORS headers).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CorsCheckReply {
    pub allowed: bool,
    /// Header name (lowercase) → value, to add to the response.
    pub headers: Vec<(String, String)>,
    /// The bucket has no CORS configuration at all.
    pub not_configured: bool,
}

/// Splits an `Access-Control-Request-Headers` value into lowercased names.
pub fn split_header_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_lists_split_and_lowercase() {
        assert_eq!(
            super::split_header_list("Content-Type, X-Amz-Date,,  "),
            vec!["content-type", "x-amz-date"]
        );
    }
}
