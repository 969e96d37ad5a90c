//! POST Object policies: the signature over the base64 policy (SigV4 or SigV2) and its
//! expiration. The conditions are the object role's business (see `post_policy`).

use jetgate_protocol::post::VerifyPostPolicy;
use jetgate_protocol::{S3Error, S3ErrorCode};
use subtle::ConstantTimeEq;

use super::{credential, principal, sigv2, sigv4};
use crate::incoming::Incoming;
use crate::post_policy::{check_expiration, decode, field};
use crate::worker::Worker;

fn mismatch() -> S3Error {
    S3Error::new(
        S3ErrorCode::SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
}

fn missing(name: &str) -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidArgument,
        format!("Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."),
    )
}

pub async fn verify_post(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let req = inc.decode::<VerifyPostPolicy>()?.msg;
    let fields = &req.fields;
    let Some(policy) = field(fields, "policy") else {
        // Without a policy the form would be an anonymous upload, which we never allow.
        return Err(S3Error::new(
            S3ErrorCode::AccessDenied,
            "Access Denied: anonymous uploads are not allowed",
        ));
    };
    let cred = if let Some(signature) = field(fields, "x-amz-signature") {
        let algorithm =
            field(fields, "x-amz-algorithm").ok_or_else(|| missing("x-amz-algorithm"))?;
        if algorithm != "AWS4-HMAC-SHA256" {
            return Err(S3Error::new(
                S3ErrorCode::InvalidArgument,
                "Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm",
            ));
        }
        let credential_field =
            field(fields, "x-amz-credential").ok_or_else(|| missing("x-amz-credential"))?;
        let (access_key, scope) = credential_field.split_once('/').ok_or_else(|| {
            S3Error::new(
                S3ErrorCode::InvalidArgument,
                "Invalid credential in x-amz-credential",
            )
        })?;
        let region = scope.split('/').nth(1).unwrap_or_default();
        if region != worker.cfg().region {
            return Err(S3Error::new(
                S3ErrorCode::InvalidArgument,
                format!(
                    "The region '{region}' is wrong; expecting '{}'",
                    worker.cfg().region
                ),
            ));
        }
        let cred = credential(worker, access_key).await?;
        let key = sigv4::signing_key_for_scope(&cred.secret_key, scope)?;
        let expected = sigv4::sign_string(&key, policy);
        if !sigv4::signatures_match(&expected, signature) {
            return Err(mismatch());
        }
        cred
    } else if let (Some(access_key), Some(signature)) =
        (field(fields, "awsaccesskeyid"), field(fields, "signature"))
    {
        let cred = credential(worker, access_key).await?;
        let expected = sigv2::sign(&cred.secret_key, policy);
        if !bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
            return Err(mismatch());
        }
        cred
    } else {
        return Err(missing("x-amz-signature"));
    };
    let parsed = decode(policy)?;
    check_expiration(&parsed, time::OffsetDateTime::now_utc())?;
    tracing::debug!(access_key = %cred.access_key, "POST policy signature verified");
    inc.reply(&principal(cred, None), &[]).await
}
