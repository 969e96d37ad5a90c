//! Raw driver: the NATS object store through async-nats, the ceiling every report
//! carries. PUT is `ObjectStore::put` fed whole 1 MiB chunks from the generator; GET
//! reads the meta with a direct get (last by subject) and the chunks with batched
//! direct gets next-by-subject (nats-server >= 2.11), so no consumer is created per
//! read.

use crate::content::{Generator, Verifier};
use crate::op_error::OpError;
use anyhow::{Context as _, Result};
use async_nats::jetstream::object_store::{ObjectInfo, ObjectMetadata, ObjectStore};
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::jetstream::{self, object_store::DeleteErrorKind};
use async_nats::{Message, Subscriber};
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, ReadBuf};

pub const CHUNK_SIZE: usize = 1 << 20;

/// `AsyncRead` over the content generator that fills the caller's buffer whole.
struct GenReader(Generator);

impl AsyncRead for GenReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        // Initialise (zero) only what is written: the buffer is a whole chunk.
        let want = (self.0.remaining()).min(buf.remaining() as u64) as usize;
        let n = self.0.read_into(buf.initialize_unfilled_to(want));
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// Chunks asked for per batched direct get: a 64 MiB GET takes 16 round trips instead
/// of 64, while one answer (4 MiB of 1 MiB chunks) stays small next to what the
/// client buffers per subscription. The chunks an object has left bound it: asking for
/// more would only have the server look for messages that are not there.
const GET_BATCH: u64 = 4;
/// Longest wait for each message of a batch; past it the GET fails as `timeout`.
const BATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Publish acks awaited at once by the pipelined put (as the gateway's writer does).
const ACKS_IN_FLIGHT: usize = 4;

async fn wait_ack(ack: async_nats::jetstream::context::PublishAckFuture) -> Result<(), OpError> {
    ack.await
        .map(|_| ())
        .map_err(|e| OpError::new("nats_ack", e))
}

pub struct RawDriver {
    js: jetstream::Context,
    bucket: String,
    store: Option<(ObjectStore, Stream)>,
    /// Use `ObjectStore::put` (sequential acks, JS API lookup) instead of the
    /// pipelined put.
    pub store_api_put: bool,
    /// Reply subscriptions (inbox, subscriber) of finished GETs, for the next GET to
    /// reuse, so a GET does not pay a SUB and an UNSUB (which weighs on 4 KiB objects).
    /// Only a GET that read every batch to its end puts one back, so none holds a
    /// stray reply; there are at most as many as GETs ran at once.
    replies: Mutex<Vec<(String, Subscriber)>>,
}

impl RawDriver {
    pub async fn connect(url: &str, bucket: &str) -> Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("jetgate-loadtest")
            .connect(url)
            .await
            .with_context(|| format!("connect to {url}"))?;
        Ok(RawDriver {
            js: jetstream::new(client),
            bucket: bucket.to_string(),
            store: None,
            store_api_put: false,
            replies: Mutex::default(),
        })
    }

    /// Open (or create) the bucket; must run before any operation.
    pub async fn open(&mut self) -> Result<()> {
        let store = match self.js.get_object_store(&self.bucket).await {
            Ok(s) => s,
            Err(_) => self
                .js
                .create_object_store(jetstream::object_store::Config {
                    bucket: self.bucket.clone(),
                    ..Default::default()
                })
                .await
                .with_context(|| format!("create object store {}", self.bucket))?,
        };
        let stream = self
            .js
            .get_stream(format!("OBJ_{}", self.bucket))
            .await
            .with_context(|| format!("stream OBJ_{}", self.bucket))?;
        self.store = Some((store, stream));
        Ok(())
    }

    pub async fn ensure_bucket(&self) -> Result<()> {
        match self.store {
            Some(_) => Ok(()),
            None => anyhow::bail!("raw driver not opened"),
        }
    }

    fn parts(&self) -> Result<&(ObjectStore, Stream), OpError> {
        self.store
            .as_ref()
            .ok_or_else(|| OpError::msg("internal", "raw driver not opened"))
    }

    pub async fn put(&self, key: &str, size: u64) -> Result<u64, OpError> {
        if !self.store_api_put {
            return self.put_pipelined(key, size).await;
        }
        let (store, _) = self.parts()?;
        let meta = ObjectMetadata {
            name: key.to_string(),
            chunk_size: Some(CHUNK_SIZE),
            ..Default::default()
        };
        let mut reader = GenReader(Generator::new(key, size, CHUNK_SIZE));
        let info = store
            .put(meta, &mut reader)
            .await
            .map_err(|e| OpError::new("nats_put", e))?;
        if info.size as u64 != size {
            return Err(OpError::msg(
                "bad_length",
                format!("stored {} of {size}", info.size),
            ));
        }
        Ok(size)
    }

    /// The object store protocol with the latency a careful client gets: existing meta
    /// by direct get, whole 1 MiB chunks with a few acks in flight, SHA-256 digest,
    /// meta with `Nats-Rollup: sub`, then purge of the replaced version's chunks.
    async fn put_pipelined(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let (_, stream) = self.parts()?;
        let old = match self.info(key).await {
            Ok(info) => Some(info.nuid),
            Err(e) if e.kind == "not_found" => None,
            Err(e) => return Err(e),
        };
        let nuid = nuid::next().to_string();
        let chunk_subject = format!("$O.{}.C.{nuid}", self.bucket);
        let mut gen = Generator::new(key, size, CHUNK_SIZE);
        let mut sha = Sha256::new();
        let mut acks = VecDeque::new();
        let mut chunks = 0usize;
        while let Some(chunk) = gen.next_frame() {
            sha.update(&chunk);
            chunks += 1;
            if acks.len() >= ACKS_IN_FLIGHT {
                if let Some(ack) = acks.pop_front() {
                    wait_ack(ack).await?;
                }
            }
            let ack = self
                .js
                .publish(chunk_subject.clone(), chunk)
                .await
                .map_err(|e| OpError::new("nats_publish", e))?;
            acks.push_back(ack);
        }
        while let Some(ack) = acks.pop_front() {
            wait_ack(ack).await?;
        }
        let mtime = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| OpError::new("internal", e))?;
        let meta = serde_json::json!({
            "name": key,
            "bucket": self.bucket,
            "nuid": nuid,
            "size": size,
            "chunks": chunks,
            "mtime": mtime,
            "digest": format!("SHA-256={}", URL_SAFE.encode(sha.finalize())),
            "options": { "max_chunk_size": CHUNK_SIZE },
        });
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Rollup", "sub");
        let subject = format!("$O.{}.M.{}", self.bucket, URL_SAFE.encode(key));
        let ack = self
            .js
            .publish_with_headers(subject, headers, meta.to_string().into())
            .await
            .map_err(|e| OpError::new("nats_publish", e))?;
        wait_ack(ack).await?;
        if let Some(old) = old {
            stream
                .purge()
                .filter(format!("$O.{}.C.{old}", self.bucket))
                .await
                .map_err(|e| OpError::new("nats_purge", e))?;
        }
        Ok(size)
    }

    async fn info(&self, key: &str) -> Result<ObjectInfo, OpError> {
        let (_, stream) = self.parts()?;
        let subject = format!("$O.{}.M.{}", self.bucket, URL_SAFE.encode(key));
        let msg = stream
            .direct_get_last_for_subject(subject)
            .await
            .map_err(|e| match e.kind() {
                DirectGetErrorKind::NotFound => OpError::msg("not_found", key),
                _ => OpError::new("nats_direct_get", e),
            })?;
        let info: ObjectInfo =
            serde_json::from_slice(&msg.payload).map_err(|e| OpError::new("bad_meta", e))?;
        if info.deleted {
            return Err(OpError::msg("not_found", key));
        }
        Ok(info)
    }

    /// The meta, then the chunks [`GET_BATCH`] at a time: one batched direct get per
    /// batch, answered on a reply subscription this GET has to itself, each batch asked
    /// for from the sequence after the last one the previous batch delivered.
    pub async fn get(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let info = self.info(key).await?;
        if info.size as u64 != size {
            return Err(OpError::msg(
                "bad_length",
                format!("size {}, want {size}", info.size),
            ));
        }
        let subject = format!("$O.{}.C.{}", self.bucket, info.nuid);
        let api = format!("$JS.API.DIRECT.GET.OBJ_{}", self.bucket);
        let client = self.js.client();
        let reuse = self.replies.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (inbox, mut replies) = match reuse {
            Some(r) => r,
            None => {
                let inbox = client.new_inbox();
                let sub = client
                    .subscribe(inbox.clone())
                    .await
                    .map_err(|e| OpError::new("nats_subscribe", e))?;
                (inbox, sub)
            }
        };
        let mut verifier = Verifier::new(key, size);
        let mut seq = 1u64;
        let mut left = info.chunks as u64;
        while left > 0 {
            let batch = left.min(GET_BATCH);
            let req = serde_json::json!({ "seq": seq, "next_by_subj": subject, "batch": batch });
            client
                .publish_with_reply(api.clone(), inbox.clone(), req.to_string().into())
                .await
                .map_err(|e| OpError::new("nats_publish", e))?;
            let last = read_batch(&mut replies, &subject, batch, |payload| {
                verifier
                    .feed(payload)
                    .map_err(|m| OpError::msg(m.kind(), m.to_string()))
            })
            .await
            .map_err(|e| {
                OpError::msg(
                    e.kind,
                    format!("{key}: chunks from seq {seq}: {}", e.detail),
                )
            })?;
            left -= last.chunks;
            seq = last.seq + 1;
        }
        self.replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((inbox, replies));
        verifier
            .finish()
            .map_err(|m| OpError::msg(m.kind(), format!("{key}: {m}")))?;
        Ok(size)
    }

    pub async fn head(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let info = self.info(key).await?;
        if info.size as u64 != size {
            return Err(OpError::msg(
                "bad_length",
                format!("size {}, want {size}", info.size),
            ));
        }
        Ok(0)
    }

    pub async fn list(&self) -> Result<u64, OpError> {
        let (store, _) = self.parts()?;
        let list = store
            .list()
            .await
            .map_err(|e| OpError::new("nats_list", e))?;
        let mut list = list.take(100);
        while let Some(item) = list.next().await {
            item.map_err(|e| OpError::new("nats_list", e))?;
        }
        Ok(0)
    }

    pub async fn delete(&self, key: &str) -> Result<u64, OpError> {
        let (store, _) = self.parts()?;
        match store.delete(key).await {
            Ok(()) => Ok(0),
            // S3 DELETE of a missing key succeeds; mirror that.
            Err(e) if e.kind() == DeleteErrorKind::NotFound => Ok(0),
            Err(e) => Err(OpError::new("nats_delete", e)),
        }
    }
}

