//! Request parsing of GetObjectAttributes and ListObjectVersions. Pure.

use http::HeaderMap;
use jetgate_protocol::attributes::{GetObjectAttributes, ListObjectVersions};
use jetgate_protocol::S3Error;

use crate::decode::{list_objects, query_value};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::decode::query_pairs;
    use jetgate_protocol::S3ErrorCode;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, v.parse().unwrap());
        }
        h
    }

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
}
