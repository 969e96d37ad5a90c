//! Usage records per access key: the worker's flags for the `jetgate-usage` stream, and
//! `jetgate usage`, which sums the records since a time (log in as the gateway
//! account's `admin` user in the per-role layouts).

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::consumer::{push::OrderedConfig, DeliverPolicy};
use clap::Args;
use futures::StreamExt;
use jetgate_actors::usage::summary::{parse_since, GroupBy, Summary};
use jetgate_actors::usage::{records, UsageLimits, DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES, STREAM};

use crate::nats::NatsArgs;

/// Limits the workers create the usage stream with (an existing stream keeps its own).
#[derive(Args, Clone, Debug)]
pub struct UsageOpts {
    /// Seconds usage records are kept in the `jetgate-usage` stream (30 days).
    #[arg(long, env = "JETGATE_USAGE_MAX_AGE_SECS", default_value_t = DEFAULT_MAX_AGE.as_secs())]
    usage_max_age_secs: u64,
    /// Bytes of usage records kept; the oldest go first (1 GiB).
    #[arg(long, env = "JETGATE_USAGE_MAX_BYTES", default_value_t = DEFAULT_MAX_BYTES)]
    usage_max_bytes: i64,
}

impl UsageOpts {
    pub fn limits(&self, replicas: usize) -> UsageLimits {
        UsageLimits {
            max_age: Duration::from_secs(self.usage_max_age_secs),
            max_bytes: self.usage_max_bytes,
            replicas,
        }
    }
}

#[derive(Args)]
pub struct UsageArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// How far back to sum: a number and s, m, h or d.
    #[arg(long, default_value = "1h", value_parser = parse_since)]
    since: Duration,
    /// Group by access key, bucket, S3 operation or owner id.
    #[arg(long, default_value = "key", value_parser = ["key", "bucket", "operation", "owner"])]
    by: String,
    /// One JSON array of groups instead of a table.
    #[arg(long)]
    json: bool,
}

/// How long the stream may stay silent before the rest of it is presumed unreachable.
const IDLE: Duration = Duration::from_secs(10);

pub async fn usage(args: UsageArgs) -> anyhow::Result<()> {
    let by: GroupBy = args.by.parse()?;
    let client = args.nats.connect("jetgate-usage").await?;
    let js = async_nats::jetstream::new(client.clone());
    let since_ms = jetgate_actors::store::unix_ms()
        - i64::try_from(args.since.as_millis()).unwrap_or(i64::MAX);
    let mut summary = Summary::new(by);
    let mut unreadable = 0u64;
    read_since(&js, &client, since_ms, |payload| {
        for rec in records(payload) {
            match rec {
                // The consumer starts by time; the record's own time decides.
                Ok(rec) if rec.time_ms >= since_ms => summary.add(&rec),
                Ok(_) => {}
                Err(_) => unreadable += 1,
            }
        }
    })
    .await?;
    if unreadable > 0 {
        eprintln!("{unreadable} unreadable records skipped");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary.rows())?);
    } else {
        print!("{}", summary.table());
    }
    Ok(())
}

/// Feeds every message of the usage stream from `since_ms` on, as the stream was when
/// the consumer was made, to `f`; the ordered consumer is deleted when done.
async fn read_since(
    js: &async_nats::jetstream::Context,
    client: &async_nats::Client,
    since_ms: i64,
    mut f: impl FnMut(&[u8]),
) -> anyhow::Result<()> {
    let stream = js
        .get_stream(STREAM)
        .await
        .with_context(|| format!("stream {STREAM} (no worker has recorded usage yet?)"))?;
    let start_time =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(since_ms) * 1_000_000)
            .context("--since")?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartTime { start_time },
            deliver_subject: client.new_inbox(),
            description: Some("jetgate usage".into()),
            ..Default::default()
        })
        .await
        .context("creating the usage consumer")?;
    let name = consumer.cached_info().name.clone();
    let read = async {
        if consumer.cached_info().num_pending == 0 {
            return Ok(());
        }
        let mut messages = consumer.messages().await?;
        loop {
            let msg = match tokio::time::timeout(IDLE, messages.next()).await {
                Ok(Some(m)) => m?,
                Ok(None) => break,
                Err(_) => anyhow::bail!("usage stream silent for {IDLE:?} before its end"),
            };
            f(&msg.payload);
            if msg.info().map_err(|e| anyhow::anyhow!("{e}"))?.pending == 0 {
                break;
            }
        }
        Ok(())
    }
    .await;
    // Deleted at once rather than left to expire: one per run otherwise piles up.
    if let Err(e) = stream.delete_consumer(&name).await {
        tracing::debug!(error = %e, "usage consumer not deleted (it expires)");
    }
    read
}
