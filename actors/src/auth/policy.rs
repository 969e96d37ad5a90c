//! Per-key policy enforcement: after the signature checks out, the role serving the
//! request compares what the request does with the policy the auth verifier returned.

use jetgate_protocol::messages::Principal;
use jetgate_protocol::policy::{accesses, Access};
use jetgate_protocol::route::Routed;
use jetgate_protocol::{S3Error, S3ErrorCode};

/// `AccessDenied` unless the principal's policy allows every access of the request.
pub fn enforce(principal: &Principal, routed: &Routed, query: &str) -> Result<(), S3Error> {
    let Some(policy) = &principal.policy else {
        return Ok(());
    };
    if policy.is_unrestricted() {
        return Ok(());
    }
    accesses(routed, query)
        .iter()
        .try_for_each(|a| enforce_access(principal, a))
}

/// `AccessDenied` unless the principal's policy allows `a` (for requests whose target
/// is not in the request line, such as a browser POST's form `key`).
pub fn enforce_access(principal: &Principal, a: &Access) -> Result<(), S3Error> {
    let Some(policy) = &principal.policy else {
        return Ok(());
    };
    if policy.allows(a) {
        return Ok(());
    }
    tracing::info!(
        access_key = %principal.access_key,
        op = ?a.op,
        bucket = a.bucket.as_deref().unwrap_or(""),
        "denied by the key's policy"
    );
    Err(S3Error::new(S3ErrorCode::AccessDenied, "Access Denied"))
}
