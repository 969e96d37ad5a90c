//! CreateBucket: `PUT /bucket` (the optional configuration body goes to the worker).

use axum::response::Response;
use http::header::{self, HeaderValue};
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
    ask::<rpc::CreateBucket>(state, ctx, r.signed, op, Some(r.body)).await?;
    let mut resp = status_only(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("/{}", r.bucket)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}
