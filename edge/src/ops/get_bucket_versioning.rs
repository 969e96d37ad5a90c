//! GetBucketVersioning: `GET /bucket?versioning`; jetgate never versions, so the
//! answer is the empty `VersioningConfiguration` (`features::xml::versioning`).

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::features::xml;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    ask::<rpc::GetBucketVersioning>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(xml::versioning(), &ctx.request_id))
}
