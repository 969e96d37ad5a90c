//! Bucket CORS (listing role): Put/Get/DeleteBucketCors store the rules as JSON in the
//! metadata of the bucket's stream, and the unsigned `cors_check` endpoint answers
//! preflights and the edge's checks for browser requests.
//!
//! Checks are frequent (every browser request pays one), so the rules are cached per
//! bucket for a short TTL: a PutBucketCors takes effect within [`CACHE_TTL`] on every
//! worker, at once on the one that stored it.

mod rules;
pub(crate) mod xml;

pub use rules::{evaluate, validate, wildcard_match};

use jetgate_protocol::rpc;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jetgate_protocol::cors::{CorsConfiguration, GetCorsReply, STREAM_METADATA_KEY};
use jetgate_protocol::messages::Ack;
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::{S3Error, S3ErrorCode};

use crate::body::read_small_verified;
use crate::incoming::Incoming;
use crate::worker::Worker;

/// How long a worker trusts its cached copy of a bucket's rules.
pub const CACHE_TTL: Duration = Duration::from_millis(1500);

/// Most buckets whose rules a worker caches.
const CACHE_ENTRIES: usize = 10_000;

/// Largest PutBucketCors document accepted (100 rules fit comfortably).
const MAX_DOC: usize = 256 * 1024;

type Cached = (Instant, Option<Arc<CorsConfiguration>>);

/// The CORS rules a worker has read lately, per bucket.
#[derive(Default)]
struct CorsCache(Mutex<HashMap<String, Cached>>);

fn cache_get(worker: &Worker, nats_bucket: &str) -> Option<Option<Arc<CorsConfiguration>>> {
    let state = worker.role_state::<CorsCache>();
    let cache = state.0.lock().ok()?;
    let (at, cfg) = cache.get(nats_bucket)?;
    (at.elapsed() < CACHE_TTL).then(|| cfg.clone())
}

fn cache_put(worker: &Worker, nats_bucket: &str, cfg: Option<Arc<CorsConfiguration>>) {
    let state = worker.role_state::<CorsCache>();
    let Ok(mut cache) = state.0.lock() else {
        return;
    };
    // Bounded: expired entries go whenever the map grows large, and while it is still
    // full new buckets are not cached (they are read each time instead).
    if cache.len() >= CACHE_ENTRIES {
        cache.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
    }
    if cache.len() < CACHE_ENTRIES || cache.contains_key(nats_bucket) {
        cache.insert(nats_bucket.to_string(), (Instant::now(), cfg));
    }
}

/// Reads the stored rules (`None`: none configured).
async fn load(worker: &Worker, nats_bucket: &str) -> Result<Option<CorsConfiguration>, S3Error> {
    let Some(json) = worker
        .store()
        .bucket_setting(nats_bucket, STREAM_METADATA_KEY)
        .await?
    else {
        return Ok(None);
    };
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|e| S3Error::internal(format!("stored CORS rules unreadable: {e}")))
}

/// Stores (or with `None` removes) the rules in the stream metadata.
async fn save(
    worker: &Worker,
    nats_bucket: &str,
    cfg: Option<&CorsConfiguration>,
) -> Result<(), S3Error> {
    let json = cfg
        .map(serde_json::to_string)
        .transpose()
        .map_err(S3Error::internal)?;
    worker
        .store()
        .set_bucket_setting(nats_bucket, STREAM_METADATA_KEY, json)
        .await?;
    cache_put(worker, nats_bucket, cfg.cloned().map(Arc::new));
    Ok(())
}

pub async fn put_bucket_cors(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::PutBucketCors>()?;
    let call = &env.msg;
    validate_bucket(&call.op.bucket)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let doc = read_small_verified(worker, inc, &principal, &env, MAX_DOC).await?;
    let cfg = xml::parse(&doc)?;
    validate(&cfg)?;
    save(worker, &bucket_to_nats(&call.op.bucket), Some(&cfg)).await?;
    tracing::info!(bucket = %call.op.bucket, rules = cfg.rules.len(), "bucket CORS set");
    inc.reply::<rpc::PutBucketCors>(&Ack {}, &[]).await
}

pub async fn get_bucket_cors(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::GetBucketCors>()?.msg;
    validate_bucket(&call.op.bucket)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let config = load(worker, &bucket_to_nats(&call.op.bucket))
        .await?
        .ok_or_else(S3Error::no_such_cors_configuration)?;
    inc.reply::<rpc::GetBucketCors>(&GetCorsReply { config }, &[])
        .await
}

pub async fn delete_bucket_cors(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::DeleteBucketCors>()?.msg;
    validate_bucket(&call.op.bucket)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    save(worker, &bucket_to_nats(&call.op.bucket), None).await?;
    tracing::info!(bucket = %call.op.bucket, "bucket CORS deleted");
    inc.reply::<rpc::DeleteBucketCors>(&Ack {}, &[]).await
}

/// Unsigned by design: browsers send preflights without credentials, and the answer
/// only reveals whether the bucket's CORS rules allow the request.
pub async fn check(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::CorsCheck>()?.msg;
    let check = call.op;
    validate_bucket(&check.bucket)?;
    let nats_bucket = bucket_to_nats(&check.bucket);
    let cfg = match cache_get(worker, &nats_bucket) {
        Some(cfg) => cfg,
        None => {
            let cfg = match load(worker, &nats_bucket).await {
                Ok(cfg) => cfg.map(Arc::new),
                // A bucket that does not exist has no rules either.
                Err(e) if e.code == S3ErrorCode::NoSuchBucket => None,
                Err(e) => return Err(e),
            };
            cache_put(worker, &nats_bucket, cfg.clone());
            cfg
        }
    };
    let reply = evaluate(cfg.as_deref(), &check);
    tracing::debug!(bucket = %check.bucket, allowed = reply.allowed, preflight = check.preflight, "CORS check");
    inc.reply::<rpc::CorsCheck>(&reply, &[]).await
}
