//! Writes an object's chunks: fills whole chunks, keeps a few publish acks in flight.

use std::collections::VecDeque;

use async_nats::jetstream::publish::PublishAck;
use bytes::Bytes;
use tokio::sync::TryAcquireError;
use tokio::task::JoinHandle;

use super::{chunk_subject, Store, StoreError, CHUNK_SIZE};

/// Publish acks awaited at once: enough to keep JetStream busy, little enough that a
/// failing stream is noticed within a few MiB.
const ACKS_IN_FLIGHT: usize = 4;

/// What was written, for the metadata message.
#[derive(Debug, Clone)]
pub struct Written {
    pub nuid: String,
    pub size: u64,
    pub chunks: u64,
    /// Stream sequences of the first and last chunk (0 when nothing was written).
    pub first_seq: u64,
    pub last_seq: u64,
}

/// Chunks of one new object version; invisible until its metadata is published.
pub struct ChunkWriter {
    store: Store,
    nats_bucket: String,
    nuid: String,
    subject: String,
    /// The chunk being filled. A `Vec` so its capacity can be exact: a growing
    /// `BytesMut` doubled past 1 MiB and every published chunk then pinned the oversized
    /// allocation (1.25 MiB or more) until JetStream acked it.
    buf: Vec<u8>,
    size: u64,
    chunks: u64,
    /// Acks in flight; each task holds the chunk's share of the publish budget until
    /// JetStream answers, so a writer stalled on a slow client holds none of it.
    acks: VecDeque<JoinHandle<Result<PublishAck, StoreError>>>,
    /// Sequences of the acknowledged chunks, so a writer on a shared subject (a
    /// multipart upload's) can remove exactly its own.
    seqs: Vec<u64>,
}

impl ChunkWriter {
    /// Chunks of a new object version, on a subject of their own.
    pub fn new(store: Store, nats_bucket: &str) -> Self {
        let nuid = nuid::next().to_string();
        let subject = chunk_subject(nats_bucket, &nuid);
        Self::with_subject(store, nats_bucket, nuid, subject)
    }

    /// Chunks appended to a given subject (a multipart upload's final or staging one).
    pub fn with_subject(store: Store, nats_bucket: &str, nuid: String, subject: String) -> Self {
        ChunkWriter {
            subject,
            store,
            nats_bucket: nats_bucket.to_string(),
            nuid,
            buf: Vec::new(),
            size: 0,
            chunks: 0,
            acks: VecDeque::new(),
            seqs: Vec::new(),
        }
    }

    pub fn nuid(&self) -> &str {
        &self.nuid
    }

