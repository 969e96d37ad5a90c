//! Live bucket indexes held by a listing worker: one ordered consumer per indexed bucket
//! over its metadata subjects (`$O.<bucket>.M.>`, last per subject, then every new
//! message) keeps a [`BucketIndex`] current, so a listing page costs a range scan
//! instead of a read of the whole bucket.
//!
//! Strong consistency: after the request arrived, the stream's last sequence `L` is read
//! (`STREAM.INFO`), then the stream leader is asked for the first metadata message after
//! the last one the index applied (`STREAM.MSG.GET` with `seq` and `next_by_subj`
//! `$O.<bucket>.M.>`); the page waits until the index has applied it and asks again,
//! and answers once there is none up to `L`, so it holds every write acknowledged
//! before the listing started, native NATS writers' included, and a bucket under
//! constant writes still converges. (`last_by_subj` with the wildcard would be one question, but the
//! server walks every subject for it: 21.6 ms at 100k objects against 0.7-1.7 ms.) A
//! page on an index still building first waits for the build while it progresses: a
//! scan beside it would read the same messages again, and every concurrent cold page
//! would start one. An index that cannot catch up in time, whose build stalls, was
//! evicted, or outgrew the budget answers nothing: the caller falls back to the full
//! scan.
//!
//! Every listing worker indexes the buckets it is asked about (requests reach workers
//! through a queue group, so hot buckets are indexed on each worker; cold ones are
//! evicted, least recently used first, past `--listing-index-budget`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{push::OrderedConfig, DeliverPolicy};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::watch;

use super::{key_of_meta_subject, stream_name, BucketIndex, ObjectMeta, Page, Store, StoreError};

/// Default bytes of index a worker holds over all buckets: about four million objects
/// (at the measured ~260 bytes of RSS per object with short keys).
pub const DEFAULT_INDEX_BUDGET: u64 = 1024 * 1024 * 1024;

/// How long a page waits for its index to apply the writes before it before falling
/// back to the full scan.
const CATCH_UP: Duration = Duration::from_secs(2);

/// A page on a cold index waits for the build while it makes progress (a full scan
/// beside it would read the same messages again and slow both), falling back to the
/// scan when the build has stalled this long, or is still running after `BUILD_WAIT`.
const BUILD_STALL: Duration = Duration::from_secs(2);
const BUILD_WAIT: Duration = Duration::from_secs(50);

/// Metadata messages between two progress reports of an index build.
const BUILD_PROGRESS_EVERY: u64 = 100_000;

/// How long a bucket that outgrew the budget is listed by full scan before its index is
/// tried again.
const OVER_BUDGET_RETRY: Duration = Duration::from_secs(60);

/// The indexes of one worker process, by NATS bucket name.
pub struct Indexes {
    budget: usize,
    buckets: Mutex<HashMap<String, Arc<Live>>>,
    /// Buckets larger than the budget, and when that was found.
    too_large: Mutex<HashMap<String, Instant>>,
    /// Bytes of all indexes whose follower runs, kept by the followers as they grow.
    total: AtomicUsize,
}

/// One follower's share of [`Indexes::total`], given back when it ends or is aborted.
struct Held {
    indexes: Arc<Indexes>,
    counted: usize,
}

impl Held {
    fn set(&mut self, bytes: usize) {
        if bytes >= self.counted {
            self.indexes
                .total
                .fetch_add(bytes - self.counted, Ordering::Relaxed);
        } else {
            self.indexes
                .total
                .fetch_sub(self.counted - bytes, Ordering::Relaxed);
        }
        self.counted = bytes;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.indexes
            .total
            .fetch_sub(self.counted, Ordering::Relaxed);
    }
}

