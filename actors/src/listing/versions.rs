//! The versioning probes of the listing role. jetgate buckets are never versioned:
//! GetBucketVersioning answers "never enabled" and ListObjectVersions lists the current
//! objects, each as its one version `null`, with S3's key-marker paging.

use jetgate_protocol::attributes::{ListObjectVersions, ListVersionsReply, VersionEntry};
use jetgate_protocol::messages::{Ack, BucketOp, Call};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::worker::Worker;

/// The only version id an object in an unversioned bucket has.
pub const NULL_VERSION: &str = "null";

pub async fn get_versioning(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<BucketOp> = inc.call::<rpc::GetBucketVersioning>()?.msg;
    validate_bucket(&call.op.bucket)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    worker
        .store()
        .require_bucket(&bucket_to_nats(&call.op.bucket))
        .await?;
    inc.reply::<rpc::GetBucketVersioning>(&Ack {}, &[]).await
}

/// Where a page starts: after `key-marker`. With one (`null`) version per key, "after
/// version `null` of the marker key" is the same place; any other version id is unknown.
pub fn start_after(op: &ListObjectVersions) -> Result<Option<String>, S3Error> {
    match (&op.key_marker, op.version_id_marker.as_deref()) {
        (None, Some(_)) => Err(S3Error::invalid_argument(
            "A version-id marker cannot be specified without a key marker.",
        )),
        (_, Some(v)) if v != NULL_VERSION => {
            Err(S3Error::invalid_argument("Invalid version id specified"))
        }
        (marker, _) => Ok(marker.clone()),
    }
}

pub async fn list_versions(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<ListObjectVersions> = inc.call::<rpc::ListObjectVersions>()?.msg;
    let op = &call.op;
    validate_bucket(&op.bucket)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let after = start_after(op)?;
    let nats_bucket = bucket_to_nats(&op.bucket);
    let page = super::page_of(
        worker,
        &nats_bucket,
        &op.prefix,
        op.delimiter.as_deref(),
        after.as_deref(),
        op.max_keys as usize,
    )
    .await?;
    let ended_on_key =
        page.last.is_some() && page.contents.last().map(|e| &e.key) == page.last.as_ref();
    let reply = ListVersionsReply {
        bucket: op.bucket.clone(),
        prefix: op.prefix.clone(),
        delimiter: op.delimiter.clone(),
        max_keys: op.max_keys,
        key_marker: op.key_marker.clone(),
        version_id_marker: op.version_id_marker.clone(),
        is_truncated: page.is_truncated,
        next_key_marker: page.is_truncated.then(|| page.last.clone()).flatten(),
        next_version_id_marker: (page.is_truncated && ended_on_key)
            .then(|| NULL_VERSION.to_string()),
        versions: page
            .contents
            .into_iter()
            .map(|e| VersionEntry {
                key: e.key,
                last_modified_ms: e.last_modified_ms,
                etag: e.etag,
                size: e.size,
            })
            .collect(),
        common_prefixes: page.common_prefixes,
        owner: principal.owner,
    };
    inc.reply::<rpc::ListObjectVersions>(&reply, &[]).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;

    fn op(key: Option<&str>, version: Option<&str>) -> ListObjectVersions {
        ListObjectVersions {
            bucket: "b".into(),
            prefix: String::new(),
            delimiter: None,
            max_keys: 1000,
            key_marker: key.map(str::to_string),
            version_id_marker: version.map(str::to_string),
        }
    }

    #[test]
    fn version_markers() {
        assert_eq!(start_after(&op(None, None)).unwrap(), None);
        assert_eq!(
            start_after(&op(Some("k"), None)).unwrap().as_deref(),
            Some("k")
        );
        assert_eq!(
            start_after(&op(Some("k"), Some("null")))
                .unwrap()
                .as_deref(),
            Some("k")
        );
        let e = start_after(&op(None, Some("null"))).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidArgument);
        let e = start_after(&op(Some("k"), Some("3sL4kqtJlcpXroDTDmJ"))).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidArgument);
    }
}
