//! Closing a bucket to writers, so that DeleteBucket never deletes an acknowledged write.
//!
//! DeleteBucket checks that a bucket is empty and then deletes its stream; a PUT
//! acknowledged between the two would be deleted with it. So the listing role closes
//! the stream first: its subjects are replaced by one sentinel subject, and a publish to
//! a chunk or metadata subject finds no stream (the write fails; nothing is
//! acknowledged). Then it publishes one message to the sentinel. A stream takes messages
//! through one queue and, clustered, one raft log, so the sentinel's sequence comes after
//! every write that reached the stream before the close, acknowledged or about to be. If
//! it is the next sequence after the last one the emptiness check covered, nothing was
//! written in between and the stream can go; otherwise the stream is reopened and the
//! check runs again.
//!
//! A worker that dies between closing and deleting leaves the bucket closed: reads and
//! listings work, writes answer 503. A closing older than [`CLOSING_STALE`] is taken
//! for such a leftover: the next DeleteBucket, and every listing worker's periodic
//! check, reopen it.

use std::time::Duration;

use async_nats::jetstream::stream;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::{stream_name, unix_ms, Store, StoreError};

/// Stream metadata key marking a closed bucket: when it was closed and the subjects to
/// give back when it is reopened.
pub const CLOSING_KEY: &str = "jetgate.closing";

/// A closing left this long is a dead worker's, not one in progress (a DeleteBucket
/// holds its bucket closed for a few round trips).
pub const CLOSING_STALE: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize, Deserialize)]
struct Closing {
    since_ms: i64,
    subjects: Vec<String>,
}

/// The one subject of a closed bucket's stream; no writer publishes there.
pub fn closing_subject(nats_bucket: &str) -> String {
    format!("$O.{nats_bucket}.closing")
}

/// How long ago the stream was closed; `None` when it is open.
pub fn closed_for(config: &stream::Config) -> Option<Duration> {
    let closing: Closing = serde_json::from_str(config.metadata.get(CLOSING_KEY)?).ok()?;
    let age_ms = unix_ms().saturating_sub(closing.since_ms).max(0);
    Some(Duration::from_millis(age_ms as u64))
}

impl Store {
    /// Closes an open bucket to writers and returns the sentinel's sequence: every
    /// message stored before the close has a lower one. `None` when the bucket is
    /// closed already (another DeleteBucket is at it). On failure the bucket is left
    /// open.
    pub async fn close_bucket(&self, nats_bucket: &str) -> Result<Option<u64>, StoreError> {
        let sentinel = closing_subject(nats_bucket);
        let closed = self
            .update_bucket_config(nats_bucket, |config| {
                if config.metadata.contains_key(CLOSING_KEY) {
                    return Ok(false);
                }
                let closing = Closing {
                    since_ms: unix_ms(),
                    subjects: std::mem::replace(&mut config.subjects, vec![sentinel.clone()]),
                };
                let marker = serde_json::to_string(&closing)
                    .map_err(|e| StoreError::Request(e.to_string()))?;
                config.metadata.insert(CLOSING_KEY.into(), marker);
                Ok(true)
            })
            .await?;
        if !closed {
            return Ok(None);
        }
        let seq = async {
            self.js
                .publish(sentinel, bytes::Bytes::new())
                .await
                .map_err(StoreError::publish)?
                .await
                .map(|ack| ack.sequence)
                .map_err(StoreError::publish)
        }
        .await;
        if seq.is_err() {
            if let Err(e) = self.reopen_bucket(nats_bucket).await {
                tracing::warn!(bucket = nats_bucket, error = %e, "closed bucket not reopened");
            }
        }
        seq.map(Some)
    }

    /// Gives a closed bucket its subjects back and drops the sentinel; a no-op on an
    /// open one.
    pub async fn reopen_bucket(&self, nats_bucket: &str) -> Result<(), StoreError> {
        let reopened = self
            .update_bucket_config(nats_bucket, |config| {
                let Some(raw) = config.metadata.remove(CLOSING_KEY) else {
                    return Ok(false);
                };
                let closing: Closing = serde_json::from_str(&raw)
                    .map_err(|e| StoreError::BadMeta(format!("{CLOSING_KEY}: {e}")))?;
                config.subjects = closing.subjects;
                Ok(true)
            })
            .await?;
        if !reopened {
            return Ok(());
        }
        self.purge_subject(nats_bucket, &closing_subject(nats_bucket))
            .await?;
        tracing::info!(bucket = nats_bucket, "bucket reopened to writers");
        Ok(())
    }

    /// Reopens every bucket left closed for longer than [`CLOSING_STALE`] by a worker
    /// that died in DeleteBucket; returns how many.
    pub async fn reopen_stale_closings(&self) -> Result<usize, StoreError> {
        let mut stale = Vec::new();
        let mut streams = self.js.streams();
        while let Some(info) = streams.try_next().await.map_err(StoreError::api)? {
            let Some(bucket) = info.config.name.strip_prefix("OBJ_") else {
                continue;
            };
            if closed_for(&info.config).is_some_and(|age| age >= CLOSING_STALE) {
                stale.push(bucket.to_string());
            }
        }
        for bucket in &stale {
            tracing::warn!(bucket = %bucket, "reopening a bucket a failed DeleteBucket left closed");
            self.reopen_bucket(bucket).await?;
        }
        Ok(stale.len())
    }

    /// Deletes a bucket's stream (after [`Store::close_bucket`] showed it empty).
    pub async fn delete_bucket_stream(&self, nats_bucket: &str) -> Result<(), StoreError> {
        self.js
            .delete_stream(stream_name(nats_bucket))
            .await
            .map(drop)
            .map_err(StoreError::api)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_for_reads_the_marker() {
        let mut config = stream::Config::default();
        assert_eq!(closed_for(&config), None);
        let since_ms = unix_ms() - 45_000;
        config.metadata.insert(
            CLOSING_KEY.into(),
            serde_json::json!({"since_ms": since_ms, "subjects": ["$O.b.C.>"]}).to_string(),
        );
        let age = closed_for(&config).expect("closed");
        assert!(
            age >= Duration::from_secs(45) && age < Duration::from_secs(60),
            "{age:?}"
        );
        // A marker from a clock ahead of ours is a closing in progress.
        config.metadata.insert(
            CLOSING_KEY.into(),
            serde_json::json!({"since_ms": unix_ms() + 60_000, "subjects": []}).to_string(),
        );
        assert_eq!(closed_for(&config), Some(Duration::ZERO));
    }
}
