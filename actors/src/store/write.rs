//! Writes an object's chunks: fills whole chunks, keeps a few publish acks in flight.

use std::collections::VecDeque;

use async_nats::jetstream::context::PublishAckFuture;
use bytes::{Bytes, BytesMut};

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
}

/// Chunks of one new object version; invisible until its metadata is published.
pub struct ChunkWriter {
    store: Store,
    nats_bucket: String,
    nuid: String,
    subject: String,
    buf: BytesMut,
    size: u64,
    chunks: u64,
    acks: VecDeque<PublishAckFuture>,
}

impl ChunkWriter {
    pub fn new(store: Store, nats_bucket: &str) -> Self {
        let nuid = nuid::next().to_string();
        ChunkWriter {
            subject: chunk_subject(nats_bucket, &nuid),
            store,
            nats_bucket: nats_bucket.to_string(),
            nuid,
            buf: BytesMut::new(),
            size: 0,
            chunks: 0,
            acks: VecDeque::new(),
        }
    }

    pub fn nuid(&self) -> &str {
        &self.nuid
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
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == CHUNK_SIZE {
                let chunk = self.buf.split().freeze();
                self.publish(chunk).await?;
            }
        }
        Ok(())
    }

    /// Writes whole `Bytes` without copying when no partial chunk is pending.
    pub async fn write_bytes(&mut self, data: Bytes) -> Result<(), StoreError> {
        if self.buf.is_empty() && data.len() == CHUNK_SIZE {
            return self.publish(data).await;
        }
        self.write(&data).await
    }

    async fn publish(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        self.size += chunk.len() as u64;
        self.chunks += 1;
        let ack = self
            .store
            .js
            .publish(self.subject.clone(), chunk)
            .await
            .map_err(|e| StoreError::Request(e.to_string()))?;
        self.acks.push_back(ack);
        while self.acks.len() > ACKS_IN_FLIGHT {
            if let Some(a) = self.acks.pop_front() {
                a.await.map_err(|e| StoreError::Request(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Flushes the last chunk and waits until JetStream holds every chunk.
    pub async fn finish(&mut self) -> Result<Written, StoreError> {
        if !self.buf.is_empty() {
            let chunk = self.buf.split().freeze();
            self.publish(chunk).await?;
        }
        while let Some(a) = self.acks.pop_front() {
            a.await.map_err(|e| StoreError::Request(e.to_string()))?;
        }
        Ok(Written {
            nuid: self.nuid.clone(),
            size: self.size,
            chunks: self.chunks,
        })
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
