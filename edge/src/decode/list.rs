//! ListObjects (v1) and ListObjectsV2 query parameters.

use jetgate_protocol::messages::ListObjects;
use jetgate_protocol::S3Error;

use super::query_value;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use super::*;
    use crate::decode::query_pairs;
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
}
