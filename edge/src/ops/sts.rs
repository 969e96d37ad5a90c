//! STS AssumeRoleWithWebIdentity: `POST /` with an unsigned form body. The edge bounds
//! the body and passes it to the auth role, which verifies the token and mints the
//! credentials; answers and errors are STS XML (boto3's `sts` client parses
//! `ErrorResponse/Error/Code`, not S3's `Error/Code`).

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::sts::{AssumeRoleWithWebIdentity, StsCredentials, MAX_FORM_BYTES};
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode::iso8601;
use crate::encode::xml::elem;
use crate::EdgeState;

const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Always answers: errors become STS error documents here, not S3 ones.
pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    Ok(match assume(state, ctx, r).await {
        Ok(c) => xml(StatusCode::OK, result_xml(&c, &ctx.request_id)),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            xml(status, error_xml(&e, &ctx.request_id))
        }
    })
}

async fn assume(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<StsCredentials, S3Error> {
    // Bounded in size (MAX_FORM_BYTES, an STS form is a few KiB) and in time: a client
    // that stops sending is not waited for. Not an object body: nothing streams on.
    #[allow(clippy::disallowed_methods)]
    let body = tokio::time::timeout(
        state.cfg.client_body_idle,
        axum::body::to_bytes(r.body, MAX_FORM_BYTES),
    )
    .await
    .map_err(|_| S3Error::request_timeout())?
    .map_err(|_| S3Error::invalid_parameter_value("The request body is too large"))?;
    let form = String::from_utf8(body.to_vec())
        .map_err(|_| S3Error::invalid_parameter_value("The request body is not UTF-8"))?;
    let op = AssumeRoleWithWebIdentity { form };
    ask::<rpc::AuthSts>(state, ctx, r.signed, op, None).await
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}

/// `AssumeRoleWithWebIdentityResponse`, in AWS's element order.
pub fn result_xml(c: &StsCredentials, request_id: &str) -> String {
    let mut out = format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"{STS_NS}\"><AssumeRoleWithWebIdentityResult>"
    );
    elem(&mut out, "SubjectFromWebIdentityToken", &c.subject);
    elem(&mut out, "Audience", &c.audience);
    out.push_str("<AssumedRoleUser>");
    elem(&mut out, "Arn", &c.assumed_role_arn);
    elem(&mut out, "AssumedRoleId", &c.assumed_role_id);
    out.push_str("</AssumedRoleUser><Credentials>");
    elem(&mut out, "SessionToken", &c.session_token);
    elem(&mut out, "SecretAccessKey", &c.secret_access_key);
    // Whole seconds, as STS writes it.
    let mut exp = iso8601(c.expiration_ms);
    exp.replace_range(exp.len().saturating_sub(5).., "Z");
    elem(&mut out, "Expiration", &exp);
    elem(&mut out, "AccessKeyId", &c.access_key_id);
    out.push_str("</Credentials>");
    elem(&mut out, "Provider", &c.provider);
    out.push_str("</AssumeRoleWithWebIdentityResult><ResponseMetadata>");
    elem(&mut out, "RequestId", request_id);
    out.push_str("</ResponseMetadata></AssumeRoleWithWebIdentityResponse>");
    out
}

/// STS `ErrorResponse`: `Sender` for the caller's faults, `Receiver` for ours.
pub fn error_xml(e: &S3Error, request_id: &str) -> String {
    let mut out = format!("<ErrorResponse xmlns=\"{STS_NS}\"><Error>");
    elem(
        &mut out,
        "Type",
        if e.status() >= 500 {
            "Receiver"
        } else {
            "Sender"
        },
    );
    elem(&mut out, "Code", e.code.as_str());
    elem(&mut out, "Message", &e.message);
    out.push_str("</Error>");
    elem(&mut out, "RequestId", request_id);
    out.push_str("</ErrorResponse>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        let c = StsCredentials {
            access_key_id: "ASIAAAAA".into(),
            secret_access_key: "s<".into(),
            session_token: "t".into(),
            expiration_ms: 1_570_902_630_042,
            subject: "sub".into(),
            audience: "aud".into(),
            provider: "https://iss".into(),
            assumed_role_arn: "arn".into(),
            assumed_role_id: "ASIAAAAA:s".into(),
        };
        let want = "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken><Audience>aud</Audience><AssumedRoleUser><Arn>arn</Arn><AssumedRoleId>ASIAAAAA:s</AssumedRoleId></AssumedRoleUser><Credentials><SessionToken>t</SessionToken><SecretAccessKey>s&lt;</SecretAccessKey><Expiration>2019-10-12T17:50:30Z</Expiration><AccessKeyId>ASIAAAAA</AccessKeyId></Credentials><Provider>https://iss</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>";
        assert_eq!(result_xml(&c, "r1"), want);
        let e = S3Error::invalid_identity_token("bad");
        assert_eq!(
            error_xml(&e, "r1"),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad</Message></Error><RequestId>r1</RequestId></ErrorResponse>"
        );
    }
}
