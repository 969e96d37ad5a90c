//! The background publisher of usage records: takes them from a bounded channel and
//! publishes them to JetStream with up to [`IN_FLIGHT`] acks outstanding (pipelined,
//! not one round trip per record), checking every ack. Each time it wakes it takes
//! what the channel holds (up to [`MAX_BATCH`] records) and publishes one message per
//! operation ([`super::records`]): under load a JetStream publish and its ack per
//! request were ≈ 10 % of nats-server's work on a 4 KiB request; when idle a message
//! is still one record, sent at once (no timer holds records back). A record lost on
//! the way (the channel full, a publish or ack that failed, no stream) is counted in
//! [`super::LOST_METRIC`] by reason and logged at most every [`LOG_EVERY`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishErrorKind;
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
/// Records taken from the channel per wake.
pub const MAX_BATCH: usize = 256;
/// A message is closed past this size (well under nats-server's default 1 MiB
/// `max_payload`; a record is a few hundred bytes).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
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
                if let Err((kind, n)) = ack {
                    losses.lost(kind, n);
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
                let mut batch = Batch::default();
                batch.add(&rec);
                while batch.records < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(rec) => batch.add(&rec),
                        Err(_) => break,
                    }
                }
                if batch.unserializable > 0 {
                    losses.lost(PublishErrorKind::Other, batch.unserializable);
                }
                for (subject, payload, n) in batch.messages {
                    match js.publish(subject, payload.into()).await {
                        Ok(ack) => acks.push(async move {
                            ack.await.map(|_| ()).map_err(|e| (e.kind(), n))
                        }),
                        Err(e) => losses.lost(e.kind(), n),
                    }
                }
            }
        }
    }
    // The worker is stopping: wait for the acks of what was sent.
    while let Some(ack) = acks.next().await {
        if let Err((kind, n)) = ack {
            losses.lost(kind, n);
        }
    }
}

/// The records taken from the channel at one wake, as messages: one JSON Lines payload
/// per operation (its subject), split past [`MAX_MESSAGE_BYTES`].
#[derive(Default)]
struct Batch {
    /// (subject, payload, records in it), in the order operations first appeared.
    messages: Vec<(String, Vec<u8>, u64)>,
    records: usize,
    /// Records that did not serialize (lost, counted).
    unserializable: u64,
}

impl Batch {
    fn add(&mut self, rec: &UsageRecord) {
        self.records += 1;
        let subject = super::subject(&rec.operation);
        let open = self
            .messages
            .iter()
            .rposition(|(s, p, _)| *s == subject && p.len() < MAX_MESSAGE_BYTES);
        let at = open.unwrap_or_else(|| {
            self.messages.push((subject, Vec::new(), 0));
            self.messages.len() - 1
        });
        let (_, payload, n) = &mut self.messages[at];
        let start = payload.len();
        if start > 0 {
            payload.push(b'\n');
        }
        if serde_json::to_writer(&mut *payload, rec).is_err() {
            payload.truncate(start);
            self.unserializable += 1;
            if *n == 0 {
                self.messages.remove(at);
            }
            return;
        }
        *n += 1;
    }
}

/// Counts lost records and warns about them, rate-limited.
#[derive(Default)]
struct LossLog {
    last_warn: Option<Instant>,
    since_warn: u64,
}

impl LossLog {
    /// `n` records lost for the same reason (a message holds several).
    fn lost(&mut self, kind: PublishErrorKind, n: u64) {
        let reason = match kind {
            PublishErrorKind::StreamNotFound => "no_stream",
            PublishErrorKind::TimedOut => "timeout",
            _ => "publish_failed",
        };
        metrics::counter!(LOST_METRIC, "reason" => reason).increment(n);
        self.since_warn += n;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rec(op: &str, n: u64) -> UsageRecord {
        UsageRecord {
            time_ms: 1_700_000_000_000,
            access_key: "AKIDEXAMPLE".into(),
            owner: "alice".into(),
            bucket: Some("b".into()),
            operation: op.into(),
            status: 200,
            error: None,
            bytes_in: n,
            bytes_out: 0,
            duration_ms: 1,
            request_id: format!("req-{n}"),
        }
    }

    #[test]
    fn a_lone_record_is_the_json_object_alone() {
        let mut batch = Batch::default();
        batch.add(&rec("GetObject", 1));
        assert_eq!(batch.messages.len(), 1);
        let (subject, payload, n) = &batch.messages[0];
        assert_eq!(subject, "jetgate.usage.GetObject");
        assert_eq!(*payload, serde_json::to_vec(&rec("GetObject", 1)).unwrap());
        assert_eq!(*n, 1);
    }

    #[test]
    fn records_are_grouped_by_operation_and_read_back_in_order() {
        let mut batch = Batch::default();
        let sent: Vec<UsageRecord> = (0..10)
            .map(|i| rec(if i % 3 == 0 { "PutObject" } else { "GetObject" }, i))
            .collect();
        for r in &sent {
            batch.add(r);
        }
        assert_eq!(batch.records, 10);
        let subjects: Vec<&str> = batch.messages.iter().map(|(s, _, _)| s.as_str()).collect();
        assert_eq!(
            subjects,
            ["jetgate.usage.PutObject", "jetgate.usage.GetObject"]
        );
        let mut back = Vec::new();
        for (subject, payload, n) in &batch.messages {
            let recs: Vec<UsageRecord> = super::super::records(payload)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(recs.len() as u64, *n);
            assert!(recs
                .iter()
                .all(|r| *subject == super::super::subject(&r.operation)));
            back.extend(recs);
        }
        back.sort_by_key(|r| r.bytes_in);
        assert_eq!(back, sent);
    }

    #[test]
    fn a_message_is_closed_past_its_size() {
        let mut batch = Batch::default();
        let one = serde_json::to_vec(&rec("GetObject", 0)).unwrap().len();
        let count = 2 * MAX_MESSAGE_BYTES / one + 1;
        for i in 0..count {
            batch.add(&rec("GetObject", i as u64));
        }
        assert!(batch.messages.len() >= 2);
        let mut total = 0;
        for (_, payload, n) in &batch.messages {
            assert!(payload.len() < MAX_MESSAGE_BYTES + one + 1);
            assert_eq!(super::super::records(payload).count() as u64, *n);
            total += n;
        }
        assert_eq!(total, count as u64);
    }

    #[test]
    fn blank_lines_and_a_bad_line_are_told_apart() {
        let good = serde_json::to_string(&rec("HeadObject", 7)).unwrap();
        let payload = format!("{good}\n\n{{not json\n{good}\n");
        let parsed: Vec<_> = super::super::records(payload.as_bytes()).collect();
        assert_eq!(parsed.len(), 3);
        assert!(parsed[0].is_ok() && parsed[1].is_err() && parsed[2].is_ok());
    }
}