    /// Bytes handed to JetStream so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Chunks handed to JetStream so far.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), StoreError> {
        while !data.is_empty() {
            if self.buf.is_empty() && data.len() >= CHUNK_SIZE {
                let (chunk, rest) = data.split_at(CHUNK_SIZE);
                self.publish(Bytes::copy_from_slice(chunk)).await?;
                data = rest;
                continue;
            }
            let take = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.reserve(take);
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == CHUNK_SIZE {
                let chunk = Bytes::from(std::mem::take(&mut self.buf));
                self.publish(chunk).await?;
            }
        }
        Ok(())
    }

    /// Room for `more` bytes, never past one chunk: once a chunk was published the
    /// object is large and the next one gets its whole chunk at once; the first grows
    /// by doubling so that small objects stay small.
    fn reserve(&mut self, more: usize) {
        let cap = chunk_capacity(self.buf.len() + more, self.buf.capacity(), self.chunks);
        self.buf.reserve_exact(cap - self.buf.len());
    }

    /// Writes whole `Bytes` without copying when no partial chunk is pending.
    pub async fn write_bytes(&mut self, data: Bytes) -> Result<(), StoreError> {
        if self.buf.is_empty() && data.len() == CHUNK_SIZE {
            return self.publish(data).await;
        }
        self.write(&data).await
    }

    #[tracing::instrument(name = "jetstream.chunk_publish", level = "info", skip_all, fields(otel.kind = "client"))]
    async fn publish(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        let kib = u32::try_from(chunk.len().div_ceil(1024).max(1)).unwrap_or(u32::MAX);
        let budget = self.store.publish_budget.clone();
        let permit = loop {
            match budget.clone().try_acquire_many_owned(kib) {
                Ok(p) => break p,
                // Settle our own acks first: waiting while holding budget could starve
                // every writer at once.
                Err(TryAcquireError::NoPermits) if !self.acks.is_empty() => {
                    self.await_one().await?
                }
                Err(TryAcquireError::NoPermits) => {
                    metrics::counter!("jetgate_worker_publish_budget_waits_total").increment(1);
                    break budget
                        .acquire_many_owned(kib)
                        .await
                        .map_err(|e| StoreError::Request(e.to_string()))?;
                }
                Err(e) => return Err(StoreError::Request(e.to_string())),
            }
        };
        self.size += chunk.len() as u64;
        self.chunks += 1;
        let ack = self
            .store
            .js
            .publish(self.subject.clone(), chunk)
            .await
            .map_err(StoreError::publish)?;
        self.acks.push_back(tokio::spawn(async move {
            let r = ack.await.map_err(StoreError::publish);
            drop(permit);
            r
        }));
        while self.acks.len() > ACKS_IN_FLIGHT {
            self.await_one().await?;
        }
        Ok(())
    }

    async fn await_one(&mut self) -> Result<(), StoreError> {
        if let Some(a) = self.acks.pop_front() {
            let ack = a.await.map_err(|e| StoreError::Request(e.to_string()))??;
            self.seqs.push(ack.sequence);
        }
        Ok(())
    }

    /// Flushes the last chunk and waits until JetStream holds every chunk.
    #[tracing::instrument(name = "jetstream.chunk_flush", level = "info", skip_all, fields(otel.kind = "client"))]
    pub async fn finish(&mut self) -> Result<Written, StoreError> {
        if !self.buf.is_empty() {
            let chunk = Bytes::from(std::mem::take(&mut self.buf));
            self.publish(chunk).await?;
        }
        while !self.acks.is_empty() {
            self.await_one().await?;
        }
        Ok(Written {
            nuid: self.nuid.clone(),
            size: self.size,
            chunks: self.chunks,
            first_seq: self.seqs.first().copied().unwrap_or(0),
            last_seq: self.seqs.last().copied().unwrap_or(0),
        })
    }

    /// Deletes exactly the chunks this writer published, message by message, leaving
    /// other writers' chunks on a shared subject alone.
    pub async fn remove(mut self) {
        while let Some(a) = self.acks.pop_front() {
            if let Ok(Ok(ack)) = a.await {
                self.seqs.push(ack.sequence);
            }
        }
        let stream = super::stream_name(&self.nats_bucket);
        for seq in &self.seqs {
            if let Err(e) = super::delete_seq(&self.store.js, &stream, *seq).await {
                tracing::warn!(error = %e, seq, "could not delete a failed write's chunk");
            }
        }
    }

    /// Removes whatever chunks were written; the object never becomes visible.
    pub async fn abort(self) {
        if self.chunks == 0 {
            return;
        }
        // Chunks published but not yet acked may land after the purge; wait them out.
        for a in self.acks {
            let _ = a.await;
        }
        if let Err(e) = self
            .store
            .purge_subject(&self.nats_bucket, &self.subject)
            .await
        {
            tracing::warn!(error = %e, subject = %self.subject, "could not purge aborted chunks; the janitor will");
        }
    }
}

/// Capacity of the chunk buffer that must hold `need` bytes (see `ChunkWriter::reserve`).
fn chunk_capacity(need: usize, cap: usize, chunks_published: u64) -> usize {
    if need <= cap {
        cap
    } else if chunks_published > 0 {
        CHUNK_SIZE
    } else {
        need.max(cap * 2).min(CHUNK_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_buffer_never_grows_past_one_chunk() {
        // First chunk: doubles from what was needed, capped at exactly one chunk.
        assert_eq!(chunk_capacity(4096, 0, 0), 4096);
        assert_eq!(chunk_capacity(4096 + 100, 4096, 0), 8192);
        assert_eq!(chunk_capacity(700 * 1024, 400 * 1024, 0), 800 * 1024);
        assert_eq!(chunk_capacity(900 * 1024, 800 * 1024, 0), CHUNK_SIZE);
        // Room already there: unchanged.
        assert_eq!(chunk_capacity(100, CHUNK_SIZE, 0), CHUNK_SIZE);
        // After a chunk went out the object is large: the whole chunk at once.
        assert_eq!(chunk_capacity(252 * 1024, 0, 1), CHUNK_SIZE);
    }
}
