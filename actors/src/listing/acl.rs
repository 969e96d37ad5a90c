//! GetBucketAcl and PutBucketAcl: a bucket's ACL is its owner with FULL_CONTROL
//! (`jetgate_protocol::acl`), answered once the bucket exists.

use jetgate_protocol::messages::{BucketOp, Call};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn bucket_acl(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<BucketOp> = inc.call()?.msg;
    validate_bucket(&call.op.bucket)?;
    let checked = worker.authenticated(inc, &call.signed, &call.op).await?;
    worker
        .store()
        .require_bucket(&bucket_to_nats(&call.op.bucket))
        .await?;
    crate::acl::answer(inc, &call.signed, checked).await
}
