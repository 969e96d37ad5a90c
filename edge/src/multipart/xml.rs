//! S3 XML bodies of the multipart operations.

use std::fmt::Write;

use jetgate_protocol::attributes::checksum_type;
use jetgate_protocol::messages::Owner;
use jetgate_protocol::multipart::{
    CompleteResult, CopyPartReply, CreateUploadReply, ListPartsReply, ListUploadsReply,
};

use crate::encode::iso8601;
use crate::encode::xml::{elem, url_encode, DECLARATION, NS};

fn owner(out: &mut String, tag: &str, o: &Owner) {
    let _ = write!(out, "<{tag}>");
    elem(out, "ID", &o.id);
    elem(out, "DisplayName", &o.display_name);
    let _ = write!(out, "</{tag}>");
}

pub fn initiate(r: &CreateUploadReply) -> String {
    let mut out = format!("{DECLARATION}<InitiateMultipartUploadResult xmlns=\"{NS}\">");
    elem(&mut out, "Bucket", &r.bucket);
    elem(&mut out, "Key", &r.key);
    elem(&mut out, "UploadId", &r.upload_id);
    out.push_str("</InitiateMultipartUploadResult>");
    out
}

/// `CompleteMultipartUploadResult` without the XML declaration (a streamed answer
/// sends the declaration first).
pub fn complete_body(r: &CompleteResult, location: &str) -> String {
    let mut out = format!("<CompleteMultipartUploadResult xmlns=\"{NS}\">");
    elem(&mut out, "Location", location);
    elem(&mut out, "Bucket", &r.bucket);
    elem(&mut out, "Key", &r.key);
    elem(&mut out, "ETag", &format!("\"{}\"", r.etag));
    if let Some((algo, value)) = &r.checksum {
        elem(&mut out, &format!("Checksum{algo}"), value);
        elem(&mut out, "ChecksumType", checksum_type(value));
    }
    out.push_str("</CompleteMultipartUploadResult>");
    out
}

pub fn complete(r: &CompleteResult, location: &str) -> String {
    format!("{DECLARATION}{}", complete_body(r, location))
}

/// An `<Error>` document without the declaration, for a streamed Complete.
pub fn error_body(code: &str, message: &str, resource: &str, request_id: &str) -> String {
    let full = crate::encode::xml::error(code, message, resource, request_id);
    full.strip_prefix(DECLARATION).unwrap_or(&full).to_string()
}

pub fn declaration() -> &'static str {
    DECLARATION
}

pub fn copy_part(r: &CopyPartReply) -> String {
    let mut out = format!("{DECLARATION}<CopyPartResult xmlns=\"{NS}\">");
    elem(&mut out, "LastModified", &iso8601(r.last_modified_ms));
    elem(&mut out, "ETag", &format!("\"{}\"", r.etag));
    out.push_str("</CopyPartResult>");
    out
}

pub fn list_parts(r: &ListPartsReply) -> String {
    let mut out = format!("{DECLARATION}<ListPartsResult xmlns=\"{NS}\">");
    elem(&mut out, "Bucket", &r.bucket);
    elem(&mut out, "Key", &r.key);
    elem(&mut out, "UploadId", &r.upload_id);
    owner(&mut out, "Initiator", &r.owner);
    owner(&mut out, "Owner", &r.owner);
    elem(&mut out, "StorageClass", "STANDARD");
    elem(
        &mut out,
        "PartNumberMarker",
        &r.part_number_marker.to_string(),
    );
    elem(
        &mut out,
        "NextPartNumberMarker",
        &r.next_part_number_marker.to_string(),
    );
    elem(&mut out, "MaxParts", &r.max_parts.to_string());
    elem(
        &mut out,
        "IsTruncated",
        if r.is_truncated { "true" } else { "false" },
    );
    for p in &r.parts {
        out.push_str("<Part>");
        elem(&mut out, "PartNumber", &p.part_number.to_string());
        elem(&mut out, "LastModified", &iso8601(p.last_modified_ms));
        elem(&mut out, "ETag", &format!("\"{}\"", p.etag));
        elem(&mut out, "Size", &p.size.to_string());
        out.push_str("</Part>");
    }
    out.push_str("</ListPartsResult>");
    out
}

pub fn list_uploads(r: &ListUploadsReply, url: bool) -> String {
    let name = |s: &str| -> String {
        if url {
            url_encode(s)
        } else {
            s.to_string()
        }
    };
    let mut out = format!("{DECLARATION}<ListMultipartUploadsResult xmlns=\"{NS}\">");
    elem(&mut out, "Bucket", &r.bucket);
    elem(
        &mut out,
        "KeyMarker",
        &name(r.key_marker.as_deref().unwrap_or("")),
    );
    elem(
        &mut out,
        "UploadIdMarker",
        r.upload_id_marker.as_deref().unwrap_or(""),
    );
    if let Some(k) = &r.next_key_marker {
        elem(&mut out, "NextKeyMarker", &name(k));
    }
    if let Some(u) = &r.next_upload_id_marker {
        elem(&mut out, "NextUploadIdMarker", u);
    }
    if let Some(d) = &r.delimiter {
        elem(&mut out, "Delimiter", &name(d));
    }
    elem(&mut out, "Prefix", &name(&r.prefix));
    elem(&mut out, "MaxUploads", &r.max_uploads.to_string());
    elem(
        &mut out,
        "IsTruncated",
        if r.is_truncated { "true" } else { "false" },
    );
    if url {
        elem(&mut out, "EncodingType", "url");
    }
    for u in &r.uploads {
        out.push_str("<Upload>");
        elem(&mut out, "Key", &name(&u.key));
        elem(&mut out, "UploadId", &u.upload_id);
        owner(&mut out, "Initiator", &u.owner);
        owner(&mut out, "Owner", &u.owner);
        elem(&mut out, "StorageClass", "STANDARD");
        elem(&mut out, "Initiated", &iso8601(u.initiated_ms));
        out.push_str("</Upload>");
    }
    for p in &r.common_prefixes {
        out.push_str("<CommonPrefixes>");
        elem(&mut out, "Prefix", &name(p));
        out.push_str("</CommonPrefixes>");
    }
    out.push_str("</ListMultipartUploadsResult>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initiate_and_complete_documents() {
        let r = CreateUploadReply {
            bucket: "b".into(),
            key: "a&b".into(),
            upload_id: "XYZ".into(),
            checksum_algorithm: None,
            checksum_type: None,
        };
        assert_eq!(
            initiate(&r),
            format!("{DECLARATION}<InitiateMultipartUploadResult xmlns=\"{NS}\"><Bucket>b</Bucket><Key>a&amp;b</Key><UploadId>XYZ</UploadId></InitiateMultipartUploadResult>")
        );
        let c = CompleteResult {
            bucket: "b".into(),
            key: "k".into(),
            etag: "abc-2".into(),
            checksum: None,
        };
        assert_eq!(
            complete(&c, "/b/k"),
            format!("{DECLARATION}<CompleteMultipartUploadResult xmlns=\"{NS}\"><Location>/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>")
        );
        let c = CompleteResult {
            checksum: Some(("CRC32".into(), "AAAAAA==-2".into())),
            ..c
        };
        assert!(complete(&c, "/b/k").ends_with(
            "<ETag>&quot;abc-2&quot;</ETag><ChecksumCRC32>AAAAAA==-2</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>"
        ));
        assert!(
            error_body("InvalidPart", "m", "/b/k", "id").starts_with("<Error><Code>InvalidPart")
        );
    }
}
