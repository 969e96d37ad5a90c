//! CORS at the edge: the headers on the answers to browser requests (any request with
//! `Origin`). Put/Get/DeleteBucketCors and the unsigned `OPTIONS` preflight are
//! operations (`ops/put_bucket_cors.rs`, ..., `ops/preflight.rs`).
//!
//! The rules live with the bucket (listing role); the edge asks the unsigned
//! `cors_check` endpoint. For an actual request the check runs concurrently with the
//! main call, so browsers pay one extra NATS request and other clients nothing.

use jetgate_protocol::rpc;
use std::sync::Arc;

use axum::response::Response;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use jetgate_protocol::cors::{CorsCheck, CorsCheckReply};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::SignedRequest;
use tokio::task::JoinHandle;

use crate::call::ask;
use crate::EdgeState;
use jetgate_protocol::route::{CorsAction, Operation, Routed};

/// Methods a CORS rule may allow.
pub(crate) const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];

/// Copies a CORS check's headers onto an answer (names or values that cannot be
/// headers are skipped).
pub(crate) fn add_headers(h: &mut HeaderMap, pairs: &[(String, String)]) {
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
