//! Object tagging, GetObjectAttributes, the versioning probes and the bucket
//! configurations jetgate does not keep, at the edge: decode each request into its call
//! and encode the reply (XML in `features/xml.rs`).

mod decode;
pub mod xml;

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use jetgate_protocol::attributes::{AttributesReply, ListVersionsReply};
use jetgate_protocol::bucket_config::BucketConfig;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{BucketOp, SignedRequest};
use jetgate_protocol::rpc;
use jetgate_protocol::tagging::{ObjectTagging, PutObjectTagging, TaggingReply};
use jetgate_protocol::S3Error;

pub use decode::{object_attributes, object_attributes_call, object_versions, Attribute};

use crate::call::ask;
use crate::encode;
use crate::EdgeState;
use jetgate_protocol::route::{FeatureAction, Routed};

/// A routed request of this module, as the handler hands it over.
pub struct FeatureRequest<'a> {
    pub signed: SignedRequest,
    pub routed: &'a Routed,
    pub action: FeatureAction,
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: Body,
}

fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    req: FeatureRequest<'_>,
) -> Result<Response, S3Error> {
    use FeatureAction as A;
    let bucket = req.routed.bucket.clone().unwrap_or_default();
    let key = req.routed.key.clone().unwrap_or_default();
    let rid = ctx.request_id.as_str();
    let signed = req.signed;
    match req.action {
        A::GetObjectTagging => {
            let op = ObjectTagging { bucket, key };
            let reply: TaggingReply =
                ask::<rpc::GetObjectTagging>(state, ctx, signed, op, None).await?;
            Ok(encode::xml_response(xml::tagging(&reply), rid))
        }
        A::PutObjectTagging => {
            let op = PutObjectTagging { bucket, key };
            ask::<rpc::PutObjectTagging>(state, ctx, signed, op, Some(req.body)).await?;
            Ok(empty(StatusCode::OK))
        }
        A::DeleteObjectTagging => {
            let op = ObjectTagging { bucket, key };
            ask::<rpc::DeleteObjectTagging>(state, ctx, signed, op, None).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        A::GetBucketTagging => {
            let op = BucketOp { bucket };
            let reply: TaggingReply =
                ask::<rpc::BucketTagging>(state, ctx, signed, op, None).await?;
            Ok(encode::xml_response(xml::tagging(&reply), rid))
        }
        A::PutBucketTagging | A::DeleteBucketTagging => {
            let op = BucketOp { bucket };
            let body = (req.action == A::PutBucketTagging).then_some(req.body);
            ask::<rpc::BucketTagging>(state, ctx, signed, op, body).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        A::GetObjectAttributes => {
            let wanted = object_attributes(req.headers)?;
            let op = object_attributes_call(&bucket, &key, req.headers)?;
            let reply: AttributesReply =
                ask::<rpc::GetObjectAttributes>(state, ctx, signed, op, None).await?;
            let mut resp = encode::xml_response(xml::attributes(&reply, &wanted), rid);
            if let Ok(v) = HeaderValue::from_str(&encode::http_date(reply.last_modified_ms)) {
                resp.headers_mut().insert(header::LAST_MODIFIED, v);
            }
            Ok(resp)
        }
        A::GetBucketVersioning => {
            let op = BucketOp { bucket };
            ask::<rpc::GetBucketVersioning>(state, ctx, signed, op, None).await?;
            Ok(encode::xml_response(xml::versioning(), rid))
        }
        A::ListObjectVersions => {
            let (op, url) = object_versions(&bucket, req.query)?;
            let reply: ListVersionsReply =
                ask::<rpc::ListObjectVersions>(state, ctx, signed, op, None).await?;
            Ok(encode::xml_response(xml::versions(&reply, url), rid))
        }
    }
}

/// A bucket configuration jetgate does not keep: the listing role checks signature,
/// policy and bucket and answers the error (NoSuchBucketPolicy, NotImplemented for a
/// write, ...); a read that succeeds shows the configuration's default document.
pub async fn bucket_config(
    state: &EdgeState,
    ctx: &RequestContext,
    signed: SignedRequest,
    bucket: String,
    config: BucketConfig,
) -> Result<Response, S3Error> {
    ask::<rpc::BucketConfig>(state, ctx, signed, BucketOp { bucket }, None).await?;
    Ok(encode::xml_response(config.unset()?, &ctx.request_id))
}

/// A request the route table refused as NotImplemented, answered only once its
/// signature holds: the listing role verifies it and answers the refusal itself, so
/// an anonymous or wrongly signed caller gets 403, as from AWS.
pub async fn refused(state: &EdgeState, ctx: &RequestContext, signed: SignedRequest) -> S3Error {
    let op = BucketOp {
        bucket: String::new(),
    };
    match ask::<rpc::BucketConfig>(state, ctx, signed, op, None).await {
        Err(e) => e,
        Ok(_) => S3Error::internal("a refused request was answered success"),
    }
}
