//! DeleteBucket: only an empty bucket, and never with a write acknowledged after the
//! emptiness check (see `store::closing` for how the stream is closed to writers first).

use jetgate_protocol::messages::Ack;
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::store::{closed_for, CLOSING_STALE};
use crate::worker::Worker;

/// Tries before a bucket that keeps being written to answers OperationAborted.
const ATTEMPTS: usize = 3;

pub async fn delete_bucket(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call = inc.call::<rpc::DeleteBucket>()?.msg;
    validate_bucket(&call.op.bucket)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let nats_bucket = bucket_to_nats(&call.op.bucket);
    let store = worker.store();
    for _ in 0..ATTEMPTS {
        // `bucket_stream` answers NoSuchBucket itself.
        let info = store
            .bucket_stream(&nats_bucket)
            .await?
            .cached_info()
            .clone();
        match closed_for(&info.config) {
            Some(age) if age < CLOSING_STALE => return Err(S3Error::operation_aborted()),
            Some(_) => {
                store.reopen_bucket(&nats_bucket).await?;
                continue;
            }
            None => {}
        }
        // The emptiness check (a consumer created after this read) sees the stream at
        // least up to `covered`, and stops at the first live object.
        let covered = info.state.last_sequence;
        if store.has_objects(&nats_bucket).await? {
            return Err(S3Error::bucket_not_empty());
        }
        let Some(sentinel) = store.close_bucket(&nats_bucket).await? else {
            // Another DeleteBucket closed it since the read above.
            return Err(S3Error::operation_aborted());
        };
        if sentinel == covered + 1 {
            store.delete_bucket_stream(&nats_bucket).await?;
            tracing::info!(bucket = %call.op.bucket, "bucket deleted");
            return inc.reply::<rpc::DeleteBucket>(&Ack {}, &[]).await;
        }
        // Something was written after the check: look again with the bucket open.
        tracing::info!(bucket = %call.op.bucket, covered, sentinel, "bucket written to during DeleteBucket");
        store.reopen_bucket(&nats_bucket).await?;
    }
    Err(S3Error::operation_aborted())
}
