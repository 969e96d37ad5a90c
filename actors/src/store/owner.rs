//! Bucket owners: the owner of the key that created a bucket, kept in the metadata of
//! the bucket's stream (`jetgate.owner`) where native NATS tools show it. A bucket
//! without one (created before owners were recorded, or by a native NATS client)
//! belongs to the admin: keys without a policy.

use std::collections::HashMap;

use async_nats::jetstream::stream::{self, DiscardPolicy};
use jetgate_protocol::messages::{Owner, Principal};

use super::{stream_name, Store, StoreError};

/// Stream metadata key holding the bucket owner as JSON.
pub const OWNER_KEY: &str = "jetgate.owner";

/// Whether `principal` owns a bucket whose recorded owner is `owner`.
pub fn owns(principal: &Principal, owner: Option<&Owner>) -> bool {
    match owner {
        Some(o) => o.id == principal.owner.id,
        None => principal
            .policy
            .as_ref()
            .is_none_or(|p| p.is_unrestricted()),
    }
}

/// The owner recorded in a bucket stream's config; `None` when there is none or it
/// does not parse.
pub fn owner_of(config: &stream::Config) -> Option<Owner> {
    serde_json::from_str(config.metadata.get(OWNER_KEY)?).ok()
}

/// Whether a failed create means the stream exists (under another configuration).
fn exists(e: &impl std::fmt::Display) -> bool {
    let m = e.to_string();
    m.contains("already in use") || m.contains("stream name already")
}

/// What CreateBucket found.
pub enum Created {
    /// A new bucket, owned by the creator.
    New,
    /// The bucket was there already, with this owner.
    Existing(Option<Owner>),
}

impl Store {
    /// Creates a bucket's stream as `nats object` would, with its owner recorded in the
    /// same request, so there is never a moment when it exists without one.
    pub async fn create_bucket(
        &self,
        nats_bucket: &str,
        description: String,
        replicas: usize,
        owner: &Owner,
    ) -> Result<Created, StoreError> {
        if let Ok(s) = self.bucket_stream(nats_bucket).await {
            return Ok(Created::Existing(owner_of(&s.cached_info().config)));
        }
        let owner_json =
            serde_json::to_string(owner).map_err(|e| StoreError::Request(e.to_string()))?;
        let config = stream::Config {
            name: stream_name(nats_bucket),
            description: Some(description),
            subjects: vec![
                format!("$O.{nats_bucket}.C.>"),
                format!("$O.{nats_bucket}.M.>"),
            ],
            num_replicas: replicas,
            discard: DiscardPolicy::New,
            allow_rollup: true,
            allow_direct: true,
            metadata: HashMap::from([(OWNER_KEY.to_string(), owner_json)]),
            ..Default::default()
        };
        match self.js.create_stream(config).await {
            Ok(_) => Ok(Created::New),
            // Created by someone else since the look above.
            Err(e) if exists(&e) => {
                let s = self.bucket_stream(nats_bucket).await?;
                Ok(Created::Existing(owner_of(&s.cached_info().config)))
            }
            Err(e) => Err(StoreError::Request(e.to_string())),
        }
    }

    /// The bucket's recorded owner (`None`: the admin's); `NoSuchBucket` when it does
    /// not exist.
    pub async fn bucket_owner(&self, nats_bucket: &str) -> Result<Option<Owner>, StoreError> {
        let s = self.bucket_stream(nats_bucket).await?;
        Ok(owner_of(&s.cached_info().config))
    }

    /// Records `owner` as the bucket's owner (`jetgate buckets chown`).
    pub async fn set_bucket_owner(
        &self,
        nats_bucket: &str,
        owner: &Owner,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(owner).map_err(|e| StoreError::Request(e.to_string()))?;
        self.set_bucket_setting(nats_bucket, OWNER_KEY, Some(json))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jetgate_protocol::policy::Policy;

    fn principal(id: &str, policy: Option<Policy>) -> Principal {
        Principal {
            access_key: "AK".into(),
            owner: Owner {
                id: id.into(),
                display_name: id.into(),
            },
            chunk_context: None,
            policy,
        }
    }

    #[test]
    fn owner_and_admin() {
        let alice = Owner {
            id: "alice".into(),
            display_name: "Alice".into(),
        };
        let restricted = Policy {
            buckets: vec!["b".into()],
            ..Policy::default()
        };
        assert!(owns(
            &principal("alice", Some(restricted.clone())),
            Some(&alice)
        ));
        assert!(!owns(&principal("bob", None), Some(&alice)));
        // Unowned buckets are the admin's: keys without a (restricting) policy.
        assert!(owns(&principal("bob", None), None));
        assert!(owns(&principal("bob", Some(Policy::default())), None));
        assert!(!owns(&principal("alice", Some(restricted)), None));
        let mut config = stream::Config::default();
        assert_eq!(owner_of(&config), None);
        config.metadata.insert(
            OWNER_KEY.into(),
            serde_json::to_string(&alice).unwrap_or_default(),
        );
        assert_eq!(owner_of(&config), Some(alice));
    }
}
