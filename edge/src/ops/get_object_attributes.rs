//! GetObjectAttributes: `GET /bucket/key?attributes`.

use axum::response::Response;
use http::header::{self, HeaderValue};
use http::HeaderMap;
use jetgate_protocol::attributes::{AttributesReply, GetObjectAttributes};
use jetgate_protocol::headers::RequestContext;
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
    let wanted = object_attributes(&r.headers)?;
    let op = object_attributes_call(&r.bucket, &r.key, &r.headers)?;
    let reply: AttributesReply =
        ask::<rpc::GetObjectAttributes>(state, ctx, r.signed, op, None).await?;
    let mut resp = encode::xml_response(attributes_xml(&reply, &wanted), &ctx.request_id);
    if let Ok(v) = HeaderValue::from_str(&encode::http_date(reply.last_modified_ms)) {
        resp.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    Ok(resp)
}

/// One attribute `x-amz-object-attributes` may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    ETag,
    Checksum,
    ObjectParts,
    StorageClass,
    ObjectSize,
}

const ATTRIBUTES: [(&str, Attribute); 5] = [
    ("ETag", Attribute::ETag),
    ("Checksum", Attribute::Checksum),
    ("ObjectParts", Attribute::ObjectParts),
    ("StorageClass", Attribute::StorageClass),
    ("ObjectSize", Attribute::ObjectSize),
];

/// The attributes asked for: comma-separated, possibly over repeated headers.
pub fn object_attributes(h: &HeaderMap) -> Result<Vec<Attribute>, S3Error> {
    let mut out = Vec::new();
    for value in h.get_all("x-amz-object-attributes") {
        let text = String::from_utf8_lossy(value.as_bytes());
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let (_, a) = ATTRIBUTES
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| S3Error::invalid_argument("Invalid attribute name specified."))?;
            if !out.contains(a) {
                out.push(*a);
            }
        }
    }
    if out.is_empty() {
        return Err(S3Error::invalid_argument(
            "x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
        ));
    }
    Ok(out)
}

fn header_number(h: &HeaderMap, name: &str, default: u32, max: u32) -> Result<u32, S3Error> {
    match h.get(name) {
        None => Ok(default),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .map(|n| n.min(i64::from(max)) as u32)
            .ok_or_else(|| {
                S3Error::invalid_argument(format!(
                    "Provided {name} not an integer or within integer range"
                ))
            }),
    }
}

/// GetObjectAttributes with its part paging headers.
pub fn object_attributes_call(
    bucket: &str,
    key: &str,
    h: &HeaderMap,
) -> Result<GetObjectAttributes, S3Error> {
    Ok(GetObjectAttributes {
        bucket: bucket.to_string(),
        key: key.to_string(),
        max_parts: header_number(h, "x-amz-max-parts", 1000, 1000)?,
        part_number_marker: header_number(h, "x-amz-part-number-marker", 0, u32::MAX)?,
    })
}

/// `GetObjectAttributesResponse` with the attributes asked for, in S3's order. The ETag
/// has no quotes here, unlike everywhere else.
pub fn attributes_xml(reply: &AttributesReply, wanted: &[Attribute]) -> String {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use jetgate_protocol::attributes::{ObjectParts, PartAttrs};
    use jetgate_protocol::S3ErrorCode;

    use super::*;
    use crate::test_support::headers;

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    #[test]
    fn attribute_names() {
        let h = headers(&[
            ("x-amz-object-attributes", "ETag, ObjectSize"),
            ("x-amz-object-attributes", "Checksum,ETag"),
        ]);
        assert_eq!(
            object_attributes(&h).unwrap(),
            [Attribute::ETag, Attribute::ObjectSize, Attribute::Checksum]
        );
        for bad in [
            &[][..],
            &[("x-amz-object-attributes", " , ")],
            &[("x-amz-object-attributes", "etag")],
        ] {
            let e = object_attributes(&headers(bad)).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::InvalidArgument, "{bad:?}");
        }
        let op = object_attributes_call(
            "b",
            "k",
            &headers(&[
                ("x-amz-max-parts", "5000"),
                ("x-amz-part-number-marker", "3"),
            ]),
        )
        .unwrap();
        assert_eq!((op.max_parts, op.part_number_marker), (1000, 3));
        let op = object_attributes_call("b", "k", &headers(&[])).unwrap();
        assert_eq!((op.max_parts, op.part_number_marker), (1000, 0));
        let e =
            object_attributes_call("b", "k", &headers(&[("x-amz-max-parts", "-1")])).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidArgument);
    }

    #[test]
    fn attributes_document() {
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
            attributes_xml(&reply, &all),
            format!("{HEAD}<GetObjectAttributesResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ETag>abc-2</ETag><Checksum><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></Checksum><ObjectParts><PartsCount>2</PartsCount><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>1</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>true</IsTruncated><Part><ChecksumCRC32>BBBBBB==</ChecksumCRC32><PartNumber>1</PartNumber><Size>5</Size></Part></ObjectParts><StorageClass>STANDARD</StorageClass><ObjectSize>12</ObjectSize></GetObjectAttributesResponse>")
        );
        assert_eq!(
            attributes_xml(&reply, &[Attribute::ObjectSize]),
            format!("{HEAD}<GetObjectAttributesResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ObjectSize>12</ObjectSize></GetObjectAttributesResponse>")
        );
    }
}
