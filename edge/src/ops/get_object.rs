//! GetObject and HeadObject: `GET|HEAD /bucket/key`, one worker endpoint. Decoding in
//! `decode::get_object` (`jetgate_protocol::shape`), headers in
//! `encode::object_headers_out`; the body comes inline or straight from JetStream
//! (`jetgate_protocol::direct`).

use axum::body::Body;
use axum::response::IntoResponse;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::StatusCode;
use jetgate_protocol::direct::DirectReceiver;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::BodyOut;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::{call, Reply};
use crate::decode;
use crate::encode;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
    head: bool,
) -> Result<Response, S3Error> {
    let op = decode::get_object(&r.bucket, &r.key, head, &decode::Http(&r.headers), &r.query)?;
    let reply = call::<rpc::GetObject>(state, ctx, r.signed, op, None, !head).await?;
    object_response(state, reply)
}

/// GET/HEAD: headers from the object's attributes, the body inline or streamed.
fn object_response(state: &EdgeState, r: Reply<rpc::GetObject>) -> Result<Response, S3Error> {
    let (reply, inline) = r.decode()?;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let body = match reply.body {
        BodyOut::None => Body::empty(),
        BodyOut::Inline => Body::from(inline),
        BodyOut::Direct(plan) => {
            let Some(route) = r.route else {
                return Err(S3Error::internal("streamed reply without a route"));
            };
            let rx = DirectReceiver::new(route, plan, state.cfg.stream.clone());
            let stream = futures::stream::unfold(rx, |mut rx| async move {
                match rx.next().await {
                    Ok(Some(b)) => Some((Ok::<_, std::io::Error>(b), rx)),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::info!(error = %e, "download stream broke");
                        Some((Err(std::io::Error::other(e.to_string())), rx))
                    }
                }
            });
            Body::from_stream(stream)
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let hm = resp.headers_mut();
    for (n, v) in encode::object_headers_out(&reply.attrs, &reply.overrides) {
        hm.insert(n, v);
    }
    if status != StatusCode::NOT_MODIFIED {
        hm.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(reply.content_length),
        );
    }
    if let Some((a, b, total)) = reply.content_range {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{total}")) {
            hm.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp.into_response())
}