/// Where a batch ended: how many chunks it delivered and the last one's sequence.
struct BatchEnd {
    chunks: u64,
    seq: u64,
}

fn header_u64(msg: &Message, name: &str) -> Result<u64, OpError> {
    msg.headers
        .as_ref()
        .and_then(|h| h.get(name))
        .and_then(|v| v.as_str().parse().ok())
        .ok_or_else(|| OpError::msg("nats_direct_get", format!("no {name} header")))
}

/// Reads one batched direct get answer: data messages (each naming, in
/// `Nats-Last-Sequence`, the sequence of the one before it in the batch, 0 for the
/// first), then `Status: 204 EOB` whose `Nats-Last-Sequence` is the last one sent. A
/// message missing in between shows as a `Nats-Last-Sequence` that does not match.
async fn read_batch(
    replies: &mut (impl futures::Stream<Item = Message> + Unpin),
    subject: &str,
    batch: u64,
    mut feed: impl FnMut(&[u8]) -> Result<(), OpError>,
) -> Result<BatchEnd, OpError> {
    let gap = |what: &str, want: u64, got: u64| {
        OpError::msg(
            "nats_batch_gap",
            format!("{what} has Nats-Last-Sequence {got}, expected {want}: a message went missing"),
        )
    };
    let mut end = BatchEnd { chunks: 0, seq: 0 };
    loop {
        let msg = tokio::time::timeout(BATCH_TIMEOUT, replies.next())
            .await
            .map_err(|_| OpError::msg("timeout", "no answer to a batched direct get"))?
            .ok_or_else(|| OpError::msg("nats_direct_get", "reply subscription closed"))?;
        match msg.status.map(|s| s.as_u16()) {
            None => {
                let last = header_u64(&msg, "Nats-Last-Sequence")?;
                if last != end.seq {
                    return Err(gap("a chunk", end.seq, last));
                }
                if end.chunks == batch {
                    return Err(OpError::msg(
                        "nats_direct_get",
                        format!("more than the {batch} chunks asked for"),
                    ));
                }
                let from = msg.headers.as_ref().and_then(|h| h.get("Nats-Subject"));
                if from.map(|v| v.as_str()) != Some(subject) {
                    return Err(OpError::msg(
                        "nats_direct_get",
                        format!("a message from another subject: {from:?}"),
                    ));
                }
                feed(&msg.payload)?;
                end.seq = header_u64(&msg, "Nats-Sequence")?;
                end.chunks += 1;
            }
            Some(204) => {
                let last = header_u64(&msg, "Nats-Last-Sequence")?;
                if last != end.seq {
                    return Err(gap("the end of the batch", end.seq, last));
                }
                if end.chunks == 0 {
                    return Err(OpError::msg("nats_direct_get", "an empty batch"));
                }
                return Ok(end);
            }
            // Nothing at or after the sequence asked for: the object lost chunks.
            Some(404) => return Err(OpError::msg("nats_direct_get", "no further chunk (404)")),
            Some(code) => {
                return Err(OpError::msg(
                    "nats_direct_get",
                    format!(
                        "status {code} {}",
                        msg.description.as_deref().unwrap_or_default()
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::{HeaderMap, StatusCode};
    use bytes::Bytes;

    const SUBJECT: &str = "$O.b.C.nuid";

    fn chunk(seq: u64, last: u64, payload: &'static [u8]) -> Message {
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Stream", "OBJ_b");
        headers.insert("Nats-Subject", SUBJECT);
        headers.insert("Nats-Sequence", seq.to_string().as_str());
        headers.insert("Nats-Last-Sequence", last.to_string().as_str());
        message(Some(headers), None, payload)
    }

    fn status(code: u16, description: &str, last: Option<u64>) -> Message {
        let headers = last.map(|last| {
            let mut h = HeaderMap::new();
            h.insert("Nats-Last-Sequence", last.to_string().as_str());
            h
        });
        let mut m = message(headers, StatusCode::from_u16(code).ok(), b"");
        m.description = Some(description.to_string());
        m
    }

    fn message(
        headers: Option<HeaderMap>,
        status: Option<StatusCode>,
        payload: &'static [u8],
    ) -> Message {
        Message {
            subject: "_INBOX.x".into(),
            reply: None,
            payload: Bytes::from_static(payload),
            headers,
            status,
            description: None,
            length: payload.len(),
        }
    }

    /// Runs `read_batch` over `msgs`; returns (chunks, last seq) or the error kind and
    /// what was fed.
    async fn read(msgs: Vec<Message>, batch: u64) -> (Result<(u64, u64), String>, Vec<u8>) {
        let mut replies = futures::stream::iter(msgs);
        let mut fed = Vec::new();
        let r = read_batch(&mut replies, SUBJECT, batch, |p| {
            fed.extend_from_slice(p);
            Ok(())
        })
        .await;
        (r.map(|e| (e.chunks, e.seq)).map_err(|e| e.kind), fed)
    }

    #[tokio::test]
    async fn batch_in_order_then_eob() {
        let msgs = vec![
            chunk(7, 0, b"ab"),
            chunk(9, 7, b"cd"),
            chunk(12, 9, b"e"),
            status(204, "EOB", Some(12)),
        ];
        assert_eq!(read(msgs, 4).await, (Ok((3, 12)), b"abcde".to_vec()));
    }

    #[tokio::test]
    async fn missing_message_is_a_gap() {
        // The chunk at 9 was lost: the next one names 9 as its predecessor.
        let msgs = vec![
            chunk(7, 0, b"ab"),
            chunk(12, 9, b"e"),
            status(204, "EOB", Some(12)),
        ];
        assert_eq!(read(msgs, 4).await.0, Err("nats_batch_gap".into()));
        // The last chunk was lost: EOB names one this batch did not deliver.
        let msgs = vec![chunk(7, 0, b"ab"), status(204, "EOB", Some(9))];
        assert_eq!(read(msgs, 4).await.0, Err("nats_batch_gap".into()));
        // The first chunk was lost.
        let msgs = vec![chunk(9, 7, b"cd"), status(204, "EOB", Some(9))];
        assert_eq!(read(msgs, 4).await.0, Err("nats_batch_gap".into()));
    }

    #[tokio::test]
    async fn errors_are_reported() {
        let not_found = vec![status(404, "Message Not Found", None)];
        assert_eq!(read(not_found, 4).await.0, Err("nats_direct_get".into()));
        let empty = vec![status(204, "EOB", Some(0))];
        assert_eq!(read(empty, 4).await.0, Err("nats_direct_get".into()));
        let too_many = vec![chunk(1, 0, b"a"), chunk(2, 1, b"b")];
        assert_eq!(read(too_many, 1).await.0, Err("nats_direct_get".into()));
        let mut foreign = chunk(1, 0, b"a");
        if let Some(h) = foreign.headers.as_mut() {
            h.insert("Nats-Subject", "$O.b.C.other");
        }
        assert_eq!(
            read(vec![foreign], 4).await.0,
            Err("nats_direct_get".into())
        );
        // The replies end before the EOB.
        assert_eq!(
            read(vec![chunk(1, 0, b"a")], 4).await.0,
            Err("nats_direct_get".into())
        );
    }
}
