//! DeleteBucket: `DELETE /bucket`.

use axum::response::Response;
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    ask::<rpc::DeleteBucket>(state, ctx, r.signed, op, None).await?;
    Ok(status_only(StatusCode::NO_CONTENT))
}
