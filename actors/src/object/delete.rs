//! DeleteObject and DeleteObjects (the `?delete` XML body, up to 1000 keys).

use jetgate_protocol::messages::{Ack, BucketOp, DeleteError, DeleteObject, DeleteObjectsReply};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::{S3Error, S3ErrorCode};
use serde::Deserialize;

use crate::incoming::Incoming;
use crate::worker::Worker;

/// Longest DeleteObjects document: 1000 keys of up to 1 KiB, with markup.
const MAX_DELETE_BODY: usize = 2 * 1024 * 1024;

pub async fn delete(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<DeleteObject>()?;
    let call = &env.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    delete_one(worker, &nats_bucket, &call.op.key).await?;
    inc.reply(&Ack {}, &[]).await
}

async fn delete_one(worker: &Worker, nats_bucket: &str, key: &str) -> Result<(), S3Error> {
    // S3 answers 204 for a key that does not exist.
    if let Some(meta) = worker.store().lookup(nats_bucket, key).await? {
        worker.store().delete_object(nats_bucket, &meta).await?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct DeleteDoc {
    #[serde(rename = "Quiet", default)]
    quiet: bool,
    #[serde(rename = "Object", default)]
    objects: Vec<DeleteDocObject>,
}

#[derive(Debug, Deserialize)]
struct DeleteDocObject {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "VersionId", default)]
    version_id: Option<String>,
}

fn malformed() -> S3Error {
    S3Error::new(
        S3ErrorCode::MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )
}

/// `(quiet, keys with their version ids)` of a DeleteObjects document.
type DeleteList = (bool, Vec<(String, Option<String>)>);

fn parse_delete(xml: &[u8]) -> Result<DeleteList, S3Error> {
    let text = std::str::from_utf8(xml).map_err(|_| malformed())?;
    let doc: DeleteDoc = quick_xml::de::from_str(text).map_err(|_| malformed())?;
    if doc.objects.is_empty() || doc.objects.len() > 1000 {
        return Err(malformed());
    }
    Ok((
        doc.quiet,
        doc.objects
            .into_iter()
            .map(|o| (o.key, o.version_id))
            .collect(),
    ))
}

pub async fn delete_many(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<BucketOp>()?;
    let call = &env.msg;
    validate_bucket(&call.op.bucket)?;
    let nats_bucket = bucket_to_nats(&call.op.bucket);
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let has_digest = call.signed.header("content-md5").is_some()
        || call
            .signed
            .headers
            .iter()
            .any(|(n, _)| n.starts_with("x-amz-checksum-") && n != "x-amz-checksum-algorithm")
        || call.signed.header("x-amz-trailer").is_some();
    if !has_digest {
        return Err(S3Error::new(
            S3ErrorCode::InvalidRequest,
            "Missing required header for this request: Content-Md5",
        ));
    }
    let xml =
        crate::body::read_small_verified(worker, inc, &principal, &env, MAX_DELETE_BODY).await?;
    let (quiet, objects) = parse_delete(&xml)?;
    let mut reply = DeleteObjectsReply {
        quiet,
        deleted: Vec::new(),
        errors: Vec::new(),
    };
    for (key, version) in objects {
        let result = match version.as_deref() {
            None | Some("null") => match jetgate_protocol::names::validate_key(&key) {
                Ok(()) => delete_one(worker, &nats_bucket, &key).await,
                Err(e) => Err(e),
            },
            Some(_) => Err(S3Error::new(
                S3ErrorCode::NoSuchVersion,
                "The specified version does not exist.",
            )),
        };
        match result {
            Ok(()) => reply.deleted.push(key),
            Err(e) if e.code == S3ErrorCode::NoSuchBucket => return Err(e),
            Err(e) => reply.errors.push(DeleteError {
                key,
                code: e.code.as_str().to_string(),
                message: e.message,
            }),
        }
    }
    inc.reply(&reply, &[]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_aws_example() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Quiet>true</Quiet>
  <Object><Key>sample1.txt</Key></Object>
  <Object><Key>a &amp; b</Key><VersionId>null</VersionId></Object>
</Delete>"#;
        let (quiet, objs) = parse_delete(xml).expect("valid");
        assert!(quiet);
        assert_eq!(objs[0].0, "sample1.txt");
        assert_eq!(objs[1], ("a & b".to_string(), Some("null".to_string())));
    }

    #[test]
    fn rejects_bad_documents() {
        for bad in [
            &b"<Delete>"[..],
            b"<Delete></Delete>",
            b"not xml",
            b"\xff\xfe",
            b"<Delete><Object><NoKey/></Object></Delete>",
        ] {
            assert_eq!(
                parse_delete(bad).map_err(|e| e.code),
                Err(S3ErrorCode::MalformedXML),
                "{bad:?}"
            );
        }
        let many = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(1001)
        );
        assert!(parse_delete(many.as_bytes()).is_err());
    }
}
