//! GetBucketLocation: `GET /bucket?location`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::LocationReply;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::encode::xml::{escape, DECLARATION, NS};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    let reply: LocationReply =
        ask::<rpc::GetBucketLocation>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(location_xml(&reply), &ctx.request_id))
}

/// `LocationConstraint`: an empty element for us-east-1, as S3 answers.
pub fn location_xml(reply: &LocationReply) -> String {
    if reply.location.is_empty() {
        return format!("{DECLARATION}<LocationConstraint xmlns=\"{NS}\"/>");
    }
    let loc = escape(&reply.location);
    format!("{DECLARATION}<LocationConstraint xmlns=\"{NS}\">{loc}</LocationConstraint>")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn location_constraint() {
        let want = format!("{HEAD}<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>");
        assert_eq!(
            location_xml(&LocationReply {
                location: "eu-west-1".into()
            }),
            want
        );
        let want = format!(
            "{HEAD}<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
        );
        assert_eq!(
            location_xml(&LocationReply {
                location: String::new()
            }),
            want
        );
    }
}
