//! A Complete's claim on its upload, kept alive while the Complete works.
//!
//! Complete marks the upload `Completing { until_ms }` and holds the append lease (part
//! 0) for [`COMPLETE_LEASE`], so that a Complete whose worker died is taken over (or the
//! upload aborted) once both run out. A Complete that copies parts can take longer than
//! any fixed lease (gigabytes at a few hundred MB/s), so the claim is extended every
//! [`CLAIM_REFRESH`] while the Complete runs. If an extension finds the record changed
//! under it (this worker stalled past the lease and another Complete or an Abort took
//! over), the claim is lost and the Complete stops before it publishes the metadata.
//! So does a Complete whose last extension has run out (the process stalled): its copy
//! target may be older than the orphan janitor's grace by then, and only a live claim
//! proves nobody else acted on the upload meanwhile.

use crate::store::unix_ms;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jetgate_protocol::S3Error;

use super::state::{CasError, Phase, UploadRecord, Uploads, COMPLETE_LEASE};

/// How often a running Complete extends its claim (well inside [`COMPLETE_LEASE`]).
pub const CLAIM_REFRESH: Duration = Duration::from_secs(5);

pub struct Claim {
    /// When the claim last extended runs out (ms since the epoch); 0 once it is lost.
    until_ms: Arc<AtomicI64>,
    task: tokio::task::JoinHandle<()>,
}

impl Claim {
    /// Starts extending the claim `upload` (at KV revision `rev`, phase Completing).
    pub fn keep(uploads: &Uploads, upload: &UploadRecord, rev: u64) -> Claim {
        let until = match upload.phase {
            Phase::Completing { until_ms } => until_ms,
            _ => unix_ms() + COMPLETE_LEASE.as_millis() as i64,
        };
        let until_ms = Arc::new(AtomicI64::new(until));
        let task = tokio::spawn(refresh(
            uploads.clone(),
            upload.clone(),
            rev,
            until_ms.clone(),
        ));
        Claim { until_ms, task }
    }

    /// Fails once another request has taken the upload over, or may have.
    pub fn check(&self) -> Result<(), S3Error> {
        if unix_ms() >= self.until_ms.load(Ordering::Acquire) {
            return Err(S3Error::service_unavailable_with(
                "The upload was taken over while this Complete ran; please retry.",
            ));
        }
        Ok(())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn refresh(
    uploads: Uploads,
    mut rec: UploadRecord,
    mut rev: u64,
    claimed_until: Arc<AtomicI64>,
) {
    let id = rec.upload_id.clone();
    loop {
        tokio::time::sleep(CLAIM_REFRESH).await;
        if unix_ms() >= claimed_until.load(Ordering::Acquire) {
            // The claim lapsed (this process stalled): whatever happened meanwhile, the
            // Complete must not go on as if it had held the upload throughout.
            claimed_until.store(0, Ordering::Release);
            tracing::warn!(upload_id = %id, "Complete's claim lapsed before it was extended");
            return;
        }
        let until_ms = unix_ms() + COMPLETE_LEASE.as_millis() as i64;
        rec.phase = Phase::Completing { until_ms };
        match uploads.update_upload(&rec, rev).await {
            Ok(r) => {
                rev = r;
                claimed_until.store(until_ms, Ordering::Release);
            }
            Err(CasError::Conflict) => {
                claimed_until.store(0, Ordering::Release);
                tracing::warn!(upload_id = %id, "Complete lost its claim on the upload");
                return;
            }
            Err(CasError::Failed(e)) => {
                // Transient (the lease still has time left): try again next round.
                tracing::warn!(upload_id = %id, error = %e, "could not extend a Complete's claim");
                continue;
            }
        }
        // The append lease taken by stop_appends keeps late parts out of the way.
        if let Ok((mut cur, crev)) = uploads.cursor(&id).await {
            if let Some(l) = cur.lease.as_mut().filter(|l| l.part == 0) {
                l.expires_ms = until_ms;
                if let Err(CasError::Failed(e)) = uploads.set_cursor(&id, &cur, crev).await {
                    tracing::warn!(upload_id = %id, error = %e, "could not extend a Complete's append lease");
                }
            }
        }
    }
}
