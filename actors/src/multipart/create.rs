//! CreateMultipartUpload: an upload record, an empty cursor, and the nuid the final
//! object's chunks will be appended under.

use crate::store::unix_ms;
use jetgate_protocol::messages::Call;
use jetgate_protocol::multipart::{CreateUpload, CreateUploadReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::state::{Phase, UploadRecord};
use crate::incoming::Incoming;
use crate::payload::ChecksumAlgorithm;
use crate::store::stream_name;
use crate::worker::Worker;

pub async fn create(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<CreateUpload> = inc.call::<rpc::CreateUpload>()?.msg;
    let op = &call.op;
    let nats_bucket = crate::object::target(&op.bucket, &op.key)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let tags = crate::object::tagging::header_tags(&call.signed)?;
    // What was signed, not the edge's copy of it (`op.checksum_algorithm` is a hint).
    let algorithm = match call.signed.header("x-amz-checksum-algorithm") {
        Some(a) => Some(ChecksumAlgorithm::from_name(a).ok_or_else(|| {
            S3Error::invalid_request("Value for x-amz-checksum-algorithm header is invalid.")
        })?),
        None => None,
    };
    let full_object = full_object(algorithm, call.signed.header("x-amz-checksum-type"))?;
    if worker
        .store()
        .js
        .get_stream(stream_name(&nats_bucket))
        .await
        .is_err()
    {
        return Err(S3Error::no_such_bucket());
    }
    let uploads = &super::uploads(worker).await?;
    let rec = UploadRecord {
        upload_id: nuid::next().to_string(),
        bucket: op.bucket.clone(),
        nats_bucket,
        key: op.key.clone(),
        nuid: nuid::next().to_string(),
        created_ms: unix_ms(),
        headers: op.headers.clone(),
        checksum_algorithm: algorithm.map(|a| a.as_str().to_string()),
        full_object,
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
        checksum_type: rec.checksum_algorithm.is_some().then(|| {
            if full_object {
                "FULL_OBJECT"
            } else {
                "COMPOSITE"
            }
            .to_string()
        }),
        checksum_algorithm: rec.checksum_algorithm,
    };
    inc.reply::<rpc::CreateUpload>(&reply, &[]).await
}

/// Whether an upload's checksum is FULL_OBJECT, from its algorithm and the signed
/// `x-amz-checksum-type`, as S3 decides: CRC64NVME is full-object only, the other CRCs
/// default to COMPOSITE, SHA and the rest are COMPOSITE only, and a type without an
/// algorithm is an error.
fn full_object(algo: Option<ChecksumAlgorithm>, kind: Option<&str>) -> Result<bool, S3Error> {
    let Some(algo) = algo else {
        return match kind {
            None => Ok(false),
            Some(_) => Err(S3Error::invalid_request(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            )),
        };
    };
    let combinable = crate::payload::crc_combine::combinable(algo);
    match kind.map(|k| k.trim().to_ascii_uppercase()).as_deref() {
        None => Ok(algo == ChecksumAlgorithm::Crc64Nvme),
        Some("FULL_OBJECT") if combinable => Ok(true),
        Some("COMPOSITE") if algo != ChecksumAlgorithm::Crc64Nvme => Ok(false),
        Some("FULL_OBJECT" | "COMPOSITE") => Err(S3Error::invalid_request(format!(
            "The {} checksum algorithm does not support the {} checksum type.",
            algo.as_str(),
            kind.unwrap_or_default().trim()
        ))),
        Some(_) => Err(S3Error::invalid_request(
            "Value for x-amz-checksum-type header is invalid.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChecksumAlgorithm::*;

    #[test]
    fn checksum_type_as_s3_decides() {
        assert_eq!(full_object(None, None).ok(), Some(false));
        assert!(full_object(None, Some("FULL_OBJECT")).is_err());
        assert_eq!(full_object(Some(Crc64Nvme), None).ok(), Some(true));
        assert_eq!(full_object(Some(Crc32), None).ok(), Some(false));
        assert_eq!(
            full_object(Some(Crc32c), Some("full_object")).ok(),
            Some(true)
        );
        assert_eq!(
            full_object(Some(Crc32), Some("COMPOSITE")).ok(),
            Some(false)
        );
        assert!(full_object(Some(Crc64Nvme), Some("COMPOSITE")).is_err());
        assert!(full_object(Some(Sha256), Some("FULL_OBJECT")).is_err());
        assert_eq!(full_object(Some(Sha256), None).ok(), Some(false));
        assert!(full_object(Some(Crc32), Some("BOTH")).is_err());
    }
}
