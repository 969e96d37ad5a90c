//! Reclaims orphan chunks: chunk subjects no metadata points to, left by a worker that
//! died mid-upload (a live worker purges its own on failure). Only subjects whose last
//! chunk is older than a grace period are touched, so uploads in progress are safe.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use time::OffsetDateTime;

use jetgate_protocol::messages::Owner;

use super::{owner_of, stream_name, Store, StoreError};

impl Store {
    /// Purges orphan chunk subjects of one bucket; returns how many were purged.
    pub async fn sweep_orphans(
        &self,
        nats_bucket: &str,
        grace: Duration,
    ) -> Result<usize, StoreError> {
        let stream = self
            .js
            .get_stream(stream_name(nats_bucket))
            .await
            .map_err(|e| StoreError::Request(e.to_string()))?;
        let prefix = format!("$O.{nats_bucket}.C.");
        let subjects: Vec<String> = stream
            .info_with_subjects(format!("{prefix}>"))
            .await
            .map_err(|e| StoreError::Request(e.to_string()))?
            .map_ok(|(subject, _count)| subject)
            .try_collect()
            .await
            .map_err(|e| StoreError::Request(e.to_string()))?;
        if subjects.is_empty() {
            return Ok(0);
        }
        let live: HashSet<String> = self
            .list_metas(nats_bucket)
            .await?
            .into_iter()
            .map(|m| m.nuid)
            .collect();
        // Chunks of multipart uploads in progress (`<nuid>` and `<nuid>.s<N>-…`) are
        // not orphans; if the uploads cannot be read, sweep nothing.
        let uploading = match crate::multipart::Uploads::open_existing(&self.js).await {
            Ok(Some(u)) => crate::multipart::sweep::active_nuids(&u, nats_bucket)
                .await
                .map_err(|e| StoreError::Request(e.message))?,
            Ok(None) => HashSet::new(),
            Err(e) => return Err(StoreError::Request(e.message)),
        };
        let mut purged = 0;
        for subject in subjects {
            let nuid = subject.strip_prefix(&prefix).unwrap_or_default();
            if live.contains(nuid) {
                continue;
            }
            let owner = nuid.split('.').next().unwrap_or_default();
            if uploading.contains(owner) {
                continue;
            }
            let Some(last) = self
                .direct_get(&stream_name(nats_bucket), Some(&subject), Bytes::new())
                .await?
            else {
                continue;
            };
            let stamp = last
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Time-Stamp"))
                .and_then(|v| {
                    OffsetDateTime::parse(
                        v.as_str(),
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                });
            let old_enough = stamp
                .map(|t| OffsetDateTime::now_utc() - t > grace)
                .unwrap_or(false);
            if old_enough {
                self.purge_subject(nats_bucket, &subject).await?;
                tracing::info!(bucket = nats_bucket, subject = %subject, "purged orphan chunks");
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// All NATS object-store buckets (streams named `OBJ_*`), with what ListBuckets
    /// and the admin command show of each.
    pub async fn nats_buckets(&self) -> Result<Vec<NatsBucket>, StoreError> {
        let mut out = Vec::new();
        let mut streams = self.js.streams();
        while let Some(info) = streams
            .try_next()
            .await
            .map_err(|e| StoreError::Request(e.to_string()))?
        {
            if let Some(name) = info.config.name.strip_prefix("OBJ_") {
                out.push(NatsBucket {
                    name: name.to_string(),
                    created_ms: (info.created.unix_timestamp_nanos() / 1_000_000) as i64,
                    owner: owner_of(&info.config),
                });
            }
        }
        Ok(out)
    }
}

/// One bucket as [`Store::nats_buckets`] finds it.
pub struct NatsBucket {
    /// The NATS object-store name.
    pub name: String,
    pub created_ms: i64,
    /// The recorded owner (`None`: the admin's).
    pub owner: Option<Owner>,
}
