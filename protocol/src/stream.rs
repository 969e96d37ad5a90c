//! Body streams over NATS with credit-based flow control: request bodies, from the edge
//! to a worker (response bodies go straight from JetStream to the edge, [`crate::direct`]).
//!
//! The receiver grants credit as a byte offset ("you may send up to byte N"); the sender
//! never publishes past it, so the bytes in flight for one request never exceed the
//! window whatever the object size. Offsets also make a lost or reordered frame visible.
//! Both ends publish heartbeats while the stream lives; silence longer than the idle
//! timeout means the peer is gone (client disconnected, worker killed, NATS partitioned)
//! and the stream fails instead of hanging.

use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, HeaderMap, Message};
use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::headers::{FRAME, OFFSET, STREAM};
use crate::mux::Route;

mod budget;

pub(crate) use budget::BudgetSlot;
pub use budget::StreamBudget;

/// Flow-control and liveness settings of a body stream.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Bytes the receiver lets the sender have in flight (at most; see `budget`).
    pub window: u64,
    /// Receive memory shared by all streams of the process, if limited.
    pub budget: Option<Arc<StreamBudget>>,
    /// Largest data frame; must stay under the server's max_payload.
    pub frame_size: usize,
    /// How often each end says it is alive.
    pub heartbeat: Duration,
    /// Silence after which the peer is presumed dead.
    pub idle_timeout: Duration,
}

/// Default data frame: 252 KiB, so that a frame with its HMSG line and headers fits in
/// 256 KiB. async-nats reads into a buffer that starts at 64 KiB and doubles, and a
/// received payload is a slice of that buffer: a whole 256 KiB frame made it double to
/// 512 KiB, and every frame queued (in a route, or in the MD5 backlog) pinned twice its
/// size. The 4 KiB margin is for subjects, headers and the reading position.
pub const FRAME_SIZE: usize = 252 * 1024;

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            window: 4 * 1024 * 1024,
            budget: None,
            frame_size: FRAME_SIZE,
            heartbeat: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(10),
        }
    }
}

impl StreamConfig {
    /// The window a stream opened now gets: the full window, or its share of the
    /// process budget when many streams are open (never less than one frame).
    pub fn window_now(&self) -> u64 {
        match &self.budget {
            None => self.window,
            Some(b) => b.share(self.window, self.frame_size as u64),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("peer silent for {0:?}")]
    Timeout(Duration),
    #[error("peer aborted the stream: {0}")]
    Aborted(String),
    #[error("stream protocol violation: {0}")]
    Protocol(String),
    #[error("publish failed: {0}")]
    Publish(#[from] async_nats::PublishError),
    /// The peer answered the request while the body was still flowing (usually an error).
    #[error("peer replied before the body ended")]
    Replied(Box<Message>),
}

/// What a message on a stream subject means.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Data {
        offset: u64,
    },
    End {
        total: u64,
    },
    Credit {
        limit: u64,
    },
    Abort(String),
    Heartbeat,
    /// Not a stream frame (a reply, or garbage).
    Other,
}

/// Reads the frame kind from a message's headers.
pub fn classify(msg: &Message) -> Frame {
    let Some(h) = msg.headers.as_ref() else {
        return Frame::Other;
    };
    let offset = h.get(OFFSET).and_then(|v| v.as_str().parse::<u64>().ok());
    match (h.get(FRAME).map(|v| v.as_str()), offset) {
        (Some("data"), Some(offset)) => Frame::Data { offset },
        (Some("end"), Some(total)) => Frame::End { total },
        (Some("credit"), Some(limit)) => Frame::Credit { limit },
        (Some("abort"), _) => Frame::Abort(String::from_utf8_lossy(&msg.payload).into_owned()),
        (Some("hb"), _) => Frame::Heartbeat,
        _ => Frame::Other,
    }
}

fn frame(kind: &str, offset: Option<u64>, me: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(FRAME, kind);
    if let Some(o) = offset {
        h.insert(OFFSET, o.to_string().as_str());
    }
    h.insert(STREAM, me);
    h
}

fn peer_of(msg: &Message) -> Option<String> {
    msg.headers
        .as_ref()
        .and_then(|h| h.get(STREAM))
        .map(|v| v.as_str().to_string())
}

/// Publishes heartbeats to the peer until dropped.
pub struct Heartbeat {
    task: JoinHandle<()>,
    target: watch::Sender<Option<String>>,
}

