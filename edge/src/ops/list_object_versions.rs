//! ListObjectVersions: `GET /bucket?versions`, every object its one `null` version.
//! Reads its query as ListObjects does (`ops/list_objects.rs`).

use axum::response::Response;
use jetgate_protocol::attributes::{ListObjectVersions, ListVersionsReply};
use jetgate_protocol::headers::RequestContext;
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;

use super::list_objects::list_objects;
use super::OpRequest;
use crate::call::ask;
use crate::decode::query_value;
use crate::encode;
use crate::encode::iso8601;
use crate::encode::xml::{elem, url_encode, DECLARATION, NS};
use crate::EdgeState;

pub async fn handle(
    state: &EdgeState,
    ctx: &RequestContext,
    r: OpRequest,
) -> Result<Response, S3Error> {
    let (op, url) = object_versions(&r.bucket, &r.query)?;
    let reply: ListVersionsReply =
        ask::<rpc::ListObjectVersions>(state, ctx, r.signed, op, None).await?;
    Ok(encode::xml_response(
        versions_xml(&reply, url),
        &ctx.request_id,
    ))
}

/// ListObjectVersions: prefix, delimiter, max-keys and encoding-type as ListObjects
/// reads them, plus `key-marker` and `version-id-marker`.
pub fn object_versions(
    bucket: &str,
    query: &[(String, String)],
) -> Result<(ListObjectVersions, bool), S3Error> {
    let (list, url) = list_objects(bucket, query, false)?;
    let non_empty = |n: &str| {
        query_value(query, n)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Ok((
        ListObjectVersions {
            bucket: bucket.to_string(),
            prefix: list.prefix,
            delimiter: list.delimiter,
            max_keys: list.max_keys,
            key_marker: non_empty("key-marker"),
            version_id_marker: non_empty("version-id-marker"),
        },
        url,
    ))
}

/// `ListVersionsResult`: every object is its one, latest, `null` version.
pub fn versions_xml(reply: &ListVersionsReply, url: bool) -> String {
    let name = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let mut out = format!("{DECLARATION}<ListVersionsResult xmlns=\"{NS}\">");
    elem(&mut out, "Name", &reply.bucket);
    elem(&mut out, "Prefix", &name(&reply.prefix));
    elem(
        &mut out,
        "KeyMarker",
        &name(reply.key_marker.as_deref().unwrap_or_default()),
    );
    elem(
        &mut out,
        "VersionIdMarker",
        reply.version_id_marker.as_deref().unwrap_or_default(),
    );
    if let Some(k) = &reply.next_key_marker {
        elem(&mut out, "NextKeyMarker", &name(k));
    }
    if let Some(v) = &reply.next_version_id_marker {
        elem(&mut out, "NextVersionIdMarker", v);
    }
    elem(&mut out, "MaxKeys", &reply.max_keys.to_string());
    if let Some(d) = &reply.delimiter {
        elem(&mut out, "Delimiter", &name(d));
    }
    if url {
        elem(&mut out, "EncodingType", "url");
    }
    elem(&mut out, "IsTruncated", &reply.is_truncated.to_string());
    for v in &reply.versions {
        out.push_str("<Version>");
        elem(&mut out, "Key", &name(&v.key));
        elem(&mut out, "VersionId", "null");
        elem(&mut out, "IsLatest", "true");
        elem(&mut out, "LastModified", &iso8601(v.last_modified_ms));
        elem(&mut out, "ETag", &format!("\"{}\"", v.etag));
        elem(&mut out, "Size", &v.size.to_string());
        out.push_str("<Owner>");
        elem(&mut out, "ID", &reply.owner.id);
        elem(&mut out, "DisplayName", &reply.owner.display_name);
        out.push_str("</Owner>");
        elem(&mut out, "StorageClass", "STANDARD");
        out.push_str("</Version>");
    }
    for p in &reply.common_prefixes {
        out.push_str("<CommonPrefixes>");
        elem(&mut out, "Prefix", &name(p));
        out.push_str("</CommonPrefixes>");
    }
    out.push_str("</ListVersionsResult>");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use jetgate_protocol::attributes::VersionEntry;
    use jetgate_protocol::messages::Owner;
    use jetgate_protocol::S3ErrorCode;

    use super::*;
    use crate::decode::query_pairs;

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn versions_query() {
        let q = query_pairs("versions&prefix=p/&delimiter=/&key-marker=p/a&version-id-marker=null&max-keys=2&encoding-type=url");
        let (op, url) = object_versions("b", &q).unwrap();
        assert!(url);
        assert_eq!(
            (op.prefix.as_str(), op.delimiter.as_deref(), op.max_keys),
            ("p/", Some("/"), 2)
        );
        assert_eq!(op.key_marker.as_deref(), Some("p/a"));
        assert_eq!(op.version_id_marker.as_deref(), Some("null"));
        let (op, url) = object_versions("b", &query_pairs("versions&key-marker=")).unwrap();
        assert!(!url && op.key_marker.is_none() && op.max_keys == 1000);
        let e = object_versions("b", &query_pairs("versions&max-keys=x")).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidArgument);
    }

    #[test]
    fn versions_document() {
        let reply = ListVersionsReply {
            bucket: "b".into(),
            prefix: "a b/".into(),
            delimiter: Some("/".into()),
            max_keys: 1,
            key_marker: Some("a b/0".into()),
            version_id_marker: Some("null".into()),
            is_truncated: true,
            next_key_marker: Some("a b/1".into()),
            next_version_id_marker: Some("null".into()),
            versions: vec![VersionEntry {
                key: "a b/1".into(),
                last_modified_ms: 1_570_902_630_000,
                etag: "e".into(),
                size: 3,
            }],
            common_prefixes: vec![],
            owner: Owner {
                id: "id".into(),
                display_name: "me".into(),
            },
        };
        assert_eq!(
            versions_xml(&reply, true),
            format!("{HEAD}<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix>a+b/</Prefix><KeyMarker>a+b/0</KeyMarker><VersionIdMarker>null</VersionIdMarker><NextKeyMarker>a+b/1</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker><MaxKeys>1</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><Version><Key>a+b/1</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>3</Size><Owner><ID>id</ID><DisplayName>me</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Version></ListVersionsResult>")
        );
    }
}
