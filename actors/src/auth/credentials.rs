//! Access keys and their secrets in a NATS KV bucket that only the auth role (and the
//! `jetgate credentials` admin command) reads. Auth workers cache entries and follow the
//! bucket with a watch, so an added or removed key takes effect at once on every worker;
//! a cached entry is trusted for at most 30 s, and not at all while the watch is down.
//! Secrets are sealed with the credentials key (see `sealed`); a key can hold several
//! secrets at once while it is rotated.
//!
//! Besides long-term keys (KV key = access key) the bucket holds temporary STS
//! credentials under `sts.<access key>` and web-identity rules under `webid.<name>`;
//! neither prefix can be a long-term access key (letters and digits only).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use futures::StreamExt;

pub use super::credential::{Credential, CredentialError, SESSION_PREFIX};
use super::sealed::{self, CredentialsKey, PublicPart};
use super::webid::{WebIdentityRule, RULE_PREFIX};

/// KV bucket holding the credentials.
pub const CREDENTIALS_BUCKET: &str = "jetgate-credentials";

/// How long a cached credential is trusted even while the watch runs: a watch that
/// stalls without ending cannot keep a removed key alive longer than this.
const MAX_AGE: Duration = Duration::from_secs(30);
/// How long "no such key" is remembered, so a flood of random access keys does not cost
/// a KV read each; bounded in entries.
const MISS_TTL: Duration = Duration::from_secs(2);
const MISS_ENTRIES: usize = 10_000;
/// Pause before the watch is restarted after it ended.
const WATCH_RETRY: Duration = Duration::from_secs(1);

struct Cached {
    cred: Credential,
    at: Instant,
}

#[derive(Default)]
struct Cache {
    /// By KV key (`AKID…`, `sts.ASIA…`).
    hits: HashMap<String, Cached>,
    misses: HashMap<String, Instant>,
    /// Web-identity rules by name, as the watch delivered them.
    rules: BTreeMap<String, WebIdentityRule>,
}

fn unavailable(e: impl std::fmt::Display) -> CredentialError {
    CredentialError::Unavailable(e.to_string())
}

/// A rule record as stored under `webid.<name>`; `None` (logged) when it is not one.
fn parse_rule(kv_key: &str, raw: &[u8]) -> Option<WebIdentityRule> {
    let name = kv_key.strip_prefix(RULE_PREFIX)?;
    match serde_json::from_slice::<WebIdentityRule>(raw) {
        Ok(r) if r.name == name => Some(r),
        Ok(_) => {
            tracing::error!(
                rule = name,
                "web-identity rule stored under another name; ignored"
            );
            None
        }
        Err(e) => {
            tracing::error!(rule = name, error = %e, "unreadable web-identity rule; ignored");
            None
        }
    }
}

