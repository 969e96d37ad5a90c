//! ListObjects (v1) and ListObjectsV2: `GET /bucket[?list-type=2]`.

use axum::response::Response;
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::messages::{ListObjects, ListObjectsReply};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::OpRequest;
use crate::call::ask;
use crate::decode::query_value;
use crate::encode;
use crate::encode::iso8601;
use crate::encode::xml::{elem, owner, quoted, url_encode, DECLARATION, NS};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
    v2: bool,
) -> Result<Response, S3Error> {
    let (op, url) = list_objects(&r.bucket, &r.query, v2)?;
    let fetch_owner = !v2 || op.fetch_owner;
    let reply: ListObjectsReply = ask::<rpc::ListObjects>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        list_objects_xml(&reply, url, fetch_owner),
        &ctx.request_id,
    ))
}

/// Most keys one listing page returns; larger `max-keys` values are clamped to it.
pub const MAX_KEYS: u32 = 1000;

/// The list request and whether `encoding-type=url` asked for URL-encoded names.
/// v1 reads `marker`; v2 reads `continuation-token`, `start-after` and `fetch-owner`.
pub fn list_objects(
    bucket: &str,
    query: &[(String, String)],
    v2: bool,
) -> Result<(ListObjects, bool), S3Error> {
    let invalid = |msg: &str| Err(S3Error::invalid_argument(msg));
    let max_keys = match query_value(query, "max-keys") {
        None => MAX_KEYS,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n < 0 => return invalid("max-keys cannot be negative"),
            Ok(n) => u32::try_from(n.min(i64::from(MAX_KEYS))).unwrap_or(MAX_KEYS),
            // Digits too many for i64 are still a (huge) count, clamped like S3 does.
            Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => MAX_KEYS,
            Err(_) => return invalid("Provided max-keys not an integer or within integer range"),
        },
    };
    let encoding_url = match query_value(query, "encoding-type") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("url") => true,
        Some(_) => return invalid("Invalid Encoding Method specified in Request"),
    };
    let text = |name: &str| query_value(query, name).map(str::to_string);
    // An empty value means "not given" for all of these, as S3 treats them.
    let non_empty = |name: &str| text(name).filter(|v| !v.is_empty());
    let list = ListObjects {
        bucket: bucket.to_string(),
        v2,
        prefix: text("prefix").unwrap_or_default(),
        delimiter: non_empty("delimiter"),
        max_keys,
        marker: if v2 { None } else { non_empty("marker") },
        continuation_token: if v2 { text("continuation-token") } else { None },
        start_after: if v2 { non_empty("start-after") } else { None },
        fetch_owner: v2 && query_value(query, "fetch-owner") == Some("true"),
    };
    // An empty continuation-token is "not given" too (the worker lists from the start,
    // or from start-after), but S3 echoes it back as sent, so it stays in the call.
    Ok((list, encoding_url))
}

