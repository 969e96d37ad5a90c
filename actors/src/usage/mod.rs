//! Usage records per access key (issue #15 part 4). Every S3 request a worker finishes
//! after its signature verified becomes one [`UsageRecord`] on the JetStream stream
//! [`STREAM`]. Records are written by workers only: the edge is internet-facing and
//! may not publish on [`SUBJECTS`] (it may publish only `jetgate.v1.>`), so it cannot
//! author usage. The request path only counts bytes and hands the finished record to a
//! bounded channel ([`UsageSink::record`]); a background task publishes what the
//! channel holds, one message per operation ([`publisher`], [`records`]). A record that cannot be published is counted in [`LOST_METRIC`],
//! never retried on the request path.

mod owners;
pub mod publisher;
pub mod summary;

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use jetgate_protocol::messages::Principal;
use jetgate_protocol::S3Error;
use serde::{Deserialize, Serialize};

pub use owners::{OwnerLabels, MAX_OWNER_LABELS, OTHER_OWNERS};
pub use publisher::{start, UsageSink};

/// The stream usage records land in.
pub const STREAM: &str = "jetgate-usage";
/// What the stream captures; a record goes to `jetgate.usage.<operation>`.
pub const SUBJECTS: &str = "jetgate.usage.>";
/// Default of `--usage-max-age-secs`: records older than this are dropped (30 days).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default of `--usage-max-bytes`: the oldest records go first past this (1 GiB).
pub const DEFAULT_MAX_BYTES: i64 = 1024 * 1024 * 1024;
/// Counter of records that never reached the stream, by `reason`.
pub const LOST_METRIC: &str = "jetgate_usage_records_lost_total";
/// Per-owner body bytes received and sent (`owner` label bounded by [`OwnerLabels`]).
pub const BYTES_IN_METRIC: &str = "jetgate_usage_bytes_in_total";
pub const BYTES_OUT_METRIC: &str = "jetgate_usage_bytes_out_total";

/// The subject an operation's records are published on (operation names are one
/// subject token: `GetObject`), so `nats stream view --subject` can pick one.
pub fn subject(operation: &str) -> String {
    format!("jetgate.usage.{operation}")
}

/// The records of one message of the usage stream. A message holds the records of one
/// operation (its subject's) that a worker finished at about the same time, one JSON
/// object per line (JSON Lines); a lone record is the JSON object alone, as every
/// message was before records were batched.
pub fn records(payload: &[u8]) -> impl Iterator<Item = serde_json::Result<UsageRecord>> + '_ {
    payload
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(serde_json::from_slice)
}

/// Limits the usage stream is created with (changed later with `nats stream edit`:
/// workers only create it, never update it).
#[derive(Debug, Clone)]
pub struct UsageLimits {
    pub max_age: Duration,
    pub max_bytes: i64,
    pub replicas: usize,
}

impl Default for UsageLimits {
    fn default() -> Self {
        UsageLimits {
            max_age: DEFAULT_MAX_AGE,
            max_bytes: DEFAULT_MAX_BYTES,
            replicas: 1,
        }
    }
}

/// One finished S3 request, as stored in the stream (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// When the request finished, Unix milliseconds.
    pub time_ms: i64,
    pub access_key: String,
    /// The key's owner id.
    pub owner: String,
    /// The bucket of the signed request; none for ListBuckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// The S3 operation name (`GetObject`, `ListObjectsV2`, …).
    pub operation: String,
    /// HTTP status: the S3 error's, else 200 (206/304 for GetObject; the edge may still
    /// answer another 2xx such as DeleteObject's 204).
    pub status: u16,
    /// The S3 error code of a failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Body bytes the worker took in: the object or part stored (decoded from
    /// aws-chunked), or the XML document read; 0 when the upload failed.
    pub bytes_in: u64,
    /// Body bytes the worker sent: an object's (range's) bytes, inline or streamed.
    pub bytes_out: u64,
    pub duration_ms: u64,
    pub request_id: String,
}

/// Who signed a request and what it was, set once its signature verified.
#[derive(Debug)]
struct Signed {
    access_key: String,
    owner: String,
    operation: &'static str,
    bucket: Option<String>,
}

/// What one request accumulates for its usage record while it runs.
#[derive(Debug, Default)]
pub struct RequestUsage {
    signed: OnceLock<Signed>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// 0: no status set (200 on success).
    status: AtomicU16,
}

impl RequestUsage {
    /// The signature verified: the request is recorded under this key. The first call
    /// wins (a handler may verify before it authenticates).
    pub(crate) fn signed(
        &self,
        principal: &Principal,
        operation: &'static str,
        bucket: Option<&str>,
    ) {
        let _ = self.signed.set(Signed {
            access_key: principal.access_key.clone(),
            owner: principal.owner.id.clone(),
            operation,
            bucket: bucket.map(str::to_string),
        });
    }

    pub(crate) fn add_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// A success status other than 200 (GetObject's 206 and 304).
    pub(crate) fn status(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }

    /// The record of the finished request; none when no signature verified (an
    /// anonymous, wrongly signed or forged call is not anybody's usage).
    fn record(
        &self,
        request_id: &str,
        outcome: Result<(), &S3Error>,
        elapsed: Duration,
    ) -> Option<UsageRecord> {
        let who = self.signed.get()?;
        let (status, error) = match outcome {
            Ok(()) => match self.status.load(Ordering::Relaxed) {
                0 => (200, None),
                s => (s, None),
            },
            Err(e) => (e.code.status(), Some(e.code.as_str().to_string())),
        };
        Some(UsageRecord {
            time_ms: crate::store::unix_ms(),
            access_key: who.access_key.clone(),
            owner: who.owner.clone(),
            bucket: who.bucket.clone(),
            operation: who.operation.to_string(),
            status,
            error,
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            request_id: request_id.to_string(),
        })
    }
}

/// Ends a request's usage: per-owner byte counters, and the record handed to the
/// publisher. Never waits and never fails the request.
pub(crate) fn finish(
    worker: &crate::Worker,
    inc: &crate::Incoming,
    outcome: Result<(), &S3Error>,
    started: Instant,
) {
    let Some(rec) = inc
        .usage
        .record(&inc.ctx.request_id, outcome, started.elapsed())
    else {
        return;
    };
    let owner = worker.role_state::<OwnerLabels>().label(&rec.owner);
    if rec.bytes_in > 0 {
        metrics::counter!(BYTES_IN_METRIC, "owner" => owner.clone()).increment(rec.bytes_in);
    }
    if rec.bytes_out > 0 {
        metrics::counter!(BYTES_OUT_METRIC, "owner" => owner).increment(rec.bytes_out);
    }
    if let Some(sink) = worker.usage() {
        sink.record(rec);
    }
}
