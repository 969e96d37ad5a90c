//! CreateMultipartUpload: an upload record, an empty cursor, and the nuid the final
//! object's chunks will be appended under.

use jetgate_protocol::messages::Call;
use jetgate_protocol::multipart::{CreateUpload, CreateUploadReply};
use jetgate_protocol::{S3Error, S3ErrorCode};

use super::state::{now_ms, Phase, UploadRecord};
use crate::incoming::Incoming;
use crate::payload::ChecksumAlgorithm;
use crate::store::stream_name;
use crate::worker::Worker;

pub async fn create(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<CreateUpload> = inc.call()?.msg;
    let op = &call.op;
    let nats_bucket = crate::object::target(&op.bucket, &op.key)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let tags = crate::object::tagging::header_tags(&call.signed)?;
    if let Some(a) = &op.checksum_algorithm {
        if ChecksumAlgorithm::from_name(a).is_none() {
            return Err(S3Error::new(
                S3ErrorCode::InvalidRequest,
                "Value for x-amz-checksum-algorithm header is invalid.",
            ));
        }
    }
    if worker
        .store()
        .js
        .get_stream(stream_name(&nats_bucket))
        .await
        .is_err()
    {
        return Err(S3Error::new(
            S3ErrorCode::NoSuchBucket,
            "The specified bucket does not exist",
        ));
    }
    let uploads = super::uploads(worker).await?;
    let rec = UploadRecord {
        upload_id: nuid::next().to_string(),
        bucket: op.bucket.clone(),
        nats_bucket,
        key: op.key.clone(),
        nuid: nuid::next().to_string(),
        created_ms: now_ms(),
        headers: op.headers.clone(),
        checksum_algorithm: op.checksum_algorithm.clone(),
        owner: principal.owner,
        phase: Phase::Active,
        tags,
    };
    uploads.create_upload(&rec).await?;
    tracing::debug!(upload_id = %rec.upload_id, key = %rec.key, "upload created");
    let reply = CreateUploadReply {
        bucket: rec.bucket,
        key: rec.key,
        upload_id: rec.upload_id,
        checksum_algorithm: rec.checksum_algorithm,
    };
    inc.reply(&reply, &[]).await
}
