//! GetBucketAcl and PutBucketAcl: `GET|PUT /bucket?acl`, one worker endpoint. XML in
//! `encode::xml::acl`.

use axum::response::Response;
use http::StatusCode;
use jetgate_protocol::acl::AclReply;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::encode::{self, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
    put: bool,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    let reply: AclReply = ask::<rpc::BucketAcl>(state, ctx, r.signed, op, None).await?;
    if put {
        Ok(status_only(StatusCode::OK))
    } else {
        Ok(encode::xml_response(
            xml::acl(&reply.owner),
            &ctx.request_id,
        ))
    }
}
