//! DeleteObjects: `POST /bucket?delete`; the worker parses the `Delete` document.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::DeleteObjectsReply;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::encode::xml::{elem, DECLARATION, NS};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let op = r.bucket_op();
    let reply: DeleteObjectsReply =
        ask::<rpc::DeleteObjects>(state, ctx, r.signed, op, Some(r.body)).await?;
    Ok(encode::xml_response(
        delete_objects_xml(&reply),
        &ctx.request_id,
    ))
}

/// `DeleteResult`: `Deleted` entries are left out in quiet mode, errors never.
pub fn delete_objects_xml(reply: &DeleteObjectsReply) -> String {
    let mut out = format!("{DECLARATION}<DeleteResult xmlns=\"{NS}\">");
    if !reply.quiet {
        for key in &reply.deleted {
            out.push_str("<Deleted>");
            elem(&mut out, "Key", key);
            out.push_str("</Deleted>");
        }
    }
    for e in &reply.errors {
        out.push_str("<Error>");
        elem(&mut out, "Key", &e.key);
        elem(&mut out, "Code", &e.code);
        elem(&mut out, "Message", &e.message);
        out.push_str("</Error>");
    }
    out.push_str("</DeleteResult>");
    out
}

#[cfg(test)]
mod tests {
    use jetgate_protocol::messages::DeleteError;

    use super::*;

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn delete_result() {
        let mut reply = DeleteObjectsReply {
            quiet: false,
            deleted: vec!["sample1.txt".into()],
            errors: vec![DeleteError {
                key: "sample2.txt".into(),
                code: "AccessDenied".into(),
                message: "Access Denied".into(),
            }],
        };
        let want = format!("{HEAD}<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Deleted><Key>sample1.txt</Key></Deleted><Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>");
        assert_eq!(delete_objects_xml(&reply), want);
        reply.quiet = true;
        let want = format!("{HEAD}<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>");
        assert_eq!(delete_objects_xml(&reply), want);
    }
}
