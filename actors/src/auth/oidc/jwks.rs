//! The issuer's signing keys: a JWKS document parsed into verification keys, each bound
//! to the one algorithm its JWK allows, and the cache that keeps them current.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::fetch::{Fetcher, MAX_DOCUMENT};
use super::OidcError;

/// Keys beyond this many in one JWKS are ignored.
const MAX_KEYS: usize = 64;
/// A refetch for an unknown `kid` happens at most this often, so a flood of tokens with
/// made-up key ids costs the issuer one request per interval, not one per token.
pub const MIN_REFETCH: Duration = Duration::from_secs(10);
/// Keys are used this long after the last successful fetch while the issuer is
/// unreachable; after that tokens are refused (`IDPCommunicationError`).
const MAX_STALE: Duration = Duration::from_secs(24 * 3600);

/// One verification key.
pub struct Key {
    pub kid: Option<String>,
    /// The only algorithm this key verifies: from its `kty`/`crv` and `alg`.
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// The usable keys of one JWKS document.
#[derive(Default)]
pub struct KeySet {
    pub keys: Vec<Key>,
}

impl KeySet {
    /// Parses a JWKS (`{"keys": [...]}`). Keys that are not for signatures, symmetric
    /// (`oct`: never, or a public key could become an HMAC secret), of an unknown type,
    /// or malformed are skipped; a document with no usable key is an error.
    pub fn parse(doc: &[u8]) -> Result<KeySet, OidcError> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        if doc.len() > MAX_DOCUMENT {
            return Err(OidcError::Jwks("JWKS document too large".into()));
        }
        let doc: Doc = serde_json::from_slice(doc)
            .map_err(|e| OidcError::Jwks(format!("JWKS is not a key set: {e}")))?;
        let mut keys = Vec::new();
        let mut skipped = 0usize;
        for v in doc.keys.into_iter().take(MAX_KEYS) {
            match serde_json::from_value::<Jwk>(v)
                .ok()
                .and_then(|j| usable(&j))
            {
                Some(k) => keys.push(k),
                None => skipped += 1,
            }
        }
        if skipped > 0 {
            tracing::debug!(skipped, "JWKS keys not usable for signatures skipped");
        }
        if keys.is_empty() {
            return Err(OidcError::Jwks("JWKS holds no usable signing key".into()));
        }
        Ok(KeySet { keys })
    }
}

/// The key and its one algorithm, when the JWK is an asymmetric signing key.
fn usable(jwk: &Jwk) -> Option<Key> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let declared = jwk.common.key_algorithm;
    let alg = match (&jwk.algorithm, declared) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::RS384)) => Algorithm::RS384,
        (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::RS512)) => Algorithm::RS512,
        (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::PS256)) => Algorithm::PS256,
        (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::PS384)) => Algorithm::PS384,
        (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::PS512)) => Algorithm::PS512,
        (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
            if p.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES384))
            if p.curve == EllipticCurve::P384 =>
        {
            Algorithm::ES384
        }
        (AlgorithmParameters::OctetKeyPair(p), None | Some(KeyAlgorithm::EdDSA))
            if p.curve == EllipticCurve::Ed25519 =>
        {
            Algorithm::EdDSA
        }
        // `oct` (HMAC), RSA encryption algorithms, other curves, unknown types.
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

/// Where the keys come from.
pub enum Source {
    /// A JWKS file, re-read at each refresh.
    File(PathBuf),
    /// The issuer's `/.well-known/openid-configuration` → `jwks_uri`.
    Discovery {
        issuer: String,
        fetcher: Box<Fetcher>,
    },
}

struct Current {
    set: Arc<KeySet>,
    fetched: Instant,
}

/// The key set in use, refreshed every `refresh` and (rate-limited) on an unknown `kid`.
/// Fetches are serialized: concurrent requests wait for one fetch instead of each
/// asking the issuer.
pub struct KeyCache {
    source: Source,
    refresh: Duration,
    /// [`MIN_REFETCH`]; shorter in tests.
    min_refetch: Duration,
    current: RwLock<Option<Current>>,
    /// Held while fetching; holds the time of the last attempt, failed ones included.
    fetching: tokio::sync::Mutex<Option<Instant>>,
}

impl KeyCache {
    pub fn new(source: Source, refresh: Duration) -> Self {
        KeyCache {
            source,
            refresh,
            min_refetch: MIN_REFETCH,
            current: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(None),
        }
    }

    #[cfg(test)]
    pub fn set_min_refetch(&mut self, d: Duration) {
        self.min_refetch = d;
    }

    fn current(&self, max_age: Duration) -> Option<Arc<KeySet>> {
        let c = self.current.read().unwrap_or_else(|p| p.into_inner());
        c.as_ref()
            .filter(|c| c.fetched.elapsed() < max_age)
            .map(|c| c.set.clone())
    }

    /// The keys to verify with: cached while fresh, else fetched. While the issuer is
    /// unreachable the last keys serve for up to a day.
    pub async fn keys(&self) -> Result<Arc<KeySet>, OidcError> {
        if let Some(set) = self.current(self.refresh) {
            return Ok(set);
        }
        self.fetch(false).await
    }

    /// After a token named a `kid` the cached set lacks: fetch again (key rotation),
    /// unless a fetch was attempted within [`MIN_REFETCH`].
    pub async fn keys_after_unknown_kid(&self) -> Result<Arc<KeySet>, OidcError> {
        self.fetch(true).await
    }

    async fn fetch(&self, unknown_kid: bool) -> Result<Arc<KeySet>, OidcError> {
        let mut last = self.fetching.lock().await;
        // A fetch (ours, or one that finished while we waited) was attempted recently:
        // use what it left, never ask the issuer again this soon.
        if last.is_some_and(|t| t.elapsed() < self.min_refetch) {
            return self.current(MAX_STALE).ok_or_else(|| {
                OidcError::Jwks("signing keys unavailable; retrying shortly".into())
            });
        }
        if !unknown_kid {
            if let Some(set) = self.current(self.refresh) {
                return Ok(set);
            }
        }
        *last = Some(Instant::now());
        match self.load().await {
            Ok(set) => {
                let set = Arc::new(set);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Current {
                    set: set.clone(),
                    fetched: Instant::now(),
                });
                tracing::info!(keys = set.keys.len(), "OIDC signing keys loaded");
                Ok(set)
            }
            Err(e) => match self.current(MAX_STALE) {
                Some(set) => {
                    tracing::warn!(error = %e, "OIDC keys not refreshed; using the previous ones");
                    Ok(set)
                }
                None => Err(e),
            },
        }
    }

    async fn load(&self) -> Result<KeySet, OidcError> {
        match &self.source {
            Source::File(path) => {
                let raw = tokio::fs::read(path)
                    .await
                    .map_err(|e| OidcError::Jwks(format!("reading {}: {e}", path.display())))?;
                KeySet::parse(&raw)
            }
            Source::Discovery { issuer, fetcher } => {
                #[derive(Deserialize)]
                struct Discovery {
                    issuer: String,
                    jwks_uri: String,
                }
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let raw = fetcher.get(&url).await?;
                let d: Discovery = serde_json::from_slice(&raw)
                    .map_err(|e| OidcError::Jwks(format!("discovery document unreadable: {e}")))?;
                // OIDC Discovery §4.3: the document must name the issuer it was fetched
                // for, or its keys could be anyone's.
                if d.issuer != *issuer {
                    return Err(OidcError::Jwks(format!(
                        "discovery document names issuer {:?}",
                        d.issuer
                    )));
                }
                KeySet::parse(&fetcher.get(&d.jwks_uri).await?)
            }
        }
    }
}