struct Live {
    index: Arc<RwLock<BucketIndex>>,
    /// Stream sequence of the last metadata message applied; closed when the consumer
    /// ends (stream deleted, error, over budget).
    applied: watch::Receiver<u64>,
    /// True once the index holds the bucket as it was when the follower started.
    built: watch::Receiver<bool>,
    /// The stream this index follows: a bucket deleted and created again is a new one.
    created: i128,
    over_budget: Arc<AtomicBool>,
    last_used: AtomicU64,
    task: tokio::task::AbortHandle,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Indexes {
    pub fn new(budget: u64) -> Self {
        Indexes {
            budget: usize::try_from(budget).unwrap_or(usize::MAX),
            buckets: Mutex::new(HashMap::new()),
            too_large: Mutex::new(HashMap::new()),
            total: AtomicUsize::new(0),
        }
    }
}

fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Sequence of the first message of `stream` after `seq` whose subject matches
    /// `filter`, read from the stream leader; `None` when there is none.
    async fn next_after(
        &self,
        stream: &str,
        seq: u64,
        filter: &str,
    ) -> Result<Option<u64>, StoreError> {
        let subject = format!("{}.STREAM.MSG.GET.{stream}", self.api);
        let body = serde_json::json!({ "seq": seq + 1, "next_by_subj": filter });
        let v = self
            .api_request(subject, Bytes::from(body.to_string()))
            .await?;
        if let Some(seq) = v["message"]["seq"].as_u64() {
            return Ok(Some(seq));
        }
        match v["error"]["err_code"].as_u64() {
            Some(10037) => Ok(None),
            Some(10059) => Err(StoreError::NoSuchBucket),
            _ => Err(StoreError::Api(
                v["error"]["code"].as_u64().unwrap_or(0) as u16,
                v["error"]["description"]
                    .as_str()
                    .unwrap_or("unexpected reply")
                    .to_string(),
            )),
        }
    }

