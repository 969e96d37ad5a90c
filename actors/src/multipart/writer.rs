//! Writes one part's chunks to a subject (the final object's, or a staging one) and
//! remembers their stream sequences, so a failed part can be removed message by message
//! without touching the parts appended before it.

use std::collections::VecDeque;

use async_nats::jetstream::{self, context::PublishAckFuture};
use bytes::{Bytes, BytesMut};
use jetgate_protocol::S3Error;

use super::state::delete_seq;
use crate::store::CHUNK_SIZE;

const ACKS_IN_FLIGHT: usize = 4;

pub struct PartWriter {
    js: jetstream::Context,
    stream: String,
    subject: String,
    buf: BytesMut,
    acks: VecDeque<PublishAckFuture>,
    seqs: Vec<u64>,
    pub size: u64,
    pub chunks: u64,
}

fn failed(e: impl std::fmt::Display) -> S3Error {
    S3Error::internal(e.to_string())
}

impl PartWriter {
    pub fn new(js: &jetstream::Context, stream: &str, subject: &str) -> Self {
        PartWriter {
            js: js.clone(),
            stream: stream.to_string(),
            subject: subject.to_string(),
            buf: BytesMut::new(),
            acks: VecDeque::new(),
            seqs: Vec::new(),
            size: 0,
            chunks: 0,
        }
    }

    pub async fn write(&mut self, data: Bytes) -> Result<(), S3Error> {
        if self.buf.is_empty() && data.len() == CHUNK_SIZE {
            return self.publish(data).await;
        }
        let mut data = &data[..];
        while !data.is_empty() {
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

    async fn publish(&mut self, chunk: Bytes) -> Result<(), S3Error> {
        self.size += chunk.len() as u64;
        self.chunks += 1;
        let ack = self
            .js
            .publish(self.subject.clone(), chunk)
            .await
            .map_err(failed)?;
        self.acks.push_back(ack);
        while self.acks.len() > ACKS_IN_FLIGHT {
            self.await_one().await?;
        }
        Ok(())
    }

    async fn await_one(&mut self) -> Result<(), S3Error> {
        if let Some(a) = self.acks.pop_front() {
            let ack = a.await.map_err(failed)?;
            self.seqs.push(ack.sequence);
        }
        Ok(())
    }

    /// Flushes the last (short) chunk and waits for every ack. Returns the sequences of
    /// the first and last chunk (`(0, 0)` for an empty part).
    pub async fn finish(&mut self) -> Result<(u64, u64), S3Error> {
        if !self.buf.is_empty() {
            let chunk = self.buf.split().freeze();
            self.publish(chunk).await?;
        }
        while !self.acks.is_empty() {
            self.await_one().await?;
        }
        Ok((
            self.seqs.first().copied().unwrap_or(0),
            self.seqs.last().copied().unwrap_or(0),
        ))
    }

    /// Removes every chunk this writer published.
    pub async fn remove(mut self) {
        while let Some(a) = self.acks.pop_front() {
            if let Ok(ack) = a.await {
                self.seqs.push(ack.sequence);
            }
        }
        for seq in &self.seqs {
            if let Err(e) = delete_seq(&self.js, &self.stream, *seq).await {
                tracing::warn!(error = %e, seq, "could not delete a failed part's chunk");
            }
        }
    }
}
