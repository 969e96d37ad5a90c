//! Per-access-key policies: which buckets, key prefixes and kinds of operation a key may
//! use. The auth verifier returns the signer's policy with the principal; the data role
//! that received the request checks it against what the request does
//! ([`crate::route::Routed::accesses`], so every endpoint is covered by one check).

use serde::{Deserialize, Serialize};

/// Kinds of operation a policy grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// GetObject, HeadObject, object attributes and tags, ListParts; copy sources.
    Read,
    /// PutObject, CopyObject (destination), multipart uploads, object tags.
    Write,
    /// DeleteObject, DeleteObjects.
    Delete,
    /// ListBuckets, HeadBucket, ListObjects, ListMultipartUploads, bucket location.
    List,
    /// CreateBucket, DeleteBucket, bucket configuration (CORS…).
    Admin,
}

impl Operation {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "read" => Operation::Read,
            "write" => Operation::Write,
            "delete" => Operation::Delete,
            "list" => Operation::List,
            "admin" => Operation::Admin,
            _ => return None,
        })
    }
}

/// What a key may do. A key without a policy (or with an empty one) is an admin key: it
/// may do everything, in every bucket. A key with a policy uses the buckets its owner
/// owns plus the buckets `buckets` names (`*` names them all); an empty `prefixes` or
/// `operations` list does not restrict that dimension.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Bucket names; `*` at the end matches any suffix (`logs-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<String>,
    /// Object key prefixes (in every allowed bucket).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
}

/// One thing a request does: an operation on a bucket (absent for ListBuckets), on one
/// key, or, for listings, on a key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub op: Operation,
    pub bucket: Option<String>,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The bucket itself (or no bucket).
    Bucket,
    Key(String),
    /// A listing restricted to keys under this prefix.
    Prefix(String),
    /// Keys the request names in its body (DeleteObjects): unknown here.
    Unknown,
}

impl Policy {
    pub fn is_unrestricted(&self) -> bool {
        self.buckets.is_empty() && self.prefixes.is_empty() && self.operations.is_empty()
    }

    /// Whether the policy grants `bucket` by name, whoever owns it.
    pub fn names_bucket(&self, bucket: &str) -> bool {
        self.is_unrestricted() || self.buckets.iter().any(|p| bucket_matches(p, bucket))
    }

    /// Whether the key may use `bucket` at all, `owned` saying whether the key's owner
    /// owns it: ListBuckets shows it only those.
    pub fn may_use_bucket(&self, bucket: &str, owned: bool) -> bool {
        owned || self.names_bucket(bucket)
    }

    /// Whether the key may do `a`; `owned`: whether the key's owner owns `a.bucket`
    /// (ignored without a bucket).
    pub fn allows(&self, a: &Access, owned: bool) -> bool {
        if !self.operations.is_empty() && !self.operations.contains(&a.op) {
            return false;
        }
        // No bucket is ListBuckets: allowed with List; it lists only usable buckets.
        if let Some(b) = &a.bucket {
            if !self.may_use_bucket(b, owned) {
                return false;
            }
        }
        if self.prefixes.is_empty() || a.bucket.is_none() {
            return true;
        }
        match &a.target {
            Target::Key(k) | Target::Prefix(k) => {
                self.prefixes.iter().any(|p| k.starts_with(p.as_str()))
            }
            // Bucket-wide operations and keys we cannot see reach outside the prefixes.
            Target::Bucket | Target::Unknown => false,
        }
    }
}

fn bucket_matches(pattern: &str, bucket: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => bucket.starts_with(prefix),
        None => pattern == bucket,
    }
}
