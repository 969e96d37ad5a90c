//! jetgate edge: a stateless axum server that turns S3 requests into NATS calls to the
//! worker roles. It holds no secrets and no state a restart would lose.

pub mod call;
pub mod cors;
pub mod decode;
pub mod encode;
mod expect_continue;
mod handler;
mod layers;
mod multipart;
mod ops;
pub mod serve;
pub mod telemetry;
#[cfg(test)]
mod test_support;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::StatusCode;
use jetgate_protocol::mux::Mux;
use jetgate_protocol::stream::StreamConfig;
use jetgate_protocol::Role;

/// Settings of an edge process.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Enables virtual-hosted style for `<bucket>.<domain>`.
    pub domain: Option<String>,
    /// Region reported in `x-amz-bucket-region`.
    pub region: String,
    pub stream: StreamConfig,
    /// Request-body bytes sent inline with the call (the rest streams under credit).
    pub inline_body_limit: usize,
    /// Answers unauthenticated `GET /metrics` on the S3 port; off when the process
    /// serves metrics on a listener of their own (`--metrics-listen`).
    pub metrics_on_s3_port: bool,
    /// How long a client may send no request-body bytes (`--client-body-idle-secs`).
    pub client_body_idle: std::time::Duration,
}

/// S3 closes a request whose body stalls after about 20 s with `RequestTimeout`.
pub const DEFAULT_CLIENT_BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(20);

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            domain: None,
            region: "us-east-1".into(),
            stream: StreamConfig::default(),
            inline_body_limit: 128 * 1024,
            metrics_on_s3_port: true,
            client_body_idle: DEFAULT_CLIENT_BODY_IDLE,
        }
    }
}

pub struct EdgeState {
    pub client: async_nats::Client,
    pub mux: Mux,
    pub cfg: EdgeConfig,
}

impl EdgeState {
    pub async fn new(
        client: async_nats::Client,
        cfg: EdgeConfig,
    ) -> Result<Arc<Self>, async_nats::SubscribeError> {
        let mux = Mux::new(client.clone()).await?;
        Ok(Arc::new(EdgeState { client, mux, cfg }))
    }
}

/// The edge's router: health endpoints and one S3 fallback that sees every request
/// (axum's path router cannot tell `?uploads` from `?acl`). Layers run from the last
/// added inwards: health checks, then `Expect: 100-continue`, then the request id and
/// span, then the request metrics around the S3 handler.
pub fn app(state: Arc<EdgeState>) -> Router {
    Router::new()
        .fallback(handler::s3)
        .layer(middleware::from_fn(layers::request_metrics))
        .layer(middleware::from_fn(layers::request_context))
        // See expect_continue.rs: botocore and a final answer without `100 Continue`.
        .layer(middleware::from_fn(expect_continue::layer))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), health))
        .with_state(state)
}

/// Answers the health endpoints; every other request goes on to S3.
async fn health(state: State<Arc<EdgeState>>, req: Request, next: Next) -> Response {
    // Health paths are only health checks when unsigned and without a query, so a bucket
    // named `healthz` still works for S3 clients.
    let plain = req.uri().query().is_none() && !req.headers().contains_key("authorization");
    match (req.method().as_str(), req.uri().path(), plain) {
        ("GET", "/healthz", true) => (StatusCode::OK, "ok\n").into_response(),
        ("GET", "/readyz", true) => readyz(&state).await,
        ("GET", "/metrics", true) if state.cfg.metrics_on_s3_port => (
            StatusCode::OK,
            [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            telemetry::render(),
        )
            .into_response(),
        _ => next.run(req).await,
    }
}

/// Ready when NATS is connected and every role has at least one responder.
async fn readyz(state: &EdgeState) -> Response {
    let mut warnings = Vec::new();
    if state.client.connection_state() != async_nats::connection::State::Connected {
        warnings.push("NATS is not connected".to_string());
    }
    for role in Role::ALL {
        let subject = format!("$SRV.PING.{}", role.service_name());
        let req = async_nats::Request::new().timeout(Some(Duration::from_secs(1)));
        if state.client.send_request(subject, req).await.is_err() {
            warnings.push(format!("no {role} workers"));
        }
    }
    let body = serde_json::json!({ "ready": warnings.is_empty(), "warnings": warnings });
    let status = if warnings.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
