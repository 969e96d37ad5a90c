//! GetObjectTagging: `GET /bucket/key?tagging`. XML in `encode::xml::tagging`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::tagging::{ObjectTagging, TaggingReply};
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::encode::xml;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = ObjectTagging {
        bucket: r.bucket,
        key: r.key,
    };
    let reply: TaggingReply = ask::<rpc::GetObjectTagging>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(xml::tagging(&reply), &ctx.request_id))
}
