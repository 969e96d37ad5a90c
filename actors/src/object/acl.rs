//! GetObjectAcl and PutObjectAcl: an object's ACL is its owner with FULL_CONTROL
//! (`jetgate_protocol::acl`); a put is accepted only when it asks for exactly that.

use jetgate_protocol::acl::{check_put, AclReply, ObjectAcl};
use jetgate_protocol::messages::Call;
use jetgate_protocol::route::{route_signed, Operation};
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn object_acl(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<ObjectAcl> = inc.call()?.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    // The gate holds the call to this endpoint, bucket and key; the signed request says
    // whether it reads or writes.
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    worker
        .store()
        .lookup(&nats_bucket, &call.op.key)
        .await?
        .ok_or_else(super::no_such_key)?;
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
