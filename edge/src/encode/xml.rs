//! The S3 XML shared by several operations (each operation's own document is in its
//! `ops/` file), written as strings so the output is exactly what S3 sends (element
//! order, `&quot;` around ETags, no pretty-printing); escaping comes from quick-xml.

use std::borrow::Cow;
use std::fmt::Write;

use jetgate_protocol::messages::Owner;
use jetgate_protocol::tagging::TaggingReply;

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

/// `<Owner>` with ID and DisplayName.
pub(crate) fn owner(out: &mut String, o: &Owner) {
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

/// An ETag as S3 writes it, in quotes.
pub(crate) fn quoted(etag: &str) -> String {
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

/// `Tagging` of GetObjectTagging and GetBucketTagging.
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
