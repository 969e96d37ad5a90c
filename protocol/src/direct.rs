//! GET bodies straight from JetStream to the edge, so a download crosses nats-server once.
//!
//! The object worker still does the I/O: it finds the object, checks conditions and
//! policy, and issues the reads. But instead of fetching chunks and forwarding them, it
//! answers with a [`DirectBody`] plan and then, each time the edge asks for more
//! ([`DirectReceiver`] → "more from sequence N"), publishes one *batched* JetStream direct
//! get (nats-server ≥ 2.11) whose reply subject is the edge's data subject. JetStream
//! delivers the chunks to the edge; the worker never receives a body byte, and the edge
//! still has no JetStream permission of its own: it can only receive.
//!
//! The edge trusts nothing it receives beyond the plan: every message must come from the
//! plan's stream and chunk subject, in ascending sequence, chained to the previous one of
//! its batch by `Nats-Last-Sequence`, and each batch must end with the server's
//! end-of-batch marker naming the last sequence delivered. A lost, reordered, foreign or
//! missing message fails the download (the client sees a cut body and retries); it never
//! yields wrong bytes. Credit is the request itself: the edge asks for the next batch only
//! when it has handed the previous one to the HTTP body, and a batch never holds more than
//! the edge's window (`max_bytes`), so memory stays bounded whatever the object size.

use std::time::Duration;

use async_nats::{HeaderMap, Message};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::headers::{FRAME, OFFSET, STREAM};
use crate::mux::Route;
use crate::stream::{classify, BudgetSlot, Frame, Heartbeat, StreamConfig, StreamError};

mod tracker;

pub use tracker::{delivery_of, Delivery, Tracker, RETRIES};
use tracker::{header_u64, violation};

/// Chunks the edge may ask for in one batch (the worker clamps to it): nats-server's own
/// batch limit is far higher, this one keeps a single request's reply bounded even when
/// `max_bytes` is large.
pub const MAX_BATCH: u64 = 1024;
/// Largest `max_bytes` a worker forwards for one batch.
pub const MAX_BATCH_BYTES: u64 = 64 * 1024 * 1024;
/// Header of a "more" frame: the number of chunks asked for.
pub const BATCH: &str = "Jetgate-Batch";
/// Header of a "more" frame: bytes the edge can take in this batch.
pub const MAX_BYTES: &str = "Jetgate-Max-Bytes";

/// How the body of a GET reaches the edge: which chunks, and which of their bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectBody {
    /// JetStream stream holding the chunks.
    pub stream: String,
    /// The object's chunk subject.
    pub subject: String,
    /// First stream sequence to read from (0: the subject's first message).
    pub from_seq: u64,
    /// Bytes of the first delivered chunk that precede the requested range.
    pub skip: u64,
    /// Bytes of the response body.
    pub length: u64,
    /// Average chunk size of the object, so a batch asks for no more chunks than the
    /// range needs.
    pub chunk_size: u64,
    /// Worker subject that takes "more", "done", heartbeats and aborts.
    pub control: String,
}

/// What the edge tells the worker.
#[derive(Debug, PartialEq, Eq)]
pub enum Control {
    /// Read the next batch, from stream sequence `from_seq`.
    More {
        from_seq: u64,
        batch: u64,
        max_bytes: u64,
    },
    /// The body is complete: `total` bytes handed to the client.
    Done {
        total: u64,
    },
    Abort(String),
    Heartbeat,
    Other,
}

/// Reads a frame the edge sent to a worker's control subject.
pub fn control_of(msg: &Message) -> Control {
    let Some(h) = msg.headers.as_ref() else {
        return Control::Other;
    };
    match h.get(FRAME).map(|v| v.as_str()) {
        Some("more") => match (
            header_u64(h, OFFSET),
            header_u64(h, BATCH),
            header_u64(h, MAX_BYTES),
        ) {
            (Some(from_seq), Some(batch), Some(max_bytes)) => Control::More {
                from_seq,
                batch,
                max_bytes,
            },
            _ => Control::Other,
        },
        Some("done") => match header_u64(h, OFFSET) {
            Some(total) => Control::Done { total },
            None => Control::Other,
        },
        _ => match classify(msg) {
            Frame::Abort(reason) => Control::Abort(reason),
            Frame::Heartbeat => Control::Heartbeat,
            _ => Control::Other,
        },
    }
}

fn more_frame(from_seq: u64, batch: u64, max_bytes: u64, me: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(FRAME, "more");
    h.insert(OFFSET, from_seq.to_string().as_str());
    h.insert(BATCH, batch.to_string().as_str());
    h.insert(MAX_BYTES, max_bytes.to_string().as_str());
    h.insert(STREAM, me);
    h
}

