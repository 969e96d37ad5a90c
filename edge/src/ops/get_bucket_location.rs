//! GetBucketLocation: `GET /bucket?location`. XML in `encode::xml::location`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::messages::LocationReply;

use super::OpRequest;
use crate::call::ask;
use crate::encode::{self, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    let reply: LocationReply =
        ask::<rpc::GetBucketLocation>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(xml::location(&reply), &ctx.request_id))
}
