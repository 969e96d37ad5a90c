//! Listing role: buckets (list, create, delete, head, location) and object listings.

mod acl;
mod buckets;
mod config;
mod delete_bucket;
mod page;
mod tagging;
mod versions;

pub use acl::bucket_acl;
pub use buckets::list_buckets;
pub use config::bucket_config;
pub use delete_bucket::delete_bucket;
pub use page::{paginate, Page};
pub use tagging::bucket_tagging;
pub use versions::{get_versioning, list_versions};

use base64::Engine;
use jetgate_protocol::messages::{Ack, ListObjectsReply, LocationReply, ObjectEntry};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;
use serde::Deserialize;

use crate::body::read_small_verified;
use crate::incoming::Incoming;
use crate::store::{owns, Created};
use crate::worker::Worker;

#[derive(Debug, Deserialize)]
struct CreateBucketConfiguration {
    #[serde(rename = "LocationConstraint", default)]
    location: Option<String>,
}

pub async fn create_bucket(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::CreateBucket>()?;
    let call = &env.msg;
    validate_bucket(&call.op.bucket)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let xml = read_small_verified(worker, inc, &principal, &env, 64 * 1024).await?;
    if !xml.iter().all(u8::is_ascii_whitespace) {
        let doc: CreateBucketConfiguration = std::str::from_utf8(&xml)
            .ok()
            .and_then(|t| quick_xml::de::from_str(t).ok())
            .ok_or_else(S3Error::malformed_xml)?;
        let region = &worker.cfg().region;
        match doc.location.as_deref().map(str::trim) {
            None | Some("") => {}
            Some(l) if l == region => {}
            Some(l) => {
                return Err(S3Error::illegal_location_constraint_exception(format!(
                    "The {l} location constraint is incompatible for the region specific endpoint this request was sent to."
                )))
            }
        }
    }
    let nats_bucket = bucket_to_nats(&call.op.bucket);
    let created = worker
        .store()
        .create_bucket(
            &nats_bucket,
            format!("S3 bucket {}", call.op.bucket),
            worker.cfg().replicas,
            &principal.owner,
        )
        .await?;
    if let Created::Existing(owner) = created {
        if !owns(&principal, owner.as_ref()) {
            return Err(S3Error::bucket_already_exists());
        }
        // AWS's legacy answer in us-east-1: 200 for the owner, and nothing in the
        // bucket changes.
        if worker.cfg().region != "us-east-1" {
            return Err(S3Error::bucket_already_owned_by_you());
        }
        return inc.reply::<rpc::CreateBucket>(&Ack {}, &[]).await;
    }
    tracing::info!(bucket = %call.op.bucket, "bucket created");
    inc.reply::<rpc::CreateBucket>(&Ack {}, &[]).await
}

pub async fn head_bucket(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::HeadBucket>()?.msg;
    validate_bucket(&call.op.bucket)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    worker
        .store()
        .require_bucket(&bucket_to_nats(&call.op.bucket))
        .await?;
    inc.reply::<rpc::HeadBucket>(&Ack {}, &[]).await
}

pub async fn bucket_location(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::GetBucketLocation>()?.msg;
    validate_bucket(&call.op.bucket)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    worker
        .store()
        .require_bucket(&bucket_to_nats(&call.op.bucket))
        .await?;
    let region = &worker.cfg().region;
    let location = if region == "us-east-1" {
        String::new()
    } else {
        region.clone()
    };
    inc.reply::<rpc::GetBucketLocation>(&LocationReply { location }, &[])
        .await
}

/// Opaque v2 continuation token: the key or prefix the previous page ended at.
fn encode_token(after: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(after)
}

fn decode_token(token: &str) -> Result<String, S3Error> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| S3Error::invalid_argument("The continuation token provided is incorrect"))
}

/// Every object of a bucket as a listing entry, sorted by key: the full scan an index
/// that cannot answer falls back to.
async fn sorted_entries(worker: &Worker, nats_bucket: &str) -> Result<Vec<ObjectEntry>, S3Error> {
    let mut entries: Vec<ObjectEntry> = worker
        .store()
        .list_metas(nats_bucket)
        .await?
        .into_iter()
        .map(|m| ObjectEntry {
            last_modified_ms: m.last_modified_ms(),
            etag: m.etag(),
            size: m.size,
            owner: None,
            key: m.name,
        })
        .collect();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(entries)
}

/// One page of a bucket's keys: from the live index, or, when it cannot answer
/// consistently yet (building, evicted, over budget), from a read of the whole bucket.
/// `NoSuchBucket` when the bucket does not exist.
async fn page_of(
    worker: &Worker,
    nats_bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max_keys: usize,
) -> Result<Page, S3Error> {
    let store = worker.store();
    if let Some(page) = store
        .index_page(nats_bucket, prefix, delimiter, after, max_keys)
        .await?
    {
        return Ok(page);
    }
    let entries = sorted_entries(worker, nats_bucket).await?;
    Ok(paginate(&entries, prefix, delimiter, after, max_keys))
}

pub async fn list_objects(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::ListObjects>()?.msg;
    let op = &call.op;
    validate_bucket(&op.bucket)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let nats_bucket = bucket_to_nats(&op.bucket);
    let after = match (op.v2, &op.continuation_token) {
        (true, Some(t)) if !t.is_empty() => Some(decode_token(t)?),
        (true, _) => op.start_after.clone(),
        (false, _) => op.marker.clone(),
    };
    let mut page = page_of(
        worker,
        &nats_bucket,
        &op.prefix,
        op.delimiter.as_deref(),
        after.as_deref(),
        op.max_keys as usize,
    )
    .await?;
    for e in &mut page.contents {
        e.owner = Some(principal.owner.clone());
    }
    let next = page.is_truncated.then(|| page.last.clone()).flatten();
    let reply = ListObjectsReply {
        v2: op.v2,
        bucket: op.bucket.clone(),
        prefix: op.prefix.clone(),
        delimiter: op.delimiter.clone(),
        max_keys: op.max_keys,
        is_truncated: page.is_truncated,
        contents: page.contents,
        common_prefixes: page.common_prefixes,
        marker: op.marker.clone(),
        next_marker: if op.v2 { None } else { next.clone() },
        continuation_token: op.continuation_token.clone(),
        next_continuation_token: if op.v2 {
            next.as_deref().map(encode_token)
        } else {
            None
        },
        start_after: op.start_after.clone(),
    };
    inc.reply::<rpc::ListObjects>(&reply, &[]).await
}
