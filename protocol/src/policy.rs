//! Per-access-key policies: which buckets, key prefixes and kinds of operation a key may
//! use. The auth verifier returns the signer's policy with the principal; the data role
//! that received the request checks it against what the request does (derived here from
//! the signed request itself, so every endpoint is covered by one check).

use serde::{Deserialize, Serialize};

use crate::messages::SignedRequest;

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

/// What a key may do. An empty list means "no restriction" on that dimension; a key
/// without a policy may do everything.
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

    pub fn allows(&self, a: &Access) -> bool {
        if !self.operations.is_empty() && !self.operations.contains(&a.op) {
            return false;
        }
        // No bucket is ListBuckets: allowed with List; names of other buckets are visible.
        if let Some(b) = &a.bucket {
            if !self.buckets.is_empty() && !self.buckets.iter().any(|p| bucket_matches(p, b)) {
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

fn query_has(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|kv| kv.split_once('=').map_or(kv, |(k, _)| k) == name)
}

fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| decode(&v.replace('+', " ")))
    })
}

/// Percent-decodes a path or query component (invalid escapes are kept as they are).
fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// What a signed S3 request does, as policy accesses (copies also read their source).
pub fn accesses(signed: &SignedRequest) -> Vec<Access> {
    let path = signed.path.trim_start_matches('/');
    let (bucket, key) = match &signed.virtual_host_bucket {
        Some(b) => (Some(b.clone()), (!path.is_empty()).then(|| decode(path))),
        None => match path.split_once('/') {
            Some((b, k)) if !k.is_empty() => (Some(decode(b)), Some(decode(k))),
            Some((b, _)) => (Some(decode(b)), None),
            None if path.is_empty() => (None, None),
            None => (Some(decode(path)), None),
        },
    };
    let q = signed.query.as_str();
    let method = signed.method.to_ascii_uppercase();
    let mut out = Vec::new();
    let Some(bucket) = bucket else {
        out.push(Access {
            op: Operation::List,
            bucket: None,
            target: Target::Bucket,
        });
        return out;
    };
    let on = |op, target| Access {
        op,
        bucket: Some(bucket.clone()),
        target,
    };
    match key {
        None => out.push(match method.as_str() {
            "GET" | "HEAD" if query_has(q, "cors") => on(Operation::Admin, Target::Bucket),
            "GET" if query_has(q, "uploads") || !has_subresource(q) => on(
                Operation::List,
                Target::Prefix(query_value(q, "prefix").unwrap_or_default()),
            ),
            "GET" | "HEAD" => on(Operation::List, Target::Bucket),
            "POST" if query_has(q, "delete") => on(Operation::Delete, Target::Unknown),
            // Browser form uploads name their key in the form: verified by the POST policy.
            "POST" => on(Operation::Write, Target::Unknown),
            _ => on(Operation::Admin, Target::Bucket),
        }),
        Some(key) => {
            let op = match method.as_str() {
                "GET" | "HEAD" => Operation::Read,
                "DELETE" if !query_has(q, "uploadId") && !query_has(q, "tagging") => {
                    Operation::Delete
                }
                _ => Operation::Write,
            };
            out.push(on(op, Target::Key(key)));
            if let Some(src) = signed.header("x-amz-copy-source") {
                out.push(copy_source(src));
            }
        }
    }
    out
}

/// Listing subresources (`?location`, `?versioning`…) as opposed to ListObjects' own
/// parameters.
fn has_subresource(q: &str) -> bool {
    const LIST_PARAMS: &[&str] = &[
        "list-type",
        "prefix",
        "delimiter",
        "marker",
        "max-keys",
        "continuation-token",
        "start-after",
        "fetch-owner",
        "encoding-type",
        "x-id",
    ];
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| kv.split_once('=').map_or(kv, |(k, _)| k))
        .any(|k| {
            !LIST_PARAMS.contains(&k)
                && !k.starts_with("X-Amz-")
                && k != "AWSAccessKeyId"
                && k != "Signature"
                && k != "Expires"
        })
}

