//! Typed request and reply messages. Every call carries the signed HTTP request so the
//! worker can have it verified; the edge is never trusted to say who the caller is.

use serde::{Deserialize, Serialize};

/// The HTTP request exactly as the client signed it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SignedRequest {
    pub method: String,
    /// Path as sent, still percent-encoded.
    pub path: String,
    /// Raw query string without `?`.
    pub query: String,
    /// Header names lowercased, in arrival order; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    /// The bucket named by the Host header of a virtual-hosted request (SigV2 signs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_host_bucket: Option<String>,
}

impl SignedRequest {
    /// `PUT /b/k` with these headers, for unit tests of what reads signed headers.
    #[cfg(test)]
    pub(crate) fn put_with(headers: &[(&str, &str)]) -> Self {
        SignedRequest {
            method: "PUT".into(),
            path: "/b/k".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            virtual_host_bucket: None,
        }
    }

    /// First value of a header (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request to a role endpoint: the signed request, the operation, and how its bodies
/// travel. The request body's first bytes ride inline after the JSON (see `envelope`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call<Op> {
    pub signed: SignedRequest,
    pub op: Op,
    #[serde(default)]
    pub body: Option<BodyIn>,
    /// The edge's data subject, where a response that does not ride in the reply is
    /// delivered: a large GET's chunks (the reply subject of the worker's direct gets),
    /// a pending Complete's result. `None`: the edge takes only the reply.
    #[serde(default)]
    pub data_subject: Option<String>,
}

/// A request body: some bytes inline, the rest (if any) streamed on request of the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BodyIn {
    /// Content-Length, when the client sent one.
    pub content_length: Option<u64>,
    /// True when the inline bytes are the whole body.
    pub complete: bool,
    /// Edge subject to which the worker sends credit (and so asks for the rest).
    pub control: Option<String>,
}

/// How a response body comes back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BodyOut {
    #[default]
    None,
    /// The bytes after the reply's JSON are the whole body.
    Inline,
    /// JetStream delivers the chunks to the edge's data subject as the edge asks for them
    /// (see [`crate::direct`]).
    Direct(crate::direct::DirectBody),
}

/// Content headers S3 stores with an object and returns on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    /// `x-amz-meta-*` without the prefix, names lowercased.
    pub user: Vec<(String, String)>,
}

/// GET/HEAD and copy-source preconditions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// Unix seconds.
    pub if_modified_since: Option<i64>,
    pub if_unmodified_since: Option<i64>,
}

/// A syntactically valid single byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ByteRange {
    /// `bytes=a-b`
    FromTo(u64, u64),
    /// `bytes=a-`
    From(u64),
    /// `bytes=-n`
    Suffix(u64),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketOp {
    pub bucket: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListBuckets {}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PutObject {
    pub bucket: String,
    pub key: String,
    pub headers: ObjectHeaders,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GetObject {
    pub bucket: String,
    pub key: String,
    /// HEAD: same answer without the body.
    pub head: bool,
    pub range: Option<ByteRange>,
    pub conditions: Conditions,
    /// `response-content-type` and friends: header name → value to answer with.
    pub overrides: Vec<(String, String)>,
    pub part_number: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteObject {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyObject {
    pub bucket: String,
    pub key: String,
    pub source_bucket: String,
    pub source_key: String,
    /// `x-amz-metadata-directive: REPLACE`.
    pub replace_metadata: bool,
    pub headers: ObjectHeaders,
    pub source_conditions: Conditions,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListObjects {
    pub bucket: String,
    pub v2: bool,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_keys: u32,
    /// v1 `marker`.
    pub marker: Option<String>,
    pub continuation_token: Option<String>,
    pub start_after: Option<String>,
    pub fetch_owner: bool,
}

/// Object state returned by GET/HEAD/PUT/COPY.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObjectAttrs {
    /// MD5 hex, or `md5-N` after multipart; without quotes.
    pub etag: String,
    pub size: u64,
    /// Unix milliseconds.
    pub last_modified_ms: i64,
    pub headers: ObjectHeaders,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectReply {
    /// 200, 206 or 304.
    pub status: u16,
    pub attrs: ObjectAttrs,
    /// `(first, last, total)` of a 206 answer.
    pub content_range: Option<(u64, u64, u64)>,
    pub content_length: u64,
    pub body: BodyOut,
    pub overrides: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PutReply {
    pub etag: String,
    /// `x-amz-checksum-*` header to echo, when the client sent one.
    pub checksum: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyReply {
    pub etag: String,
    pub last_modified_ms: i64,
    /// The copy's whole-object checksum: algorithm name (`CRC32`) and base64 value.
    #[serde(default)]
    pub checksum: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteError {
    pub key: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteObjectsReply {
    pub quiet: bool,
    pub deleted: Vec<String>,
    pub errors: Vec<DeleteError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub key: String,
    pub last_modified_ms: i64,
    pub etag: String,
    pub size: u64,
    pub owner: Option<Owner>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListObjectsReply {
    pub v2: bool,
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_keys: u32,
    pub is_truncated: bool,
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
    pub marker: Option<String>,
    pub next_marker: Option<String>,
    pub continuation_token: Option<String>,
    pub next_continuation_token: Option<String>,
    pub start_after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketEntry {
    pub name: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListBucketsReply {
    pub owner: Owner,
    pub buckets: Vec<BucketEntry>,
    /// The region every bucket is in (`BucketRegion`).
    pub region: String,
    /// The `prefix` the listing was asked for, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Set when more buckets follow: the next page's `continuation-token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocationReply {
    /// Empty for us-east-1, as S3 answers.
    pub location: String,
}

/// A reply with nothing to say beyond success.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ack {}

/// Who signed a request, as the auth verifier established it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Principal {
    pub access_key: String,
    pub owner: Owner,
    /// Present when the body is `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`.
    pub chunk_context: Option<ChunkContext>,
    /// The key's policy, checked by the role that serves the request; none: unrestricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::policy::Policy>,
}

/// What chunk signatures chain from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkContext {
    /// `x-amz-date`, e.g. `20130524T000000Z`.
    pub timestamp: String,
    /// `20130524/us-east-1/s3/aws4_request`.
    pub scope: String,
    pub seed_signature: String,
    /// Signed with temporary (STS) credentials: the chunks are checked against that
    /// session's secret, and only while it lasts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyRequest {
    pub signed: SignedRequest,
}

/// One signed chunk: SHA-256 (hex) of its data and the signature the client sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkSig {
    pub sha256: String,
    pub signature: String,
}

/// A run of chunk signatures to check, chained from `prev_signature`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkBatch {
    pub access_key: String,
    pub context: ChunkContext,
    pub prev_signature: String,
    pub chunks: Vec<ChunkSig>,
    /// SHA-256 (hex) of the canonical trailer and its signature, for `-TRAILER` bodies.
    pub trailer: Option<ChunkSig>,
}
