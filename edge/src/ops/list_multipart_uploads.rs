//! ListMultipartUploads: `GET /bucket?uploads`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::multipart::{ListUploads, ListUploadsReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::decode::query_value;
use crate::encode;
use crate::encode::iso8601;
use crate::encode::xml::{elem, url_encode, DECLARATION, NS};
use crate::multipart::{number, owner};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let query = &r.query;
    let url = match query_value(query, "encoding-type") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return Err(S3Error::invalid_argument(
                "Invalid Encoding Method specified in Request",
            ))
        }
    };
    let text = |n: &str| query_value(query, n).map(str::to_string);
    let op = ListUploads {
        bucket: r.bucket,
        prefix: text("prefix").unwrap_or_default(),
        delimiter: text("delimiter").filter(|d| !d.is_empty()),
        key_marker: text("key-marker").filter(|d| !d.is_empty()),
        upload_id_marker: text("upload-id-marker").filter(|d| !d.is_empty()),
        max_uploads: number(query, "max-uploads", 1000)?,
    };
    let reply: ListUploadsReply = ask::<rpc::ListUploads>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        list_uploads_xml(&reply, url),
        &ctx.request_id,
    ))
}

/// `ListMultipartUploadsResult`.
pub fn list_uploads_xml(r: &ListUploadsReply, url: bool) -> String {
    let name = |s: &str| -> String {
        if url {
            url_encode(s)
        } else {
            s.to_string()
        }
    };
    let mut out = format!("{DECLARATION}<ListMultipartUploadsResult xmlns=\"{NS}\">");
    elem(&mut out, "Bucket", &r.bucket);
    elem(
        &mut out,
        "KeyMarker",
        &name(r.key_marker.as_deref().unwrap_or("")),
    );
    elem(
        &mut out,
        "UploadIdMarker",
        r.upload_id_marker.as_deref().unwrap_or(""),
    );
    if let Some(k) = &r.next_key_marker {
        elem(&mut out, "NextKeyMarker", &name(k));
    }
    if let Some(u) = &r.next_upload_id_marker {
        elem(&mut out, "NextUploadIdMarker", u);
    }
    if let Some(d) = &r.delimiter {
        elem(&mut out, "Delimiter", &name(d));
    }
    elem(&mut out, "Prefix", &name(&r.prefix));
    elem(&mut out, "MaxUploads", &r.max_uploads.to_string());
    elem(
        &mut out,
        "IsTruncated",
        if r.is_truncated { "true" } else { "false" },
    );
    if url {
        elem(&mut out, "EncodingType", "url");
    }
    for u in &r.uploads {
        out.push_str("<Upload>");
        elem(&mut out, "Key", &name(&u.key));
        elem(&mut out, "UploadId", &u.upload_id);
        owner(&mut out, "Initiator", &u.owner);
        owner(&mut out, "Owner", &u.owner);
        elem(&mut out, "StorageClass", "STANDARD");
        elem(&mut out, "Initiated", &iso8601(u.initiated_ms));
        out.push_str("</Upload>");
    }
    for p in &r.common_prefixes {
        out.push_str("<CommonPrefixes>");
        elem(&mut out, "Prefix", &name(p));
        out.push_str("</CommonPrefixes>");
    }
    out.push_str("</ListMultipartUploadsResult>");
    out
}
