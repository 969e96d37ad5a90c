//! GetObjectAttributes and the versioning probes (GetBucketVersioning,
//! ListObjectVersions, GetObjectLockConfiguration) on the wire. jetgate buckets are
//! never versioned: every object is its one `null` version.

use serde::{Deserialize, Serialize};

use crate::messages::Owner;

/// The `x-amz-checksum-type` of a stored checksum value: `COMPOSITE` for a checksum of
/// part checksums (`…-N`), else `FULL_OBJECT`.
pub fn checksum_type(value: &str) -> &'static str {
    if value.contains('-') {
        "COMPOSITE"
    } else {
        "FULL_OBJECT"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetObjectAttributes {
    pub bucket: String,
    pub key: String,
    /// `x-amz-max-parts` (default 1000).
    pub max_parts: u32,
    /// `x-amz-part-number-marker` (default 0).
    pub part_number_marker: u32,
}

/// One part of a multipart object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartAttrs {
    pub part_number: u32,
    pub size: u64,
    /// Base64 checksum of the part, in the object's checksum algorithm.
    pub checksum: Option<String>,
}

/// `ObjectParts` of a multipart object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectParts {
    pub total_parts: u32,
    pub part_number_marker: u32,
    pub next_part_number_marker: u32,
    pub max_parts: u32,
    pub is_truncated: bool,
    pub parts: Vec<PartAttrs>,
}

/// Everything GetObjectAttributes can answer; the edge keeps what was asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributesReply {
    /// Without quotes.
    pub etag: String,
    pub size: u64,
    pub last_modified_ms: i64,
    /// S3 algorithm name (`CRC32`, ...) and base64 value of the whole object.
    pub checksum: Option<(String, String)>,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
    pub parts: Option<ObjectParts>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListObjectVersions {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_keys: u32,
    pub key_marker: Option<String>,
    pub version_id_marker: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionEntry {
    pub key: String,
    pub last_modified_ms: i64,
    pub etag: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListVersionsReply {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_keys: u32,
    pub key_marker: Option<String>,
    pub version_id_marker: Option<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    /// `null` when the page ended on a key; absent when it ended on a common prefix.
    pub next_version_id_marker: Option<String>,
    pub versions: Vec<VersionEntry>,
    pub common_prefixes: Vec<String>,
    pub owner: Owner,
}
