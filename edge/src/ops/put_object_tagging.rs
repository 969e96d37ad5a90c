//! PutObjectTagging: `PUT /bucket/key?tagging`; the worker parses the `Tagging`
//! document.

use axum::response::Response;
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::tagging::PutObjectTagging;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = PutObjectTagging {
        bucket: r.bucket,
        key: r.key,
    };
    ask::<rpc::PutObjectTagging>(state, ctx, r.signed, op, Some(r.body)).await?;
    Ok(status_only(StatusCode::OK))
}
