//! CreateMultipartUpload: `POST /bucket/key?uploads`. XML in `multipart::xml::initiate`.

use axum::response::Response;
use http::header::HeaderValue;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::multipart::{CreateUpload, CreateUploadReply};

use super::OpRequest;
use crate::call::ask;
use crate::decode;
use crate::encode;
use crate::multipart::{header_map, xml, UNSUPPORTED};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let h = header_map(&r.signed);
    if let Some(name) = UNSUPPORTED.iter().find(|n| h.contains_key(**n)) {
        return Err(S3Error::not_implemented(&format!("The {name} header")));
    }
    let op = CreateUpload {
        bucket: r.bucket,
        key: r.key,
        headers: decode::object_headers(&h)?,
        checksum_algorithm: h
            .get("x-amz-checksum-algorithm")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_uppercase()),
    };
    let reply: CreateUploadReply = ask::<rpc::CreateUpload>(state, ctx, r.signed, op, None).await?;
    let mut resp = encode::xml_response(xml::initiate(&reply), &ctx.request_id);
    if let Some(a) = reply.checksum_algorithm.as_deref() {
        if let Ok(v) = HeaderValue::from_str(a) {
            resp.headers_mut().insert("x-amz-checksum-algorithm", v);
        }
    }
    if let Some(t) = reply.checksum_type.as_deref() {
        if let Ok(v) = HeaderValue::from_str(t) {
            resp.headers_mut().insert("x-amz-checksum-type", v);
        }
    }
    Ok(resp)
}
