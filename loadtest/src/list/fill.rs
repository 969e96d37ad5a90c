//! Filling a bucket natively, fast: per object one 1-byte chunk on `$O.<bucket>.C.<nuid>`
//! and its metadata on `$O.<bucket>.M.<base64url(key)>` (`Nats-Rollup: sub`), as core
//! publishes pipelined with a flush every thousand objects, then the stream is polled
//! until it holds them all (core publishes are not acknowledged).
//!
//! Paced by the stream: JetStream silently drops core publishes past its per-stream
//! ingest queue (unpaced, a 1M fill lost 22 % of its messages), so after each flush the
//! fill waits while more than [`MAX_BEHIND`] messages are not stored yet.

use super::model::{data_key, Model};
use anyhow::{bail, Context, Result};
use async_nats::jetstream;
use async_nats::jetstream::stream::Stream;
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// The one-byte body of every filled object.
const BODY: &[u8] = b"x";

/// Objects published between two flushes (and looks at the stream).
const FLUSH_EVERY: usize = 1000;

/// Messages published but not yet stored that the fill lets run ahead.
const MAX_BEHIND: u64 = 6000;

/// How long the stream may stop growing before the fill is declared lost.
const STALL: Duration = Duration::from_secs(20);

/// Object-store metadata, as `ObjectInfo` serialises it.
#[derive(Serialize)]
struct Meta<'a> {
    name: &'a str,
    bucket: &'a str,
    nuid: &'a str,
    size: u64,
    chunks: u64,
    mtime: &'a str,
    digest: &'a str,
}

/// Publishes every key of `model` into `bucket` (its stream must exist and be empty)
/// and waits until the stream holds them; returns the time that took.
pub async fn fill(
    client: &async_nats::Client,
    js: &jetstream::Context,
    bucket: &str,
    model: &Model,
) -> Result<Duration> {
    let started = Instant::now();
    let mtime = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .context("format mtime")?;
    let digest = format!("SHA-256={}", URL_SAFE.encode(Sha256::digest(BODY)));
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Rollup", "sub");
    let name = format!("OBJ_{bucket}");
    let mut stream = js
        .get_stream(&name)
        .await
        .with_context(|| format!("stream {name}"))?;
    let base = stored(&mut stream).await?;
    let mut published = 0u64;
    let keys = (0..model.n)
        .map(data_key)
        .chain(model.extra.iter().cloned());
    for (i, key) in keys.enumerate() {
        let nuid = nuid::next().to_string();
        client
            .publish(format!("$O.{bucket}.C.{nuid}"), Bytes::from_static(BODY))
            .await
            .context("publish chunk")?;
        let meta = serde_json::to_vec(&Meta {
            name: &key,
            bucket,
            nuid: &nuid,
            size: BODY.len() as u64,
            chunks: 1,
            mtime: &mtime,
            digest: &digest,
        })?;
        client
            .publish_with_headers(
                format!("$O.{bucket}.M.{}", URL_SAFE.encode(&key)),
                headers.clone(),
                meta.into(),
            )
            .await
            .context("publish metadata")?;
        published += 2;
        if (i + 1).is_multiple_of(FLUSH_EVERY) {
            client.flush().await.context("flush")?;
            let behind = published.saturating_sub(MAX_BEHIND);
            wait_stored(&mut stream, base + behind).await?;
        }
    }
    client.flush().await.context("flush")?;
    wait_stored(&mut stream, base + published).await?;
    Ok(started.elapsed())
}

/// Messages the stream holds.
async fn stored(stream: &mut Stream) -> Result<u64> {
    let info = stream.info().await.context("stream info")?;
    Ok(info.state.messages)
}

/// Polls the stream until it holds `want` messages.
async fn wait_stored(stream: &mut Stream, want: u64) -> Result<()> {
    let (mut last, mut since) = (u64::MAX, Instant::now());
    loop {
        let held = stored(stream).await?;
        if held >= want {
            return Ok(());
        }
        if held != last {
            (last, since) = (held, Instant::now());
        } else if since.elapsed() > STALL {
            bail!(
                "stream {} holds {held} of {want} messages and stopped growing: \
                 some core publishes were dropped",
                stream.cached_info().config.name
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
