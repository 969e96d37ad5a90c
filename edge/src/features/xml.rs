//! XML bodies of tagging, GetObjectAttributes and the versioning probes, as S3 writes
//! them (element order, `&quot;` around list ETags, no pretty-printing).

use std::fmt::Write;

use jetgate_protocol::attributes::{AttributesReply, ListVersionsReply};
use jetgate_protocol::tagging::TaggingReply;

use super::Attribute;
use crate::encode::iso8601;
use crate::encode::xml::{escape, url_encode, DECLARATION};

const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn elem(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

/// `Tagging` of GetObjectTagging.
pub fn tagging(reply: &TaggingReply) -> String {
    let mut out = format!("{DECLARATION}<Tagging xmlns=\"{NS}\"><TagSet>");
    for t in &reply.tags {
        out.push_str("<Tag>");
        elem(&mut out, "Key", &t.key);
        elem(&mut out, "Value", &t.value);
        out.push_str("</Tag>");
    }
    out.push_str("</TagSet></Tagging>");
    out
}

/// `VersioningConfiguration` of a bucket whose versioning was never enabled: empty.
pub fn versioning() -> String {
    format!("{DECLARATION}<VersioningConfiguration xmlns=\"{NS}\"/>")
}

/// `GetObjectAttributesResponse` with the attributes asked for, in S3's order. The ETag
/// has no quotes here, unlike everywhere else.
pub fn attributes(reply: &AttributesReply, wanted: &[Attribute]) -> String {
    let asked = |a: Attribute| wanted.contains(&a);
    let mut out = format!("{DECLARATION}<GetObjectAttributesResponse xmlns=\"{NS}\">");
    if asked(Attribute::ETag) {
        elem(&mut out, "ETag", &reply.etag);
    }
    if asked(Attribute::Checksum) {
        if let Some((algo, value)) = &reply.checksum {
            out.push_str("<Checksum>");
            elem(&mut out, &format!("Checksum{algo}"), value);
            if let Some(t) = &reply.checksum_type {
                elem(&mut out, "ChecksumType", t);
            }
            out.push_str("</Checksum>");
        }
    }
    if let (true, Some(p)) = (asked(Attribute::ObjectParts), &reply.parts) {
        let algo = reply.checksum.as_ref().map(|(a, _)| a.as_str());
        out.push_str("<ObjectParts>");
        // The model calls it TotalPartsCount; the XML element is PartsCount.
        elem(&mut out, "PartsCount", &p.total_parts.to_string());
        elem(
            &mut out,
            "PartNumberMarker",
            &p.part_number_marker.to_string(),
        );
        elem(
            &mut out,
            "NextPartNumberMarker",
            &p.next_part_number_marker.to_string(),
        );
        elem(&mut out, "MaxParts", &p.max_parts.to_string());
        elem(&mut out, "IsTruncated", &p.is_truncated.to_string());
        for part in &p.parts {
            out.push_str("<Part>");
            if let (Some(a), Some(c)) = (algo, &part.checksum) {
                elem(&mut out, &format!("Checksum{a}"), c);
            }
            elem(&mut out, "PartNumber", &part.part_number.to_string());
            elem(&mut out, "Size", &part.size.to_string());
            out.push_str("</Part>");
        }
        out.push_str("</ObjectParts>");
    }
    if asked(Attribute::StorageClass) {
        elem(&mut out, "StorageClass", "STANDARD");
    }
    if asked(Attribute::ObjectSize) {
        elem(&mut out, "ObjectSize", &reply.size.to_string());
    }
    out.push_str("</GetObjectAttributesResponse>");
    out
}

/// `ListVersionsResult`: every object is its one, latest, `null` version.
pub fn versions(reply: &ListVersionsReply, url: bool) -> String {
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
mod tests {
    use jetgate_protocol::attributes::{ObjectParts, PartAttrs, VersionEntry};
    use jetgate_protocol::messages::Owner;
    use jetgate_protocol::tagging::Tag;

    use super::*;

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn tagging_xml() {
        let reply = TaggingReply {
            tags: vec![Tag::new("Key4", "Value4"), Tag::new("a<b", "")],
        };
        assert_eq!(
            tagging(&reply),
            format!("{HEAD}<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>Key4</Key><Value>Value4</Value></Tag><Tag><Key>a&lt;b</Key><Value></Value></Tag></TagSet></Tagging>")
        );
        assert_eq!(
            versioning(),
            format!("{HEAD}<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>")
        );
    }

    #[test]
    fn attributes_xml() {
        let reply = AttributesReply {
            etag: "abc-2".into(),
            size: 12,
            last_modified_ms: 0,
            checksum: Some(("CRC32".into(), "AAAAAA==".into())),
            checksum_type: Some("COMPOSITE".into()),
            parts: Some(ObjectParts {
                total_parts: 2,
                part_number_marker: 0,
                next_part_number_marker: 1,
                max_parts: 1,
                is_truncated: true,
                parts: vec![PartAttrs {
                    part_number: 1,
                    size: 5,
                    checksum: Some("BBBBBB==".into()),
                }],
            }),
        };
        let all = [
            Attribute::ObjectSize,
            Attribute::ETag,
            Attribute::Checksum,
            Attribute::ObjectParts,
            Attribute::StorageClass,
        ];
        assert_eq!(
            attributes(&reply, &all),
            format!("{HEAD}<GetObjectAttributesResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ETag>abc-2</ETag><Checksum><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></Checksum><ObjectParts><PartsCount>2</PartsCount><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>1</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>true</IsTruncated><Part><ChecksumCRC32>BBBBBB==</ChecksumCRC32><PartNumber>1</PartNumber><Size>5</Size></Part></ObjectParts><StorageClass>STANDARD</StorageClass><ObjectSize>12</ObjectSize></GetObjectAttributesResponse>")
        );
        assert_eq!(
            attributes(&reply, &[Attribute::ObjectSize]),
            format!("{HEAD}<GetObjectAttributesResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ObjectSize>12</ObjectSize></GetObjectAttributesResponse>")
        );
    }

    #[test]
    fn versions_xml() {
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
            versions(&reply, true),
            format!("{HEAD}<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix>a+b/</Prefix><KeyMarker>a+b/0</KeyMarker><VersionIdMarker>null</VersionIdMarker><NextKeyMarker>a+b/1</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker><MaxKeys>1</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><Version><Key>a+b/1</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>3</Size><Owner><ID>id</ID><DisplayName>me</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Version></ListVersionsResult>")
        );
    }
}
