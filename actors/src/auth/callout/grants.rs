//! What a NATS login may do, derived from the S3 policy of the key it logged in with.
//!
//! NATS permissions are subject patterns, where a wildcard stands for whole tokens. An
//! object store names its objects by token (`$O.<bucket>.M.<base64url(name)>`, chunks
//! `$O.<bucket>.C.<nuid>`), so NATS can say "this bucket" but never "keys under this
//! prefix": the base64 of a key prefix is not a token prefix, and a chunk subject does
//! not name its object at all. What follows grants, per bucket, only what the key's S3
//! policy allows there, and less where NATS cannot say exactly that much:
//!
//! | S3 right | NATS subjects (bucket `B`, stream `OBJ_B`) |
//! |---|---|
//! | read | `STREAM.INFO.OBJ_B`, direct get of `$O.B.M.*`, `STREAM.MSG.GET.OBJ_B`, ordered consumers on one chunk subject `$O.B.C.*` |
//! | list (with read) | consumers on `$O.B.M.>`; unnamed consumers (`CONSUMER.CREATE.OBJ_B`, any filter) |
//! | write | publish `$O.B.C.*` and `$O.B.M.*` |
//! | delete | publish `$O.B.M.*` (the delete marker), `STREAM.PURGE.OBJ_B` |
//!
//! async-nats (0.51) creates the ordered consumer of an object read unnamed, with the
//! filter in the body only, which subject permissions cannot confine to chunks: with
//! async-nats, reading an object natively needs read and list. Clients that name their
//! consumers with the filter in the subject (`CONSUMER.CREATE.OBJ_B.<name>.<filter>`,
//! nats.go) read with read alone.
//!
//! Not granted: list without read (a metadata consumer shows every object's headers,
//! which S3 shows only to readers), admin (a stream create or update can mirror, source
//! or republish anything in the account), bucket listing across buckets
//! (`STREAM.NAMES` would show buckets the key may not use), and any key with a prefix
//! policy: the login is refused ([`Refusal::Prefixes`]) rather than given a whole
//! bucket. Replies come only to the login's own inbox prefix ([`inbox`]), so two
//! logins never read each other's replies or consumer deliveries.

use jetgate_protocol::names::bucket_to_nats;
use jetgate_protocol::policy::{Operation, Policy};

/// Most buckets one login is granted: each costs about ten subjects in the user JWT,
/// which nats-server must take in one message.
pub const MAX_BUCKETS: usize = 256;

/// Why a login gets no JWT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the key's policy restricts key prefixes, which NATS permissions cannot express")]
    Prefixes,
    #[error("the key may use {0} buckets; a NATS login carries at most {MAX_BUCKETS}")]
    TooManyBuckets(usize),
}

/// One bucket a login may use, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The S3 bucket name.
    pub bucket: String,
    pub ops: Vec<Operation>,
}

/// The user JWT's `pub.allow` and `sub.allow`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
}

/// The inbox prefix a login must connect with (`custom_inbox_prefix`, `nats
/// --inbox-prefix`): its own, named by the identity, so replies and consumer
/// deliveries of one identity are invisible to every other.
pub fn inbox(identity: &str) -> String {
    format!("_INBOX_{identity}")
}

/// The operations a key's policy grants in the buckets it may use; `Err` when NATS
/// cannot express the policy.
pub fn operations(policy: Option<&Policy>) -> Result<Vec<Operation>, Refusal> {
    let all = [
        Operation::Read,
        Operation::Write,
        Operation::Delete,
        Operation::List,
    ];
    let Some(p) = policy.filter(|p| !p.is_unrestricted()) else {
        return Ok(all.to_vec());
    };
    if !p.prefixes.is_empty() {
        return Err(Refusal::Prefixes);
    }
    let held = |op| p.operations.is_empty() || p.operations.contains(&op);
    Ok(all
        .into_iter()
        .filter(|op| held(*op))
        // Listing by consumer shows headers S3 shows to readers only.
        .filter(|op| *op != Operation::List || held(Operation::Read))
        .collect())
}

