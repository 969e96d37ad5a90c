//! Per-access-key policies: which buckets, key prefixes and kinds of operation a key may
//! use. The auth verifier returns the signer's policy with the principal; the data role
//! that received the request checks it against what the request does (derived here from
//! the route table's reading of the signed request, so every endpoint is covered by one
//! check).

use serde::{Deserialize, Serialize};

use crate::query::{query_pairs, query_value};
use crate::route::Routed;

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

/// What a routed S3 request does, as policy accesses (copies also read their source).
/// Read off the route table's own reading of the request, so the policy cannot judge
/// one operation while the worker runs another (`POST /b?%64elete` is DeleteObjects
/// to both, a second `%70refix` is the same parameter to both).
pub fn accesses(routed: &Routed, query: &str) -> Vec<Access> {
    use crate::bucket_config::ConfigVerb;
    use crate::route::{CorsAction as C, FeatureAction as F, MultipartAction as M, Operation as O};
    let Some(bucket) = routed.bucket.clone() else {
        return vec![Access {
            op: Operation::List,
            bucket: None,
            target: Target::Bucket,
        }];
    };
    let key = || Target::Key(routed.key.clone().unwrap_or_default());
    let prefix = || {
        let pairs = query_pairs(query);
        Target::Prefix(
            query_value(&pairs, "prefix")
                .unwrap_or_default()
                .to_string(),
        )
    };
    let (op, target) = match routed.op {
        O::ListBuckets => (Operation::List, Target::Bucket),
        O::HeadBucket
        | O::GetBucketLocation
        | O::Feature(F::GetBucketVersioning | F::ListObjectVersions)
        | O::BucketConfig(_, ConfigVerb::Get) => (Operation::List, Target::Bucket),
        // NotImplemented, but only for a key that could have configured the bucket.
        O::BucketConfig(_, ConfigVerb::Put | ConfigVerb::Delete) => {
            (Operation::Admin, Target::Bucket)
        }
        O::Acl {
            object: false,
            put: false,
        } => (Operation::List, Target::Bucket),
        O::Acl {
            object: false,
            put: true,
        } => (Operation::Admin, Target::Bucket),
        O::Acl {
            object: true,
            put: false,
        } => (Operation::Read, key()),
        O::Acl {
            object: true,
            put: true,
        } => (Operation::Write, key()),
        O::ListObjects { .. } | O::Multipart(M::ListMultipartUploads) => {
            (Operation::List, prefix())
        }
        O::CreateBucket | O::DeleteBucket => (Operation::Admin, Target::Bucket),
        O::Feature(F::GetBucketTagging) => (Operation::List, Target::Bucket),
        O::Feature(F::PutBucketTagging | F::DeleteBucketTagging) => {
            (Operation::Admin, Target::Bucket)
        }
        O::Cors(C::PutBucketCors | C::GetBucketCors | C::DeleteBucketCors) => {
            (Operation::Admin, Target::Bucket)
        }
        // Unsigned: answered from the bucket's CORS rules, never acting on data.
        O::Cors(C::Preflight) => return Vec::new(),
        O::DeleteObjects => (Operation::Delete, Target::Unknown),
        // Browser form uploads name their key in the form: verified by the POST policy.
        O::PostObject => (Operation::Write, Target::Unknown),
        O::GetObject
        | O::HeadObject
        | O::Multipart(M::ListParts)
        | O::Feature(F::GetObjectTagging | F::GetObjectAttributes) => (Operation::Read, key()),
        O::DeleteObject => (Operation::Delete, key()),
        O::PutObject
        | O::CopyObject
        | O::Multipart(
            M::CreateMultipartUpload
            | M::UploadPart
            | M::UploadPartCopy
            | M::CompleteMultipartUpload
            | M::AbortMultipartUpload,
        )
        | O::Feature(F::PutObjectTagging | F::DeleteObjectTagging) => (Operation::Write, key()),
    };
    let mut out = vec![Access {
        op,
        bucket: Some(bucket),
        target,
    }];
    if let Some((b, k)) = &routed.source {
        out.push(Access {
            op: Operation::Read,
            bucket: Some(b.clone()),
            target: Target::Key(k.clone()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::messages::SignedRequest;
    use crate::route::route_signed;

    fn req(method: &str, path: &str, query: &str) -> SignedRequest {
        SignedRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![],
            virtual_host_bucket: None,
        }
    }

    fn accesses(r: &SignedRequest) -> Vec<Access> {
        super::accesses(&route_signed(r).expect("routes"), &r.query)
    }

    fn policy() -> Policy {
        Policy {
            buckets: vec!["team-*".into(), "shared".into()],
            prefixes: vec!["alice/".into()],
            operations: vec![Operation::Read, Operation::Write, Operation::List],
        }
    }

    fn allowed(p: &Policy, r: &SignedRequest) -> bool {
        accesses(r).iter().all(|a| p.allows(a, false))
    }

    #[test]
    fn classifies_requests() {
        let a = accesses(&req("GET", "/bkt/dir/a%20b.txt", ""));
        assert_eq!(a[0].op, Operation::Read);
        assert_eq!(a[0].target, Target::Key("dir/a b.txt".into()));
        assert_eq!(accesses(&req("GET", "/", ""))[0].bucket, None);
        assert_eq!(
            accesses(&req("GET", "/bkt", "list-type=2&prefix=x%2Fy"))[0].target,
            Target::Prefix("x/y".into())
        );
        assert_eq!(accesses(&req("PUT", "/bkt", ""))[0].op, Operation::Admin);
        assert_eq!(
            accesses(&req("GET", "/bkt", "location"))[0].target,
            Target::Bucket
        );
        // The route table's reading: an encoded sub-resource is that sub-resource, and
        // the first `prefix` (however encoded) is the one the listing uses.
        assert_eq!(
            accesses(&req("POST", "/bkt", "%64elete"))[0].op,
            Operation::Delete
        );
        assert_eq!(
            accesses(&req("GET", "/bkt", "%63ors"))[0].op,
            Operation::Admin
        );
        assert_eq!(
            accesses(&req("GET", "/bkt", "uploads&prefix=a%2F&%70refix=b"))[0].target,
            Target::Prefix("a/".into())
        );
        assert_eq!(
            accesses(&req("POST", "/bkt", "delete"))[0].op,
            Operation::Delete
        );
        assert_eq!(
            accesses(&req("DELETE", "/bkt/k", "uploadId=1"))[0].op,
            Operation::Write
        );
        let mut copy = req("PUT", "/bkt/k", "");
        copy.headers.push((
            "x-amz-copy-source".into(),
            "/src/a%2Fb?versionId=null".into(),
        ));
        let a = accesses(&copy);
        assert_eq!(a[1].bucket.as_deref(), Some("src"));
        assert_eq!(a[1].target, Target::Key("a/b".into()));
        let mut vh = req("GET", "/k/x", "");
        vh.virtual_host_bucket = Some("vbk".into());
        assert_eq!(accesses(&vh)[0].bucket.as_deref(), Some("vbk"));
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
        assert!(Policy::default().allows(&accesses(&req("DELETE", "/xkt", ""))[0], false));
    }

    #[test]
    fn owned_buckets_join_the_named_ones() {
        let ops_only = Policy {
            operations: vec![Operation::Read, Operation::List],
            ..Policy::default()
        };
        let get = &accesses(&req("GET", "/any/k", ""))[0];
        assert!(!ops_only.allows(get, false), "names no bucket");
        assert!(ops_only.allows(get, true), "its owner's bucket");
        let put = &accesses(&req("PUT", "/any/k", ""))[0];
        assert!(!ops_only.allows(put, true), "operations still apply");
        let p = policy();
        let other = &accesses(&req("GET", "/other/alice/x", ""))[0];
        assert!(p.allows(other, true), "owned, under the prefix");
        let outside = &accesses(&req("GET", "/other/bob/x", ""))[0];
        assert!(!p.allows(outside, true), "prefixes still apply");
        let all = Policy {
            buckets: vec!["*".into()],
            operations: vec![Operation::Read],
            ..Policy::default()
        };
        assert!(all.allows(get, false), "`*` names every bucket");
    }
}
