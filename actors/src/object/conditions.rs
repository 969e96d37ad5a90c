//! GET/HEAD preconditions and byte ranges, as pure functions (RFC 9110 with S3's rules).

use jetgate_protocol::messages::{ByteRange, Conditions};
use jetgate_protocol::S3Error;

#[derive(Debug, PartialEq, Eq)]
pub enum Evaluation {
    Proceed,
    NotModified,
    PreconditionFailed,
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').any(|t| {
        let t = t.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == "*" || t.trim_matches('"') == etag
    })
}

/// Evaluates the conditions against an object's ETag (unquoted) and mtime (unix s).
/// S3: If-Match true wins over If-Unmodified-Since false; If-None-Match false wins over
/// If-Modified-Since true.
pub fn evaluate(c: &Conditions, etag: &str, mtime_s: i64) -> Evaluation {
    match (&c.if_match, c.if_unmodified_since) {
        (Some(m), _) if !etag_matches(m, etag) => return Evaluation::PreconditionFailed,
        (None, Some(t)) if mtime_s > t => return Evaluation::PreconditionFailed,
        _ => {}
    }
    match (&c.if_none_match, c.if_modified_since) {
        (Some(m), _) if etag_matches(m, etag) => Evaluation::NotModified,
        (None, Some(t)) if mtime_s <= t => Evaluation::NotModified,
        _ => Evaluation::Proceed,
    }
}

/// Resolves a range against the object size: `(first, last)` inclusive, or InvalidRange.
pub fn resolve_range(r: ByteRange, size: u64) -> Result<(u64, u64), S3Error> {
    match r {
        ByteRange::FromTo(a, b) if a < size && a <= b => Ok((a, b.min(size - 1))),
        ByteRange::From(a) if a < size => Ok((a, size - 1)),
        ByteRange::Suffix(n) if n > 0 && size > 0 => Ok((size.saturating_sub(n), size - 1)),
        _ => Err(S3Error::invalid_range()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetgate_protocol::S3ErrorCode;

    fn c() -> Conditions {
        Conditions::default()
    }

    #[test]
    fn if_match_and_if_none_match() {
        let e = "abc";
        assert_eq!(evaluate(&c(), e, 10), Evaluation::Proceed);
        let m = Conditions {
            if_match: Some("\"abc\"".into()),
            ..c()
        };
        assert_eq!(evaluate(&m, e, 10), Evaluation::Proceed);
        let m = Conditions {
            if_match: Some("\"x\"".into()),
            ..c()
        };
        assert_eq!(evaluate(&m, e, 10), Evaluation::PreconditionFailed);
        let m = Conditions {
            if_none_match: Some("\"abc\"".into()),
            ..c()
        };
        assert_eq!(evaluate(&m, e, 10), Evaluation::NotModified);
        let m = Conditions {
            if_none_match: Some("*".into()),
            ..c()
        };
        assert_eq!(evaluate(&m, e, 10), Evaluation::NotModified);
    }

    #[test]
    fn dates_and_s3_precedence() {
        let e = "abc";
        let ims = Conditions {
            if_modified_since: Some(10),
            ..c()
        };
        assert_eq!(evaluate(&ims, e, 10), Evaluation::NotModified);
        assert_eq!(evaluate(&ims, e, 11), Evaluation::Proceed);
        let ius = Conditions {
            if_unmodified_since: Some(10),
            ..c()
        };
        assert_eq!(evaluate(&ius, e, 11), Evaluation::PreconditionFailed);
        // If-Match true + If-Unmodified-Since false → 200.
        let both = Conditions {
            if_match: Some("abc".into()),
            if_unmodified_since: Some(1),
            ..c()
        };
        assert_eq!(evaluate(&both, e, 11), Evaluation::Proceed);
        // If-None-Match false + If-Modified-Since true → 200.
        let both = Conditions {
            if_none_match: Some("zzz".into()),
            if_modified_since: Some(99),
            ..c()
        };
        assert_eq!(evaluate(&both, e, 11), Evaluation::Proceed);
    }

    #[test]
    fn ranges() {
        assert_eq!(
            resolve_range(ByteRange::FromTo(0, 9), 100).ok(),
            Some((0, 9))
        );
        assert_eq!(
            resolve_range(ByteRange::FromTo(90, 200), 100).ok(),
            Some((90, 99))
        );
        assert_eq!(resolve_range(ByteRange::From(50), 100).ok(), Some((50, 99)));
        assert_eq!(
            resolve_range(ByteRange::Suffix(10), 100).ok(),
            Some((90, 99))
        );
        assert_eq!(
            resolve_range(ByteRange::Suffix(500), 100).ok(),
            Some((0, 99))
        );
        for bad in [
            ByteRange::From(100),
            ByteRange::FromTo(100, 120),
            ByteRange::Suffix(0),
        ] {
            assert_eq!(
                resolve_range(bad, 100).map_err(|e| e.code),
                Err(S3ErrorCode::InvalidRange)
            );
        }
        assert!(resolve_range(ByteRange::From(0), 0).is_err());
    }
}
