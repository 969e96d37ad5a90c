//! ListObjectVersions: `GET /bucket?versions`, every object its one `null` version.
//! Decoding in `features::object_versions`, XML in `features::xml::versions`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::attributes::ListVersionsReply;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::features::{object_versions, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let (op, url) = object_versions(&r.bucket, &r.query)?;
    let reply: ListVersionsReply =
        ask::<rpc::ListObjectVersions>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        xml::versions(&reply, url),
        &ctx.request_id,
    ))
}
