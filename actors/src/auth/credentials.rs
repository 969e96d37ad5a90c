//! Access keys and their secrets in a NATS KV bucket that only the auth role (and the
//! `jetgate credentials` admin command) reads. Auth workers cache entries and follow the
//! bucket with a watch, so an added or removed key takes effect at once on every worker.
//! Secrets are sealed with the credentials key (see `sealed`); a key can hold several
//! secrets at once while it is rotated.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use jetgate_protocol::policy::Policy;
use serde::{Deserialize, Serialize};

use super::sealed::{self, CredentialsKey, PublicPart};

/// KV bucket holding the credentials.
pub const CREDENTIALS_BUCKET: &str = "jetgate-credentials";
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("credential store unavailable: {0}")]
    Unavailable(String),
    #[error("invalid access key {0:?}: use 3 to 128 letters and digits")]
    InvalidAccessKey(String),
    #[error("invalid secret key: use 8 to 128 printable ASCII characters")]
    InvalidSecret,
    #[error("stored credential unreadable: {0}")]
    Corrupt(String),
    #[error("credential is encrypted and no credentials key was given (--credentials-key)")]
    KeyMissing,
    #[error("credential was sealed with credentials key {stored}, this process holds {held}")]
    WrongKey { stored: String, held: String },
    #[error("invalid credentials key: {0}")]
    BadKey(String),
    #[error("no access key {0}")]
    NotFound(String),
}

/// One access key. `Debug` never prints the secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credential {
    #[serde(default)]
    pub format: u32,
    pub access_key: String,
    pub secret_key: String,
    pub owner_id: String,
    pub display_name: String,
    #[serde(default)]
    pub created_ms: i64,
    /// Older secrets still accepted during a rotation, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key", &self.access_key)
            .field("secret_key", &"[redacted]")
            .field("owner_id", &self.owner_id)
            .field("display_name", &self.display_name)
            .field("previous_secrets", &self.previous_secrets.len())
            .field("policy", &self.policy)
            .finish()
    }
}

impl Credential {
    pub fn new(
        access_key: &str,
        secret_key: &str,
        owner_id: &str,
        display_name: &str,
    ) -> Result<Self, CredentialError> {
        if !(3..=128).contains(&access_key.len())
            || !access_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(CredentialError::InvalidAccessKey(access_key.to_string()));
        }
        check_secret(secret_key)?;
        Ok(Credential {
            format: FORMAT,
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            owner_id: owner_id.into(),
            display_name: display_name.into(),
            created_ms: (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
            previous_secrets: Vec::new(),
            policy: None,
        })
    }

    /// Every secret that currently signs for this key, newest first.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.secret_key.as_str())
            .chain(self.previous_secrets.iter().map(String::as_str))
    }

    /// Rotation: `secret` becomes the primary, the old ones stay valid until retired.
    pub fn rotate(&mut self, secret: &str) -> Result<(), CredentialError> {
        check_secret(secret)?;
        let old = std::mem::replace(&mut self.secret_key, secret.to_string());
        self.previous_secrets.insert(0, old);
        self.previous_secrets.retain(|s| s != secret);
        Ok(())
    }

    /// Ends a rotation: only the primary secret stays valid.
    pub fn retire_old(&mut self) -> usize {
        std::mem::take(&mut self.previous_secrets).len()
    }

    pub(crate) fn from_parts(p: PublicPart, secrets: Vec<String>) -> Result<Self, CredentialError> {
        let mut it = secrets.into_iter();
        let secret_key = it
            .next()
            .ok_or_else(|| CredentialError::Corrupt("no secret in record".into()))?;
        Ok(Credential {
            format: p.format,
            access_key: p.access_key,
            secret_key,
            owner_id: p.owner_id,
            display_name: p.display_name,
            created_ms: p.created_ms,
            previous_secrets: it.collect(),
            policy: p.policy,
        })
    }
}

fn check_secret(secret_key: &str) -> Result<(), CredentialError> {
    if !(8..=128).contains(&secret_key.len()) || !secret_key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CredentialError::InvalidSecret);
    }
    Ok(())
}

/// The credential bucket plus this process's cache of it.
#[derive(Clone)]
pub struct CredentialStore {
    kv: kv::Store,
    cache: Arc<RwLock<HashMap<String, Credential>>>,
    /// Opens sealed records; without it only format-1 (plaintext) records are readable.
    key: Option<Arc<CredentialsKey>>,
}