    /// Waits until a follower of `stream` (its progress in `applied`, a stream
    /// sequence) has applied every message matching `filter` up to `last`, which the
    /// caller read after its request arrived: then what the follower holds includes
    /// every write acknowledged before the request. `Ok(Err(reason))` when it does not
    /// get there within `wait` or the follower ended.
    pub(crate) async fn caught_up(
        &self,
        stream: &str,
        filter: &str,
        applied: &mut watch::Receiver<u64>,
        last: u64,
        wait: Duration,
    ) -> Result<Result<(), &'static str>, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let at = *applied.borrow();
            if at >= last {
                return Ok(Ok(()));
            }
            let next = match self.next_after(stream, at, filter).await? {
                Some(next) if next <= last => next,
                _ => return Ok(Ok(())),
            };
            // A message the follower has not applied yet: wait for it, ask again.
            match tokio::time::timeout_at(deadline, applied.wait_for(|seq| *seq >= next)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Ok(Err("index_closed")),
                Err(_) => return Ok(Err("catching_up")),
            }
        }
    }

    /// One listing page from the bucket's live index; `Ok(None)` when the index cannot
    /// answer consistently right now (the caller then reads the whole bucket).
    #[tracing::instrument(name = "listing.index_page", level = "info", skip_all, fields(bucket = nats_bucket))]
    pub async fn index_page(
        &self,
        nats_bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max_keys: usize,
    ) -> Result<Option<Page>, StoreError> {
        // Read after the request arrived: every write acknowledged before it has a
        // sequence at most `last`, and later ones need not be waited for.
        let stream = self.bucket_stream(nats_bucket).await?;
        let info = stream.cached_info();
        let (created, last) = (
            info.created.unix_timestamp_nanos(),
            info.state.last_sequence,
        );
        let Some(live) = self.live(nats_bucket, created) else {
            fallback("over_budget");
            return Ok(None);
        };
        let mut applied = live.applied.clone();
        if let Err(reason) = wait_for_build(&live, &mut applied).await {
            fallback(reason);
            return Ok(None);
        }
        let filter = format!("$O.{nats_bucket}.M.>");
        if let Err(reason) = self
            .caught_up(
                &stream_name(nats_bucket),
                &filter,
                &mut applied,
                last,
                CATCH_UP,
            )
            .await?
        {
            fallback(reason);
            return Ok(None);
        }
        let index = live.index.read().unwrap_or_else(|p| p.into_inner());
        metrics::counter!("jetgate_listing_index_pages_total").increment(1);
        Ok(Some(index.page(prefix, delimiter, after, max_keys)))
    }

    /// The bucket's live index, started if missing, closed or following an older
    /// stream of the same name; `None` while the bucket is too large for the budget.
    fn live(&self, nats_bucket: &str, created: i128) -> Option<Arc<Live>> {
        let indexes = &self.indexes;
        {
            let mut too_large = lock(&indexes.too_large);
            if let Some(at) = too_large.get(nats_bucket) {
                if at.elapsed() < OVER_BUDGET_RETRY {
                    return None;
                }
                too_large.remove(nats_bucket);
            }
        }
        let mut buckets = lock(&indexes.buckets);
        if let Some(live) = buckets.get(nats_bucket) {
            let closed = live.applied.has_changed().is_err();
            if live.over_budget.load(Ordering::Relaxed) {
                lock(&indexes.too_large).insert(nats_bucket.to_string(), Instant::now());
                buckets.remove(nats_bucket);
                return None;
            }
            if !closed && live.created == created {
                live.last_used.store(now_ms(), Ordering::Relaxed);
                let live = live.clone();
                // Indexes grow after they are created: hold them to the budget in
                // total, not only when a new one starts.
                let total = indexes.total.load(Ordering::Relaxed);
                metrics::gauge!("jetgate_listing_index_bytes").set(total as f64);
                if total > indexes.budget {
                    evict(&mut buckets, indexes.budget, nats_bucket);
                }
                return Some(live);
            }
        }
        let live = Arc::new(self.follow(nats_bucket, created));
        buckets.insert(nats_bucket.to_string(), live.clone());
        evict(&mut buckets, indexes.budget, nats_bucket);
        Some(live)
    }

    /// Starts the consumer that builds and then maintains one bucket's index.
    fn follow(&self, nats_bucket: &str, created: i128) -> Live {
        let index = Arc::new(RwLock::new(BucketIndex::default()));
        let (tx, rx) = watch::channel(0u64);
        let (built_tx, built) = watch::channel(false);
        let over_budget = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(build_and_follow(
            self.clone(),
            nats_bucket.to_string(),
            index.clone(),
            tx,
            built_tx,
            over_budget.clone(),
            self.indexes.budget,
        ));
        Live {
            index,
            applied: rx,
            built,
            created,
            over_budget,
            last_used: AtomicU64::new(now_ms()),
            task: task.abort_handle(),
        }
    }
}

/// Waits for a building index while its build makes progress.
async fn wait_for_build(
    live: &Live,
    applied: &mut watch::Receiver<u64>,
) -> Result<(), &'static str> {
    let mut built = live.built.clone();
    let deadline = tokio::time::Instant::now() + BUILD_WAIT;
    let mut seen = *applied.borrow();
    loop {
        let until = deadline.min(tokio::time::Instant::now() + BUILD_STALL);
        match tokio::time::timeout_at(until, built.wait_for(|b| *b)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(_)) => return Err("index_closed"),
            Err(_) if tokio::time::Instant::now() >= deadline => return Err("building"),
            Err(_) => {
                let now = *applied.borrow();
                if now == seen {
                    return Err("build_stalled");
                }
                seen = now;
            }
        }
    }
}

/// Drops least recently used indexes (never `keep`) until the rest fit the budget.
fn evict(buckets: &mut HashMap<String, Arc<Live>>, budget: usize, keep: &str) {
    loop {
        let total: usize = buckets
            .values()
            .map(|l| l.index.read().map(|i| i.bytes()).unwrap_or(0))
            .sum();
        if total <= budget {
            return;
        }
        let coldest = buckets
            .iter()
            .filter(|(name, _)| name.as_str() != keep)
            .min_by_key(|(_, l)| l.last_used.load(Ordering::Relaxed))
            .map(|(name, _)| name.clone());
        match coldest {
            Some(name) => {
                tracing::info!(bucket = %name, "listing index evicted (budget)");
                metrics::counter!("jetgate_listing_index_evictions_total").increment(1);
                buckets.remove(&name);
            }
            None => return,
        }
    }
}

