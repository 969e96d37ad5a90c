//! The S3 fallback handler: route the request, then a flat dispatch to its operation
//! in `ops/`. The request id, span and metrics around it are layers (`layers.rs`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::Extension;
use http::Method;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::route::{
    route, CorsAction as C, FeatureAction as F, MultipartAction as M, Operation, Routed,
};
use jetgate_protocol::{S3Error, S3ErrorCode};

use crate::encode;
use crate::layers::OperationName;
use crate::ops::{self, OpRequest};
use crate::EdgeState;

pub async fn s3(
    State(state): State<Arc<EdgeState>>,
    Extension(ctx): Extension<RequestContext>,
    req: Request,
) -> Response {
    let head = req.method() == Method::HEAD;
    let path = req.uri().path().to_string();
    let routed = match route(
        req.method(),
        req.uri().path(),
        req.uri().query().unwrap_or(""),
        req.headers(),
        state.cfg.domain.as_deref(),
    ) {
        Err(e) if e.code == S3ErrorCode::NotImplemented => {
            let signed = ops::signed_request(&req, state.cfg.domain.as_deref());
            let e = ops::bucket_config::refused(&state, &ctx, signed).await;
            return encode::error_response(&e, &path, &ctx.request_id, head);
        }
        Err(e) => return encode::error_response(&e, &path, &ctx.request_id, head),
        Ok(routed) => routed,
    };
    let operation = routed.op.name();
    let span = tracing::Span::current();
    span.record("operation", operation);
    if let Some(b) = &routed.bucket {
        span.record("bucket", b.as_str());
    }
    let resource = routed.resource();
    // Browser requests (with Origin) get the bucket's CORS headers.
    let cors = crate::cors::Pending::start(&state, &ctx, &routed, req.headers(), req.method());
    let mut resp = match handle(&state, &ctx, routed, req).await {
        Ok(r) => r,
        Err(e) => encode::error_response(&e, &resource, &ctx.request_id, head),
    };
    cors.apply(&mut resp).await;
    resp.extensions_mut().insert(OperationName(operation));
    resp
}

/// One line per operation: its home in `ops/` does the rest.
async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    routed: Routed,
    req: Request,
) -> Result<Response, S3Error> {
    let r = OpRequest::new(req, &routed, state.cfg.domain.as_deref());
    match routed.op {
        Operation::ListBuckets => ops::list_buckets::handle(state, ctx, r).await,
        Operation::CreateBucket => ops::create_bucket::handle(state, ctx, r).await,
        Operation::DeleteBucket => ops::delete_bucket::handle(state, ctx, r).await,
        Operation::HeadBucket => ops::head_bucket::handle(state, ctx, r).await,
        Operation::GetBucketLocation => ops::get_bucket_location::handle(state, ctx, r).await,
        Operation::ListObjects { v2 } => ops::list_objects::handle(state, ctx, r, v2).await,
        Operation::PutObject => ops::put_object::handle(state, ctx, r).await,
        Operation::CopyObject => ops::copy_object::handle(state, ctx, r).await,
        Operation::GetObject => ops::get_object::handle(state, ctx, r, false).await,
        Operation::HeadObject => ops::get_object::handle(state, ctx, r, true).await,
        Operation::DeleteObject => ops::delete_object::handle(state, ctx, r).await,
        Operation::DeleteObjects => ops::delete_objects::handle(state, ctx, r).await,
        Operation::PostObject => ops::post_object::handle(state, ctx, r).await,
        Operation::AssumeRoleWithWebIdentity => ops::sts::handle(state, ctx, r).await,
        Operation::Acl { object: false, put } => ops::bucket_acl::handle(state, ctx, r, put).await,
        Operation::Acl { object: true, put } => ops::object_acl::handle(state, ctx, r, put).await,
        Operation::BucketConfig(config, _) => {
            ops::bucket_config::handle(state, ctx, r, config).await
        }
        Operation::Cors(C::PutBucketCors) => ops::put_bucket_cors::handle(state, ctx, r).await,
        Operation::Cors(C::GetBucketCors) => ops::get_bucket_cors::handle(state, ctx, r).await,
        Operation::Cors(C::DeleteBucketCors) => {
            ops::delete_bucket_cors::handle(state, ctx, r).await
        }
        Operation::Cors(C::Preflight) => ops::preflight::handle(state, ctx, r).await,
        Operation::Multipart(M::CreateMultipartUpload) => {
            ops::create_multipart_upload::handle(state, ctx, r).await
        }
        Operation::Multipart(M::UploadPart) => ops::upload_part::handle(state, ctx, r).await,
        Operation::Multipart(M::UploadPartCopy) => {
            ops::upload_part_copy::handle(state, ctx, r).await
        }
        Operation::Multipart(M::CompleteMultipartUpload) => {
            ops::complete_multipart_upload::handle(state, ctx, r).await
        }
        Operation::Multipart(M::AbortMultipartUpload) => {
            ops::abort_multipart_upload::handle(state, ctx, r).await
        }
        Operation::Multipart(M::ListParts) => ops::list_parts::handle(state, ctx, r).await,
        Operation::Multipart(M::ListMultipartUploads) => {
            ops::list_multipart_uploads::handle(state, ctx, r).await
        }
        Operation::Feature(F::GetObjectTagging) => {
            ops::get_object_tagging::handle(state, ctx, r).await
        }
        Operation::Feature(F::PutObjectTagging) => {
            ops::put_object_tagging::handle(state, ctx, r).await
        }
        Operation::Feature(F::DeleteObjectTagging) => {
            ops::delete_object_tagging::handle(state, ctx, r).await
        }
        Operation::Feature(
            a @ (F::GetBucketTagging | F::PutBucketTagging | F::DeleteBucketTagging),
        ) => ops::bucket_tagging::handle(state, ctx, r, a).await,
        Operation::Feature(F::GetObjectAttributes) => {
            ops::get_object_attributes::handle(state, ctx, r).await
        }
        Operation::Feature(F::GetBucketVersioning) => {
            ops::get_bucket_versioning::handle(state, ctx, r).await
        }
        Operation::Feature(F::ListObjectVersions) => {
            ops::list_object_versions::handle(state, ctx, r).await
        }
    }
}

#[cfg(test)]
#[path = "handler/route_props.rs"]
mod route_props;
