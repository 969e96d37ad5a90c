//! One file per S3 operation (or per operations one worker endpoint serves), named
//! after it: the operation's edge work, decode the HTTP request into its call, ask the
//! worker, encode the reply. `handler.rs` dispatches here; shared helpers live in
//! `decode`, `encode` and `call`, which never import an operation.

pub mod abort_multipart_upload;
pub mod bucket_acl;
pub mod bucket_config;
pub mod bucket_tagging;
pub mod complete_multipart_upload;
pub mod copy_object;
pub mod create_bucket;
pub mod create_multipart_upload;
pub mod delete_bucket;
pub mod delete_bucket_cors;
pub mod delete_object;
pub mod delete_object_tagging;
pub mod delete_objects;
pub mod get_bucket_cors;
pub mod get_bucket_location;
pub mod get_bucket_versioning;
pub mod get_object;
pub mod get_object_attributes;
pub mod get_object_tagging;
pub mod head_bucket;
pub mod list_buckets;
pub mod list_multipart_uploads;
pub mod list_object_versions;
pub mod list_objects;
pub mod list_parts;
pub mod object_acl;
pub mod post_object;
pub mod preflight;
pub mod put_bucket_cors;
pub mod put_object;
pub mod put_object_tagging;
pub mod sts;
pub mod upload_part;
pub mod upload_part_copy;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use jetgate_protocol::messages::{BucketOp, SignedRequest};
use jetgate_protocol::route::Routed;

use crate::decode;

/// A routed request as every operation receives it.
pub struct OpRequest {
    /// The request as the worker verifies it.
    pub signed: SignedRequest,
    pub bucket: String,
    pub key: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Body,
}

impl OpRequest {
    pub fn new(req: Request, routed: &Routed, domain: Option<&str>) -> OpRequest {
        let signed = signed_request(&req, domain);
        let query = decode::query_pairs(req.uri().query().unwrap_or(""));
        let (parts, body) = req.into_parts();
        OpRequest {
            signed,
            bucket: routed.bucket.clone().unwrap_or_default(),
            key: routed.key.clone().unwrap_or_default(),
            query,
            headers: parts.headers,
            body,
        }
    }

    /// The call of the operations that name only the bucket.
    pub fn bucket_op(&self) -> BucketOp {
        BucketOp {
            bucket: self.bucket.clone(),
        }
    }
}

/// The request as the worker sees it: method, path, query and headers as sent.
pub fn signed_request(req: &Request, domain: Option<&str>) -> SignedRequest {
    SignedRequest {
        virtual_host_bucket: jetgate_protocol::route::virtual_host_bucket(req.headers(), domain),
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
    }
}

/// An answer with only a status.
pub fn status_only(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}
