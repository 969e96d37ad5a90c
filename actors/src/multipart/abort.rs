//! AbortMultipartUpload: the upload record is deleted with compare-and-set (so exactly
//! one of a racing Abort and Complete wins), then its chunks and keys are purged.

use crate::store::unix_ms;
use jetgate_protocol::messages::{Ack, Call};
use jetgate_protocol::multipart::AbortUpload;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::state::{Phase, UploadRecord, Uploads};
use crate::incoming::Incoming;
use crate::store::{chunk_subject, Store};
use crate::worker::Worker;

pub async fn abort(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<AbortUpload> = inc.call::<rpc::AbortUpload>()?.msg;
    let op = &call.op;
    crate::object::target(&op.bucket, &op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let uploads = &super::uploads(worker).await?;
    let (upload, rev) =
        super::upload_for(worker, uploads, &op.upload_id, &op.bucket, &op.key).await?;
    abort_upload(worker.store(), uploads, &upload, rev).await?;
    inc.reply::<rpc::AbortUpload>(&Ack {}, &[]).await
}

/// Aborts one upload if it is still at revision `rev` and no Complete holds it.
pub async fn abort_upload(
    store: &Store,
    uploads: &Uploads,
    upload: &UploadRecord,
    rev: u64,
) -> Result<(), S3Error> {
    if let Phase::Completing { until_ms } = upload.phase {
        if until_ms > unix_ms() {
            return Err(S3Error::no_such_upload());
        }
    }
    if !uploads.delete_upload(&upload.upload_id, rev).await? {
        return Err(S3Error::no_such_upload());
    }
    let nb = &upload.nats_bucket;
    let subject = chunk_subject(nb, &upload.nuid);
    for s in [format!("{subject}.>"), subject] {
        if let Err(e) = store.purge_subject(nb, &s).await {
            tracing::warn!(error = %e, subject = %s, "could not purge an aborted upload's chunks");
        }
    }
    uploads.forget(&upload.upload_id).await?;
    uploads.cursor_moved(&upload.upload_id);
    tracing::debug!(upload_id = %upload.upload_id, "upload aborted");
    Ok(())
}
