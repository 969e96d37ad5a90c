//! HeadBucket: `HEAD /bucket`, answering the bucket's region.

use axum::response::Response;
use http::header::HeaderValue;
use http::StatusCode;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::{status_only, OpRequest};
use crate::call::ask;
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    ask::<rpc::HeadBucket>(state, ctx, r.signed, op, None).await?;
    let mut resp = status_only(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&state.cfg.region) {
        resp.headers_mut().insert("x-amz-bucket-region", v);
    }
    Ok(resp)
}
