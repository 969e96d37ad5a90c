//! Reads an object's chunks in order with JetStream direct get (no consumer per read).

use bytes::Bytes;

use super::{chunk_subject, stream_name, ObjectMeta, Store, StoreError};

pub struct ChunkReader {
    store: Store,
    nats_bucket: String,
    stream: String,
    subject: String,
    next_seq: u64,
    chunks_left: u64,
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
        }
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
}
