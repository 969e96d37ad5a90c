//! The edge's bookkeeping of a direct download, without I/O: which messages on its data
//! subject are the object's chunks, and whether each is the next one of the batch it
//! asked for ([`Tracker`]). [`super::DirectReceiver`] feeds it what NATS delivers.

use std::time::Duration;

use async_nats::{HeaderMap, Message};
use bytes::Bytes;

use super::{DirectBody, MAX_BATCH};
use crate::stream::{classify, Frame, StreamError};

pub(super) fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    // The last value: JetStream appends its own headers after the stored message's, so a
    // chunk written with a forged `Nats-Sequence` cannot shadow the server's.
    h.get_last(name).and_then(|v| v.as_str().parse().ok())
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
/// every refusal is unit-tested; [`DirectReceiver`](super::DirectReceiver) adds the NATS I/O.
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

pub(super) fn violation(why: String) -> StreamError {
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
