//! DeleteObjects: `POST /bucket?delete`; the worker parses the `Delete` document.
//! XML in `encode::xml::delete_objects`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::messages::DeleteObjectsReply;

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
    let reply: DeleteObjectsReply =
        ask::<rpc::DeleteObjects>(state, ctx, r.signed, op, Some(r.body)).await?;
    Ok(encode::xml_response(
        xml::delete_objects(&reply),
        &ctx.request_id,
    ))
}
