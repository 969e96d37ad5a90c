//! S3 bucket-name rules and the reversible mapping onto NATS object-store names.
//!
//! NATS bucket names allow `[A-Za-z0-9_-]`; S3 names allow lowercase letters, digits,
//! `.` and `-`. A `.` becomes `_` (which S3 forbids), so the mapping is one-to-one and
//! every NATS bucket whose name does not map back to a valid S3 name (uppercase letters,
//! leading `_`, jetgate's own stores) stays invisible to S3. Object keys are stored
//! unchanged: NATS object names are arbitrary UTF-8 (the meta subject base64-encodes them).

use crate::error::S3Error;

/// Longest S3 key, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;

/// Checks an S3 bucket name against the current AWS naming rules.
pub fn validate_bucket(name: &str) -> Result<(), S3Error> {
    let bad = |why: &str| {
        Err(S3Error::invalid_bucket_name(format!(
            "The specified bucket is not valid: {why}"
        )))
    };
    if name.len() < 3 || name.len() > 63 {
        return bad("length must be 3 to 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("only lowercase letters, digits, '.' and '-' are allowed");
    }
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("adjacent '.' and '-' are not allowed");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return bad("must not be formatted as an IP address");
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return bad("reserved prefix");
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return bad("reserved suffix");
        }
    }
    Ok(())
}

/// The NATS object-store name of a (valid) S3 bucket.
pub fn bucket_to_nats(s3: &str) -> String {
    s3.replace('.', "_")
}

/// The S3 name of a NATS object store, if it is one S3 may see.
pub fn bucket_from_nats(nats: &str) -> Option<String> {
    let s3 = nats.replace('_', ".");
    validate_bucket(&s3).ok().map(|_| s3)
}

/// Checks an object key: non-empty, at most 1024 bytes.
pub fn validate_key(key: &str) -> Result<(), S3Error> {
    if key.is_empty() {
        return Err(S3Error::invalid_argument("Object key must not be empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(S3Error::key_too_long_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::S3ErrorCode;

    #[test]
    fn aws_examples_of_valid_names() {
        for n in [
            "docexamplebucket1",
            "log-delivery-march-2020",
            "my-hosted-content",
            "docexamplewebsite.com",
            "www.docexamplewebsite.com",
            "my.example.s3.bucket",
            "abc",
        ] {
            assert!(validate_bucket(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn aws_examples_of_invalid_names() {
        for n in [
            "doc_example_bucket",
            "DocExampleBucket",
            "doc-example-bucket-",
            "ab",
            "a".repeat(64).as_str(),
            "192.168.5.4",
            "my..bucket",
            "xn--bucket",
            "bucket-s3alias",
            ".bucket",
            "bucket.-x",
        ] {
            assert_eq!(
                validate_bucket(n).map_err(|e| e.code),
                Err(S3ErrorCode::InvalidBucketName),
                "{n}"
            );
        }
    }

    #[test]
    fn dotted_names_map_reversibly() {
        for n in ["my.example.s3.bucket", "plain-name", "a.b"] {
            let nats = bucket_to_nats(n);
            assert!(nats
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
            assert_eq!(bucket_from_nats(&nats).as_deref(), Some(n));
        }
    }

    #[test]
    fn nats_only_names_are_hidden() {
        for n in ["UPPER", "_jetgate_uploads", "x", "a__b"] {
            assert_eq!(bucket_from_nats(n), None, "{n}");
        }
    }

    #[test]
    fn keys() {
        assert!(validate_key("a/b c+%=ü").is_ok());
        assert!(validate_key("").is_err());
        assert_eq!(
            validate_key(&"k".repeat(1025)).map_err(|e| e.code),
            Err(S3ErrorCode::KeyTooLongError)
        );
    }
}
