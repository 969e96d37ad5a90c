//! Per-key policy enforcement: after the signature checks out, the role serving the
//! request compares what the request does with the policy the auth verifier returned.
//! A key with a policy uses the buckets its policy names and those its owner owns; the
//! owner is read from the bucket's stream on every such request (not cached), so a
//! bucket deleted and re-created by another owner is never still treated as the old
//! owner's.

use jetgate_protocol::messages::Principal;
use jetgate_protocol::names::bucket_to_nats;
use jetgate_protocol::policy::{Access, Policy};
use jetgate_protocol::route::{Operation, Routed};
use jetgate_protocol::S3Error;

use crate::store::{owns, Store};

/// `AccessDenied` unless the principal's policy allows every access of the request.
pub async fn enforce(store: &Store, principal: &Principal, routed: &Routed) -> Result<(), S3Error> {
    let creating = routed.op == Operation::CreateBucket;
    for a in routed.accesses() {
        enforce_access(store, principal, &a, creating).await?;
    }
    Ok(())
}

/// `AccessDenied` unless the principal's policy allows `a` (also for requests whose
/// target is not in the request line, such as a browser POST's form `key`).
/// `creating`: `a.bucket` is being created, so its creator will own it (CreateBucket
/// itself answers `BucketAlreadyExists` if someone else got there first).
pub async fn enforce_access(
    store: &Store,
    principal: &Principal,
    a: &Access,
    creating: bool,
) -> Result<(), S3Error> {
    let Some(policy) = principal.policy.as_ref().filter(|p| !p.is_unrestricted()) else {
        return Ok(());
    };
    let owned = match &a.bucket {
        // CreateBucket answers by the owner it finds (BucketAlreadyExists to anyone but
        // the owner, as S3 does for a name taken by another account).
        Some(_) if creating => true,
        Some(b) if !policy.names_bucket(b) => owned(store, principal, b).await?,
        _ => false,
    };
    if policy.allows(a, owned) {
        return Ok(());
    }
    deny(principal, policy, a)
}

/// Whether the principal's owner owns `bucket`; `NoSuchBucket` when there is no such
/// bucket.
async fn owned(store: &Store, principal: &Principal, bucket: &str) -> Result<bool, S3Error> {
    let owner = store.bucket_owner(&bucket_to_nats(bucket)).await?;
    Ok(owns(principal, owner.as_ref()))
}

fn deny(principal: &Principal, policy: &Policy, a: &Access) -> Result<(), S3Error> {
    tracing::info!(
        access_key = %principal.access_key,
        op = ?a.op,
        bucket = a.bucket.as_deref().unwrap_or(""),
        bucket_named = a.bucket.as_deref().is_some_and(|b| policy.names_bucket(b)),
        "denied by the key's policy"
    );
    Err(S3Error::access_denied())
}