/// The credential bucket plus this process's cache of it. The cache is trusted only
/// while the watch runs; while it is down every lookup reads the bucket.
#[derive(Clone)]
pub struct CredentialStore {
    kv: kv::Store,
    cache: Arc<RwLock<Cache>>,
    watching: Arc<AtomicBool>,
    /// The watch has delivered every record that existed when it started: only then is
    /// a rule missing from the cache missing from the bucket.
    caught_up: Arc<AtomicBool>,
    /// Opens sealed records; without it no record is readable (plaintext ones never are).
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
        Ok(Self::over(kv))
    }

    /// Opens the credentials bucket, which must exist: for a reader that may not create
    /// streams (the auth callout).
    pub async fn open_existing(js: &jetstream::Context) -> Result<Self, CredentialError> {
        js.get_key_value(CREDENTIALS_BUCKET)
            .await
            .map(Self::over)
            .map_err(|e| CredentialError::Unavailable(e.to_string()))
    }

    fn over(kv: kv::Store) -> Self {
        CredentialStore {
            kv,
            cache: Arc::default(),
            watching: Arc::default(),
            caught_up: Arc::default(),
            key: None,
        }
    }

    /// Uses `key` to seal and open secrets.
    pub fn with_key(mut self, key: Option<Arc<CredentialsKey>>) -> Self {
        self.key = key;
        self
    }

    /// Keeps the cache in step with the bucket until the process ends; a watch that
    /// ends is restarted, and until it is, lookups go to the bucket.
    pub async fn follow(&self) -> Result<(), CredentialError> {
        let first = self.watch().await?;
        let store = self.clone();
        tokio::spawn(async move {
            let mut watch = Some(first);
            loop {
                if let Some(w) = watch.take() {
                    store.apply(w).await;
                    tracing::warn!(
                        "credential watch ended; lookups read the bucket until it is back"
                    );
                }
                tokio::time::sleep(WATCH_RETRY).await;
                match store.watch().await {
                    Ok(w) => watch = Some(w),
                    Err(e) => tracing::warn!(error = %e, "credential watch not restarted yet"),
                }
            }
        });
        Ok(())
    }

    async fn watch(&self) -> Result<kv::Watch, CredentialError> {
        self.kv
            .watch_all()
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))
    }

    /// Applies watch entries to the cache until the watch ends.
    async fn apply(&self, mut watch: kv::Watch) {
        self.watching.store(true, Ordering::SeqCst);
        while let Some(entry) = watch.next().await {
            let Ok(entry) = entry else { break };
            if entry.seen_current || entry.delta == 0 {
                self.caught_up.store(true, Ordering::SeqCst);
            }
            let mut c = self.cache.write().unwrap_or_else(|p| p.into_inner());
            c.misses.remove(&entry.key);
            if let Some(name) = entry.key.strip_prefix(RULE_PREFIX) {
                let rule = match entry.operation {
                    kv::Operation::Put => parse_rule(&entry.key, &entry.value),
                    kv::Operation::Delete | kv::Operation::Purge => None,
                };
                match rule {
                    Some(r) => c.rules.insert(name.to_string(), r),
                    None => c.rules.remove(name),
                };
                continue;
            }
            match entry.operation {
                kv::Operation::Put => {
                    match sealed::open(&entry.value, &entry.key, self.key.as_deref()) {
                        Ok(cred) => {
                            let at = Instant::now();
                            c.hits.insert(entry.key.clone(), Cached { cred, at });
                        }
                        Err(e) => {
                            // Dropped from the cache: requests for it re-read the bucket
                            // and fail closed, never plaintext.
                            c.hits.remove(&entry.key);
                            tracing::error!(access_key = %entry.key, error = %e, "unreadable credential")
                        }
                    }
                }
                kv::Operation::Delete | kv::Operation::Purge => {
                    c.hits.remove(&entry.key);
                }
            }
        }
        self.watching.store(false, Ordering::SeqCst);
        self.caught_up.store(false, Ordering::SeqCst);
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .misses
            .clear();
    }

    /// What the cache knows: `Some(Some(cred))`, `Some(None)` for a recent miss, `None`
    /// when the bucket must be read.
    fn cached(&self, access_key: &str) -> Option<Option<Credential>> {
        if !self.watching.load(Ordering::SeqCst) {
            return None;
        }
        let c = self.cache.read().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = c.hits.get(access_key).filter(|h| h.at.elapsed() < MAX_AGE) {
            return Some(Some(hit.cred.clone()));
        }
        c.misses
            .get(access_key)
            .filter(|at| at.elapsed() < MISS_TTL)
            .map(|_| None)
    }

    /// A long-term key.
    pub async fn get(&self, access_key: &str) -> Result<Option<Credential>, CredentialError> {
        if access_key.is_empty() || !access_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        self.lookup(access_key).await
    }

    /// Temporary credentials (expired ones included: the caller decides).
    pub async fn get_session(
        &self,
        access_key: &str,
    ) -> Result<Option<Credential>, CredentialError> {
        if access_key.is_empty() || !access_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        self.lookup(&format!("{SESSION_PREFIX}{access_key}")).await
    }

    async fn lookup(&self, access_key: &str) -> Result<Option<Credential>, CredentialError> {
        if let Some(known) = self.cached(access_key) {
            return Ok(known);
        }
        let raw = self
            .kv
            .get(access_key)
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        let mut c = self.cache.write().unwrap_or_else(|p| p.into_inner());
        let Some(raw) = raw else {
            if c.misses.len() >= MISS_ENTRIES {
                c.misses.retain(|_, at| at.elapsed() < MISS_TTL);
            }
            if c.misses.len() < MISS_ENTRIES {
                c.misses.insert(access_key.to_string(), Instant::now());
            }
            return Ok(None);
        };
        let cred = sealed::open(&raw, access_key, self.key.as_deref())?;
        let at = Instant::now();
        c.hits.insert(
            access_key.to_string(),
            Cached {
                cred: cred.clone(),
                at,
            },
        );
        Ok(Some(cred))
    }

    /// Stores `cred` sealed; there is no way to write a plaintext record.
    pub async fn put(&self, cred: &Credential) -> Result<(), CredentialError> {
        let key = self.key.as_deref().ok_or(CredentialError::KeyMissing)?;
        let raw = sealed::seal(cred, key)?;
        self.kv
            .put(cred.kv_key(), raw.into())
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        Ok(())
    }

    /// The web-identity rules, sorted by name: from the watch once it has caught up
    /// with the bucket, else read from the bucket (a login just after start would
    /// otherwise find no rule). Records that do not parse are left out (and logged).
    pub async fn rules(&self) -> Result<Vec<WebIdentityRule>, CredentialError> {
        if self.watching.load(Ordering::SeqCst) && self.caught_up.load(Ordering::SeqCst) {
            let c = self.cache.read().unwrap_or_else(|p| p.into_inner());
            return Ok(c.rules.values().cloned().collect());
        }
        self.load_rules().await
    }

    /// The rules as stored, read from the bucket (admin listings, watch down).
    pub async fn load_rules(&self) -> Result<Vec<WebIdentityRule>, CredentialError> {
        let mut out = Vec::new();
        for k in self.keys().await? {
            if !k.starts_with(RULE_PREFIX) {
                continue;
            }
            if let Some(raw) = self.raw(&k).await? {
                out.extend(parse_rule(&k, &raw));
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Adds or replaces a rule (admin only: auth workers may not write `webid.`).
    pub async fn put_rule(&self, rule: &WebIdentityRule) -> Result<(), CredentialError> {
        rule.check()
            .map_err(|e| CredentialError::Corrupt(e.to_string()))?;
        let raw = serde_json::to_vec(rule).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
        self.kv
            .put(rule.kv_key(), raw.into())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub async fn remove_rule(&self, name: &str) -> Result<bool, CredentialError> {
        let key = format!("{RULE_PREFIX}{name}");
        if super::webid::check_name(name).is_err() || self.raw(&key).await?.is_none() {
            return Ok(false);
        }
        self.kv.purge(&key).await.map_err(unavailable)?;
        Ok(true)
    }

    /// Removes temporary credentials that expired more than `grace` ago from the bucket
    /// (and this process's cache). The stream purge leaves no delete marker behind, so
    /// sessions do not accumulate tombstones; other workers drop their cached copy on
    /// their own sweep, and an expired session is refused on use whatever the cache says.
    /// Returns how many were removed.
    pub async fn sweep_expired(&self, grace: Duration) -> Result<usize, CredentialError> {
        let cutoff = crate::store::unix_ms() - grace.as_millis() as i64;
        let expired: Vec<String> = {
            let c = self.cache.read().unwrap_or_else(|p| p.into_inner());
            c.hits
                .iter()
                .filter(|(k, h)| k.starts_with(SESSION_PREFIX) && h.cred.expired_at(cutoff))
                .map(|(k, _)| k.clone())
                .collect()
        };
        for key in &expired {
            self.kv
                .stream
                .purge()
                .filter(format!("$KV.{CREDENTIALS_BUCKET}.{key}"))
                .await
                .map_err(unavailable)?;
            self.cache
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .hits
                .remove(key);
        }
        Ok(expired.len())
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
            .hits
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

    /// Seals every plaintext (format 1) record; returns their access keys. Each is
    /// written only if unchanged since it was read, so a concurrent edit is not lost.
    pub async fn reseal(&self) -> Result<Vec<String>, CredentialError> {
        let key = self.key.as_deref().ok_or(CredentialError::KeyMissing)?;
        let mut done = Vec::new();
        for part in self.list().await? {
            if part.format >= 2 {
                continue;
            }
            let unavailable = |e: String| CredentialError::Unavailable(e);
            let Some(entry) = self
                .kv
                .entry(&part.access_key)
                .await
                .map_err(|e| unavailable(e.to_string()))?
            else {
                continue;
            };
            let cred = sealed::open_plaintext(&entry.value, &part.access_key)?;
            let raw = sealed::seal(&cred, key)?;
            self.kv
                .update(&part.access_key, raw.into(), entry.revision)
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            done.push(part.access_key);
        }
        Ok(done)
    }

    async fn keys(&self) -> Result<Vec<String>, CredentialError> {
        let mut keys = self.kv.keys().await.map_err(unavailable)?;
        let mut out = Vec::new();
        while let Some(k) = keys.next().await {
            out.push(k.map_err(unavailable)?);
        }
        Ok(out)
    }

    /// Every key's readable part (no credentials key needed), temporary credentials
    /// included (with their expiry); rules are not keys and are left out.
    pub async fn list(&self) -> Result<Vec<PublicPart>, CredentialError> {
        let mut out = Vec::new();
        for k in self.keys().await? {
            if k.starts_with(RULE_PREFIX) {
                continue;
            }
            if let Some(raw) = self.raw(&k).await? {
                out.push(sealed::public_part(&raw)?);
            }
        }
        out.sort_by(|a, b| a.access_key.cmp(&b.access_key));
        Ok(out)
    }
}
