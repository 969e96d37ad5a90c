//! Wire types of the multipart assembler role (`jetgate.v1.multipart.*`).
//!
//! CompleteMultipartUpload may take long (the rare path copies staged parts), so when the
//! call carries a download subject the worker first answers [`CompleteReply`] with
//! `pending: true` once the request is validated, keeps the per-request heartbeat going
//! (the edge turns each into whitespace in an already started `200 OK` body, as S3 does),
//! and publishes one [`CompleteFinal`] on the download subject at the end.

use serde::{Deserialize, Serialize};

use crate::messages::{ObjectHeaders, Owner};

/// Smallest part but the last (S3: 5 MiB).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Largest part number.
pub const MAX_PART_NUMBER: u32 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateUpload {
    pub bucket: String,
    pub key: String,
    pub headers: ObjectHeaders,
    /// `x-amz-checksum-algorithm`, as sent.
    pub checksum_algorithm: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateUploadReply {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub checksum_algorithm: Option<String>,
    /// `x-amz-checksum-type` of the upload (with an algorithm).
    #[serde(default)]
    pub checksum_type: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadPart {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part_number: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadPartReply {
    /// MD5 hex of the part, without quotes.
    pub etag: String,
    /// `x-amz-checksum-*` header to echo.
    pub checksum: Option<(String, String)>,
}

/// The upload is named by the query; the parts list is the (signed) request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompleteUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompleteResult {
    pub bucket: String,
    pub key: String,
    /// `hex(md5(part md5s))-N`, without quotes.
    pub etag: String,
    /// The composite checksum, when the upload asked for one: algorithm name (`CRC32`)
    /// and value (`…-N`).
    #[serde(default)]
    pub checksum: Option<(String, String)>,
}

/// First reply of a Complete: either the result, or `pending` (a [`CompleteFinal`]
/// follows on the download subject).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompleteReply {
    pub pending: bool,
    pub result: Option<CompleteResult>,
}

/// An S3 error carried inside a message (after the status line went out).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    pub code: String,
    pub status: u16,
    pub message: String,
}

/// Last message of a pending Complete, on the download subject.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompleteFinal {
    pub result: Option<CompleteResult>,
    pub error: Option<WireError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbortUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListParts {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub max_parts: u32,
    pub part_number_marker: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartEntry {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListPartsReply {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part_number_marker: u32,
    pub next_part_number_marker: u32,
    pub max_parts: u32,
    pub is_truncated: bool,
    pub parts: Vec<PartEntry>,
    pub owner: Owner,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListUploads {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub max_uploads: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadEntry {
    pub key: String,
    pub upload_id: String,
    pub initiated_ms: i64,
    pub owner: Owner,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListUploadsReply {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
    pub max_uploads: u32,
    pub is_truncated: bool,
    pub uploads: Vec<UploadEntry>,
    pub common_prefixes: Vec<String>,
}

/// UploadPartCopy: part `part_number` is bytes of an existing object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadPartCopy {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part_number: u32,
    pub source_bucket: String,
    pub source_key: String,
    /// `x-amz-copy-source-range: bytes=first-last`.
    pub range: Option<(u64, u64)>,
    pub source_conditions: crate::messages::Conditions,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyPartReply {
    pub etag: String,
    pub last_modified_ms: i64,
    /// The copied part's checksum (`CRC32`, base64 value) when the upload was created
    /// with a checksum algorithm: the client passes it to Complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<(String, String)>,
}
