//! Reads an object's chunks in order with JetStream direct get (no consumer per read).

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use bytes::Bytes;
use futures::StreamExt;

use super::{chunk_subject, stream_name, ObjectMeta, Store, StoreError};

pub struct ChunkReader {
    store: Store,
    nats_bucket: String,
    stream: String,
    subject: String,
    next_seq: u64,
    chunks_left: u64,
    seek: Vec<SeekPoint>,
}

/// A known chunk boundary: the chunk starting at object byte `offset` has stream
/// sequence `seq` (or the first later one on the subject) and `chunks_before` chunks
/// precede it. A multipart object records one per part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekPoint {
    pub offset: u64,
    pub seq: u64,
    pub chunks_before: u64,
}

impl ChunkReader {
    pub fn new(store: Store, nats_bucket: &str, meta: &ObjectMeta) -> Self {
        ChunkReader {
            store,
            nats_bucket: nats_bucket.to_string(),
            stream: stream_name(nats_bucket),
            subject: chunk_subject(nats_bucket, &meta.nuid),
            next_seq: 0,
            chunks_left: meta.chunks,
            seek: Vec::new(),
        }
    }

    /// Chunk boundaries that [`ChunkReader::skip_to`] may jump to (ascending offsets).
    pub fn with_seek_points(mut self, seek: Vec<SeekPoint>) -> Self {
        self.seek = seek;
        self
    }

    /// The stream and chunk subject it reads, and the sequence it reads next from.
    pub fn position(&self) -> (&str, &str, u64) {
        (&self.stream, &self.subject, self.next_seq)
    }

    /// Next chunk, `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Bytes>, StoreError> {
        if self.chunks_left == 0 {
            return Ok(None);
        }
        let body = serde_json::json!({ "seq": self.next_seq, "next_by_subj": self.subject });
        let (seq, payload) = match self
            .store
            .direct_get(&self.stream, None, Bytes::from(body.to_string()))
            .await?
        {
            Some(msg) => {
                let seq = msg
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Sequence"))
                    .and_then(|v| v.as_str().parse::<u64>().ok())
                    .ok_or(StoreError::Truncated)?;
                (seq, msg.payload)
            }
            // A replica that lags may not have the chunk yet; the leader does.
            None => {
                let m = self
                    .store
                    .leader_get(&self.nats_bucket, body)
                    .await?
                    .ok_or(StoreError::Truncated)?;
                (m.seq, m.payload)
            }
        };
        self.next_seq = seq + 1;
        self.chunks_left -= 1;
        Ok(Some(payload))
    }

    /// Moves to the chunk holding byte `offset` without fetching the chunks before it
    /// (a ranged GET deep into a large object, as the aws CLI downloads): from the last
    /// seek point at or before `offset` (a part boundary: aws CLI ranges start there, so
    /// usually nothing more is needed), else a headers-only consumer lists the chunks'
    /// sequences and sizes (`Nats-Msg-Size`). Returns the offset where the next chunk
    /// starts.
    pub async fn skip_to(&mut self, offset: u64) -> Result<u64, StoreError> {
        let mut pos = 0u64;
        if let Some(p) = self
            .seek
            .iter()
            .rev()
            .find(|p| p.offset <= offset && p.chunks_before < self.chunks_left)
        {
            self.next_seq = p.seq;
            self.chunks_left -= p.chunks_before;
            pos = p.offset;
            if pos == offset {
                return Ok(pos);
            }
        }
        self.scan_to(pos, offset).await
    }

    /// `skip_to` from the chunk at `next_seq`, which starts at object offset `pos`.
    async fn scan_to(&mut self, mut pos: u64, offset: u64) -> Result<u64, StoreError> {
        let req = |e: &dyn std::fmt::Display| StoreError::Request(e.to_string());
        let stream = self
            .store
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(|e| req(&e))?;
        let consumer = stream
            .create_consumer(pull::Config {
                filter_subject: self.subject.clone(),
                headers_only: true,
                ack_policy: AckPolicy::None,
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: self.next_seq.max(1),
                },
                inactive_threshold: Duration::from_secs(10),
                memory_storage: true,
                num_replicas: 1,
                ..Default::default()
            })
            .await
            .map_err(|e| req(&e))?;
        let name = consumer.cached_info().name.clone();
        let result = async {
            let mut msgs = consumer.messages().await.map_err(|e| req(&e))?;
            while self.chunks_left > 0 {
                let m = tokio::time::timeout(self.store.timeout, msgs.next())
                    .await
                    .map_err(|e| req(&e))?
                    .ok_or(StoreError::Truncated)?
                    .map_err(|e| req(&e))?;
                let size = m
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Msg-Size"))
                    .and_then(|v| v.as_str().parse::<u64>().ok())
                    .ok_or(StoreError::Truncated)?;
                let seq = m.info().map_err(|e| req(&e))?.stream_sequence;
                if pos + size > offset {
                    self.next_seq = seq;
                    return Ok(pos);
                }
                pos += size;
                self.next_seq = seq + 1;
                self.chunks_left -= 1;
            }
            Ok(pos)
        }
        .await;
        // Best effort: the server drops it after the inactive threshold anyway.
        tokio::spawn(async move {
            let _ = stream.delete_consumer(&name).await;
        });
        result
    }
}
