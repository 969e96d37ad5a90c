//! The answer of GetBucketAcl/GetObjectAcl and PutBucketAcl/PutObjectAcl once the
//! role has checked its target exists (`jetgate_protocol::acl`): the owner with
//! FULL_CONTROL, after a put is held to the owner-only canned ACLs.

use jetgate_protocol::acl::{check_put, AclReply};
use jetgate_protocol::messages::{Owner, SignedRequest};
use jetgate_protocol::route::{route_signed, Operation};
use jetgate_protocol::S3Error;

use crate::incoming::Incoming;

pub async fn answer(inc: &Incoming, signed: &SignedRequest, owner: Owner) -> Result<(), S3Error> {
    // The gate already held the call to this endpoint; the signed request says whether
    // it reads or writes.
    if let Ok(routed) = route_signed(signed) {
        if let Operation::Acl { put: true, .. } = routed.op {
            check_put(signed)?;
        }
    }
    inc.reply(&AclReply { owner }, &[]).await
}