/// `ListBucketResult` of ListObjects (v1) or ListObjectsV2, per `reply.v2`. An entry's
/// `Owner` is shown in v1 and, as S3 does, in v2 only when `fetch_owner` was asked.
pub fn list_objects_xml(reply: &ListObjectsReply, encoding_url: bool, fetch_owner: bool) -> String {
    let show_owner = !reply.v2 || fetch_owner;
    let name = |s: &str| -> String {
        if encoding_url {
            url_encode(s)
        } else {
            s.to_string()
        }
    };
    let mut out = format!("{DECLARATION}<ListBucketResult xmlns=\"{NS}\">");
    elem(&mut out, "Name", &reply.bucket);
    elem(&mut out, "Prefix", &name(&reply.prefix));
    if reply.v2 {
        if let Some(t) = &reply.continuation_token {
            elem(&mut out, "ContinuationToken", t);
        }
        if let Some(t) = &reply.next_continuation_token {
            elem(&mut out, "NextContinuationToken", t);
        }
        let count = reply.contents.len() + reply.common_prefixes.len();
        elem(&mut out, "KeyCount", &count.to_string());
    } else {
        elem(
            &mut out,
            "Marker",
            &name(reply.marker.as_deref().unwrap_or("")),
        );
    }
    elem(&mut out, "MaxKeys", &reply.max_keys.to_string());
    if let Some(d) = &reply.delimiter {
        elem(&mut out, "Delimiter", &name(d));
    }
    elem(
        &mut out,
        "IsTruncated",
        if reply.is_truncated { "true" } else { "false" },
    );
    if reply.v2 {
        if let Some(s) = &reply.start_after {
            elem(&mut out, "StartAfter", &name(s));
        }
    } else if let (Some(m), Some(_)) = (&reply.next_marker, &reply.delimiter) {
        // S3 sends NextMarker only with a delimiter; otherwise the last key is it.
        elem(&mut out, "NextMarker", &name(m));
    }
    if encoding_url {
        elem(&mut out, "EncodingType", "url");
    }
    for c in &reply.contents {
        out.push_str("<Contents>");
        elem(&mut out, "Key", &name(&c.key));
        elem(&mut out, "LastModified", &iso8601(c.last_modified_ms));
        elem(&mut out, "ETag", &quoted(&c.etag));
        elem(&mut out, "Size", &c.size.to_string());
        if let Some(o) = c.owner.as_ref().filter(|_| show_owner) {
            owner(&mut out, o);
        }
        elem(&mut out, "StorageClass", "STANDARD");
        out.push_str("</Contents>");
    }
    for p in &reply.common_prefixes {
        out.push_str("<CommonPrefixes>");
        elem(&mut out, "Prefix", &name(p));
        out.push_str("</CommonPrefixes>");
    }
    out.push_str("</ListBucketResult>");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {

    use super::*;
    use crate::decode::query_pairs;
    use jetgate_protocol::messages::{ObjectEntry, Owner};
    use jetgate_protocol::S3ErrorCode;

    fn list(q: &str, v2: bool) -> Result<(ListObjects, bool), S3Error> {
        list_objects("b-1", &query_pairs(q), v2)
    }

    #[test]
    fn defaults() {
        let (l, url) = list("list-type=2", true).unwrap();
        assert_eq!(
            (l.prefix.as_str(), l.delimiter, l.max_keys),
            ("", None, 1000)
        );
        assert!(!url && l.v2 && !l.fetch_owner);
        assert_eq!(
            (l.marker, l.continuation_token, l.start_after),
            (None, None, None)
        );
    }

    #[test]
    fn v1_parameters() {
        let (l, url) = list("prefix=photos/2006/&delimiter=/&marker=Ned&max-keys=40&encoding-type=url&start-after=x", false).unwrap();
        assert_eq!(l.prefix, "photos/2006/");
        assert_eq!(l.delimiter.as_deref(), Some("/"));
        assert_eq!(l.marker.as_deref(), Some("Ned"));
        assert_eq!(l.max_keys, 40);
        assert_eq!(l.start_after, None, "v1 has no start-after");
        assert!(url);
    }

    #[test]
    fn v2_parameters() {
        let q = "list-type=2&continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&fetch-owner=true&start-after=ExampleGuide.pdf&marker=ignored";
        let (l, _) = list(q, true).unwrap();
        assert_eq!(
            l.continuation_token.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );
        assert_eq!(l.start_after.as_deref(), Some("ExampleGuide.pdf"));
        assert_eq!(l.marker, None);
        assert!(l.fetch_owner);
    }

    #[test]
    fn max_keys() {
        assert_eq!(list("max-keys=0", false).unwrap().0.max_keys, 0);
        assert_eq!(list("max-keys=5000", false).unwrap().0.max_keys, 1000);
        assert_eq!(
            list("max-keys=99999999999999999999999", false)
                .unwrap()
                .0
                .max_keys,
            1000
        );
        for bad in ["max-keys=-1", "max-keys=abc", "max-keys=", "max-keys=1.5"] {
            assert_eq!(
                list(bad, false).map_err(|e| e.code).err(),
                Some(S3ErrorCode::InvalidArgument),
                "{bad}"
            );
        }
    }

    #[test]
    fn encoding_type_and_tokens() {
        assert!(list("encoding-type=URL", true).unwrap().1);
        let bad = list("encoding-type=base64", true).map_err(|e| e.code);
        assert_eq!(bad.err(), Some(S3ErrorCode::InvalidArgument));
        let empty = list("continuation-token=", true).unwrap().0;
        assert_eq!(empty.continuation_token.as_deref(), Some(""));
        // `+` in a query value is a space.
        assert_eq!(list("prefix=a+b", false).unwrap().0.prefix, "a b");
    }

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    fn owner() -> Owner {
        Owner {
            id: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a".into(),
            display_name: "webfile".into(),
        }
    }

    fn entry(key: &str, owner: Option<Owner>) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            last_modified_ms: 1_570_902_630_000,
            etag: "599bab3ed2c697f1d26842727561fd94".into(),
            size: 857,
            owner,
        }
    }

    fn listing(v2: bool) -> ListObjectsReply {
        ListObjectsReply {
            v2,
            bucket: "bucket".into(),
            prefix: String::new(),
            delimiter: None,
            max_keys: 1000,
            is_truncated: false,
            contents: vec![],
            common_prefixes: vec![],
            marker: None,
            next_marker: None,
            continuation_token: None,
            next_continuation_token: None,
            start_after: None,
        }
    }

    #[test]
    fn list_objects_v1() {
        let mut reply = listing(false);
        reply.contents = vec![entry("my-image.jpg", Some(owner()))];
        let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>my-image.jpg</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>");
        assert_eq!(list_objects_xml(&reply, false, false), want);
    }

    #[test]
    fn list_objects_v1_with_delimiter() {
        let mut reply = listing(false);
        reply.prefix = "photos/2006/".into();
        reply.marker = Some("Ned".into());
        reply.delimiter = Some("/".into());
        reply.max_keys = 2;
        reply.is_truncated = true;
        reply.next_marker = Some("photos/2006/March/".into());
        reply.contents = vec![entry("photos/2006/a.jpg", None)];
        reply.common_prefixes = vec!["photos/2006/February/".into(), "photos/2006/March/".into()];
        let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>photos/2006/</Prefix><Marker>Ned</Marker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><NextMarker>photos/2006/March/</NextMarker><Contents><Key>photos/2006/a.jpg</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>photos/2006/February/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>photos/2006/March/</Prefix></CommonPrefixes></ListBucketResult>");
        assert_eq!(list_objects_xml(&reply, false, false), want);
        // Without a delimiter S3 leaves NextMarker out.
        reply.delimiter = None;
        reply.common_prefixes.clear();
        assert!(!list_objects_xml(&reply, false, false).contains("NextMarker"));
    }

    #[test]
    fn list_objects_v2() {
        let mut reply = listing(true);
        reply.prefix = "E".into();
        reply.max_keys = 1;
        reply.is_truncated = true;
        reply.continuation_token = Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=".into());
        reply.next_continuation_token =
            Some("1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI/EyIJg==".into());
        reply.start_after = Some("ExampleGuide.pdf".into());
        // Without fetch-owner, v2 leaves Owner out even when the worker sent one.
        reply.contents = vec![entry("ExampleObject.txt", Some(owner()))];
        let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>E</Prefix><ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken><NextContinuationToken>1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI/EyIJg==</NextContinuationToken><KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><StartAfter>ExampleGuide.pdf</StartAfter><Contents><Key>ExampleObject.txt</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>");
        assert_eq!(list_objects_xml(&reply, false, false), want);
    }

    #[test]
    fn list_objects_v2_url_encoded() {
        let mut reply = listing(true);
        reply.prefix = "a b/".into();
        reply.delimiter = Some("/".into());
        reply.start_after = Some("a b/ü".into());
        reply.contents = vec![entry("a b/c+d&e~f*g.txt", Some(owner()))];
        reply.common_prefixes = vec!["a b/sub dir/".into()];
        reply.next_continuation_token = Some("tok+en/=".into());
        let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>a+b/</Prefix><NextContinuationToken>tok+en/=</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><StartAfter>a+b/%C3%BC</StartAfter><EncodingType>url</EncodingType><Contents><Key>a+b/c%2Bd%26e%7Ef*g.txt</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>a+b/sub+dir/</Prefix></CommonPrefixes></ListBucketResult>");
        assert_eq!(list_objects_xml(&reply, true, true), want);
    }

    #[test]
    fn keys_are_escaped() {
        let mut reply = listing(false);
        reply.contents = vec![entry("<a&b>'\"\r\u{1}.txt", None)];
        let xml = list_objects_xml(&reply, false, false);
        assert!(
            xml.contains("<Key>&lt;a&amp;b&gt;&apos;&quot;&#xD;&#x1;.txt</Key>"),
            "{xml}"
        );
    }
}
