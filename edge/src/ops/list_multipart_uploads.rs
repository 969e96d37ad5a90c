//! ListMultipartUploads: `GET /bucket?uploads`. XML in `multipart::xml::list_uploads`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use jetgate_protocol::multipart::{ListUploads, ListUploadsReply};

use super::OpRequest;
use crate::call::ask;
use crate::decode::{query_pairs, query_value};
use crate::encode;
use crate::multipart::{number, xml};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = query_pairs(&r.signed.query);
    let url = match query_value(&query, "encoding-type") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Invalid Encoding Method specified in Request",
            ))
        }
    };
    let text = |n: &str| query_value(&query, n).map(str::to_string);
    let op = ListUploads {
        bucket: r.bucket,
        prefix: text("prefix").unwrap_or_default(),
        delimiter: text("delimiter").filter(|d| !d.is_empty()),
        key_marker: text("key-marker").filter(|d| !d.is_empty()),
        upload_id_marker: text("upload-id-marker").filter(|d| !d.is_empty()),
        max_uploads: number(&query, "max-uploads", 1000)?,
    };
    let reply: ListUploadsReply = ask::<rpc::ListUploads>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        xml::list_uploads(&reply, url),
        &ctx.request_id,
    ))
}
