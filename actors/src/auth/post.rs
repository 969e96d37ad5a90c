//! POST Object policies: the signature over the base64 policy (SigV4 or SigV2) and its
//! expiration. The conditions are the object role's business (see `post_policy`).

use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;
use subtle::ConstantTimeEq;

use super::{credential, principal, sigv2, sigv4};
use crate::incoming::Incoming;
use crate::post_policy::{check_expiration, decode, field};
use crate::worker::Worker;

fn missing(name: &str) -> S3Error {
    S3Error::invalid_argument(format!(
        "Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields."
    ))
}

/// `(access key, scope)` of a SigV4 form's `x-amz-credential`, held to what a signed
/// header's credential is: its date is the form's `x-amz-date` day, its region this
/// gateway's, its service `s3` (a key signed for another service or day is not a
/// signature over this form).
fn form_scope(credential: &str, amz_date: &str, region: &str) -> Result<(String, String), S3Error> {
    let invalid = |detail: &str| {
        S3Error::invalid_argument(format!("Invalid credential in x-amz-credential: {detail}"))
    };
    let c = sigv4::parse_credential(credential).ok_or_else(|| invalid("malformed"))?;
    if c.service != "s3" {
        return Err(invalid(&format!(
            "incorrect service \"{}\". This endpoint belongs to \"s3\".",
            c.service
        )));
    }
    if c.region != region {
        return Err(S3Error::invalid_argument(format!(
            "The region '{}' is wrong; expecting '{region}'",
            c.region
        )));
    }
    if amz_date.len() != 16 || !amz_date.starts_with(&c.date) {
        return Err(invalid("its date is not the day of x-amz-date"));
    }
    let scope = format!("{}/{}/{}/aws4_request", c.date, c.region, c.service);
    Ok((c.access_key, scope))
}

pub async fn verify_post(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let req = inc.message::<rpc::AuthPostPolicy>()?.msg;
    let fields = &req.fields;
    let Some(policy) = field(fields, "policy") else {
        // Without a policy the form would be an anonymous upload, which we never allow.
        return Err(S3Error::access_denied_with(
            "Access Denied: anonymous uploads are not allowed",
        ));
    };
    let cred = if let Some(signature) = field(fields, "x-amz-signature") {
        let algorithm =
            field(fields, "x-amz-algorithm").ok_or_else(|| missing("x-amz-algorithm"))?;
        if algorithm != "AWS4-HMAC-SHA256" {
            return Err(S3Error::invalid_argument(
                "Only AWS4-HMAC-SHA256 is supported for x-amz-algorithm",
            ));
        }
        let credential_field =
            field(fields, "x-amz-credential").ok_or_else(|| missing("x-amz-credential"))?;
        let amz_date = field(fields, "x-amz-date").ok_or_else(|| missing("x-amz-date"))?;
        let (access_key, scope) = form_scope(credential_field, amz_date, &worker.cfg().region)?;
        let cred = credential(worker, &access_key).await?;
        let key = sigv4::signing_key_for_scope(&cred.secret_key, &scope)?;
        let expected = sigv4::sign_string(&key, policy);
        if !sigv4::signatures_match(&expected, signature) {
            return Err(S3Error::signature_does_not_match());
        }
        cred
    } else if let (Some(access_key), Some(signature)) =
        (field(fields, "awsaccesskeyid"), field(fields, "signature"))
    {
        let cred = credential(worker, access_key).await?;
        let expected = sigv2::sign(&cred.secret_key, policy);
        if !bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
            return Err(S3Error::signature_does_not_match());
        }
        cred
    } else {
        return Err(missing("x-amz-signature"));
    };
    let parsed = decode(policy)?;
    check_expiration(&parsed, time::OffsetDateTime::now_utc())?;
    tracing::debug!(access_key = %cred.access_key, "POST policy signature verified");
    inc.reply::<rpc::AuthPostPolicy>(&principal(cred, None), &[])
        .await
}

#[cfg(test)]
mod tests {
    use super::form_scope;

    const AMZ_DATE: &str = "20261203T070000Z";

    #[test]
    fn form_scope_is_checked_like_a_header_credential() {
        let ok = form_scope(
            "AK/20261203/us-east-1/s3/aws4_request",
            AMZ_DATE,
            "us-east-1",
        );
        assert_eq!(
            ok.ok(),
            Some(("AK".into(), "20261203/us-east-1/s3/aws4_request".into()))
        );
        for (cred, date, why) in [
            (
                "AK/20261203/us-east-1/iam/aws4_request",
                AMZ_DATE,
                "service",
            ),
            ("AK/20261203/eu-west-1/s3/aws4_request", AMZ_DATE, "region"),
            ("AK/20261202/us-east-1/s3/aws4_request", AMZ_DATE, "day"),
            (
                "AK/20261203/us-east-1/s3/aws4_request",
                "20261203",
                "x-amz-date",
            ),
            ("AK/20261203/us-east-1/s3", AMZ_DATE, "terminator"),
            (
                "/20261203/us-east-1/s3/aws4_request",
                AMZ_DATE,
                "access key",
            ),
        ] {
            let e = form_scope(cred, date, "us-east-1").expect_err(why);
            assert_eq!(e.code.as_str(), "InvalidArgument", "{why}");
        }
    }
}
