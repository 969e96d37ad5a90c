//! One writer at a time for a bucket's stream configuration.
//!
//! jetgate keeps bucket settings (owner, CORS rules, tags) and DeleteBucket's closing
//! marker in the bucket stream's configuration, and JetStream replaces a configuration
//! whole with no compare-and-set: two read-modify-writes at the same instant would lose
//! one (a PutBucketCors beside a PutBucketTagging; worse, a setting written from a
//! configuration read before DeleteBucket closed the stream would give the stream its
//! subjects back in the middle of the delete). So every such change takes the bucket's
//! lock first: a key in the KV bucket `jetgate-bucket-locks` created only if absent
//! (a compare-and-set), with a message TTL so a worker that dies holding it blocks the
//! bucket's settings for [`LOCK_TTL`] at most.

use std::time::Duration;

use async_nats::jetstream::{kv, stream};

use super::{Store, StoreError};

/// The KV bucket of the locks.
pub const LOCKS_BUCKET: &str = "jetgate-bucket-locks";

/// Longest a lock outlives a holder that died.
const LOCK_TTL: Duration = Duration::from_secs(10);

/// How long a change waits for the lock before answering SlowDown.
const LOCK_WAIT: Duration = Duration::from_secs(5);

impl Store {
    /// The locks KV, created on first use (as replicated as the first bucket locked).
    async fn locks(&self, replicas: usize) -> Result<kv::Store, StoreError> {
        self.locks
            .get_or_try_init(|| async {
                match self.js.get_key_value(LOCKS_BUCKET).await {
                    Ok(kv) => Ok(kv),
                    Err(_) => self
                        .js
                        .create_key_value(kv::Config {
                            bucket: LOCKS_BUCKET.into(),
                            description: "jetgate: one writer at a time per bucket configuration"
                                .into(),
                            history: 1,
                            num_replicas: replicas.max(1),
                            limit_markers: Some(LOCK_TTL),
                            ..Default::default()
                        })
                        .await
                        .map_err(|e| StoreError::Request(format!("bucket locks: {e}"))),
                }
            })
            .await
            .cloned()
    }

    /// Reads the bucket's stream configuration, lets `change` edit it and writes it back
    /// when `change` says it changed anything, all under the bucket's lock; returns
    /// whether it wrote.
    pub(crate) async fn update_bucket_config(
        &self,
        nats_bucket: &str,
        change: impl FnOnce(&mut stream::Config) -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        let locks = match self.locks.get() {
            Some(locks) => locks.clone(),
            // First use: the KV is made as replicated as this bucket.
            None => {
                let stream = self.bucket_stream(nats_bucket).await?;
                self.locks(stream.cached_info().config.num_replicas).await?
            }
        };
        let rev = acquire(&locks, nats_bucket).await?;
        let written = async {
            // Read again under the lock: the configuration as the last holder left it.
            let mut config = self
                .bucket_stream(nats_bucket)
                .await?
                .cached_info()
                .config
                .clone();
            if !change(&mut config)? {
                return Ok(false);
            }
            self.js
                .update_stream(config)
                .await
                .map(|_| true)
                .map_err(StoreError::api)
        }
        .await;
        // A lock not released (the KV unreachable) expires on its own.
        if let Err(e) = locks
            .purge_expect_revision_with_ttl(nats_bucket, rev, LOCK_TTL)
            .await
        {
            tracing::warn!(bucket = nats_bucket, error = %e, "bucket configuration lock not released");
        }
        written
    }
}

/// Takes the lock of `key`; its revision, to release it.
async fn acquire(locks: &kv::Store, key: &str) -> Result<u64, StoreError> {
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(5);
    loop {
        match locks
            .create_with_ttl(key, bytes::Bytes::from_static(b"held"), LOCK_TTL)
            .await
        {
            Ok(rev) => return Ok(rev),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::Request(format!("bucket lock: {e}"))),
        }
        if tokio::time::Instant::now() + pause > deadline {
            return Err(StoreError::Throttled(
                "another change of this bucket's configuration is in progress".into(),
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
