//! GetBucketAcl and PutBucketAcl: a bucket's ACL is its owner (`store::owner`) with FULL_CONTROL
//! (`jetgate_protocol::acl`), answered once the bucket exists.

use jetgate_protocol::messages::{BucketOp, Call};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn bucket_acl(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<BucketOp> = inc.call::<rpc::BucketAcl>()?.msg;
    validate_bucket(&call.op.bucket)?;
    let (mut principal, routed) = worker.authenticated(inc, &call.signed, &call.op).await?;
    // The recorded owner. An unowned bucket is the admin's, an owner jetgate has no
    // name for, so the caller is named, as before owners were recorded.
    if let Some(owner) = worker
        .store()
        .bucket_owner(&bucket_to_nats(&call.op.bucket))
        .await?
    {
        principal.owner = owner;
    }
    crate::acl::answer::<rpc::BucketAcl>(inc, &call.signed, (principal, routed)).await
}