/// The permissions of a login with `grants`, replying to `inbox`.
pub fn permissions(inbox: &str, grants: &[Grant]) -> Result<Permissions, Refusal> {
    if grants.len() > MAX_BUCKETS {
        return Err(Refusal::TooManyBuckets(grants.len()));
    }
    let mut publish = Vec::new();
    for g in grants {
        let b = bucket_to_nats(&g.bucket);
        let s = format!("OBJ_{b}");
        let has = |op| g.ops.contains(&op);
        let consumers = [
            format!("$JS.API.CONSUMER.DELETE.{s}.*"),
            format!("$JS.API.CONSUMER.INFO.{s}.*"),
            format!("$JS.FC.{s}.>"),
        ];
        if has(Operation::Read) || has(Operation::List) {
            publish.push(format!("$JS.API.STREAM.INFO.{s}"));
        }
        if has(Operation::Read) {
            publish.push(format!("$JS.API.DIRECT.GET.{s}.$O.{b}.M.*"));
            publish.push(format!("$JS.API.STREAM.MSG.GET.{s}"));
            publish.push(format!("$JS.API.CONSUMER.CREATE.{s}.*.$O.{b}.C.*"));
            publish.extend(consumers.iter().cloned());
        }
        if has(Operation::List) {
            publish.push(format!("$JS.API.CONSUMER.CREATE.{s}.*.$O.{b}.M.>"));
            // The unnamed form (the filter only in the body), as async-nats creates
            // its ordered consumers: any subject of the stream, which read and list
            // together may see.
            if has(Operation::Read) {
                publish.push(format!("$JS.API.CONSUMER.CREATE.{s}"));
            }
        }
        if has(Operation::Write) {
            publish.push(format!("$O.{b}.C.*"));
        }
        if has(Operation::Write) || has(Operation::Delete) {
            publish.push(format!("$O.{b}.M.*"));
        }
        if has(Operation::Delete) {
            publish.push(format!("$JS.API.STREAM.PURGE.{s}"));
        }
    }
    publish.sort();
    publish.dedup();
    Ok(Permissions {
        publish,
        subscribe: vec![format!("{inbox}.>")],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ops: &[Operation], prefixes: &[&str]) -> Policy {
        Policy {
            buckets: vec!["a".into()],
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            operations: ops.to_vec(),
        }
    }

    #[test]
    fn admin_keys_get_every_object_operation_but_no_stream_admin() {
        let ops = operations(None).expect("admin");
        assert_eq!(ops.len(), 4);
        assert!(!ops.contains(&Operation::Admin));
        assert_eq!(operations(Some(&Policy::default())), Ok(ops));
    }

    #[test]
    fn prefix_policies_are_refused_and_list_needs_read() {
        assert_eq!(
            operations(Some(&policy(&[Operation::Read], &["logs/"]))),
            Err(Refusal::Prefixes)
        );
        assert_eq!(
            operations(Some(&policy(&[Operation::List, Operation::Write], &[]))),
            Ok(vec![Operation::Write])
        );
        assert_eq!(
            operations(Some(&policy(&[Operation::Read, Operation::List], &[]))),
            Ok(vec![Operation::Read, Operation::List])
        );
    }

    #[test]
    fn a_read_grant_reads_its_bucket_only() {
        let p = permissions(
            "_INBOX_K",
            &[Grant {
                bucket: "my.bucket".into(),
                ops: vec![Operation::Read],
            }],
        )
        .expect("grant");
        assert_eq!(p.subscribe, vec!["_INBOX_K.>"]);
        for s in &p.publish {
            assert!(
                s.contains("OBJ_my_bucket"),
                "{s} reaches outside the bucket"
            );
            assert!(!s.starts_with("$O."), "{s}: read may not publish objects");
            assert!(!s.contains("PURGE") && !s.contains(".M.>"), "{s}");
            assert!(
                !s.ends_with("CONSUMER.CREATE.OBJ_my_bucket"),
                "{s}: any filter"
            );
        }
        assert!(p
            .publish
            .contains(&"$JS.API.DIRECT.GET.OBJ_my_bucket.$O.my_bucket.M.*".to_string()));
    }

    #[test]
    fn write_and_delete_publish_only_what_they_need() {
        let p = permissions(
            "_INBOX_K",
            &[Grant {
                bucket: "b".into(),
                ops: vec![Operation::Write],
            }],
        )
        .expect("grant");
        assert_eq!(p.publish, vec!["$O.b.C.*", "$O.b.M.*"]);
        let p = permissions(
            "_INBOX_K",
            &[Grant {
                bucket: "b".into(),
                ops: vec![Operation::Delete],
            }],
        )
        .expect("grant");
        assert_eq!(p.publish, vec!["$JS.API.STREAM.PURGE.OBJ_b", "$O.b.M.*"]);
    }

    #[test]
    fn too_many_buckets_are_refused() {
        let grants: Vec<Grant> = (0..=MAX_BUCKETS)
            .map(|i| Grant {
                bucket: format!("b{i}"),
                ops: vec![Operation::Read],
            })
            .collect();
        assert_eq!(
            permissions("_INBOX_K", &grants),
            Err(Refusal::TooManyBuckets(MAX_BUCKETS + 1))
        );
    }
}
