//! GetObjectAcl and PutObjectAcl: an object's ACL is its owner with FULL_CONTROL
//! (`jetgate_protocol::acl`), answered once the object exists.

use jetgate_protocol::acl::ObjectAcl;
use jetgate_protocol::messages::Call;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;
use crate::worker::Worker;

pub async fn object_acl(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<ObjectAcl> = inc.call::<rpc::ObjectAcl>()?.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    let checked = worker.authenticated(inc, &call.signed, &call.op).await?;
    worker
        .store()
        .lookup(&nats_bucket, &call.op.key)
        .await?
        .ok_or_else(S3Error::no_such_key)?;
    crate::acl::answer::<rpc::ObjectAcl>(inc, &call.signed, checked).await
}
