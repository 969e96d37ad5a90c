//! What happens around every S3 request, as tower layers (see `app` in lib.rs for the
//! order): the request id and the `s3.request` span ([`request_context`]), and the
//! request metrics ([`request_metrics`]). The handler learns the request's
//! [`RequestContext`] from the request's extensions and tells the metrics its operation
//! through the response's ([`OperationName`]), since only routing knows it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method};
use jetgate_protocol::headers::{new_request_id, RequestContext, TraceParent};
use tracing::Instrument;

use crate::encode;

/// The S3 operation a response answered (`Operation::name`), set by the handler once
/// the request is routed; requests that never route count as `unknown`.
#[derive(Debug, Clone, Copy)]
pub struct OperationName(pub &'static str);

/// Request-body bytes as the client announced them. aws-chunked uploads (aws CLI,
/// boto3 over HTTPS) may come without Content-Length.
fn bytes_in(h: &HeaderMap) -> u64 {
    ["x-amz-decoded-content-length", "content-length"]
        .iter()
        .find_map(|n| h.get(*n))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
}

/// Response-body bytes per Content-Length (0 for a streamed body without one).
fn bytes_out(h: &HeaderMap) -> u64 {
    h.get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
}

/// A new request id and the `s3.request` span (continuing a caller's `traceparent`:
/// Traefik, an instrumented client); the rest of the request runs inside the span with
/// its [`RequestContext`] in the request's extensions. Every answer gets
/// `x-amz-request-id` and `Server: jetgate`.
pub async fn request_context(mut req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    let request_id = new_request_id();
    let span = tracing::info_span!(
        "s3.request",
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        method = %req.method(),
        operation = tracing::field::Empty,
        bucket = tracing::field::Empty,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        status = tracing::field::Empty,
        bytes_in = tracing::field::Empty,
        bytes_out = tracing::field::Empty,
    );
    let trace = jetgate_protocol::otel::adopt(&span, incoming.as_ref(), || {
        incoming
            .as_ref()
            .map(TraceParent::child)
            .unwrap_or_else(TraceParent::new_root)
    });
    span.record("trace_id", trace.trace_id.as_str());
    let ctx = RequestContext { request_id, trace };
    let head = req.method() == Method::HEAD;
    let bytes_in = bytes_in(req.headers());
    let request_id = ctx.request_id.clone();
    req.extensions_mut().insert(ctx);
    let mut resp = next.run(req).instrument(span.clone()).await;
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(encode::REQUEST_ID, id);
    }
    resp.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("jetgate"));
    let status = resp.status().as_u16();
    span.record("status", status);
    span.record("bytes_in", bytes_in);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    if !head {
        span.record("bytes_out", bytes_out(resp.headers()));
    }
    span.in_scope(|| tracing::debug!("answered"));
    resp
}

/// `jetgate_edge_inflight_requests`, and per operation `jetgate_edge_requests_total`
/// (with status), `jetgate_edge_request_duration_seconds`, `jetgate_edge_bytes_in_total`
/// and (not for HEAD) `jetgate_edge_bytes_out_total`.
pub async fn request_metrics(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let inflight = metrics::gauge!("jetgate_edge_inflight_requests");
    inflight.increment(1.0);
    let bytes_in = bytes_in(req.headers());
    let head = req.method() == Method::HEAD;
    let resp = next.run(req).await;
    let operation = resp
        .extensions()
        .get::<OperationName>()
        .map_or("unknown", |o| o.0);
    let status = resp.status().as_u16();
    inflight.decrement(1.0);
    let bytes_out = bytes_out(resp.headers());
    metrics::counter!("jetgate_edge_requests_total", "operation" => operation, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("jetgate_edge_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("jetgate_edge_bytes_in_total", "operation" => operation).increment(bytes_in);
    if !head {
        metrics::counter!("jetgate_edge_bytes_out_total", "operation" => operation)
            .increment(bytes_out);
    }
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use axum::body::Body;
    use axum::{middleware, Extension, Router};
    use tower::ServiceExt;

    use super::*;

    /// A stand-in for the S3 handler: echoes the request id the layer made and names
    /// an operation, as `handler::s3` does.
    async fn echo(Extension(ctx): Extension<RequestContext>) -> Response {
        let mut resp = Response::new(Body::from(ctx.request_id.clone()));
        resp.extensions_mut().insert(OperationName("ListBuckets"));
        resp
    }

    #[test]
    fn context_reaches_the_handler_and_the_answer() {
        let app = Router::new()
            .fallback(echo)
            .layer(middleware::from_fn(request_metrics))
            .layer(middleware::from_fn(request_context));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let resp = rt
            .block_on(app.oneshot(Request::new(Body::empty())))
            .unwrap();
        assert_eq!(resp.headers()[header::SERVER], "jetgate");
        let id = resp.headers()[encode::REQUEST_ID]
            .to_str()
            .unwrap()
            .to_string();
        assert!(!id.is_empty());
        // Reading a small, known body whole is what the rule is not about.
        #[allow(clippy::disallowed_methods)]
        let body = rt
            .block_on(axum::body::to_bytes(resp.into_body(), 1024))
            .unwrap();
        assert_eq!(
            body,
            id.as_bytes(),
            "the handler saw the answer's request id"
        );
    }

    #[test]
    fn bytes_in_prefers_the_decoded_length() {
        let mut h = HeaderMap::new();
        h.insert("content-length", HeaderValue::from_static("10"));
        assert_eq!(bytes_in(&h), 10);
        h.insert(
            "x-amz-decoded-content-length",
            HeaderValue::from_static("7"),
        );
        assert_eq!(bytes_in(&h), 7);
        assert_eq!(bytes_out(&HeaderMap::new()), 0);
    }
}
