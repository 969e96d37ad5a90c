//! UploadPartCopy: `PUT /bucket/key?partNumber=…&uploadId=…` with
//! `x-amz-copy-source`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::multipart::{CopyPartReply, UploadPartCopy};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::decode::{self, query_value};
use crate::encode;
use crate::encode::iso8601;
use crate::encode::xml::{elem, DECLARATION, NS};
use crate::multipart::{header_map, upload_id};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = &r.query;
    let h = header_map(&r.signed);
    let source = h
        .get("x-amz-copy-source")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (source_bucket, source_key) = decode::copy_source(&source)?;
    let op = UploadPartCopy {
        bucket: r.bucket,
        key: r.key,
        upload_id: upload_id(query)?,
        part_number: decode::part_number(query_value(query, "partNumber").unwrap_or(""))?,
        source_bucket,
        source_key,
        range: decode::copy_source_range(&decode::Http(&h))?,
        source_conditions: decode::conditions(&decode::Http(&h), "x-amz-copy-source-"),
    };
    let reply: CopyPartReply = ask::<rpc::UploadPartCopy>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(copy_part_xml(&reply), &ctx.request_id))
}

/// `CopyPartResult`.
pub fn copy_part_xml(r: &CopyPartReply) -> String {
    let mut out = format!("{DECLARATION}<CopyPartResult xmlns=\"{NS}\">");
    elem(&mut out, "LastModified", &iso8601(r.last_modified_ms));
    elem(&mut out, "ETag", &format!("\"{}\"", r.etag));
    if let Some((algo, value)) = &r.checksum {
        elem(&mut out, &format!("Checksum{algo}"), value);
    }
    out.push_str("</CopyPartResult>");
    out
}