impl Heartbeat {
    pub fn start(client: Client, target: Option<String>, interval: Duration) -> Self {
        let (tx, rx) = watch::channel(target);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                let target = rx.borrow().clone();
                if let Some(t) = target {
                    let mut h = HeaderMap::new();
                    h.insert(FRAME, "hb");
                    if client
                        .publish_with_headers(t, h, Bytes::new())
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        });
        Heartbeat { task, target: tx }
    }

    pub fn set_target(&self, target: String) {
        self.target.send_replace(Some(target));
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) fn spawn_abort(client: &Client, peer: Option<String>, me: String, reason: &str) {
    if let Some(peer) = peer {
        let client = client.clone();
        let reason = Bytes::from(reason.to_string());
        tokio::spawn(async move {
            let _ = client
                .publish_with_headers(peer, frame("abort", None, &me), reason)
                .await;
        });
    }
}

/// Sending half (the edge's): publishes data frames within the credit the receiver
/// granted.
pub struct BodySender {
    route: Route,
    me: String,
    peer: Option<String>,
    offset: u64,
    allowed: u64,
    cfg: StreamConfig,
    done: bool,
    _hb: Heartbeat,
}

impl BodySender {
    /// The sender learns where to send, and how much, from the receiver's first credit
    /// frame; until then it has no peer and no credit.
    pub fn new(route: Route, start_offset: u64, cfg: StreamConfig) -> Self {
        let me = route.subject("c");
        let hb = Heartbeat::start(route.client().clone(), None, cfg.heartbeat);
        BodySender {
            route,
            me,
            peer: None,
            offset: start_offset,
            allowed: 0,
            cfg,
            done: false,
            _hb: hb,
        }
    }

    /// Bytes sent so far (including any start offset).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The route, e.g. to wait for the final reply after [`BodySender::finish`].
    pub fn route(&mut self) -> &mut Route {
        &mut self.route
    }

    pub async fn send(&mut self, mut data: Bytes) -> Result<(), StreamError> {
        while !data.is_empty() {
            while self.peer.is_none() || self.offset >= self.allowed {
                if self.peer.is_some() {
                    metrics::counter!("jetgate_stream_credit_stalls_total").increment(1);
                }
                self.wait_credit().await?;
            }
            let room = usize::try_from(self.allowed - self.offset).unwrap_or(usize::MAX);
            let n = data.len().min(self.cfg.frame_size).min(room);
            let chunk = data.split_to(n);
            let peer = self.peer.clone().unwrap_or_default();
            self.route
                .client()
                .publish_with_headers(peer, frame("data", Some(self.offset), &self.me), chunk)
                .await?;
            self.offset += n as u64;
        }
        Ok(())
    }

    /// Marks the end of the body; the receiver checks the total.
    pub async fn finish(&mut self) -> Result<(), StreamError> {
        while self.peer.is_none() {
            self.wait_credit().await?;
        }
        let peer = self.peer.clone().unwrap_or_default();
        self.route
            .client()
            .publish_with_headers(
                peer,
                frame("end", Some(self.offset), &self.me),
                Bytes::new(),
            )
            .await?;
        self.done = true;
        Ok(())
    }

    /// Tells the receiver to discard what it got.
    pub fn abort(&mut self, reason: &str) {
        if !self.done {
            self.done = true;
            spawn_abort(
                self.route.client(),
                self.peer.clone(),
                self.me.clone(),
                reason,
            );
        }
    }

    async fn wait_credit(&mut self) -> Result<(), StreamError> {
        loop {
            let idle = self.cfg.idle_timeout;
            let Some(msg) = self.route.recv_timeout(idle).await else {
                self.abort("sender timed out waiting for credit");
                return Err(StreamError::Timeout(idle));
            };
            match classify(&msg) {
                Frame::Credit { limit } => {
                    if self.peer.is_none() {
                        let Some(peer) = peer_of(&msg) else {
                            return Err(StreamError::Protocol("credit without stream".into()));
                        };
                        self._hb.set_target(peer.clone());
                        self.peer = Some(peer);
                    }
                    self.allowed = self.allowed.max(limit);
                    return Ok(());
                }
                Frame::Heartbeat => continue,
                Frame::Abort(reason) => {
                    self.done = true;
                    return Err(StreamError::Aborted(reason));
                }
                Frame::Data { .. } | Frame::End { .. } => {
                    return Err(StreamError::Protocol("data frame sent to a sender".into()))
                }
                Frame::Other => {
                    self.done = true;
                    return Err(StreamError::Replied(Box::new(msg)));
                }
            }
        }
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        self.abort("sender dropped");
    }
}

