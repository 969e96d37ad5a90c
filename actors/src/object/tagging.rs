//! Object tagging: the tag set lives in the object's NATS metadata (`jetgate-tags`, a
//! URL-encoded query string like the `x-amz-tagging` header). A tagging update rewrites
//! only the metadata message, compare-and-set on its sequence, so it never loses (nor
//! resurrects) a concurrent PUT or DELETE, and no chunk is copied.

use jetgate_protocol::messages::{Call, SignedRequest};
use jetgate_protocol::rpc;
use jetgate_protocol::tagging::{validate_tags, ObjectTagging, Tag, TaggingReply};
use jetgate_protocol::S3Error;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;

use crate::body::read_small_verified;
use crate::incoming::Incoming;
use crate::store::{ObjectMeta, StoreError};
use crate::worker::Worker;

/// Metadata key of the tag set.
pub const KEY_TAGS: &str = "jetgate-tags";
/// Largest Tagging document accepted (10 tags of 128 + 256 characters fit easily).
const MAX_BODY: usize = 64 * 1024;
/// Compare-and-set attempts before a tagging update gives up under contention.
const ATTEMPTS: usize = 8;

/// Everything but the unreserved characters is escaped, so `&`, `=` and `+` in keys
/// and values survive the round trip.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Tags as a query string: `k1=v1&k2=v2`.
pub fn encode_tags(tags: &[Tag]) -> String {
    tags.iter()
        .map(|t| {
            format!(
                "{}={}",
                utf8_percent_encode(&t.key, QUERY),
                utf8_percent_encode(&t.value, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Reads a query string of tags (form encoding: `+` is a space). `None` when a name or
/// value is not UTF-8 once decoded.
pub fn decode_tags(text: &str) -> Option<Vec<Tag>> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some(Tag::new(decode(k)?, decode(v)?))
        })
        .collect()
}

/// The tags of `x-amz-tagging` (PutObject, CreateMultipartUpload, CopyObject with
/// REPLACE); none when the header is absent. Checked before any byte is stored.
pub fn header_tags(signed: &SignedRequest) -> Result<Vec<Tag>, S3Error> {
    let Some(value) = signed.header("x-amz-tagging") else {
        return Ok(Vec::new());
    };
    let tags = decode_tags(value.trim()).ok_or_else(|| {
        S3Error::invalid_argument(
            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
        )
    })?;
    validate_tags(&tags)?;
    Ok(tags)
}

/// `x-amz-tagging-directive` of CopyObject: `COPY` (the default) keeps the source's
/// tags, `REPLACE` takes the request's `x-amz-tagging`.
pub fn copy_tags(signed: &SignedRequest, source: &ObjectMeta) -> Result<Vec<Tag>, S3Error> {
    match signed.header("x-amz-tagging-directive").map(str::trim) {
        None | Some("COPY") => Ok(stored_tags(source)),
        Some("REPLACE") => header_tags(signed),
        Some(_) => Err(S3Error::invalid_argument("Unknown tagging directive.")),
    }
}

/// The tags stored with an object.
pub fn stored_tags(meta: &ObjectMeta) -> Vec<Tag> {
    meta.metadata
        .get(KEY_TAGS)
        .and_then(|t| decode_tags(t))
        .unwrap_or_default()
}

/// Records `tags` in the metadata (none: the key is removed).
pub fn set_tags(meta: &mut ObjectMeta, tags: &[Tag]) {
    if tags.is_empty() {
        meta.metadata.remove(KEY_TAGS);
    } else {
        meta.metadata.insert(KEY_TAGS.into(), encode_tags(tags));
    }
}

#[derive(Debug, Deserialize)]
struct TaggingDoc {
    #[serde(rename = "TagSet")]
    tag_set: TagSetXml,
}

#[derive(Debug, Deserialize)]
struct TagSetXml {
    #[serde(rename = "Tag", default)]
    tags: Vec<TagXml>,
}

#[derive(Debug, Deserialize)]
struct TagXml {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

/// Parses and checks a `<Tagging><TagSet><Tag>…` document for an object.
pub fn parse_tagging(xml: &[u8]) -> Result<Vec<Tag>, S3Error> {
    let tags = parse_tag_set(xml)?;
    validate_tags(&tags)?;
    Ok(tags)
}

/// Parses a `<Tagging><TagSet><Tag>…` document (objects and buckets check different
/// limits on it).
pub fn parse_tag_set(xml: &[u8]) -> Result<Vec<Tag>, S3Error> {
    let text = std::str::from_utf8(xml).map_err(|_| S3Error::malformed_xml())?;
    let doc: TaggingDoc = quick_xml::de::from_str(text).map_err(|_| S3Error::malformed_xml())?;
    Ok(doc
        .tag_set
        .tags
        .into_iter()
        .map(|t| Tag::new(t.key, t.value))
        .collect())
}

pub async fn get_tagging(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<ObjectTagging> = inc.call::<rpc::GetObjectTagging>()?.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    let meta = worker
        .store()
        .lookup(&nats_bucket, &call.op.key)
        .await?
        .ok_or_else(S3Error::no_such_key)?;
    let reply = TaggingReply {
        tags: stored_tags(&meta),
    };
    inc.reply::<rpc::GetObjectTagging>(&reply, &[]).await
}

pub async fn put_tagging(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::PutObjectTagging>()?;
    let call = &env.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let xml = read_small_verified(worker, inc, &principal, &env, MAX_BODY).await?;
    let tags = parse_tagging(&xml)?;
    update(worker, &nats_bucket, &call.op.key, &tags).await?;
    tracing::debug!(tags = tags.len(), "object tagged");
    inc.reply::<rpc::PutObjectTagging>(&TaggingReply::default(), &[])
        .await
}

pub async fn delete_tagging(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let call: Call<ObjectTagging> = inc.call::<rpc::DeleteObjectTagging>()?.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    update(worker, &nats_bucket, &call.op.key, &[]).await?;
    inc.reply::<rpc::DeleteObjectTagging>(&TaggingReply::default(), &[])
        .await
}

/// Rewrites the object's metadata with `tags`, everything else (mtime included, as S3
/// keeps Last-Modified) unchanged; retried when another write got in between.
async fn update(
    worker: &Worker,
    nats_bucket: &str,
    key: &str,
    tags: &[Tag],
) -> Result<(), S3Error> {
    for _ in 0..ATTEMPTS {
        let (meta, seq) = worker.store().lookup_seq(nats_bucket, key).await?;
        let mut meta = meta.ok_or_else(S3Error::no_such_key)?;
        set_tags(&mut meta, tags);
        match worker
            .store()
            .put_meta_if(nats_bucket, &meta, Some(seq))
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => {
                tracing::debug!("object changed during a tagging update; retrying");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(S3Error::slow_down_with(
        "The object is being written concurrently; please retry the tagging request.",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;

    #[test]
    fn tag_query_round_trip() {
        let tags = vec![
            Tag::new("project", "blue sky"),
            Tag::new("a&b=c+d", "ü/%?"),
            Tag::new("empty", ""),
        ];
        let text = encode_tags(&tags);
        assert_eq!(
            text,
            "project=blue%20sky&a%26b%3Dc%2Bd=%C3%BC%2F%25%3F&empty="
        );
        assert_eq!(decode_tags(&text).unwrap(), tags);
        // The header form: `+` is a space, a missing `=` an empty value.
        assert_eq!(
            decode_tags("k1=v+1&k2").unwrap(),
            vec![Tag::new("k1", "v 1"), Tag::new("k2", "")]
        );
        assert_eq!(decode_tags("").unwrap(), vec![]);
        assert!(decode_tags("k=%FF").is_none());
        let mut meta = ObjectMeta::default();
        set_tags(&mut meta, &tags);
        assert_eq!(stored_tags(&meta), tags);
        set_tags(&mut meta, &[]);
        assert!(!meta.metadata.contains_key(KEY_TAGS));
    }

    fn signed(headers: &[(&str, &str)]) -> SignedRequest {
        SignedRequest {
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn tagging_headers() {
        let s = signed(&[("x-amz-tagging", "a=1&b=two%20words")]);
        let tags = header_tags(&s).unwrap();
        assert_eq!(tags, vec![Tag::new("a", "1"), Tag::new("b", "two words")]);
        assert!(header_tags(&signed(&[])).unwrap().is_empty());
        let code = |h: &[(&str, &str)]| header_tags(&signed(h)).unwrap_err().code;
        assert_eq!(
            code(&[("x-amz-tagging", "a=%FF")]),
            S3ErrorCode::InvalidArgument
        );
        assert_eq!(
            code(&[("x-amz-tagging", "a=1&a=2")]),
            S3ErrorCode::InvalidTag
        );
        let many: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert_eq!(
            code(&[("x-amz-tagging", &many.join("&"))]),
            S3ErrorCode::InvalidTag
        );
        let mut source = ObjectMeta::default();
        set_tags(&mut source, &[Tag::new("src", "x")]);
        let copied = copy_tags(&s, &source).unwrap();
        assert_eq!(copied, vec![Tag::new("src", "x")]);
        let replaced = copy_tags(
            &signed(&[
                ("x-amz-tagging-directive", "REPLACE"),
                ("x-amz-tagging", "n=1"),
            ]),
            &source,
        )
        .unwrap();
        assert_eq!(replaced, vec![Tag::new("n", "1")]);
        let bad = copy_tags(&signed(&[("x-amz-tagging-directive", "MERGE")]), &source);
        assert_eq!(bad.unwrap_err().code, S3ErrorCode::InvalidArgument);
    }

    #[test]
    fn tagging_documents() {
        let xml = br#"<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>Key1</Key><Value>Value1</Value></Tag><Tag><Key>k2</Key><Value></Value></Tag></TagSet></Tagging>"#;
        assert_eq!(
            parse_tagging(xml).unwrap(),
            vec![Tag::new("Key1", "Value1"), Tag::new("k2", "")]
        );
        let empty = br#"<Tagging><TagSet></TagSet></Tagging>"#;
        assert_eq!(parse_tagging(empty).unwrap(), vec![]);
        for bad in [
            &b"<Tagging><TagSet>"[..],
            b"not xml",
            b"<Tagging/>",
            b"\xff",
        ] {
            assert_eq!(
                parse_tagging(bad).unwrap_err().code,
                S3ErrorCode::MalformedXML
            );
        }
        let dup = br#"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>"#;
        assert_eq!(
            parse_tagging(dup).unwrap_err().code,
            S3ErrorCode::InvalidTag
        );
    }
}
