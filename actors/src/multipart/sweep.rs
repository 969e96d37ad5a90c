//! Housekeeping: which chunk subjects belong to uploads in progress (so the orphan
//! janitor leaves them alone), and the sweep that aborts abandoned uploads.

use crate::store::unix_ms;
use std::collections::HashSet;
use std::time::Duration;

use jetgate_protocol::S3Error;

use super::state::{UploadRecord, Uploads};
use crate::store::Store;

/// Nuids of every upload in progress in `nats_bucket`: chunk subjects
/// `$O.<bucket>.C.<nuid>` and `$O.<bucket>.C.<nuid>.*` are theirs.
pub async fn active_nuids(
    uploads: &Uploads,
    nats_bucket: &str,
) -> Result<HashSet<String>, S3Error> {
    Ok(super::list::all_uploads(uploads)
        .await?
        .into_iter()
        .filter(|(u, _)| u.nats_bucket == nats_bucket)
        .map(|(u, _)| u.nuid)
        .collect())
}

/// Every upload in progress, oldest first.
pub async fn list(uploads: &Uploads) -> Result<Vec<UploadRecord>, S3Error> {
    let mut all: Vec<UploadRecord> = super::list::all_uploads(uploads)
        .await?
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    all.sort_by_key(|u| u.created_ms);
    Ok(all)
}

/// Aborts uploads created more than `max_age` ago; returns those aborted.
pub async fn abort_stale(
    store: &Store,
    uploads: &Uploads,
    max_age: Duration,
) -> Result<Vec<UploadRecord>, S3Error> {
    let cutoff = unix_ms() - max_age.as_millis() as i64;
    let mut aborted = Vec::new();
    for (u, rev) in super::list::all_uploads(uploads).await? {
        if u.created_ms >= cutoff {
            continue;
        }
        match super::abort::abort_upload(store, uploads, &u, rev).await {
            Ok(()) => {
                tracing::info!(upload_id = %u.upload_id, bucket = %u.bucket, key = %u.key, "aborted a stale upload");
                aborted.push(u);
            }
            Err(e) => {
                tracing::warn!(upload_id = %u.upload_id, error = %e, "could not abort a stale upload")
            }
        }
    }
    Ok(aborted)
}
