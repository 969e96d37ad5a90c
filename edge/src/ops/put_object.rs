//! PutObject: `PUT /bucket/key` with the object as body. Decoding in
//! `decode::put_object`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use http::header::{self, HeaderValue};
use http::StatusCode;
use jetgate_protocol::messages::PutReply;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::decode;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = decode::put_object(&r.bucket, &r.key, &r.headers)?;
    let reply: PutReply = ask::<rpc::PutObject>(state, ctx, r.signed, op, Some(r.body)).await?;
    let mut resp = status_only(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", reply.etag)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if let Some((name, value)) = reply.checksum {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            resp.headers_mut().insert(n, v);
        }
    }
    Ok(resp)
}