fn done_frame(total: u64, me: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(FRAME, "done");
    h.insert(OFFSET, total.to_string().as_str());
    h.insert(STREAM, me);
    h
}

/// The body of a batched direct get: `batch` messages on `subject` from `from_seq`, at
/// most about `max_bytes` (the server stops after the message that reaches it).
pub fn batch_request(subject: &str, from_seq: u64, batch: u64, max_bytes: u64) -> Bytes {
    #[derive(Serialize)]
    struct Req<'a> {
        seq: u64,
        next_by_subj: &'a str,
        batch: u64,
        max_bytes: u64,
    }
    let req = Req {
        seq: from_seq,
        next_by_subj: subject,
        batch,
        max_bytes,
    };
    Bytes::from(serde_json::to_vec(&req).unwrap_or_default())
}

/// The edge's half: yields the body bytes in order, asking the worker for each batch.
pub struct DirectReceiver {
    route: Route,
    control: String,
    me: String,
    track: Tracker,
    cfg: StreamConfig,
    done: bool,
    failed: bool,
    /// This download's share of the process's batch budget while a batch is in flight.
    reserved: Option<tokio::sync::OwnedSemaphorePermit>,
    _hb: Heartbeat,
    _slot: BudgetSlot,
}

impl DirectReceiver {
    pub fn new(route: Route, plan: DirectBody, cfg: StreamConfig) -> Self {
        let me = route.subject("d");
        let hb = Heartbeat::start(
            route.client().clone(),
            Some(plan.control.clone()),
            cfg.heartbeat,
        );
        let slot = BudgetSlot::take(&cfg.budget);
        DirectReceiver {
            control: plan.control.clone(),
            track: Tracker::new(plan),
            route,
            me,
            cfg,
            done: false,
            failed: false,
            reserved: None,
            _hb: hb,
            _slot: slot,
        }
    }

    async fn tell(&self, h: HeaderMap) -> Result<(), StreamError> {
        self.route
            .client()
            .publish_with_headers(self.control.clone(), h, Bytes::new())
            .await?;
        Ok(())
    }

    /// Tells the worker the body is complete (once).
    async fn finish(&mut self) -> Result<(), StreamError> {
        if !self.done {
            self.done = true;
            self.reserved = None;
            self.tell(done_frame(self.track.delivered(), &self.me))
                .await?;
        }
        Ok(())
    }

    /// Next piece of the body, `None` at its end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, StreamError> {
        if self.failed {
            return Err(StreamError::Protocol("the download already failed".into()));
        }
        let r = self.next_inner().await;
        if let Err(e) = &r {
            if !matches!(e, StreamError::Aborted(_)) {
                self.abort("download failed");
            }
            self.done = true;
            self.failed = true;
        }
        r
    }

    async fn next_inner(&mut self) -> Result<Option<Bytes>, StreamError> {
        loop {
            if self.track.complete() {
                self.finish().await?;
                return Ok(None);
            }
            if !self.track.in_batch() {
                // Every byte of the last batch was handed out: its reservation ends.
                self.reserved = None;
                if let Some(pause) = self.track.take_retry() {
                    metrics::counter!("jetgate_direct_get_retries_total").increment(1);
                    tokio::time::sleep(pause).await;
                }
                let window = self.cfg.window_now();
                if let Some(budget) = &self.cfg.budget {
                    // A batch holds at least one chunk; past that, the server stops
                    // after the message that reaches `max_bytes`.
                    let chunk = self.track.chunk_size();
                    let most = if window < chunk {
                        chunk
                    } else {
                        window + chunk
                    };
                    self.reserved = budget.reserve_batch(most).await;
                }
                let (from_seq, batch) = self.track.start_batch(window);
                self.tell(more_frame(from_seq, batch, window, &self.me))
                    .await?;
            }
            let idle = self.cfg.idle_timeout;
            let Some(msg) = self.route.recv_timeout(idle).await else {
                return Err(StreamError::Timeout(idle));
            };
            if self.route.kind_of(&msg) != "d" {
                continue;
            }
            if let Some(piece) = self.track.accept(&msg)? {
                if self.track.complete() {
                    // Tell the worker now: with the Content-Length reached, hyper may
                    // never poll the body again, and a receiver dropped unfinished
                    // aborts (the worker would count the download as failed).
                    self.finish().await?;
                }
                return Ok(Some(piece));
            }
        }
    }

    /// Tells the worker to stop.
    pub fn abort(&mut self, reason: &str) {
        if !self.done {
            self.done = true;
            crate::stream::spawn_abort(
                self.route.client(),
                Some(self.control.clone()),
                self.me.clone(),
                reason,
            );
        }
    }
}

