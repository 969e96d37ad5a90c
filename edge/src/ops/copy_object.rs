//! CopyObject: `PUT /bucket/key` with `x-amz-copy-source`.

use axum::response::Response;
use http::HeaderMap;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{CopyObject, CopyReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::decode::{
    conditions, copy_source, header_text, object_headers, refuse_unsupported, Http,
};
use crate::encode;
use crate::encode::iso8601;
use crate::encode::xml::{elem, quoted, DECLARATION, NS};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = copy_object(&r.bucket, &r.key, &r.headers)?;
    let reply: CopyReply = ask::<rpc::CopyObject>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        copy_object_xml(&reply),
        &ctx.request_id,
    ))
}

/// CopyObject: source from `x-amz-copy-source`, `x-amz-metadata-directive` COPY
/// (default) or REPLACE, and the `x-amz-copy-source-if-*` preconditions.
pub fn copy_object(bucket: &str, key: &str, h: &HeaderMap) -> Result<CopyObject, S3Error> {
    refuse_unsupported(h)?;
    let source = header_text(h, "x-amz-copy-source")
        .ok_or_else(|| S3Error::invalid_argument("Copy Source must be specified"))?;
    let (source_bucket, source_key) = copy_source(&source)?;
    let replace_metadata = match header_text(h, "x-amz-metadata-directive").as_deref() {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(_) => return Err(S3Error::invalid_argument("Unknown metadata directive.")),
    };
    if source_bucket == bucket && source_key == key && !replace_metadata {
        return Err(S3Error::invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    Ok(CopyObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        source_bucket,
        source_key,
        replace_metadata,
        headers: object_headers(h)?,
        source_conditions: conditions(&Http(h), "x-amz-copy-source-"),
    })
}

/// `CopyObjectResult`.
pub fn copy_object_xml(reply: &CopyReply) -> String {
    let mut out = format!("{DECLARATION}<CopyObjectResult xmlns=\"{NS}\">");
    elem(&mut out, "LastModified", &iso8601(reply.last_modified_ms));
    elem(&mut out, "ETag", &quoted(&reply.etag));
    if let Some((algo, value)) = &reply.checksum {
        elem(&mut out, &format!("Checksum{algo}"), value);
        elem(&mut out, "ChecksumType", "FULL_OBJECT");
    }
    out.push_str("</CopyObjectResult>");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use http::HeaderValue;
    use jetgate_protocol::S3ErrorCode;

    use super::*;
    use crate::test_support::{code, headers};

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn copy_object_request() {
        let h = headers(&[
            ("x-amz-copy-source", "/src-bucket/a%20b"),
            ("x-amz-copy-source-if-match", "\"e\""),
            ("content-type", "text/plain"),
        ]);
        let c = copy_object("b-1", "k", &h).unwrap();
        assert_eq!(
            (c.source_bucket.as_str(), c.source_key.as_str()),
            ("src-bucket", "a b")
        );
        assert!(!c.replace_metadata);
        assert_eq!(c.source_conditions.if_match.as_deref(), Some("\"e\""));
        assert_eq!(c.headers.content_type.as_deref(), Some("text/plain"));

        let mut h2 = h.clone();
        h2.insert(
            "x-amz-metadata-directive",
            HeaderValue::from_static("REPLACE"),
        );
        assert!(copy_object("b-1", "k", &h2).unwrap().replace_metadata);
        h2.insert(
            "x-amz-metadata-directive",
            HeaderValue::from_static("MERGE"),
        );
        assert_eq!(
            code(copy_object("b-1", "k", &h2)),
            S3ErrorCode::InvalidArgument
        );

        // Copying onto itself must change something.
        assert_eq!(
            code(copy_object("src-bucket", "a b", &h)),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(copy_object("b-1", "k", &HeaderMap::new())),
            S3ErrorCode::InvalidArgument
        );
    }

    #[test]
    fn copy_object_result() {
        let reply = CopyReply {
            etag: "9b2cf535f27731c974343645a3985328".into(),
            last_modified_ms: 1_256_769_120_000,
            checksum: None,
        };
        let want = format!("{HEAD}<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>2009-10-28T22:32:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>");
        assert_eq!(copy_object_xml(&reply), want);
        let reply = CopyReply {
            checksum: Some(("CRC32".into(), "DUoRhQ==".into())),
            ..reply
        };
        assert!(copy_object_xml(&reply).ends_with(
            "</ETag><ChecksumCRC32>DUoRhQ==</ChecksumCRC32><ChecksumType>FULL_OBJECT</ChecksumType></CopyObjectResult>"
        ));
    }
}
