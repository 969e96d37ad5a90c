//! Multipart operations at the edge: decode each action into its call to the multipart
//! role and encode the role's reply.

use axum::body::Body;
use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{Ack, Multipart, SignedRequest};
use jetgate_protocol::{Endpoint, S3Error};

use crate::call::call;
use crate::router::{MultipartAction, Routed};
use crate::EdgeState;

/// A routed multipart request, as the handler hands it over.
pub struct MultipartRequest<'a> {
    pub signed: SignedRequest,
    pub routed: &'a Routed,
    pub action: MultipartAction,
    pub body: Body,
}

/// Handles one multipart action; the role answers NotImplemented until it lands.
pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    req: MultipartRequest<'_>,
) -> Result<Response, S3Error> {
    let op = Multipart {
        bucket: req.routed.bucket.clone().unwrap_or_default(),
        key: req.routed.key.clone(),
        action: req.action.as_str().to_string(),
    };
    let r = call(
        state,
        Endpoint::Multipart,
        ctx,
        req.signed,
        op,
        Some(req.body),
        false,
    )
    .await?;
    jetgate_protocol::decode::<Ack>(&r.msg.payload).map_err(S3Error::internal)?;
    Err(S3Error::internal(
        "multipart role answered without a result",
    ))
}
