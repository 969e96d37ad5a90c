//! GetBucketAcl and PutBucketAcl: a bucket's ACL is its owner with FULL_CONTROL
//! (`jetgate_protocol::acl`); a put is accepted only when it asks for exactly that.

use jetgate_protocol::acl::{check_put, AclReply};
use jetgate_protocol::messages::{BucketOp, Call};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::route::{route_signed, Operation};
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn bucket_acl(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<BucketOp> = inc.call()?.msg;
    validate_bucket(&call.op.bucket)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    super::require_bucket(worker, &bucket_to_nats(&call.op.bucket)).await?;
    if let Ok(routed) = route_signed(&call.signed) {
        if let Operation::Acl { put: true, .. } = routed.op {
            check_put(&call.signed)?;
        }
    }
    inc.reply(
        &AclReply {
            owner: principal.owner,
        },
        &[],
    )
    .await
}
