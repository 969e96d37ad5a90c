//! UploadPart: `PUT /bucket/key?partNumber=…&uploadId=…` with the part as body.

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderValue};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::multipart::{UploadPart, UploadPartReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::decode::{self, query_value};
use crate::multipart::upload_id;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = &r.query;
    let op = UploadPart {
        bucket: r.bucket,
        key: r.key,
        upload_id: upload_id(query)?,
        part_number: decode::part_number(query_value(query, "partNumber").unwrap_or(""))?,
    };
    let reply: UploadPartReply =
        ask::<rpc::UploadPart>(state, ctx, r.signed, op, Some(r.body)).await?;
    let mut resp = Response::new(Body::empty());
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
