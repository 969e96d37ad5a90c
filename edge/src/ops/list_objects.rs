//! ListObjects (v1) and ListObjectsV2: `GET /bucket[?list-type=2]`. Query decoding in
//! `decode::list_objects`, XML in `encode::xml::list_objects`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::messages::ListObjectsReply;

use super::OpRequest;
use crate::call::ask;
use crate::decode;
use crate::encode::{self, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
    v2: bool,
) -> Result<Response, S3Error> {
    let (op, url) = decode::list_objects(&r.bucket, &r.query, v2)?;
    let fetch_owner = !v2 || op.fetch_owner;
    let reply: ListObjectsReply = ask::<rpc::ListObjects>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        xml::list_objects(&reply, url, fetch_owner),
        &ctx.request_id,
    ))
}
