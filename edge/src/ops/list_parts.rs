//! ListParts: `GET /bucket/key?uploadId=…`. XML in `multipart::xml::list_parts`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::multipart::{ListParts, ListPartsReply};

use super::OpRequest;
use crate::call::ask;
use crate::decode::query_pairs;
use crate::encode;
use crate::multipart::{number, upload_id, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = query_pairs(&r.signed.query);
    let op = ListParts {
        bucket: r.bucket,
        key: r.key,
        upload_id: upload_id(&query)?,
        max_parts: number(&query, "max-parts", 1000)?,
        part_number_marker: number(&query, "part-number-marker", 0)?,
    };
    let reply: ListPartsReply = ask::<rpc::ListParts>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        xml::list_parts(&reply),
        &ctx.request_id,
    ))
}
