//! S3 XML bodies, written as strings so the output is exactly what S3 sends (element
//! order, `&quot;` around ETags, no pretty-printing); escaping comes from quick-xml.

use std::borrow::Cow;
use std::fmt::Write;

use jetgate_protocol::messages::{
    CopyReply, DeleteObjectsReply, ListBucketsReply, ListObjectsReply, LocationReply, Owner,
};

use super::time::iso8601;

pub(crate) const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
pub(crate) const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Text escaped for XML: the five entities (so an ETag's quotes become `&quot;` as in
/// S3), and control characters as numeric references so that parsers do not fold a
/// `\r` in a key into a newline.
pub fn escape(text: &str) -> Cow<'_, str> {
    let escaped = quick_xml::escape::escape(text);
    if !escaped
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 8);
    for c in escaped.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            let _ = write!(out, "&#x{:X};", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Appends `<name>text</name>`.
pub(crate) fn elem(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

fn owner(out: &mut String, o: &Owner) {
    out.push_str("<Owner>");
    elem(out, "ID", &o.id);
    elem(out, "DisplayName", &o.display_name);
    out.push_str("</Owner>");
}

/// GetBucketAcl / GetObjectAcl: the owner with FULL_CONTROL, the one ACL jetgate has.
pub fn acl(o: &Owner) -> String {
    let mut out = format!("{DECLARATION}<AccessControlPolicy xmlns=\"{NS}\">");
    owner(&mut out, o);
    out.push_str(
        "<AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">",
    );
    elem(&mut out, "ID", &o.id);
    elem(&mut out, "DisplayName", &o.display_name);
    out.push_str("</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>");
    out
}

fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

/// `encoding-type=url` as S3 applies it: form encoding (space → `+`) that keeps
/// letters, digits, `-_.*` and `/`, so clients decode with `unquote_plus`.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `ListAllMyBucketsResult`.
pub fn list_buckets(reply: &ListBucketsReply) -> String {
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

/// `ListBucketResult` of ListObjects (v1) or ListObjectsV2, per `reply.v2`. An entry's
/// `Owner` is shown in v1 and, as S3 does, in v2 only when `fetch_owner` was asked.
pub fn list_objects(reply: &ListObjectsReply, encoding_url: bool, fetch_owner: bool) -> String {
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

/// `CopyObjectResult`.
pub fn copy_object(reply: &CopyReply) -> String {
    let mut out = format!("{DECLARATION}<CopyObjectResult xmlns=\"{NS}\">");
    elem(&mut out, "LastModified", &iso8601(reply.last_modified_ms));
    elem(&mut out, "ETag", &quoted(&reply.etag));
    if let Some((algo, value)) = &reply.checksum {
        elem(&mut out, &format!("Checksum{algo}"), value);
        elem(&mut out, "ChecksumType", "FULL_OBJECT");
    }
    out.push_str("</CopyObjectResult>");
    out
}

/// `DeleteResult`: `Deleted` entries are left out in quiet mode, errors never.
pub fn delete_objects(reply: &DeleteObjectsReply) -> String {
    let mut out = format!("{DECLARATION}<DeleteResult xmlns=\"{NS}\">");
    if !reply.quiet {
        for key in &reply.deleted {
            out.push_str("<Deleted>");
            elem(&mut out, "Key", key);
            out.push_str("</Deleted>");
        }
    }
    for e in &reply.errors {
        out.push_str("<Error>");
        elem(&mut out, "Key", &e.key);
        elem(&mut out, "Code", &e.code);
        elem(&mut out, "Message", &e.message);
        out.push_str("</Error>");
    }
    out.push_str("</DeleteResult>");
    out
}

/// `LocationConstraint`: an empty element for us-east-1, as S3 answers.
pub fn location(reply: &LocationReply) -> String {
    if reply.location.is_empty() {
        return format!("{DECLARATION}<LocationConstraint xmlns=\"{NS}\"/>");
    }
    let loc = escape(&reply.location);
    format!("{DECLARATION}<LocationConstraint xmlns=\"{NS}\">{loc}</LocationConstraint>")
}

/// The body of an S3 error; the root has no namespace, as S3 sends it.
pub fn error(code: &str, message: &str, resource: &str, request_id: &str) -> String {
    let mut out = format!("{DECLARATION}<Error>");
    elem(&mut out, "Code", code);
    elem(&mut out, "Message", message);
    elem(&mut out, "Resource", resource);
    elem(&mut out, "RequestId", request_id);
    out.push_str("</Error>");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests;
