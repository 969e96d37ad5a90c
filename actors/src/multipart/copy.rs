//! UploadPartCopy: a part made of (a range of) an existing object, read chunk by chunk
//! and written like an uploaded part (in place when it is its turn, else staged).

use jetgate_protocol::messages::Call;
use jetgate_protocol::multipart::{CopyPartReply, UploadPartCopy, MAX_PART_NUMBER};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::part::{write_part, Source};
use super::state::Phase;
use crate::incoming::Incoming;
use crate::object::RangeReader;
use crate::payload::ChecksumAlgorithm;
use crate::worker::Worker;

pub async fn upload_part_copy(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<UploadPartCopy> = inc.call::<rpc::UploadPartCopy>()?.msg;
    let op = &call.op;
    if !(1..=MAX_PART_NUMBER).contains(&op.part_number) {
        return Err(S3Error::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        ));
    }
    crate::object::target(&op.bucket, &op.key)?;
    let src_bucket = crate::object::target(&op.source_bucket, &op.source_key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let uploads = &super::uploads(worker).await?;
    let (upload, _) =
        super::upload_for(worker, uploads, &op.upload_id, &op.bucket, &op.key).await?;
    if upload.phase != Phase::Active {
        return Err(S3Error::no_such_upload());
    }
    let src =
        crate::object::copy_source(worker, &src_bucket, &op.source_key, &op.source_conditions)
            .await?;
    let (first, last) = match op.range {
        Some((a, b)) if b < src.size => (a, b),
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Range specified is not valid for source object of size",
            ))
        }
        None => (0, src.size.saturating_sub(1)),
    };
    let reader =
        (src.size > 0).then(|| Box::new(RangeReader::new(worker, &src_bucket, &src, first, last)));
    let algorithm = upload
        .checksum_algorithm
        .as_deref()
        .and_then(ChecksumAlgorithm::from_name);
    let rec = write_part(
        worker,
        uploads,
        &upload,
        op.part_number,
        Source::Copy(reader, algorithm),
    )
    .await?;
    let reply = CopyPartReply {
        etag: rec.etag,
        last_modified_ms: rec.last_modified_ms,
        checksum: rec.checksum.and_then(|(header, value)| {
            ChecksumAlgorithm::from_header_name(&header).map(|a| (a.as_str().to_string(), value))
        }),
    };
    inc.reply::<rpc::UploadPartCopy>(&reply, &[]).await
}
