//! ListParts: `GET /bucket/key?uploadId=…`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::multipart::{ListParts, ListPartsReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::encode::iso8601;
use crate::encode::xml::{elem, DECLARATION, NS};
use crate::multipart::{number, owner, upload_id};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = &r.query;
    let op = ListParts {
        bucket: r.bucket,
        key: r.key,
        upload_id: upload_id(query)?,
        max_parts: number(query, "max-parts", 1000)?,
        part_number_marker: number(query, "part-number-marker", 0)?,
    };
    let reply: ListPartsReply = ask::<rpc::ListParts>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        list_parts_xml(&reply),
        &ctx.request_id,
    ))
}

/// `ListPartsResult`.
pub fn list_parts_xml(r: &ListPartsReply) -> String {
    let mut out = format!("{DECLARATION}<ListPartsResult xmlns=\"{NS}\">");
    elem(&mut out, "Bucket", &r.bucket);
    elem(&mut out, "Key", &r.key);
    elem(&mut out, "UploadId", &r.upload_id);
    owner(&mut out, "Initiator", &r.owner);
    owner(&mut out, "Owner", &r.owner);
    elem(&mut out, "StorageClass", "STANDARD");
    elem(
        &mut out,
        "PartNumberMarker",
        &r.part_number_marker.to_string(),
    );
    elem(
        &mut out,
        "NextPartNumberMarker",
        &r.next_part_number_marker.to_string(),
    );
    elem(&mut out, "MaxParts", &r.max_parts.to_string());
    elem(
        &mut out,
        "IsTruncated",
        if r.is_truncated { "true" } else { "false" },
    );
    for p in &r.parts {
        out.push_str("<Part>");
        elem(&mut out, "PartNumber", &p.part_number.to_string());
        elem(&mut out, "LastModified", &iso8601(p.last_modified_ms));
        elem(&mut out, "ETag", &format!("\"{}\"", p.etag));
        elem(&mut out, "Size", &p.size.to_string());
        out.push_str("</Part>");
    }
    out.push_str("</ListPartsResult>");
    out
}
