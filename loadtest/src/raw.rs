//! Raw driver: the NATS object store through async-nats, the ceiling every report
//! carries. PUT is `ObjectStore::put` fed whole 1 MiB chunks from the generator; GET
//! reads the meta with a direct get (last by subject) and the chunks with direct
//! get next-by-subject, so no consumer is created per read.

use crate::content::{Generator, Verifier};
use crate::op_error::OpError;
use anyhow::{Context as _, Result};
use async_nats::jetstream::object_store::{ObjectInfo, ObjectMetadata, ObjectStore};
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::jetstream::{self, object_store::DeleteErrorKind};
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
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

    pub async fn get(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let (_, stream) = self.parts()?;
        let info = self.info(key).await?;
        if info.size as u64 != size {
            return Err(OpError::msg(
                "bad_length",
                format!("size {}, want {size}", info.size),
            ));
        }
        let subject = format!("$O.{}.C.{}", self.bucket, info.nuid);
        let mut verifier = Verifier::new(key, size);
        let mut seq = 1u64;
        for _ in 0..info.chunks {
            let msg = stream
                .direct_get_next_for_subject(subject.as_str(), Some(seq))
                .await
                .map_err(|e| OpError::new("nats_direct_get", e))?;
            verifier
                .feed(&msg.payload)
                .map_err(|m| OpError::msg(m.kind(), format!("{key}: {m}")))?;
            seq = msg.sequence + 1;
        }
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
