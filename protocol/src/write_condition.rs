//! Conditional writes: `If-None-Match: *` and `If-Match: <ETag>` on PutObject, CopyObject
//! and CompleteMultipartUpload, `If-Match` on DeleteObject. The worker that writes reads
//! them from the signed request itself, never from a field the edge filled in, and
//! enforces them twice: against the current object before any byte moves, and
//! atomically at the metadata publish (JetStream's expected last subject sequence), so
//! of racing conditional writers exactly one wins.

use crate::messages::SignedRequest;
use crate::S3Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteCondition {
    Always,
    /// `If-None-Match: *`: only if the key does not exist.
    IfAbsent,
    /// `If-Match`: only if the key exists with one of these ETags (unquoted), or with
    /// any ETag for `*`.
    IfMatch(Vec<String>),
}

impl WriteCondition {
    /// The condition of a PutObject, CopyObject or CompleteMultipartUpload. S3 honours
    /// only `*` in `If-None-Match` on writes; any other value, or both headers at once,
    /// is refused rather than ignored.
    pub fn of_write(signed: &SignedRequest) -> Result<Self, S3Error> {
        match (signed.header("if-match"), signed.header("if-none-match")) {
            (None, None) => Ok(WriteCondition::Always),
            (Some(_), Some(_)) => Err(S3Error::not_implemented(
                "A write with both If-Match and If-None-Match",
            )),
            (None, Some(v)) if v.trim() == "*" => Ok(WriteCondition::IfAbsent),
            (None, Some(_)) => Err(S3Error::not_implemented(
                "If-None-Match with a value other than * on a write",
            )),
            (Some(v), None) => Self::if_match(v),
        }
    }

    /// The condition of a DeleteObject: `If-Match` only. S3 takes the last-modified
    /// time and size conditions on directory buckets only; jetgate refuses them rather
    /// than delete unconditionally.
    pub fn of_delete(signed: &SignedRequest) -> Result<Self, S3Error> {
        for name in [
            "if-none-match",
            "x-amz-if-match-last-modified-time",
            "x-amz-if-match-size",
        ] {
            if signed.header(name).is_some() {
                return Err(S3Error::not_implemented(&format!(
                    "The {name} header on DeleteObject"
                )));
            }
        }
        match signed.header("if-match") {
            None => Ok(WriteCondition::Always),
            Some(v) => Self::if_match(v),
        }
    }

    /// Judges the condition against the key's current object (its unquoted ETag, `None`
    /// when there is none): `If-Match` on a missing key is `NoSuchKey`, as S3 answers.
    pub fn check(&self, current_etag: Option<&str>) -> Result<(), S3Error> {
        match (self, current_etag) {
            (WriteCondition::Always, _) => Ok(()),
            (WriteCondition::IfAbsent, None) => Ok(()),
            (WriteCondition::IfAbsent, Some(_)) => Err(S3Error::precondition_failed()),
            (WriteCondition::IfMatch(_), None) => Err(S3Error::no_such_key()),
            (WriteCondition::IfMatch(tags), Some(etag)) => {
                if tags.iter().any(|t| t == "*" || t == etag) {
                    Ok(())
                } else {
                    Err(S3Error::precondition_failed())
                }
            }
        }
    }

    /// An `If-Match` list: strong ETags, quoted or not (S3 compares strongly, so a weak
    /// `W/` tag matches nothing).
    pub fn if_match(v: &str) -> Result<WriteCondition, S3Error> {
        let tags: Vec<String> = v
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.trim_matches('"').to_string())
            .collect();
        if tags.is_empty() {
            return Err(S3Error::invalid_argument("If-Match must name an ETag"));
        }
        Ok(WriteCondition::IfMatch(tags))
    }

    /// The metadata subject sequence the write must still find when it publishes
    /// (`seq` as read when the condition was checked; 0 for none), or `None` for an
    /// unconditional write.
    pub fn expected_seq(&self, seq: u64) -> Option<u64> {
        match self {
            WriteCondition::Always => None,
            _ => Some(seq),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use super::*;
    use crate::S3ErrorCode;

    fn signed(headers: &[(&str, &str)]) -> SignedRequest {
        SignedRequest::put_with(headers)
    }

    #[test]
    fn reads_the_signed_headers() {
        assert_eq!(
            WriteCondition::of_write(&signed(&[])),
            Ok(WriteCondition::Always)
        );
        assert_eq!(
            WriteCondition::of_write(&signed(&[("if-none-match", " * ")])),
            Ok(WriteCondition::IfAbsent)
        );
        assert_eq!(
            WriteCondition::of_write(&signed(&[("if-match", "\"abc\", def")])),
            Ok(WriteCondition::IfMatch(vec!["abc".into(), "def".into()]))
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let code = |h: &[(&str, &str)]| WriteCondition::of_write(&signed(h)).unwrap_err().code;
        assert_eq!(
            code(&[("if-none-match", "\"abc\"")]),
            S3ErrorCode::NotImplemented
        );
        assert_eq!(
            code(&[("if-none-match", "*"), ("if-match", "\"a\"")]),
            S3ErrorCode::NotImplemented
        );
        assert_eq!(code(&[("if-match", " , ")]), S3ErrorCode::InvalidArgument);
        let delete = WriteCondition::of_delete(&signed(&[("if-none-match", "*")]));
        assert_eq!(delete.unwrap_err().code, S3ErrorCode::NotImplemented);
    }

    #[test]
    fn judges_the_current_object() {
        let code = |c: &WriteCondition, e: Option<&str>| c.check(e).err().map(|e| e.code);
        let absent = WriteCondition::IfAbsent;
        assert_eq!(code(&absent, None), None);
        assert_eq!(
            code(&absent, Some("a")),
            Some(S3ErrorCode::PreconditionFailed)
        );
        let m = WriteCondition::IfMatch(vec!["a".into()]);
        assert_eq!(code(&m, Some("a")), None);
        assert_eq!(code(&m, Some("b")), Some(S3ErrorCode::PreconditionFailed));
        assert_eq!(code(&m, None), Some(S3ErrorCode::NoSuchKey));
        let any = WriteCondition::IfMatch(vec!["*".into()]);
        assert_eq!(code(&any, Some("zz")), None);
        assert_eq!(code(&any, None), Some(S3ErrorCode::NoSuchKey));
        let weak = WriteCondition::of_write(&signed(&[("if-match", "W/\"a\"")])).unwrap();
        assert_eq!(
            code(&weak, Some("a")),
            Some(S3ErrorCode::PreconditionFailed)
        );
        assert_eq!(WriteCondition::Always.expected_seq(7), None);
        assert_eq!(absent.expected_seq(0), Some(0));
    }
}
