//! The CORS preflight: unsigned `OPTIONS /bucket[/key]`, answered from the bucket's
//! rules (the CORS headers of actual browser requests are in `crate::cors`).

use axum::response::Response;
use http::StatusCode;
use jetgate_protocol::cors::{split_header_list, CorsCheck, CorsCheckReply};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::SignedRequest;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::cors::{add_headers, METHODS};
use crate::EdgeState;

/// Answers a preflight from the bucket's rules, as S3 does: 400 without `Origin` or a
/// valid `Access-Control-Request-Method`, 403 when no rule allows the request.
pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let (signed, bucket) = (r.signed, r.bucket);
    let origin = signed
        .header("origin")
        .ok_or_else(|| {
            S3Error::bad_request("Insufficient information. Origin request header needed.")
        })?
        .to_string();
    let method = signed
        .header("access-control-request-method")
        .unwrap_or("null")
        .to_string();
    if !METHODS.contains(&method.as_str()) {
        return Err(S3Error::bad_request(format!(
            "Invalid Access-Control-Request-Method: {method}"
        )));
    }
    let request_headers = signed
        .header("access-control-request-headers")
        .map(split_header_list)
        .unwrap_or_default();
    let check = CorsCheck {
        bucket,
        origin,
        method,
        request_headers,
        preflight: true,
    };
    let reply: CorsCheckReply =
        ask::<rpc::CorsCheck>(state, ctx, SignedRequest::default(), check, None).await?;
    if !reply.allowed {
        let msg = if reply.not_configured {
            "CORSResponse: CORS is not enabled for this bucket."
        } else {
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
        };
        return Err(S3Error::access_forbidden(msg));
    }
    let mut resp = status_only(StatusCode::OK);
    add_headers(resp.headers_mut(), &reply.headers);
    Ok(resp)
}
