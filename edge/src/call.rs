//! One S3 request as a NATS call: the typed message with the first body bytes inline,
//! the rest of the body streamed when the worker grants credit, and the reply awaited
//! with an idle timeout that worker heartbeats reset.

use std::marker::PhantomData;
use std::time::Duration;

use async_nats::{Message, StatusCode};
use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{BodyIn, Call, SignedRequest};
use jetgate_protocol::mux::Route;
use jetgate_protocol::stream::{classify, BodySender, Frame, StreamError};
use jetgate_protocol::{Endpoint, Rpc, S3Error};
use serde::Serialize;
use tracing::Instrument;

use crate::EdgeState;

/// A successful reply to an `R` call and, when the response body streams, the route it
/// arrives on.
pub struct Reply<R> {
    pub msg: Message,
    pub route: Option<Route>,
    rpc: PhantomData<R>,
}

impl<R: Rpc> Reply<R> {
    /// The typed reply and the response body bytes that rode inline after it.
    pub fn decode(&self) -> Result<(R::Reply, Bytes), S3Error> {
        jetgate_protocol::decode::<R::Reply>(&self.msg.payload)
            .map(|e| (e.msg, e.body))
            .map_err(S3Error::internal)
    }
}

/// What came back before it is typed.
struct Raw {
    msg: Message,
    route: Option<Route>,
}

fn unavailable(endpoint: Endpoint, why: &str) -> S3Error {
    tracing::warn!(role = %endpoint.role(), endpoint = endpoint.name(), "{why}");
    metrics::counter!("jetgate_edge_nats_unavailable_total", "role" => endpoint.role().as_str())
        .increment(1);
    S3Error::service_unavailable_with(
        "Please reduce your request rate or retry: the service is unavailable.",
    )
}

/// The client's next body frame; `RequestTimeout` when it sends nothing for `idle` (a
/// body shorter than its Content-Length would otherwise hold the request until the
/// client gives up).
async fn next_frame(
    body: &mut Body,
    idle: Duration,
) -> Result<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>, S3Error> {
    tokio::time::timeout(idle, body.frame()).await.map_err(|_| {
        tracing::info!(?idle, "client body idle");
        S3Error::request_timeout()
    })
}

/// Reads the first bytes of a body: `(bytes, rest)` where `rest` is `None` at its end.
async fn read_prefix(
    mut body: Body,
    limit: usize,
    idle: Duration,
) -> Result<(Bytes, Option<Body>), S3Error> {
    let mut buf = BytesMut::new();
    while buf.len() < limit {
        match next_frame(&mut body, idle).await? {
            None => return Ok((buf.freeze(), None)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => return Err(client_body_error(e)),
        }
    }
    Ok((buf.freeze(), Some(body)))
}

fn client_body_error(e: axum::Error) -> S3Error {
    tracing::info!(error = %e, "client body failed");
    S3Error::incomplete_body()
}

/// Sends the call; streams the body if any remains; returns the reply. The NATS hop
/// is its own span (a child of `s3.request`) whose id travels in the `traceparent`
/// header, so the worker's spans hang under it.
pub async fn call<R: Rpc>(
    state: &EdgeState,
    ctx: &RequestContext,
    signed: SignedRequest,
    op: R::Op,
    body: Option<Body>,
    download: bool,
) -> Result<Reply<R>, S3Error> {
    let endpoint = R::ENDPOINT;
    let span = tracing::info_span!(
        "nats.request",
        otel.kind = "client",
        otel.name = %format_args!("nats {}", endpoint.name()),
        otel.status_code = tracing::field::Empty,
        role = %endpoint.role(),
        endpoint = endpoint.name(),
        error_code = tracing::field::Empty,
    );
    let result = send_call(state, endpoint, ctx, signed, op, body, download)
        .instrument(span.clone())
        .await;
    if let Err(e) = &result {
        span.record("error_code", e.code.as_str());
        if e.code.status() >= 500 {
            span.record("otel.status_code", "error");
        }
    }
    result.map(|raw| Reply {
        msg: raw.msg,
        route: raw.route,
        rpc: PhantomData,
    })
}

async fn send_call<Op: Serialize>(
    state: &EdgeState,
    endpoint: Endpoint,
    ctx: &RequestContext,
    signed: SignedRequest,
    op: Op,
    body: Option<Body>,
    download: bool,
) -> Result<Raw, S3Error> {
    let mut route = state.mux.open();
    let content_length = signed
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok());
    let (inline, rest) = match body {
        Some(b) => read_prefix(b, state.cfg.inline_body_limit, state.cfg.client_body_idle).await?,
        None => (Bytes::new(), None),
    };
    let body_in = BodyIn {
        content_length,
        complete: rest.is_none(),
        control: rest.as_ref().map(|_| route.subject("c")),
    };
    let call = Call {
        signed,
        op,
        body: Some(body_in),
        data_subject: download.then(|| route.subject("d")),
    };
    let payload = jetgate_protocol::encode(&call, &inline).map_err(S3Error::internal)?;
    state
        .client
        .publish_with_reply_and_headers(
            endpoint.subject(),
            route.subject("r"),
            ctx.headers(),
            payload,
        )
        .await
        .map_err(S3Error::internal)?;
    let idle = state.cfg.stream.idle_timeout;
    let started = std::time::Instant::now();
    let Some(rest) = rest else {
        let msg = wait_reply(&mut route, endpoint, idle).await?;
        metrics::histogram!("jetgate_edge_nats_request_seconds", "role" => endpoint.role().as_str())
            .record(started.elapsed().as_secs_f64());
        return Ok(Raw {
            msg,
            route: Some(route),
        });
    };
    let mut sender = BodySender::new(route, inline.len() as u64, state.cfg.stream.clone());
    match pump(&mut sender, rest, state.cfg.client_body_idle).await {
        Ok(()) => {}
        Err(Pumped::Replied(msg)) => {
            return check(*msg, endpoint).map(|msg| Raw { msg, route: None })
        }
        Err(Pumped::Failed(e)) => return Err(e),
        Err(Pumped::Aborted) => {
            // A worker that fails mid-body aborts the stream, then replies with the
            // reason (e.g. SlowDown when JetStream pushes back): answer with that.
            let why = wait_reply(sender.route(), endpoint, ABORT_REASON_WAIT).await;
            return Err(why.err().unwrap_or_else(|| {
                S3Error::internal_error_with("The upload was aborted; please retry.")
            }));
        }
    }
    let msg = wait_reply(sender.route(), endpoint, idle).await?;
    Ok(Raw { msg, route: None })
}

