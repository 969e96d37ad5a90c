//! DeleteObject and DeleteObjects (the `?delete` XML body, up to 1000 keys).

use jetgate_protocol::messages::{Ack, DeleteError, DeleteObjectsReply};
use jetgate_protocol::names::{bucket_to_nats, validate_bucket};
use jetgate_protocol::rpc;
use jetgate_protocol::write_condition::WriteCondition;
use jetgate_protocol::{S3Error, S3ErrorCode};
use serde::Deserialize;

use crate::incoming::Incoming;
use crate::worker::Worker;

/// Longest DeleteObjects document: 1000 keys of up to 1 KiB, with markup.
const MAX_DELETE_BODY: usize = 2 * 1024 * 1024;

pub async fn delete(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::DeleteObject>()?;
    let call = &env.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let condition = WriteCondition::of_delete(&call.signed)?;
    delete_one(worker, &nats_bucket, &call.op.key, &condition).await?;
    inc.reply::<rpc::DeleteObject>(&Ack {}, &[]).await
}

async fn delete_one(
    worker: &Worker,
    nats_bucket: &str,
    key: &str,
    condition: &WriteCondition,
) -> Result<(), S3Error> {
    let (existing, expected) =
        super::current_for_write(worker, nats_bucket, key, condition).await?;
    // S3 answers 204 for a key that does not exist.
    if let Some(meta) = existing {
        worker
            .store()
            .delete_object(nats_bucket, &meta, expected)
            .await?;
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
    /// A conditional delete of this key (S3's per-object `If-Match`).
    #[serde(rename = "ETag", default)]
    etag: Option<String>,
    /// Directory-bucket conditions, refused per key rather than ignored.
    #[serde(rename = "LastModifiedTime", default)]
    last_modified_time: Option<String>,
    #[serde(rename = "Size", default)]
    size: Option<String>,
}

/// One key of a DeleteObjects document.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    key: String,
    version_id: Option<String>,
    etag: Option<String>,
    /// Carries a condition jetgate does not honour (LastModifiedTime, Size).
    unsupported_condition: bool,
}

/// `(quiet, keys)` of a DeleteObjects document.
type DeleteList = (bool, Vec<Target>);

pub(crate) fn parse_delete(xml: &[u8]) -> Result<DeleteList, S3Error> {
    let text = std::str::from_utf8(xml).map_err(|_| S3Error::malformed_xml())?;
    let doc: DeleteDoc = quick_xml::de::from_str(text).map_err(|_| S3Error::malformed_xml())?;
    if doc.objects.is_empty() || doc.objects.len() > 1000 {
        return Err(S3Error::malformed_xml());
    }
    Ok((
        doc.quiet,
        doc.objects
            .into_iter()
            .map(|o| Target {
                key: o.key,
                version_id: o.version_id,
                etag: o.etag,
                unsupported_condition: o.last_modified_time.is_some() || o.size.is_some(),
            })
            .collect(),
    ))
}

pub async fn delete_many(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::DeleteObjects>()?;
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
        return Err(S3Error::invalid_request(
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
    for Target {
        key,
        version_id,
        etag,
        unsupported_condition,
    } in objects
    {
        let result = match version_id.as_deref() {
            None | Some("null") => {
                let condition = match (etag.as_deref(), unsupported_condition) {
                    (_, true) => Err(S3Error::not_implemented(
                        "LastModifiedTime and Size conditions in DeleteObjects",
                    )),
                    (None, false) => Ok(WriteCondition::Always),
                    (Some(e), false) => WriteCondition::if_match(e),
                };
                match (jetgate_protocol::names::validate_key(&key), condition) {
                    (Ok(()), Ok(c)) => delete_one(worker, &nats_bucket, &key, &c).await,
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
            Some(_) => Err(S3Error::no_such_version()),
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
    inc.reply::<rpc::DeleteObjects>(&reply, &[]).await
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
  <Object><Key>c</Key><ETag>"abc"</ETag></Object>
</Delete>"#;
        let (quiet, objs) = parse_delete(xml).expect("valid");
        assert!(quiet);
        assert_eq!(objs[0].key, "sample1.txt");
        assert_eq!(objs[0].etag, None);
        assert_eq!(
            objs[1],
            Target {
                key: "a & b".into(),
                version_id: Some("null".into()),
                etag: None,
                unsupported_condition: false,
            }
        );
        assert_eq!(objs[2].etag.as_deref(), Some("\"abc\""));
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
