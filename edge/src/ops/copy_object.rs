//! CopyObject: `PUT /bucket/key` with `x-amz-copy-source`. Decoding in
//! `decode::copy_object`, XML in `encode::xml::copy_object`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::messages::CopyReply;

use super::OpRequest;
use crate::call::ask;
use crate::decode;
use crate::encode::{self, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = decode::copy_object(&r.bucket, &r.key, &r.headers)?;
    let reply: CopyReply = ask::<rpc::CopyObject>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        xml::copy_object(&reply),
        &ctx.request_id,
    ))
}
