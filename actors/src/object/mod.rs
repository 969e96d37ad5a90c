//! Object I/O role: PUT, GET/HEAD, DELETE, DeleteObjects and CopyObject on native NATS
//! objects.

mod acl;
pub(crate) mod attributes;
mod conditions;
mod copy;
pub(crate) mod delete;
mod get;
mod post;
mod put;
pub(crate) mod tagging;

pub use acl::object_acl;
pub use attributes::get_attributes;
pub use conditions::{evaluate, resolve_range, Evaluation};
pub use copy::copy;
pub(crate) use copy::copy_source;
pub use delete::{delete, delete_many};
pub use get::get;
pub(crate) use get::RangeReader;
pub use post::post;
pub use put::put;
pub use tagging::{delete_tagging, get_tagging, put_tagging};

use base64::Engine;
use jetgate_protocol::names::{bucket_to_nats, validate_bucket, validate_key};
use jetgate_protocol::S3Error;
use time::OffsetDateTime;

use crate::payload::Digests;
use crate::store::{ObjectMeta, CHUNK_SIZE};

/// Checks the names and returns the NATS bucket name.
pub(crate) fn target(bucket: &str, key: &str) -> Result<String, S3Error> {
    validate_bucket(bucket)?;
    validate_key(key)?;
    Ok(bucket_to_nats(bucket))
}

/// The key's current object, once `condition` holds against it, and the metadata
/// sequence the write's own metadata publish must still find (`None`: unconditional),
/// so a concurrent writer between this check and the publish makes the write fail.
pub(crate) async fn current_for_write(
    worker: &crate::worker::Worker,
    nats_bucket: &str,
    key: &str,
    condition: &jetgate_protocol::write_condition::WriteCondition,
) -> Result<(Option<ObjectMeta>, Option<u64>), S3Error> {
    let (existing, seq) = worker.store().lookup_seq(nats_bucket, key).await?;
    condition.check(existing.as_ref().map(|m| m.etag()).as_deref())?;
    Ok((existing, condition.expected_seq(seq)))
}

/// Where an object version's chunks are: what its metadata records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored<'a> {
    pub nuid: &'a str,
    pub size: u64,
    pub chunks: u64,
}

impl<'a> From<&'a crate::store::Written> for Stored<'a> {
    fn from(w: &'a crate::store::Written) -> Self {
        Stored {
            nuid: &w.nuid,
            size: w.size,
            chunks: w.chunks,
        }
    }
}

/// Metadata of a freshly written object version.
pub(crate) fn new_meta(
    nats_bucket: &str,
    key: &str,
    written: Stored<'_>,
    sha256: &[u8; 32],
    etag: &str,
) -> ObjectMeta {
    let mut meta = ObjectMeta {
        name: key.to_string(),
        bucket: nats_bucket.to_string(),
        nuid: written.nuid.to_string(),
        size: written.size,
        chunks: written.chunks,
        mtime: Some(OffsetDateTime::now_utc()),
        digest: Some(format!(
            "SHA-256={}",
            base64::engine::general_purpose::URL_SAFE.encode(sha256)
        )),
        options: Some(crate::store::ObjectOptions {
            max_chunk_size: Some(CHUNK_SIZE as u64),
        }),
        ..Default::default()
    };
    meta.set_etag(etag);
    meta
}

pub(crate) fn md5_etag(d: &Digests) -> String {
    hex::encode(d.md5)
}