fn fallback(reason: &'static str) {
    metrics::counter!("jetgate_listing_fallback_total", "reason" => reason).increment(1);
}

async fn build_and_follow(
    store: Store,
    nats_bucket: String,
    index: Arc<RwLock<BucketIndex>>,
    applied: watch::Sender<u64>,
    built_tx: watch::Sender<bool>,
    over_budget: Arc<AtomicBool>,
    budget: usize,
) {
    let started = Instant::now();
    let mut held = Held {
        indexes: store.indexes.clone(),
        counted: 0,
    };
    let consumer = async {
        let stream = store
            .js
            .get_stream_no_info(stream_name(&nats_bucket))
            .await
            .map_err(|e| e.to_string())?;
        stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::LastPerSubject,
                deliver_subject: store.client.new_inbox(),
                filter_subject: format!("$O.{nats_bucket}.M.>"),
                description: Some("jetgate listing index".into()),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())
    };
    let consumer = match consumer.await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(bucket = %nats_bucket, error = %e, "listing index: consumer not created");
            return;
        }
    };
    let initial = consumer.cached_info().num_pending;
    let mut messages = match consumer.messages().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(bucket = %nats_bucket, error = %e, "listing index: no messages");
            return;
        }
    };
    let mut seen = 0u64;
    let mut built = initial == 0;
    if built {
        built_tx.send_replace(true);
        tracing::debug!(bucket = %nats_bucket, "listing index built (empty bucket)");
    }
    while let Some(msg) = messages.next().await {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                tracing::info!(bucket = %nats_bucket, error = %e, "listing index: consumer ended");
                return;
            }
        };
        let Ok(info) = msg.info() else { continue };
        let seq = info.stream_sequence;
        let bytes = {
            let mut index = index.write().unwrap_or_else(|p| p.into_inner());
            match ObjectMeta::parse(&nats_bucket, &msg.subject, &msg.payload) {
                Ok(meta) => index.apply(&meta),
                Err(e) => {
                    tracing::warn!(error = %e, subject = %msg.subject, "listing index: skipping unreadable object metadata");
                    if let Some(key) = key_of_meta_subject(&nats_bucket, &msg.subject) {
                        index.remove(&key);
                    }
                }
            }
            index.bytes()
        };
        held.set(bytes);
        if bytes > budget {
            tracing::warn!(bucket = %nats_bucket, bytes, budget, "listing index larger than --listing-index-budget: this bucket lists by full scan");
            over_budget.store(true, Ordering::Relaxed);
            return;
        }
        applied.send_replace(seq);
        seen += 1;
        if !built && seen.is_multiple_of(BUILD_PROGRESS_EVERY) {
            metrics::gauge!("jetgate_listing_index_build_pending", "bucket" => nats_bucket.clone())
                .set(initial.saturating_sub(seen) as f64);
            tracing::info!(bucket = %nats_bucket, objects = seen, of = initial, secs = started.elapsed().as_secs_f64(), "listing index building");
        }
        if !built && seen >= initial {
            // Only buckets large enough to report progress have the gauge (bounded
            // label cardinality).
            if seen >= BUILD_PROGRESS_EVERY {
                metrics::gauge!("jetgate_listing_index_build_pending", "bucket" => nats_bucket.clone())
                    .set(0.0);
            }
            built = true;
            built_tx.send_replace(true);
            let objects = index.read().map(|i| i.len()).unwrap_or(0);
            let secs = started.elapsed().as_secs_f64();
            metrics::histogram!("jetgate_listing_index_build_seconds").record(secs);
            tracing::info!(bucket = %nats_bucket, objects, bytes, secs, "listing index built");
        }
    }
}
