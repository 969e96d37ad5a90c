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

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    // The last value: JetStream appends its own headers after the stored message's, so a
    // chunk written with a forged `Nats-Sequence` cannot shadow the server's.
    h.get_last(name).and_then(|v| v.as_str().parse().ok())
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

/// One message arriving on the edge's data subject during a direct download.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// A stored chunk: its stream, subject, sequence, and the previous sequence of its
    /// batch (0 for the first).
    Chunk {
        stream: &'a str,
        subject: &'a str,
        seq: u64,
        prev: u64,
    },
    /// The end-of-batch marker: the last sequence delivered and the messages left on the
    /// subject after it.
    EndOfBatch { last: u64, pending: u64 },
    /// Nothing (more) on the subject at or after the requested sequence.
    NotFound,
    /// A frame from the worker (abort, heartbeat).
    Frame(Frame),
    /// Anything else, e.g. a JetStream error status.
    Other(String),
}

/// Classifies a message on the data subject. JetStream replies are told apart from the
/// worker's frames by the server's headers (or status), never by a `Jetgate-Frame`
/// header, which a stored chunk could carry.
pub fn delivery_of(msg: &Message) -> Delivery<'_> {
    match msg.status.map(|s| s.as_u16()) {
        Some(204) => {
            let h = msg.headers.as_ref();
            return match (
                h.and_then(|h| header_u64(h, "Nats-Last-Sequence")),
                h.and_then(|h| header_u64(h, "Nats-Num-Pending")),
            ) {
                (Some(last), Some(pending)) => Delivery::EndOfBatch { last, pending },
                _ => Delivery::Other("end of batch without sequences".into()),
            };
        }
        Some(404) => return Delivery::NotFound,
        Some(code) if code != 200 => {
            return Delivery::Other(format!(
                "status {code} {}",
                msg.description.as_deref().unwrap_or("")
            ))
        }
        _ => {}
    }
    let Some(h) = msg.headers.as_ref() else {
        return Delivery::Other("message without headers".into());
    };
    let text = |name: &str| h.get_last(name).map(|v| v.as_str());
    match (
        text("Nats-Stream"),
        text("Nats-Subject"),
        header_u64(h, "Nats-Sequence"),
        header_u64(h, "Nats-Last-Sequence"),
    ) {
        (Some(stream), Some(subject), Some(seq), Some(prev)) => Delivery::Chunk {
            stream,
            subject,
            seq,
            prev,
        },
        _ => Delivery::Frame(classify(msg)),
    }
}

/// What the edge has received of a direct download, checked against the plan. Pure, so
/// every refusal is unit-tested; [`DirectReceiver`] adds the NATS I/O.
#[derive(Debug)]
pub struct Tracker {
    plan: DirectBody,
    /// Next sequence to ask for.
    next_seq: u64,
    /// Previous sequence in the batch in flight (0 before its first message).
    batch_prev: u64,
    in_batch: bool,
    skip: u64,
    remaining: u64,
    delivered: u64,
    /// Reads left to retry after the answering server had too few chunks.
    retries_left: u32,
    /// A retry is due before the next batch.
    retry: bool,
}

/// How often a batch that found too few chunks is asked again. Any replica of a
/// replicated stream may answer a direct get, and one that lags the leader may not have
/// the newest object's chunks yet (the metadata was read from the leader); the lag is
/// milliseconds, so a few spaced retries reach a replica that has them. A truly short
/// object fails after them.
pub const RETRIES: u32 = 5;

fn violation(why: String) -> StreamError {
    StreamError::Protocol(why)
}

impl Tracker {
    pub fn new(plan: DirectBody) -> Self {
        Tracker {
            next_seq: plan.from_seq,
            skip: plan.skip,
            remaining: plan.length,
            delivered: 0,
            batch_prev: 0,
            in_batch: false,
            retries_left: RETRIES,
            retry: false,
            plan,
        }
    }

    /// The pause before the next batch when the last one came up short, once.
    pub fn take_retry(&mut self) -> Option<Duration> {
        if !std::mem::take(&mut self.retry) {
            return None;
        }
        let used = RETRIES - self.retries_left;
        Some(Duration::from_millis(10 << used.min(6)))
    }

