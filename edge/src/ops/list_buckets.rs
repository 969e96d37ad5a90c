//! ListBuckets: `GET /`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{ListBuckets, ListBucketsReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::encode;
use crate::encode::iso8601;
use crate::encode::xml::{elem, owner, DECLARATION, NS};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let reply: ListBucketsReply =
        ask::<rpc::ListBuckets>(state, ctx, r.signed, ListBuckets {}, None).await?;
    Ok(encode::xml_response(
        list_buckets_xml(&reply),
        &ctx.request_id,
    ))
}

/// `ListAllMyBucketsResult`.
pub fn list_buckets_xml(reply: &ListBucketsReply) -> String {
    let mut out = format!("{DECLARATION}<ListAllMyBucketsResult xmlns=\"{NS}\">");
    owner(&mut out, &reply.owner);
    out.push_str("<Buckets>");
    for b in &reply.buckets {
        out.push_str("<Bucket>");
        elem(&mut out, "Name", &b.name);
        elem(&mut out, "CreationDate", &iso8601(b.created_ms));
        elem(&mut out, "BucketRegion", &reply.region);
        out.push_str("</Bucket>");
    }
    out.push_str("</Buckets>");
    if let Some(t) = &reply.continuation_token {
        elem(&mut out, "ContinuationToken", t);
    }
    if let Some(p) = &reply.prefix {
        elem(&mut out, "Prefix", p);
    }
    out.push_str("</ListAllMyBucketsResult>");
    out
}

#[cfg(test)]
mod tests {
    use jetgate_protocol::messages::{BucketEntry, Owner};

    use super::*;

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    fn owner() -> Owner {
        Owner {
            id: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a".into(),
            display_name: "webfile".into(),
        }
    }

    #[test]
    fn list_buckets_result() {
        let reply = ListBucketsReply {
            owner: owner(),
            buckets: vec![
                BucketEntry {
                    name: "examplebucket".into(),
                    created_ms: 1_570_902_630_000,
                },
                BucketEntry {
                    name: "my.other.bucket".into(),
                    created_ms: 1_570_902_630_123,
                },
            ],
            region: "us-east-1".into(),
            prefix: None,
            continuation_token: None,
        };
        let want = format!("{HEAD}<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><Buckets><Bucket><Name>examplebucket</Name><CreationDate>2019-10-12T17:50:30.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket><Bucket><Name>my.other.bucket</Name><CreationDate>2019-10-12T17:50:30.123Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket></Buckets></ListAllMyBucketsResult>");
        assert_eq!(list_buckets_xml(&reply), want);
        let paged = ListBucketsReply {
            buckets: Vec::new(),
            prefix: Some("a&b".into()),
            continuation_token: Some("Yg".into()),
            ..reply
        };
        assert!(list_buckets_xml(&paged).ends_with("</Buckets><ContinuationToken>Yg</ContinuationToken><Prefix>a&amp;b</Prefix></ListAllMyBucketsResult>"));
    }
}
