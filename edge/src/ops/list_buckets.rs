//! ListBuckets: `GET /`. XML in `encode::xml::list_buckets`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::messages::{ListBuckets, ListBucketsReply};

use super::OpRequest;
use crate::call::ask;
use crate::encode::{self, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let reply: ListBucketsReply =
        ask::<rpc::ListBuckets>(state, ctx, r.signed, ListBuckets {}, None).await?;
    Ok(encode::xml_response(
        xml::list_buckets(&reply),
        &ctx.request_id,
    ))
}
