//! GetBucketTagging, PutBucketTagging and DeleteBucketTagging:
//! `GET|PUT|DELETE /bucket?tagging`, one worker endpoint. XML in
//! `encode::xml::tagging`.

use axum::response::Response;
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::route::FeatureAction;
use jetgate_protocol::rpc;
use jetgate_protocol::tagging::TaggingReply;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::encode;
use crate::encode::xml;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
    action: FeatureAction,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    if action == FeatureAction::GetBucketTagging {
        let reply: TaggingReply = ask::<rpc::BucketTagging>(state, ctx, r.signed, op, None).await?;
        return Ok(encode::xml_response(xml::tagging(&reply), &ctx.request_id));
    }
    let body = (action == FeatureAction::PutBucketTagging).then_some(r.body);
    ask::<rpc::BucketTagging>(state, ctx, r.signed, op, body).await?;
    Ok(status_only(StatusCode::NO_CONTENT))
}
