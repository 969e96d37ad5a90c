//! Object tagging on the wire (`jetgate.v1.object.*_tagging`) and S3's tag limits, which
//! the edge (for `x-amz-tagging`) and the object role (for the XML body) both apply.

use serde::{Deserialize, Serialize};

use crate::S3Error;

/// Most tags one object may carry.
pub const MAX_TAGS: usize = 10;
/// Most tags one bucket may carry.
pub const MAX_BUCKET_TAGS: usize = 50;
/// Longest tag key, in Unicode characters.
pub const MAX_KEY_CHARS: usize = 128;
/// Longest tag value, in Unicode characters.
pub const MAX_VALUE_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// GetObjectTagging and DeleteObjectTagging.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectTagging {
    pub bucket: String,
    pub key: String,
}

/// PutObjectTagging: the tag set is the signed request body, read by the worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PutObjectTagging {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaggingReply {
    pub tags: Vec<Tag>,
}

/// S3's limits for an object: at most 10 tags, unique keys, key 1–128 and value 0–256
/// characters.
pub fn validate_tags(tags: &[Tag]) -> Result<(), S3Error> {
    if tags.len() > MAX_TAGS {
        return Err(S3Error::invalid_tag(
            "Object tags cannot be greater than 10",
        ));
    }
    validate_tag_set(tags)
}

/// S3's limits for a bucket: as for an object, but up to 50 tags.
pub fn validate_bucket_tags(tags: &[Tag]) -> Result<(), S3Error> {
    if tags.len() > MAX_BUCKET_TAGS {
        return Err(S3Error::invalid_tag(
            "Bucket tag count cannot be greater than 50",
        ));
    }
    validate_tag_set(tags)
}

fn validate_tag_set(tags: &[Tag]) -> Result<(), S3Error> {
    for (i, t) in tags.iter().enumerate() {
        let chars = t.key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(S3Error::invalid_tag(
                "The TagKey you have provided is invalid",
            ));
        }
        if t.value.chars().count() > MAX_VALUE_CHARS {
            return Err(S3Error::invalid_tag(
                "The TagValue you have provided is invalid",
            ));
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(S3Error::invalid_tag(
                "Cannot provide multiple Tags with the same key",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::S3ErrorCode;

    fn code(tags: &[Tag]) -> Option<S3ErrorCode> {
        validate_tags(tags).err().map(|e| e.code)
    }

    #[test]
    fn tagging_limits() {
        let ten: Vec<Tag> = (0..10).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        assert_eq!(code(&ten), None);
        let eleven: Vec<Tag> = (0..11).map(|i| Tag::new(format!("k{i}"), "v")).collect();
        assert_eq!(code(&eleven), Some(S3ErrorCode::InvalidTag));
        assert_eq!(code(&[Tag::new("", "v")]), Some(S3ErrorCode::InvalidTag));
        assert_eq!(code(&[Tag::new("k", "")]), None);
        // Limits count characters, not bytes.
        assert_eq!(code(&[Tag::new("é".repeat(128), "ü".repeat(256))]), None);
        assert_eq!(
            code(&[Tag::new("k".repeat(129), "v")]),
            Some(S3ErrorCode::InvalidTag)
        );
        assert_eq!(
            code(&[Tag::new("k", "v".repeat(257))]),
            Some(S3ErrorCode::InvalidTag)
        );
        let dup = [Tag::new("a", "1"), Tag::new("b", "2"), Tag::new("a", "3")];
        assert_eq!(code(&dup), Some(S3ErrorCode::InvalidTag));
    }
}
