//! The bucket configurations jetgate does not keep (Get/Put/DeleteBucketPolicy,
//! Lifecycle, Encryption, ...: `jetgate_protocol::bucket_config`), and the requests the
//! route table refuses as NotImplemented, both answered by the listing role.

use axum::response::Response;
use jetgate_protocol::bucket_config::BucketConfig;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{BucketOp, SignedRequest};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::EdgeState;

/// A bucket configuration jetgate does not keep: the listing role checks signature,
/// policy and bucket and answers the error (NoSuchBucketPolicy, NotImplemented for a
/// write, ...); a read that succeeds shows the configuration's default document.
pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
    config: BucketConfig,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    ask::<rpc::BucketConfig>(state, ctx, r.signed, op, None).await?;
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
