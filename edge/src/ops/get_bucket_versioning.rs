//! GetBucketVersioning: `GET /bucket?versioning`; jetgate never versions, so the
//! answer is the empty `VersioningConfiguration`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::encode::xml::{DECLARATION, NS};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    ask::<rpc::GetBucketVersioning>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(versioning_xml(), &ctx.request_id))
}

/// `VersioningConfiguration` of a bucket whose versioning was never enabled: empty.
pub fn versioning_xml() -> String {
    format!("{DECLARATION}<VersioningConfiguration xmlns=\"{NS}\"/>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioning_document() {
        assert_eq!(
            versioning_xml(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
        );
    }
}
