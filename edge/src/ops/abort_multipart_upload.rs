//! AbortMultipartUpload: `DELETE /bucket/key?uploadId=…`.

use axum::response::Response;
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::multipart::AbortUpload;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::multipart::upload_id;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = &r.query;
    let op = AbortUpload {
        bucket: r.bucket,
        key: r.key,
        upload_id: upload_id(query)?,
    };
    ask::<rpc::AbortUpload>(state, ctx, r.signed, op, None).await?;
    Ok(status_only(StatusCode::NO_CONTENT))
}
