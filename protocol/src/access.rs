//! What a routed request does, as the policy sees it: read off the route table's own
//! reading of the request, so the policy cannot judge one operation while the worker
//! runs another.

use crate::bucket_config::ConfigVerb;
use crate::policy::{Access, Operation, Target};
use crate::route::Routed;
use crate::route::{CorsAction as C, FeatureAction as F, MultipartAction as M, Operation as O};

impl Routed {
    /// What a routed S3 request does, as policy accesses (copies also read their source).
    /// Read off the route table's own reading of the request, so the policy cannot judge
    /// one operation while the worker runs another (`POST /b?%64elete` is DeleteObjects
    /// to both, a second `%70refix` is the same parameter to both).
    pub fn accesses(&self) -> Vec<Access> {
        let routed = self;
        // Unsigned STS: its web identity token is the proof, and it touches no data.
        if routed.op == O::AssumeRoleWithWebIdentity {
            return Vec::new();
        }
        let Some(bucket) = routed.bucket.clone() else {
            return vec![Access {
                op: Operation::List,
                bucket: None,
                target: Target::Bucket,
            }];
        };
        let key = || Target::Key(routed.key.clone().unwrap_or_default());
        let prefix = || Target::Prefix(routed.prefix.clone().unwrap_or_default());
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
            O::AssumeRoleWithWebIdentity => return Vec::new(),
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
}

#[cfg(test)]
mod tests {
    use crate::policy::{Access, Operation, Policy, Target};

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
        route_signed(r).expect("routes").accesses()
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
