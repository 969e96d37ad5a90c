//! CORS at the edge: Put/Get/DeleteBucketCors, the unsigned `OPTIONS` preflight, and
//! CORS headers on the answers to browser requests (any request with `Origin`).
//!
//! The rules live with the bucket (listing role); the edge asks the unsigned
//! `cors_check` endpoint. For an actual request the check runs concurrently with the
//! main call, so browsers pay one extra NATS request and other clients nothing.

use jetgate_protocol::rpc;
use std::fmt::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use jetgate_protocol::cors::{
    split_header_list, CorsCheck, CorsCheckReply, CorsConfiguration, GetCorsReply,
};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{BucketOp, SignedRequest};
use jetgate_protocol::S3Error;
use tokio::task::JoinHandle;

use crate::call::ask;
use crate::encode::{self, xml::escape};
use crate::EdgeState;
use jetgate_protocol::route::{CorsAction, Operation, Routed};

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    action: CorsAction,
    signed: SignedRequest,
    bucket: String,
    body: Body,
) -> Result<Response, S3Error> {
    let op = BucketOp {
        bucket: bucket.clone(),
    };
    let rid = ctx.request_id.as_str();
    match action {
        CorsAction::PutBucketCors => {
            ask::<rpc::PutBucketCors>(state, ctx, signed, op, Some(body)).await?;
            Ok(empty(StatusCode::OK))
        }
        CorsAction::GetBucketCors => {
            let reply: GetCorsReply =
                ask::<rpc::GetBucketCors>(state, ctx, signed, op, None).await?;
            Ok(encode::xml_response(configuration_xml(&reply.config), rid))
        }
        CorsAction::DeleteBucketCors => {
            ask::<rpc::DeleteBucketCors>(state, ctx, signed, op, None).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        CorsAction::Preflight => preflight(state, ctx, signed, bucket).await,
    }
}

fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// Answers a preflight from the bucket's rules, as S3 does: 400 without `Origin` or a
/// valid `Access-Control-Request-Method`, 403 when no rule allows the request.
async fn preflight(
    state: &EdgeState,
    ctx: &RequestContext,
    signed: SignedRequest,
    bucket: String,
) -> Result<Response, S3Error> {
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
    let mut resp = empty(StatusCode::OK);
    add_headers(resp.headers_mut(), &reply.headers);
    Ok(resp)
}

fn add_headers(h: &mut HeaderMap, pairs: &[(String, String)]) {
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
}

/// The CORS check of an actual browser request, running beside the main call.
pub struct Pending(Option<JoinHandle<Option<CorsCheckReply>>>);

impl Pending {
    /// Starts the check when the request has an `Origin` and names a bucket.
    pub fn start(
        state: &Arc<EdgeState>,
        ctx: &RequestContext,
        routed: &Routed,
        headers: &HeaderMap,
        method: &Method,
    ) -> Pending {
        let origin = headers
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        let (Some(origin), Some(bucket)) = (origin, routed.bucket.as_ref()) else {
            return Pending(None);
        };
        if matches!(routed.op, Operation::Cors(CorsAction::Preflight)) {
            return Pending(None);
        }
        let check = CorsCheck {
            bucket: bucket.clone(),
            origin: origin.to_string(),
            method: method.as_str().to_string(),
            request_headers: Vec::new(),
            preflight: false,
        };
        let state = Arc::clone(state);
        let ctx = ctx.clone();
        Pending(Some(tokio::spawn(async move {
            let signed = SignedRequest::default();
            match ask::<rpc::CorsCheck>(&state, &ctx, signed, check, None).await {
                Ok(reply) => Some(reply),
                Err(e) => {
                    // The request itself still gets its answer, just without CORS headers.
                    tracing::info!(code = %e.code, "CORS check failed");
                    None
                }
            }
        })))
    }

    /// Adds the CORS headers to the response (errors included) when a rule matched.
    pub async fn apply(self, resp: &mut Response) {
        let Some(task) = self.0 else { return };
        if let Ok(Some(reply)) = task.await {
            if reply.allowed {
                add_headers(resp.headers_mut(), &reply.headers);
            }
        }
    }
}

/// GetBucketCors body.
pub fn configuration_xml(cfg: &CorsConfiguration) -> String {
    let mut out = String::from(encode::xml::DECLARATION);
    out.push_str("<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for rule in &cfg.rules {
        out.push_str("<CORSRule>");
        if let Some(id) = &rule.id {
            let _ = write!(out, "<ID>{}</ID>", escape(id));
        }
        for (name, values) in [
            ("AllowedHeader", &rule.allowed_headers),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedOrigin", &rule.allowed_origins),
            ("ExposeHeader", &rule.expose_headers),
        ] {
            for v in values {
                let _ = write!(out, "<{name}>{}</{name}>", escape(v));
            }
        }
        if let Some(age) = rule.max_age_seconds {
            let _ = write!(out, "<MaxAgeSeconds>{age}</MaxAgeSeconds>");
        }
        out.push_str("</CORSRule>");
    }
    out.push_str("</CORSConfiguration>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetgate_protocol::cors::CorsRule;

    #[test]
    fn configuration_document() {
        let cfg = CorsConfiguration {
            rules: vec![CorsRule {
                id: Some("a&b".into()),
                allowed_origins: vec!["http://x.test".into()],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: vec!["*".into()],
                expose_headers: vec!["ETag".into()],
                max_age_seconds: Some(60),
            }],
        };
        let xml = configuration_xml(&cfg);
        assert!(xml.ends_with(
            "<CORSRule><ID>a&amp;b</ID><AllowedHeader>*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>http://x.test</AllowedOrigin><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule></CORSConfiguration>"
        ), "{xml}");
    }
}
