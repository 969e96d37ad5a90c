//! Multipart operations at the edge: decode each action into its call to the multipart
//! role and encode the role's reply. CompleteMultipartUpload may answer `200` early and
//! stream its document (see `complete`).

mod complete;
mod xml;

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::SignedRequest;
use jetgate_protocol::multipart::{
    AbortUpload, CopyPartReply, CreateUpload, CreateUploadReply, ListParts, ListPartsReply,
    ListUploads, ListUploadsReply, UploadPart, UploadPartCopy, UploadPartReply,
};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use crate::call::ask;
use crate::decode::{self, query_pairs, query_value};
use crate::encode;
use crate::EdgeState;
use jetgate_protocol::route::{MultipartAction, Routed};

/// A routed multipart request, as the handler hands it over.
pub struct MultipartRequest<'a> {
    pub signed: SignedRequest,
    pub routed: &'a Routed,
    pub action: MultipartAction,
    pub body: Body,
}

/// Headers S3 would honour on CreateMultipartUpload that jetgate does not implement.
const UNSUPPORTED: &[&str] = &[
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-website-redirect-location",
];

fn header_map(signed: &SignedRequest) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in &signed.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            h.append(n, v);
        }
    }
    h
}

fn upload_id(query: &[(String, String)]) -> Result<String, S3Error> {
    match query_value(query, "uploadId") {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(S3Error::no_such_upload()),
    }
}

fn number(query: &[(String, String)], name: &str, default: u32) -> Result<u32, S3Error> {
    match query_value(query, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| n.min(i64::from(u32::MAX)) as u32)
            .ok_or_else(|| {
                S3Error::invalid_argument(format!(
                    "Provided {name} not an integer or within integer range"
                ))
            }),
    }
}

/// Handles one multipart action.
pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    req: MultipartRequest<'_>,
) -> Result<Response, S3Error> {
    let bucket = req.routed.bucket.clone().unwrap_or_default();
    let key = req.routed.key.clone().unwrap_or_default();
    let query = query_pairs(&req.signed.query);
    let h = header_map(&req.signed);
    let rid = ctx.request_id.clone();
    match req.action {
        MultipartAction::CreateMultipartUpload => {
            if let Some(name) = UNSUPPORTED.iter().find(|n| h.contains_key(**n)) {
                return Err(S3Error::not_implemented(&format!("The {name} header")));
            }
            let op = CreateUpload {
                bucket,
                key,
                headers: decode::object_headers(&h)?,
                checksum_algorithm: h
                    .get("x-amz-checksum-algorithm")
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim().to_ascii_uppercase()),
            };
            let reply: CreateUploadReply =
                ask::<rpc::CreateUpload>(state, ctx, req.signed, op, None).await?;
            let mut resp = encode::xml_response(xml::initiate(&reply), &rid);
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
        MultipartAction::UploadPartCopy => {
            let source = h
                .get("x-amz-copy-source")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let (source_bucket, source_key) = decode::copy_source(&source)?;
            let op = UploadPartCopy {
                bucket,
                key,
                upload_id: upload_id(&query)?,
                part_number: decode::part_number(query_value(&query, "partNumber").unwrap_or(""))?,
                source_bucket,
                source_key,
                range: decode::copy_source_range(&decode::Http(&h))?,
                source_conditions: decode::conditions(&decode::Http(&h), "x-amz-copy-source-"),
            };
            let reply: CopyPartReply =
                ask::<rpc::UploadPartCopy>(state, ctx, req.signed, op, None).await?;
            Ok(encode::xml_response(xml::copy_part(&reply), &rid))
        }
        MultipartAction::UploadPart => {
            let op = UploadPart {
                bucket,
                key,
                upload_id: upload_id(&query)?,
                part_number: decode::part_number(query_value(&query, "partNumber").unwrap_or(""))?,
            };
            let reply: UploadPartReply =
                ask::<rpc::UploadPart>(state, ctx, req.signed, op, Some(req.body)).await?;
            let mut resp = Response::new(Body::empty());
            if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", reply.etag)) {
                resp.headers_mut().insert(header::ETAG, v);
            }
            if let Some((name, value)) = reply.checksum {
                if let (Ok(n), Ok(v)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    resp.headers_mut().insert(n, v);
                }
            }
            Ok(resp)
        }
        MultipartAction::CompleteMultipartUpload => {
            let upload_id = upload_id(&query)?;
            complete::handle(state, ctx, req.signed, req.body, bucket, key, upload_id).await
        }
        MultipartAction::AbortMultipartUpload => {
            let op = AbortUpload {
                bucket,
                key,
                upload_id: upload_id(&query)?,
            };
            ask::<rpc::AbortUpload>(state, ctx, req.signed, op, None).await?;
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            Ok(resp)
        }
        MultipartAction::ListParts => {
            let op = ListParts {
                bucket,
                key,
                upload_id: upload_id(&query)?,
                max_parts: number(&query, "max-parts", 1000)?,
                part_number_marker: number(&query, "part-number-marker", 0)?,
            };
            let reply: ListPartsReply =
                ask::<rpc::ListParts>(state, ctx, req.signed, op, None).await?;
            Ok(encode::xml_response(xml::list_parts(&reply), &rid))
        }
        MultipartAction::ListMultipartUploads => {
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
                bucket,
                prefix: text("prefix").unwrap_or_default(),
                delimiter: text("delimiter").filter(|d| !d.is_empty()),
                key_marker: text("key-marker").filter(|d| !d.is_empty()),
                upload_id_marker: text("upload-id-marker").filter(|d| !d.is_empty()),
                max_uploads: number(&query, "max-uploads", 1000)?,
            };
            let reply: ListUploadsReply =
                ask::<rpc::ListUploads>(state, ctx, req.signed, op, None).await?;
            Ok(encode::xml_response(xml::list_uploads(&reply, url), &rid))
        }
    }
}
