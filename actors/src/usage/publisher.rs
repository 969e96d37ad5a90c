//! The background publisher of usage records: takes them from a bounded channel and
//! publishes them to JetStream with up to [`IN_FLIGHT`] acks outstanding (pipelined,
//! not one round trip per record), checking every ack. A record lost on the way (the
//! channel full, a publish or ack that failed, no stream) is counted in
//! [`super::LOST_METRIC`] by reason and logged at most every [`LOG_EVERY`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::stream::{Config, DiscardPolicy, StorageType};
use async_nats::jetstream::Context;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{UsageLimits, UsageRecord, LOST_METRIC};

/// Records waiting for the publisher; past this a finished request's record is dropped
/// (and counted) rather than wait: a slow stream never slows S3.
pub const CHANNEL_CAPACITY: usize = 8192;
/// Publishes awaiting their ack at once.
const IN_FLIGHT: usize = 256;
/// At most one loss warning per this interval, with the count since the last one.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// A missing stream is re-created at most this often (it was deleted under us).
const RECREATE_EVERY: Duration = Duration::from_secs(30);

/// Where the request path hands finished records; cloned into the worker.
#[derive(Clone, Debug)]
pub struct UsageSink {
    tx: mpsc::Sender<UsageRecord>,
}

impl UsageSink {
    /// Queues a record for publishing; a full (or closed) channel loses it, counted.
    pub fn record(&self, rec: UsageRecord) {
        if self.tx.try_send(rec).is_err() {
            metrics::counter!(LOST_METRIC, "reason" => "channel_full").increment(1);
            warn_channel_full();
        }
    }
}

/// Warns about a full channel at most every [`LOG_EVERY`] (it is hit per request).
fn warn_channel_full() {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = u64::try_from(crate::store::unix_ms() / 1000).unwrap_or(0);
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) >= LOG_EVERY.as_secs()
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            capacity = CHANNEL_CAPACITY,
            "usage channel full: usage records lost (counted in {LOST_METRIC})"
        );
    }
}

/// Starts the publisher task on `js` and returns the sink that feeds it. The stream is
/// created on start when missing (by exact name: the only stream the `data` user may
/// create besides the upload-state KV).
pub fn start(js: Context, limits: UsageLimits) -> UsageSink {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    tokio::spawn(run(js, limits, rx));
    UsageSink { tx }
}

/// The usage stream's configuration for `limits`.
pub fn stream_config(limits: &UsageLimits) -> Config {
    Config {
        name: super::STREAM.to_string(),
        description: Some("jetgate usage records per access key".into()),
        subjects: vec![super::SUBJECTS.to_string()],
        max_age: limits.max_age,
        max_bytes: limits.max_bytes,
        // Limits, not interest: the oldest records make room; a full stream never
        // refuses a new one.
        discard: DiscardPolicy::Old,
        storage: StorageType::File,
        num_replicas: limits.replicas.max(1),
        ..Default::default()
    }
}

async fn ensure_stream(js: &Context, limits: &UsageLimits) -> bool {
    match js.get_or_create_stream(stream_config(limits)).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(stream = super::STREAM, error = %e, "usage stream not available; usage records will be lost and counted");
            false
        }
    }
}

async fn run(js: Context, limits: UsageLimits, mut rx: mpsc::Receiver<UsageRecord>) {
    ensure_stream(&js, &limits).await;
    let mut last_recreate = Instant::now();
    let mut losses = LossLog::default();
    let mut acks = FuturesUnordered::new();
    loop {
        tokio::select! {
            // Acks first: they free room for more publishes.
            biased;
            Some(ack) = acks.next(), if !acks.is_empty() => {
                if let Err(kind) = ack {
                    losses.lost(kind);
                    if kind == PublishErrorKind::StreamNotFound
                        && last_recreate.elapsed() >= RECREATE_EVERY
                    {
                        last_recreate = Instant::now();
                        ensure_stream(&js, &limits).await;
                    }
                }
            }
            rec = rx.recv(), if acks.len() < IN_FLIGHT => {
                let Some(rec) = rec else { break };
                match publish(&js, &rec).await {
                    Ok(ack) => acks.push(async move {
                        ack.await.map(|_| ()).map_err(|e| e.kind())
                    }),
                    Err(kind) => losses.lost(kind),
                }
            }
        }
    }
    // The worker is stopping: wait for the acks of what was sent.
    while let Some(ack) = acks.next().await {
        if let Err(kind) = ack {
            losses.lost(kind);
        }
    }
}

async fn publish(js: &Context, rec: &UsageRecord) -> Result<PublishAckFuture, PublishErrorKind> {
    let payload = serde_json::to_vec(rec).map_err(|_| PublishErrorKind::Other)?;
    js.publish(super::subject(&rec.operation), payload.into())
        .await
        .map_err(|e| e.kind())
}

/// Counts lost records and warns about them, rate-limited.
#[derive(Default)]
struct LossLog {
    last_warn: Option<Instant>,
    since_warn: u64,
}

impl LossLog {
    fn lost(&mut self, kind: PublishErrorKind) {
        let reason = match kind {
            PublishErrorKind::StreamNotFound => "no_stream",
            PublishErrorKind::TimedOut => "timeout",
            _ => "publish_failed",
        };
        metrics::counter!(LOST_METRIC, "reason" => reason).increment(1);
        self.since_warn += 1;
        if self.last_warn.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            tracing::warn!(
                stream = super::STREAM,
                reason,
                error = %kind,
                lost = self.since_warn,
                "usage records lost (counted in {LOST_METRIC})"
            );
            self.last_warn = Some(Instant::now());
            self.since_warn = 0;
        }
    }
}
