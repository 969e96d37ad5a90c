//! Canonical request construction (S3 rules).

use std::borrow::Cow;

use jetgate_protocol::error::S3Error;
use jetgate_protocol::messages::SignedRequest;
use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{AuthKind, ParsedAuth};

/// SigV4 `UriEncode`: every byte except the RFC 3986 unreserved set is `%XX` (upper hex).
const AWS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Same, but keeping `/` so the path structure survives.
const PATH_ENCODE: &AsciiSet = &AWS_ENCODE.remove(b'/');

/// SigV4 `UriEncode` of arbitrary bytes (query keys and values).
pub fn uri_encode(bytes: &[u8]) -> String {
    percent_encode(bytes, AWS_ENCODE).to_string()
}

/// Canonical URI for S3: decode the path as sent once, then encode every byte that is
/// not unreserved or `/`. S3 does not double-encode and does not collapse `.`/`..` or
/// repeated slashes (they are part of the key), so neither do we. Decoding first makes
/// `/test$file.text`, `/test%24file.text` and `/test%24file%2Etext` all canonicalise to
/// the same `/test%24file.text`, matching what S3 computes from the object key.
/// A `+` in a path is a literal plus (RFC 3986), not a space.
pub fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".to_string();
    }
    let decoded: Cow<'_, [u8]> = percent_decode(raw_path.as_bytes()).into();
    let encoded = percent_encode(&decoded, PATH_ENCODE).to_string();
    if encoded.starts_with('/') {
        encoded
    } else {
        format!("/{encoded}")
    }
}

/// Decodes one raw query component the way form-urlencoded parsers (and the AWS SDK
/// signers, which parse the query with `form_urlencoded`) do: a raw `+` is a space,
/// `%2B` is a plus. Invalid `%` escapes are kept literally.
fn decode_query_component(raw: &str) -> Vec<u8> {
    let spaced: Cow<'_, str> = if raw.contains('+') {
        Cow::Owned(raw.replace('+', " "))
    } else {
        Cow::Borrowed(raw)
    };
    percent_decode(spaced.as_bytes()).collect()
}

/// Splits a raw query string into decoded `(key, value)` pairs, in order. Empty
/// segments (`a=1&&b=2`) are skipped; `k` without `=` has an empty value.
pub(crate) fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
            (
                String::from_utf8_lossy(&decode_query_component(k)).into_owned(),
                String::from_utf8_lossy(&decode_query_component(v)).into_owned(),
            )
        })
        .collect()
}

/// Canonical query string: every parameter decoded, re-encoded with `UriEncode`,
/// sorted by encoded key then encoded value, joined with `&`. A parameter without `=`
/// becomes `k=`. With `drop_signature`, `X-Amz-Signature` is left out (presigned URLs
/// cannot sign their own signature).
pub fn canonical_query(raw_query: &str, drop_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .filter_map(|segment| {
            let (k, v) = segment.split_once('=').unwrap_or((segment, ""));
            // Decoding works on bytes so non-UTF-8 escapes survive unchanged.
            let key = uri_encode(&decode_query_component(k));
            if drop_signature && key == "X-Amz-Signature" {
                return None;
            }
            Some((key, uri_encode(&decode_query_component(v))))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(raw_query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// SigV4 `Trimall`: strip leading/trailing whitespace and collapse runs of spaces
/// inside the value to one space.
fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut prev_space = false;
    for c in value.trim().chars() {
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
    out
}

/// `name:value\n` for each signed header, all values of a repeated header joined by
/// `,` in arrival order. A signed header the request does not carry cannot have been
/// signed as sent, so it is reported as a signature mismatch.
fn canonical_headers(req: &SignedRequest, signed: &[String]) -> Result<String, S3Error> {
    let mut out = String::new();
    for name in signed {
        let mut values = req
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| trim_all(v))
            .peekable();
        if values.peek().is_none() {
            return Err(S3Error::signature_does_not_match_with(format!(
                "The request signature we calculated does not match the signature you provided. Signed header '{name}' is missing from the request."
            )));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    Ok(out)
}

/// The canonical request for `req` as described by `auth`, with the S3 canonical URI.
pub fn canonical_request(req: &SignedRequest, auth: &ParsedAuth) -> Result<String, S3Error> {
    canonical_request_with_uri(req, auth, &canonical_uri(&req.path))
}

/// The canonical request with an explicit canonical URI; [`super::verify`] uses it to
/// also accept signers that signed the path bytes exactly as they sent them.
pub(crate) fn canonical_request_with_uri(
    req: &SignedRequest,
    auth: &ParsedAuth,
    uri: &str,
) -> Result<String, S3Error> {
    let presigned = matches!(auth.kind, AuthKind::Presigned { .. });
    let query = canonical_query(&req.query, presigned);
    let headers = canonical_headers(req, &auth.signed_headers)?;
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        uri,
        query,
        headers,
        auth.signed_headers.join(";"),
        auth.payload_hash
    ))
}
