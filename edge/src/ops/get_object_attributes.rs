//! GetObjectAttributes: `GET /bucket/key?attributes`. Decoding in
//! `features::object_attributes`, XML in `features::xml::attributes`.

use axum::response::Response;
use http::header::{self, HeaderValue};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::attributes::AttributesReply;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::features::{object_attributes, object_attributes_call, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let wanted = object_attributes(&r.headers)?;
    let op = object_attributes_call(&r.bucket, &r.key, &r.headers)?;
    let reply: AttributesReply =
        ask::<rpc::GetObjectAttributes>(state, ctx, r.signed, op, None).await?;
    let mut resp = encode::xml_response(xml::attributes(&reply, &wanted), &ctx.request_id);
    if let Ok(v) = HeaderValue::from_str(&encode::http_date(reply.last_modified_ms)) {
        resp.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    Ok(resp)
}