/// Receiving half (the worker's): yields data in order and grants credit as it is
/// consumed.
pub struct BodyReceiver {
    route: Route,
    me: String,
    /// The sender's subject, which the request names.
    peer: String,
    received: u64,
    granted: u64,
    cfg: StreamConfig,
    done: bool,
    _hb: Heartbeat,
    _slot: BudgetSlot,
}

impl BodyReceiver {
    /// `peer` is the sender's subject; the receiver starts with no credit given and
    /// calls [`BodyReceiver::open`].
    pub fn new(route: Route, peer: String, start_offset: u64, cfg: StreamConfig) -> Self {
        let me = route.subject("d");
        let hb = Heartbeat::start(route.client().clone(), Some(peer.clone()), cfg.heartbeat);
        let slot = BudgetSlot::take(&cfg.budget);
        BodyReceiver {
            _slot: slot,
            route,
            me,
            peer,
            received: start_offset,
            granted: start_offset,
            cfg,
            done: false,
            _hb: hb,
        }
    }

    /// Subject the sender must publish data to.
    pub fn data_subject(&self) -> &str {
        &self.me
    }

    /// Bytes received so far (including any start offset).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Grants the first window, which also tells the sender where to send.
    pub async fn open(&mut self) -> Result<(), StreamError> {
        self.grant().await
    }

    async fn grant(&mut self) -> Result<(), StreamError> {
        // Never below what was already granted: credit is an offset, it cannot shrink.
        self.granted = self.granted.max(self.received + self.cfg.window_now());
        self.route
            .client()
            .publish_with_headers(
                self.peer.clone(),
                frame("credit", Some(self.granted), &self.me),
                Bytes::new(),
            )
            .await?;
        Ok(())
    }

    /// Next chunk of the body, `None` at its end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, StreamError> {
        if self.done {
            return Ok(None);
        }
        if self.granted.saturating_sub(self.received) < self.cfg.window_now() / 2 {
            self.grant().await?;
        }
        loop {
            let idle = self.cfg.idle_timeout;
            let Some(msg) = self.route.recv_timeout(idle).await else {
                self.abort("receiver timed out waiting for data");
                return Err(StreamError::Timeout(idle));
            };
            match classify(&msg) {
                Frame::Data { offset } => {
                    if offset != self.received {
                        self.abort("out of order");
                        return Err(StreamError::Protocol(format!(
                            "data at offset {offset}, expected {}",
                            self.received
                        )));
                    }
                    self.received += msg.payload.len() as u64;
                    if self.received > self.granted {
                        self.abort("credit exceeded");
                        return Err(StreamError::Protocol("sender exceeded its credit".into()));
                    }
                    if msg.payload.is_empty() {
                        continue;
                    }
                    return Ok(Some(msg.payload));
                }
                Frame::End { total } => {
                    self.done = true;
                    if total != self.received {
                        return Err(StreamError::Protocol(format!(
                            "stream ended at {total}, received {}",
                            self.received
                        )));
                    }
                    return Ok(None);
                }
                Frame::Abort(reason) => {
                    self.done = true;
                    return Err(StreamError::Aborted(reason));
                }
                Frame::Heartbeat | Frame::Credit { .. } => continue,
                Frame::Other => {
                    self.done = true;
                    return Err(StreamError::Replied(Box::new(msg)));
                }
            }
        }
    }

    /// Tells the sender to stop.
    pub fn abort(&mut self, reason: &str) {
        if !self.done {
            self.done = true;
            spawn_abort(
                self.route.client(),
                Some(self.peer.clone()),
                self.me.clone(),
                reason,
            );
        }
    }
}

impl Drop for BodyReceiver {
    fn drop(&mut self) {
        self.abort("receiver dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(h: HeaderMap, payload: &'static [u8]) -> Message {
        Message {
            subject: "x".into(),
            reply: None,
            payload: Bytes::from_static(payload),
            headers: Some(h),
            status: None,
            description: None,
            length: payload.len(),
        }
    }

    #[test]
    fn frames_classify() {
        assert_eq!(
            classify(&msg(frame("data", Some(7), "me"), b"abc")),
            Frame::Data { offset: 7 }
        );
        assert_eq!(
            classify(&msg(frame("credit", Some(9), "me"), b"")),
            Frame::Credit { limit: 9 }
        );
        assert_eq!(
            classify(&msg(frame("abort", None, "me"), b"why")),
            Frame::Abort("why".into())
        );
        assert_eq!(classify(&msg(frame("data", None, "me"), b"")), Frame::Other);
        assert_eq!(classify(&msg(HeaderMap::new(), b"")), Frame::Other);
    }
}
