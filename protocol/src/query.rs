//! Query strings and path components as S3 reads them; shared by the route table and
//! the handlers that read query parameters, so both decode a request the same way.

use crate::S3Error;

/// Query pairs in order, names and values percent-decoded. A `+` decodes to a space, as
/// S3 reads query strings (form encoding); SDKs send a literal plus as `%2B`. Bytes that
/// are not UTF-8 become U+FFFD: query values are never used as names.
pub fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_lossy(name), decode_lossy(value))
        })
        .collect()
}

/// The first value of a query parameter.
pub fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn decode_lossy(raw: &str) -> String {
    let raw = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Percent-decodes a path component; invalid UTF-8 is `InvalidURI` as S3 answers.
pub fn percent_decode(raw: &str, plus_as_space: bool) -> Result<String, S3Error> {
    let spaced;
    let raw = if plus_as_space && raw.contains('+') {
        spaced = raw.replace('+', " ");
        spaced.as_str()
    } else {
        raw
    };
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| S3Error::invalid_uri())
}