impl CredentialStore {
    /// Opens (creating if needed) the credentials bucket.
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, CredentialError> {
        let kv = match js.get_key_value(CREDENTIALS_BUCKET).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: CREDENTIALS_BUCKET.into(),
                    description: "jetgate S3 access keys".into(),
                    history: 1,
                    num_replicas: replicas,
                    ..Default::default()
                })
                .await
                .map_err(|e| CredentialError::Unavailable(e.to_string()))?,
        };
        Ok(CredentialStore {
            kv,
            cache: Arc::new(RwLock::new(HashMap::new())),
            key: None,
        })
    }

    /// Uses `key` to seal and open secrets.
    pub fn with_key(mut self, key: Option<Arc<CredentialsKey>>) -> Self {
        self.key = key;
        self
    }

    /// Keeps the cache in step with the bucket until the process ends.
    pub async fn follow(&self) -> Result<(), CredentialError> {
        let mut watch = self
            .kv
            .watch_all()
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        let cache = self.cache.clone();
        let key = self.key.clone();
        tokio::spawn(async move {
            while let Some(entry) = watch.next().await {
                let Ok(entry) = entry else { continue };
                let mut c = cache.write().unwrap_or_else(|p| p.into_inner());
                match entry.operation {
                    kv::Operation::Put => {
                        match sealed::open(&entry.value, &entry.key, key.as_deref()) {
                            Ok(cred) => {
                                c.insert(entry.key.clone(), cred);
                            }
                            Err(e) => {
                                // Dropped from the cache: requests for it re-read the
                                // bucket and fail closed (InternalError), never plaintext.
                                c.remove(&entry.key);
                                tracing::error!(access_key = %entry.key, error = %e, "unreadable credential")
                            }
                        }
                    }
                    kv::Operation::Delete | kv::Operation::Purge => {
                        c.remove(&entry.key);
                    }
                }
            }
        });
        Ok(())
    }

    pub async fn get(&self, access_key: &str) -> Result<Option<Credential>, CredentialError> {
        if let Some(c) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key)
        {
            return Ok(Some(c.clone()));
        }
        if access_key.is_empty() || !access_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let Some(raw) = self
            .kv
            .get(access_key)
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?
        else {
            return Ok(None);
        };
        let cred = sealed::open(&raw, access_key, self.key.as_deref())?;
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(access_key.to_string(), cred.clone());
        Ok(Some(cred))
    }

    /// Stores `cred` sealed; there is no way to write a plaintext record.
    pub async fn put(&self, cred: &Credential) -> Result<(), CredentialError> {
        let key = self.key.as_deref().ok_or(CredentialError::KeyMissing)?;
        let raw = sealed::seal(cred, key)?;
        self.kv
            .put(&cred.access_key, raw.into())
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        Ok(())
    }

    pub async fn remove(&self, access_key: &str) -> Result<bool, CredentialError> {
        if self.raw(access_key).await?.is_none() {
            return Ok(false);
        }
        self.kv
            .purge(access_key)
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(access_key);
        Ok(true)
    }

    /// Reads a record straight from the bucket (not the cache): what admin edits start from.
    pub async fn load(&self, access_key: &str) -> Result<Credential, CredentialError> {
        let raw = self
            .kv
            .get(access_key)
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?
            .ok_or_else(|| CredentialError::NotFound(access_key.to_string()))?;
        sealed::open(&raw, access_key, self.key.as_deref())
    }

    /// The raw stored bytes of a record (tests check that no secret is in them).
    pub async fn raw(&self, access_key: &str) -> Result<Option<bytes::Bytes>, CredentialError> {
        self.kv
            .get(access_key)
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))
    }

    /// Every key's readable part (no credentials key needed).
    pub async fn list(&self) -> Result<Vec<PublicPart>, CredentialError> {
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        let mut out = Vec::new();
        while let Some(k) = keys.next().await {
            let k = k.map_err(|e| CredentialError::Unavailable(e.to_string()))?;
            if let Some(raw) = self.raw(&k).await? {
                out.push(sealed::public_part(&raw)?);
            }
        }
        out.sort_by(|a, b| a.access_key.cmp(&b.access_key));
        Ok(out)
    }
}