/// `x-amz-copy-source: /bucket/key?versionId=…` (leading slash optional, key encoded).
fn copy_source(src: &str) -> Access {
    let src = src.split('?').next().unwrap_or_default();
    let src = decode(src.trim_start_matches('/'));
    let (b, k) = src.split_once('/').unwrap_or((src.as_str(), ""));
    Access {
        op: Operation::Read,
        bucket: Some(b.to_string()),
        target: Target::Key(k.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, query: &str) -> SignedRequest {
        SignedRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![],
            virtual_host_bucket: None,
        }
    }

    fn policy() -> Policy {
        Policy {
            buckets: vec!["team-*".into(), "shared".into()],
            prefixes: vec!["alice/".into()],
            operations: vec![Operation::Read, Operation::Write, Operation::List],
        }
    }

    fn allowed(p: &Policy, r: &SignedRequest) -> bool {
        accesses(r).iter().all(|a| p.allows(a))
    }

    #[test]
    fn classifies_requests() {
        let a = accesses(&req("GET", "/b/dir/a%20b.txt", ""));
        assert_eq!(a[0].op, Operation::Read);
        assert_eq!(a[0].target, Target::Key("dir/a b.txt".into()));
        assert_eq!(accesses(&req("GET", "/", ""))[0].bucket, None);
        assert_eq!(
            accesses(&req("GET", "/b", "list-type=2&prefix=x%2Fy"))[0].target,
            Target::Prefix("x/y".into())
        );
        assert_eq!(accesses(&req("PUT", "/b", ""))[0].op, Operation::Admin);
        assert_eq!(
            accesses(&req("GET", "/b", "location"))[0].target,
            Target::Bucket
        );
        assert_eq!(
            accesses(&req("POST", "/b", "delete"))[0].op,
            Operation::Delete
        );
        assert_eq!(
            accesses(&req("DELETE", "/b/k", "uploadId=1"))[0].op,
            Operation::Write
        );
        let mut copy = req("PUT", "/b/k", "");
        copy.headers
            .push(("x-amz-copy-source".into(), "/src/a%2Fb?versionId=1".into()));
        let a = accesses(&copy);
        assert_eq!(a[1].bucket.as_deref(), Some("src"));
        assert_eq!(a[1].target, Target::Key("a/b".into()));
        let mut vh = req("GET", "/k/x", "");
        vh.virtual_host_bucket = Some("vb".into());
        assert_eq!(accesses(&vh)[0].bucket.as_deref(), Some("vb"));
        assert_eq!(accesses(&vh)[0].target, Target::Key("k/x".into()));
    }

    #[test]
    fn policy_checks_bucket_prefix_and_operation() {
        let p = policy();
        assert!(allowed(&p, &req("GET", "/team-a/alice/x", "")));
        assert!(allowed(&p, &req("PUT", "/shared/alice/x", "")));
        assert!(!allowed(&p, &req("GET", "/other/alice/x", "")), "bucket");
        assert!(!allowed(&p, &req("GET", "/shared/bob/x", "")), "prefix");
        assert!(
            !allowed(&p, &req("DELETE", "/shared/alice/x", "")),
            "operation"
        );
        assert!(!allowed(&p, &req("PUT", "/team-new", "")), "admin");
        assert!(allowed(
            &p,
            &req("GET", "/shared", "list-type=2&prefix=alice/")
        ));
        assert!(!allowed(&p, &req("GET", "/shared", "list-type=2")));
        assert!(allowed(&p, &req("GET", "/", "")), "ListBuckets with list");
        let mut copy = req("PUT", "/shared/alice/y", "");
        copy.headers
            .push(("x-amz-copy-source".into(), "other/alice/x".into()));
        assert!(!allowed(&p, &copy), "copy source outside the policy");
        assert!(Policy::default().allows(&accesses(&req("DELETE", "/x", ""))[0]));
    }
}
