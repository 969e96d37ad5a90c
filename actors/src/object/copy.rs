//! CopyObject: the source's chunks are read and written anew under the destination (NATS
//! chunks belong to one object version), hashing as they pass.

use jetgate_protocol::messages::{Conditions, CopyReply};
use jetgate_protocol::rpc;
use jetgate_protocol::write_condition::WriteCondition;
use jetgate_protocol::S3Error;
use sha2::{Digest as _, Sha256};

use super::conditions::{evaluate, Evaluation};
use super::get::RangeReader;
use crate::incoming::Incoming;
use crate::payload::md5x::Md5Stream;
use crate::payload::ChecksumAlgorithm;
use crate::store::{ChunkWriter, ObjectMeta};
use crate::worker::Worker;

/// The source object of a copy, once its `x-amz-copy-source-if-*` conditions hold
/// (they fail with 412 whichever way they fail).
pub(crate) async fn copy_source(
    worker: &Worker,
    nats_bucket: &str,
    key: &str,
    conditions: &Conditions,
) -> Result<ObjectMeta, S3Error> {
    let src = worker
        .store()
        .lookup(nats_bucket, key)
        .await?
        .ok_or_else(S3Error::no_such_key)?;
    if evaluate(conditions, &src.etag(), src.last_modified_ms() / 1000) != Evaluation::Proceed {
        return Err(S3Error::precondition_failed());
    }
    Ok(src)
}

/// The checksum a copy computes: `x-amz-checksum-algorithm` if the request names one,
/// else the source's algorithm (S3 keeps it across a copy), else none.
fn copy_checksum(
    signed: &jetgate_protocol::SignedRequest,
    src: &ObjectMeta,
) -> Result<Option<ChecksumAlgorithm>, S3Error> {
    match signed.header("x-amz-checksum-algorithm") {
        Some(name) => ChecksumAlgorithm::from_name(name).map(Some).ok_or_else(|| {
            S3Error::invalid_request("Value for x-amz-checksum-algorithm header is invalid.")
        }),
        None => Ok(super::attributes::stored_checksum(src).map(|(a, _)| a)),
    }
}

pub async fn copy(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::CopyObject>()?;
    let call = env.msg;
    let op = &call.op;
    let dst_bucket = super::target(&op.bucket, &op.key)?;
    let src_bucket = super::target(&op.source_bucket, &op.source_key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let src = copy_source(worker, &src_bucket, &op.source_key, &op.source_conditions).await?;
    if src_bucket == dst_bucket && op.source_key == op.key && !op.replace_metadata {
        return Err(S3Error::invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let tags = super::tagging::copy_tags(&call.signed, &src)?;
    let condition = WriteCondition::of_write(&call.signed)?;
    let (existing, expected) =
        super::current_for_write(worker, &dst_bucket, &op.key, &condition).await?;
    let mut writer = ChunkWriter::new(worker.store().clone(), &dst_bucket);
    let mut md5 = Md5Stream::new();
    let mut sha = Sha256::new();
    let mut checksum = copy_checksum(&call.signed, &src)?.map(ChecksumAlgorithm::hasher);
    let copied = async {
        if src.size > 0 {
            let mut reader = RangeReader::new(worker, &src_bucket, &src, 0, src.size - 1);
            while let Some(piece) = reader.next().await? {
                md5.update(piece.clone());
                sha.update(&piece);
                if let Some(c) = checksum.as_mut() {
                    c.update(&piece);
                }
                writer.write_bytes(piece).await?;
                md5.ready().await;
            }
        }
        writer.finish().await.map_err(S3Error::from)
    }
    .await;
    let written = match copied {
        Ok(w) => w,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    let sha: [u8; 32] = sha.finalize().into();
    let etag = hex::encode(md5.finalize().await);
    let mut meta = super::new_meta(&dst_bucket, &op.key, (&written).into(), &sha, &etag);
    if op.replace_metadata {
        meta.set_object_headers(&op.headers);
    } else {
        meta.headers = src.headers.clone();
    }
    super::tagging::set_tags(&mut meta, &tags);
    // The copy's own checksum: whole-object, whatever the source's type was.
    let checksum = checksum.map(|c| (c.algorithm(), c.finalize_base64()));
    if let Some((algo, value)) = &checksum {
        super::attributes::set_checksum(&mut meta, *algo, value);
    }
    if let Err(e) = worker
        .store()
        .put_meta_if(&dst_bucket, &meta, expected)
        .await
    {
        writer.abort().await;
        return Err(e.into());
    }
    if let Some(old) = existing {
        let subject = crate::store::chunk_subject(&dst_bucket, &old.nuid);
        if let Err(e) = worker.store().purge_subject(&dst_bucket, &subject).await {
            tracing::warn!(error = %e, "could not purge replaced chunks; the janitor will");
        }
    }
    let reply = CopyReply {
        etag,
        last_modified_ms: meta.last_modified_ms(),
        checksum: checksum.map(|(a, v)| (a.as_str().to_string(), v)),
    };
    inc.reply::<rpc::CopyObject>(&reply, &[]).await
}
