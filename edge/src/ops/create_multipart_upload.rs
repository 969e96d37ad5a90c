//! CreateMultipartUpload: `POST /bucket/key?uploads`.

use axum::response::Response;
use http::header::HeaderValue;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::multipart::{CreateUpload, CreateUploadReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::decode;
use crate::encode;
use crate::encode::xml::{elem, DECLARATION, NS};
use crate::multipart::{header_map, UNSUPPORTED};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let h = header_map(&r.signed);
    if let Some(name) = UNSUPPORTED.iter().find(|n| h.contains_key(**n)) {
        return Err(S3Error::not_implemented(&format!("The {name} header")));
    }
    let op = CreateUpload {
        bucket: r.bucket,
        key: r.key,
        headers: decode::object_headers(&h)?,
        checksum_algorithm: h
            .get("x-amz-checksum-algorithm")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_uppercase()),
    };
    let reply: CreateUploadReply = ask::<rpc::CreateUpload>(state, ctx, r.signed, op, None).await?;
    let mut resp = encode::xml_response(initiate_xml(&reply), &ctx.request_id);
    if let Some(a) = reply.checksum_algorithm.as_deref() {
        if let Ok(v) = HeaderValue::from_str(a) {
            resp.headers_mut().insert("x-amz-checksum-algorithm", v);
        }
    }
    if let Some(t) = reply.checksum_type.as_deref() {
        if let Ok(v) = HeaderValue::from_str(t) {
            resp.headers_mut().insert("x-amz-checksum-type", v);
        }
    }
    Ok(resp)
}

/// `InitiateMultipartUploadResult`.
pub fn initiate_xml(r: &CreateUploadReply) -> String {
    let mut out = format!("{DECLARATION}<InitiateMultipartUploadResult xmlns=\"{NS}\">");
    elem(&mut out, "Bucket", &r.bucket);
    elem(&mut out, "Key", &r.key);
    elem(&mut out, "UploadId", &r.upload_id);
    out.push_str("</InitiateMultipartUploadResult>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initiate_document() {
        let r = CreateUploadReply {
            bucket: "b".into(),
            key: "a&b".into(),
            upload_id: "XYZ".into(),
            checksum_algorithm: None,
            checksum_type: None,
        };
        assert_eq!(
            initiate_xml(&r),
            format!("{DECLARATION}<InitiateMultipartUploadResult xmlns=\"{NS}\"><Bucket>b</Bucket><Key>a&amp;b</Key><UploadId>XYZ</UploadId></InitiateMultipartUploadResult>")
        );
    }
}
