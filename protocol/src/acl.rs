//! ACLs as far as jetgate can honour them. Access is decided by the key's policy, not by
//! grants, so every bucket and object has one ACL: its owner with FULL_CONTROL. Reads
//! (GetBucketAcl, GetObjectAcl) show it; the canned ACLs that mean exactly that
//! (`private`, `bucket-owner-full-control`) are accepted wherever S3 takes them; any
//! other grant (`public-read`, `x-amz-grant-*`, an ACL document) is `501
//! NotImplemented`, never a silent success that leaves an object less public than asked
//! or a write that ignores what was asked.

use serde::{Deserialize, Serialize};

use crate::messages::{Owner, SignedRequest};
use crate::route::{MultipartAction, Operation};
use crate::S3Error;

/// GetObjectAcl and PutObjectAcl (bucket ACLs use `BucketOp`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectAcl {
    pub bucket: String,
    pub key: String,
}

/// The ACL of a bucket or object: its owner, with FULL_CONTROL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AclReply {
    pub owner: Owner,
}

/// Canned ACLs that grant nothing beyond the owner's full control.
const HONOURED: &[&str] = &["private", "bucket-owner-full-control"];

/// Refuses a request that asks for grants jetgate cannot honour: on an operation that
/// takes them (writes that create an object, upload or bucket), an `x-amz-acl` other
/// than the owner-only ones, or any `x-amz-grant-*` header. Never ignored.
pub fn refuse_grants(op: Operation, signed: &SignedRequest) -> Result<(), S3Error> {
    let takes_grants = matches!(
        op,
        Operation::PutObject
            | Operation::CopyObject
            | Operation::CreateBucket
            | Operation::Multipart(MultipartAction::CreateMultipartUpload)
    );
    if takes_grants {
        owner_only(signed)?;
    }
    Ok(())
}

/// A canned ACL jetgate honours (it grants nothing beyond the owner's full control):
/// `x-amz-acl`, or the `acl` field of a browser POST form.
pub fn check_canned(acl: &str) -> Result<(), S3Error> {
    if HONOURED.contains(&acl.trim()) {
        Ok(())
    } else {
        Err(S3Error::not_implemented(&format!(
            "The canned ACL '{}'",
            acl.trim()
        )))
    }
}

/// An `x-amz-acl` that grants nothing beyond the owner's full control, and no
/// `x-amz-grant-*` header.
fn owner_only(signed: &SignedRequest) -> Result<(), S3Error> {
    if let Some(acl) = signed.header("x-amz-acl") {
        check_canned(acl)?;
    }
    if let Some((name, _)) = signed
        .headers
        .iter()
        .find(|(n, _)| n.starts_with("x-amz-grant-"))
    {
        return Err(S3Error::not_implemented(&format!("The {name} header")));
    }
    Ok(())
}

/// The answer to an ACL call once its target exists: for PutBucketAcl / PutObjectAcl
/// only a canned owner-only ACL in `x-amz-acl` and no body (an `AccessControlPolicy`
/// document can name any grantee); reads always.
pub fn check_acl_call(op: Operation, signed: &SignedRequest) -> Result<(), S3Error> {
    if !matches!(op, Operation::Acl { put: true, .. }) {
        return Ok(());
    }
    owner_only(signed)?;
    let has_body = signed
        .header("content-length")
        .is_some_and(|l| l.trim() != "0")
        || signed.header("transfer-encoding").is_some();
    if has_body || signed.header("x-amz-acl").is_none() {
        return Err(S3Error::not_implemented(
            "An ACL document in the request body",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::S3ErrorCode;

    const PUT: Operation = Operation::PutObject;
    const PUT_ACL: Operation = Operation::Acl {
        object: true,
        put: true,
    };

    fn req(headers: &[(&str, &str)]) -> SignedRequest {
        SignedRequest::put_with(headers)
    }

    #[test]
    fn only_owner_only_grants_pass() {
        assert!(refuse_grants(PUT, &req(&[])).is_ok());
        // Operations that take no grants ignore the headers, as S3 does.
        assert!(refuse_grants(Operation::GetObject, &req(&[("x-amz-acl", "public-read")])).is_ok());
        assert!(refuse_grants(PUT, &req(&[("x-amz-acl", "private")])).is_ok());
        assert!(refuse_grants(PUT, &req(&[("x-amz-acl", "bucket-owner-full-control")])).is_ok());
        for bad in [
            ("x-amz-acl", "public-read"),
            ("x-amz-acl", "authenticated-read"),
            (
                "x-amz-grant-read",
                "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
            ),
        ] {
            let e = refuse_grants(PUT, &req(&[bad])).expect_err("refused");
            assert_eq!(e.code, S3ErrorCode::NotImplemented, "{bad:?}");
        }
    }

    #[test]
    fn put_acl_takes_a_canned_header_and_no_document() {
        assert!(check_acl_call(
            PUT_ACL,
            &req(&[("x-amz-acl", "private"), ("content-length", "0")])
        )
        .is_ok());
        assert!(check_acl_call(PUT_ACL, &req(&[])).is_err());
        assert!(check_acl_call(
            PUT_ACL,
            &req(&[("x-amz-acl", "private"), ("content-length", "120")])
        )
        .is_err());
        assert!(check_acl_call(PUT_ACL, &req(&[("x-amz-acl", "public-read-write")])).is_err());
        let get_acl = Operation::Acl {
            object: true,
            put: false,
        };
        assert!(check_acl_call(get_acl, &req(&[])).is_ok());
    }
}