impl Drop for DirectReceiver {
    fn drop(&mut self) {
        self.abort("receiver dropped");
    }
}

/// What the worker lets the edge ask for. The edge asks for one batch at a time, each
/// from the sequence after the last chunk it accepted, so its asks never go back and
/// repeat a sequence only to retry a short batch; at least one chunk per batch bounds
/// their number by the object's chunks (one more for the end, and the retries). An edge
/// that asks otherwise would make the worker read the same chunks again and again at
/// the edge's subject.
#[derive(Debug)]
pub struct Asks {
    /// The lowest sequence the next ask may name.
    from: u64,
    asked: bool,
    batches_left: u64,
    repeats_left: u32,
}

impl Asks {
    /// For a plan starting at `from_seq` over an object of `chunks` chunks.
    pub fn new(from_seq: u64, chunks: u64) -> Self {
        Asks {
            from: from_seq,
            asked: false,
            batches_left: chunks + 1 + u64::from(RETRIES),
            repeats_left: RETRIES,
        }
    }

    /// Admits the next ask, or says why the download must stop.
    pub fn admit(&mut self, from_seq: u64) -> Result<(), &'static str> {
        if from_seq < self.from {
            return Err("edge asked for an earlier sequence");
        }
        if self.asked && from_seq == self.from {
            if self.repeats_left == 0 {
                return Err("edge asked for the same batch too often");
            }
            self.repeats_left -= 1;
        }
        if self.batches_left == 0 {
            return Err("more batches than the object has chunks");
        }
        self.batches_left -= 1;
        self.asked = true;
        self.from = from_seq;
        Ok(())
    }
}

/// The worker's half: turns each "more" into one batched direct get replying to the
/// edge, until the edge says done (the bytes it delivered) or gives up.
pub struct DirectSender {
    route: Route,
    /// `<api prefix>.DIRECT.GET.<stream>`.
    get_subject: String,
    subject: String,
    edge: String,
    asks: Asks,
    idle: Duration,
    me: String,
    done: bool,
}

impl DirectSender {
    /// `api` is the JetStream API prefix (`$JS.API`, or a domain's); `edge` the edge's
    /// data subject; `chunks` the object's chunk count.
    pub fn new(
        route: Route,
        api: &str,
        plan: &DirectBody,
        edge: String,
        chunks: u64,
        idle: Duration,
    ) -> Self {
        let me = route.subject("c");
        DirectSender {
            get_subject: format!("{api}.DIRECT.GET.{}", plan.stream),
            subject: plan.subject.clone(),
            edge,
            asks: Asks::new(plan.from_seq, chunks),
            idle,
            me,
            route,
            done: false,
        }
    }

    /// Serves batches until the edge is done; the bytes it says it delivered.
    pub async fn serve(&mut self) -> Result<u64, StreamError> {
        loop {
            let Some(msg) = self.route.recv_timeout(self.idle).await else {
                self.abort("worker timed out waiting for the edge");
                return Err(StreamError::Timeout(self.idle));
            };
            match control_of(&msg) {
                Control::More {
                    from_seq,
                    batch,
                    max_bytes,
                } => {
                    if let Err(why) = self.asks.admit(from_seq) {
                        self.abort(why);
                        return Err(violation(format!("edge: {why}")));
                    }
                    let body = batch_request(
                        &self.subject,
                        from_seq,
                        batch.clamp(1, MAX_BATCH),
                        max_bytes.clamp(1, MAX_BATCH_BYTES),
                    );
                    self.route
                        .client()
                        .publish_with_reply(self.get_subject.clone(), self.edge.clone(), body)
                        .await?;
                }
                Control::Done { total } => {
                    self.done = true;
                    return Ok(total);
                }
                Control::Abort(reason) => {
                    self.done = true;
                    return Err(StreamError::Aborted(reason));
                }
                Control::Heartbeat | Control::Other => continue,
            }
        }
    }

    /// Tells the edge the download cannot go on.
    pub fn abort(&mut self, reason: &str) {
        if !self.done {
            self.done = true;
            crate::stream::spawn_abort(
                self.route.client(),
                Some(self.edge.clone()),
                self.me.clone(),
                reason,
            );
        }
    }
}

impl Drop for DirectSender {
    fn drop(&mut self) {
        self.abort("sender dropped");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests;