    /// Too few chunks came: ask again (a lagging replica) or give up.
    fn short(&mut self, why: String) -> Result<Option<Bytes>, StreamError> {
        self.in_batch = false;
        if self.retries_left == 0 {
            return Err(violation(why));
        }
        self.retries_left -= 1;
        self.retry = true;
        Ok(None)
    }

    /// True once every byte of the body was handed out.
    pub fn complete(&self) -> bool {
        self.remaining == 0
    }

    /// True while a batch is in flight.
    pub fn in_batch(&self) -> bool {
        self.in_batch
    }

    /// The plan's average chunk size.
    pub fn chunk_size(&self) -> u64 {
        self.plan.chunk_size
    }

    /// Bytes handed out so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Starts the next batch: `(from_seq, chunks)` to ask for with `window` bytes.
    pub fn start_batch(&mut self, window: u64) -> (u64, u64) {
        // Chunks average `chunk_size`, so this many overshoots the range by at most about
        // the window; fewer only costs another batch.
        let per = self.plan.chunk_size.max(1);
        let needed = (self.skip + self.remaining).div_ceil(per).max(1);
        let batch = needed.min(window.max(1).div_ceil(per)).clamp(1, MAX_BATCH);
        self.in_batch = true;
        self.batch_prev = 0;
        (self.next_seq, batch)
    }

    /// Checks one delivery; the body bytes it adds, if any.
    pub fn accept(&mut self, msg: &Message) -> Result<Option<Bytes>, StreamError> {
        match delivery_of(msg) {
            Delivery::Chunk {
                stream,
                subject,
                seq,
                prev,
            } => {
                if !self.in_batch {
                    return Err(violation(format!("chunk {seq} outside a batch")));
                }
                if stream != self.plan.stream || subject != self.plan.subject {
                    return Err(violation(format!("chunk from {stream} {subject}")));
                }
                if prev != self.batch_prev || seq < self.next_seq || seq <= prev {
                    return Err(violation(format!(
                        "chunk {seq} after {prev}, expected after {} from {}",
                        self.batch_prev, self.next_seq
                    )));
                }
                self.batch_prev = seq;
                self.next_seq = seq + 1;
                let mut data = msg.payload.clone();
                let cut = self.skip.min(data.len() as u64);
                self.skip -= cut;
                let _ = data.split_to(cut as usize);
                let keep = self.remaining.min(data.len() as u64);
                data.truncate(keep as usize);
                self.remaining -= keep;
                self.delivered += keep;
                Ok((!data.is_empty()).then_some(data))
            }
            Delivery::EndOfBatch { last, pending } => {
                if !self.in_batch || last != self.batch_prev || last == 0 {
                    return Err(violation(format!(
                        "batch ended at {last}, received up to {}",
                        self.batch_prev
                    )));
                }
                self.in_batch = false;
                if pending == 0 && self.remaining > 0 {
                    return self.short(format!("object ends {} bytes early", self.remaining));
                }
                Ok(None)
            }
            Delivery::NotFound => {
                if !self.in_batch {
                    return Err(violation("not-found outside a batch".into()));
                }
                self.short(format!(
                    "no chunk at or after {} ({} bytes missing)",
                    self.next_seq, self.remaining
                ))
            }
            Delivery::Frame(Frame::Abort(reason)) => Err(StreamError::Aborted(reason)),
            Delivery::Frame(Frame::Heartbeat) => Ok(None),
            Delivery::Frame(other) => Err(violation(format!("unexpected frame {other:?}"))),
            Delivery::Other(why) => Err(violation(why)),
        }
    }
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

/// The worker's half: turns each "more" into one batched direct get replying to the
/// edge, until the edge says done (the bytes it delivered) or gives up.
pub struct DirectSender {
    route: Route,
    /// `<api prefix>.DIRECT.GET.<stream>`.
    get_subject: String,
    subject: String,
    edge: String,
    /// Batches the edge may still ask for: one chunk at least per batch, so more than the
    /// object's chunks (and one for the end, and the retries) is a misbehaving edge.
    batches_left: u64,
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
            batches_left: chunks + 1 + u64::from(RETRIES),
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
                    if self.batches_left == 0 {
                        self.abort("more batches than the object has chunks");
                        return Err(violation("edge asked for too many batches".into()));
                    }
                    self.batches_left -= 1;
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