enum Pumped {
    Replied(Box<Message>),
    Failed(S3Error),
    /// The worker aborted the body; its reply says why.
    Aborted,
}

/// How long an aborted upload waits for the worker's reason.
const ABORT_REASON_WAIT: Duration = Duration::from_secs(2);

/// Copies the HTTP body into the stream under credit.
async fn pump(sender: &mut BodySender, mut body: Body, idle: Duration) -> Result<(), Pumped> {
    let stream_err = |e: StreamError| match e {
        StreamError::Replied(msg) => Pumped::Replied(msg),
        StreamError::Timeout(_) => Pumped::Failed(S3Error::service_unavailable_with(
            "The worker stopped answering; please retry.",
        )),
        StreamError::Aborted(reason) => {
            tracing::info!(%reason, "worker aborted the upload");
            Pumped::Aborted
        }
        other => Pumped::Failed(S3Error::internal(other)),
    };
    loop {
        let frame = match next_frame(&mut body, idle).await {
            Ok(f) => f,
            Err(e) => {
                sender.abort("client body idle");
                return Err(Pumped::Failed(e));
            }
        };
        match frame {
            None => return sender.finish().await.map_err(stream_err),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    sender.send(data).await.map_err(stream_err)?;
                }
            }
            Some(Err(e)) => {
                sender.abort("client body failed");
                return Err(Pumped::Failed(client_body_error(e)));
            }
        }
    }
}

/// Waits for the reply, treating heartbeats as signs of life.
async fn wait_reply(
    route: &mut Route,
    endpoint: Endpoint,
    idle: Duration,
) -> Result<Message, S3Error> {
    loop {
        let Some(msg) = route.recv_timeout(idle).await else {
            return Err(unavailable(endpoint, "worker went silent before replying"));
        };
        if route.kind_of(&msg) != "r" {
            continue;
        }
        if matches!(classify(&msg), Frame::Heartbeat) {
            continue;
        }
        return check(msg, endpoint);
    }
}

/// Turns no-responders and service-error replies into S3 errors.
fn check(msg: Message, endpoint: Endpoint) -> Result<Message, S3Error> {
    if msg.status == Some(StatusCode::NO_RESPONDERS) {
        return Err(unavailable(endpoint, "no responders for role"));
    }
    if let Some(err) = S3Error::from_service_error(msg.headers.as_ref()) {
        return Err(err);
    }
    Ok(msg)
}

/// A call whose reply is one typed message (no response body stream).
pub async fn ask<R: Rpc>(
    state: &EdgeState,
    ctx: &RequestContext,
    signed: SignedRequest,
    op: R::Op,
    body: Option<Body>,
) -> Result<R::Reply, S3Error> {
    let reply = call::<R>(state, ctx, signed, op, body, false).await?;
    reply.decode().map(|(msg, _)| msg)
}
