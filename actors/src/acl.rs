//! The answer of GetBucketAcl/GetObjectAcl and PutBucketAcl/PutObjectAcl once the
//! role has checked its target exists (`jetgate_protocol::acl`): the owner with
//! FULL_CONTROL, after a put is held to the owner-only canned ACLs.

use jetgate_protocol::acl::{check_acl_call, AclReply};
use jetgate_protocol::messages::SignedRequest;
use jetgate_protocol::route::Routed;
use jetgate_protocol::{Rpc, S3Error};

use crate::incoming::Incoming;
use jetgate_protocol::messages::Principal;

/// `principal` and `routed` are what [`crate::worker::Worker::authenticated`] found.
pub async fn answer<R: Rpc<Reply = AclReply>>(
    inc: &Incoming,
    signed: &SignedRequest,
    (principal, routed): (Principal, Routed),
) -> Result<(), S3Error> {
    check_acl_call(routed.op, signed)?;
    let owner = principal.owner;
    inc.reply::<R>(&AclReply { owner }, &[]).await
}
