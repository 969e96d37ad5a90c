//! Access keys and their secrets in a NATS KV bucket that only the auth role (and the
//! `jetgate credentials` admin command) reads. Auth workers cache entries and follow the
//! bucket with a watch, so an added or removed key takes effect at once on every worker.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::{self, kv};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

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
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("access_key", &self.access_key)
            .field("secret_key", &"[redacted]")
            .field("owner_id", &self.owner_id)
            .field("display_name", &self.display_name)
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
        if !(8..=128).contains(&secret_key.len())
            || !secret_key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(CredentialError::InvalidSecret);
        }
        Ok(Credential {
            format: FORMAT,
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            owner_id: owner_id.into(),
            display_name: display_name.into(),
            created_ms: (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        })
    }
}

/// The credential bucket plus this process's cache of it.
#[derive(Clone)]
pub struct CredentialStore {
    kv: kv::Store,
    cache: Arc<RwLock<HashMap<String, Credential>>>,
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
        })
    }

    /// Keeps the cache in step with the bucket until the process ends.
    pub async fn follow(&self) -> Result<(), CredentialError> {
        let mut watch = self
            .kv
            .watch_all()
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        let cache = self.cache.clone();
        tokio::spawn(async move {
            while let Some(entry) = watch.next().await {
                let Ok(entry) = entry else { continue };
                let mut c = cache.write().unwrap_or_else(|p| p.into_inner());
                match entry.operation {
                    kv::Operation::Put => {
                        match serde_json::from_slice::<Credential>(&entry.value) {
                            Ok(cred) => {
                                c.insert(entry.key.clone(), cred);
                            }
                            Err(e) => {
                                tracing::warn!(key = %entry.key, error = %e, "unreadable credential")
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
        let cred: Credential =
            serde_json::from_slice(&raw).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(access_key.to_string(), cred.clone());
        Ok(Some(cred))
    }

    pub async fn put(&self, cred: &Credential) -> Result<(), CredentialError> {
        let raw = serde_json::to_vec(cred).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
        self.kv
            .put(&cred.access_key, raw.into())
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        Ok(())
    }

    pub async fn remove(&self, access_key: &str) -> Result<bool, CredentialError> {
        if self.get(access_key).await?.is_none() {
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

    pub async fn list(&self) -> Result<Vec<Credential>, CredentialError> {
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        let mut out = Vec::new();
        while let Some(k) = keys.next().await {
            let k = k.map_err(|e| CredentialError::Unavailable(e.to_string()))?;
            if let Some(c) = self.get(&k).await? {
                out.push(c);
            }
        }
        out.sort_by(|a, b| a.access_key.cmp(&b.access_key));
        Ok(out)
    }
}
