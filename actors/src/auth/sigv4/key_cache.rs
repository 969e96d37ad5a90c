//! Derived SigV4 signing keys, cached per (secret, date, region, service).
//!
//! Deriving `kSigning` costs four HMAC-SHA256s. Every header or presigned verification
//! and every aws-chunked chunk batch needs it, yet the inputs change only once a day per
//! secret, so [`signing_key_cached`] keeps the keys it derived.
//!
//! The cache is indexed by a keyed fingerprint of *all* the derivation inputs, the
//! secret included: HMAC-SHA256 under a random key drawn once per process, over the
//! length-prefixed secret, date, region and service. The access key id plays no part: a
//! rotated or removed secret yields another fingerprint, so a derived key outlives its
//! secret only as an unreachable entry, and it is the secret the credential store hands
//! out now that picks the entry. Temporary (STS) credentials go the same way, their
//! session secret being the secret. The map holds no secret, only fingerprints and
//! derived keys, and nothing here implements `Debug` or logs.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use hmac::{Hmac, Mac};
use jetgate_protocol::error::S3Error;
use rand::RngCore;
use sha2::Sha256;

use super::sign::signing_key;

/// Most entries kept. A gateway needs about one per secret in use per day (two around
/// midnight, a few more for presigned URLs dated up to a week back), so this is far
/// above a real working set yet at most ~300 KiB however many dates, regions or secrets
/// requests name.
const MAX_ENTRIES: usize = 4096;

static CACHE: LazyLock<KeyCache> = LazyLock::new(|| KeyCache::new(MAX_ENTRIES));

/// `kSigning` for these inputs, from the process-wide cache or derived (and cached) by
/// [`signing_key`]. Every verification path derives its key through here.
pub fn signing_key_cached(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    CACHE.get(secret, date, region, service)
}

/// Signing key for a credential scope `yyyymmdd/region/service/aws4_request`, as
/// carried in a `ChunkContext`, from the cache ([`signing_key_cached`]). A scope of any
/// other shape is `InvalidRequest`.
pub fn signing_key_for_scope(secret: &str, scope: &str) -> Result<[u8; 32], S3Error> {
    let parts: Vec<&str> = scope.split('/').collect();
    match parts.as_slice() {
        [date, region, service, "aws4_request"]
            if !date.is_empty() && !region.is_empty() && !service.is_empty() =>
        {
            Ok(signing_key_cached(secret, date, region, service))
        }
        _ => Err(S3Error::invalid_request(format!(
            "Malformed credential scope '{scope}'"
        ))),
    }
}

pub(super) struct KeyCache {
    /// HMAC-SHA256 already keyed with this process's random key; cloned per lookup.
    fingerprint: Hmac<Sha256>,
    keys: Mutex<HashMap<[u8; 32], [u8; 32]>>,
    limit: usize,
}

impl KeyCache {
    pub(super) fn new(limit: usize) -> Self {
        let mut process_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut process_key);
        // HMAC takes keys of any length, so this cannot fail.
        #[allow(clippy::expect_used)]
        let fingerprint =
            Hmac::<Sha256>::new_from_slice(&process_key).expect("HMAC accepts keys of any length");
        KeyCache {
            fingerprint,
            keys: Mutex::default(),
            limit,
        }
    }

    fn fingerprint(&self, secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
        let mut mac = self.fingerprint.clone();
        // Length prefixes keep the fields apart: ("ab", "c") and ("a", "bc") differ.
        for field in [secret, date, region, service] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    pub(super) fn get(&self, secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
        let id = self.fingerprint(secret, date, region, service);
        // A poisoned lock only means another thread panicked mid-insert of a complete
        // entry; the map is still consistent.
        let hit = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied();
        if let Some(key) = hit {
            return key;
        }
        // Derived outside the lock; two threads missing at once both derive the same key.
        let key = signing_key(secret, date, region, service);
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= self.limit {
            // Full: start over rather than evict one by one. Refilling costs one
            // derivation per secret in use, the map never exceeds the limit, and no
            // recency bookkeeping sits on the hit path. Only a peer naming ever new
            // dates (or holding thousands of secrets) gets here, and all it can cause is
            // the uncached cost.
            keys.clear();
        }
        keys.insert(id, key);
        key
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the AWS SigV4 documentation ("Examples of how to derive a signing
    /// key for Signature Version 4").
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const EXPECTED: &str = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9";

    #[test]
    fn cached_key_equals_derived_key() {
        let cache = KeyCache::new(MAX_ENTRIES);
        let derived = signing_key(SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(hex::encode(derived), EXPECTED);
        let miss = cache.get(SECRET, "20150830", "us-east-1", "iam");
        let hit = cache.get(SECRET, "20150830", "us-east-1", "iam");
        assert_eq!((miss, hit), (derived, derived));
        assert_eq!(cache.len(), 1);
        assert_eq!(
            signing_key_cached(SECRET, "20150830", "us-east-1", "iam"),
            derived
        );
    }

    #[test]
    fn another_secret_or_scope_gets_its_own_key() {
        let cache = KeyCache::new(MAX_ENTRIES);
        let key = cache.get(SECRET, "20150830", "us-east-1", "iam");
        // Same access key id, date, region and service, rotated secret: never the old key.
        let rotated = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ";
        let other = cache.get(rotated, "20150830", "us-east-1", "iam");
        assert_ne!(other, key);
        assert_eq!(other, signing_key(rotated, "20150830", "us-east-1", "iam"));
        assert_ne!(cache.get(SECRET, "20150831", "us-east-1", "iam"), key);
        assert_ne!(cache.get(SECRET, "20150830", "us-east-2", "iam"), key);
        assert_ne!(cache.get(SECRET, "20150830", "us-east-1", "s3"), key);
        assert_eq!(cache.len(), 5);
        assert_eq!(cache.get(SECRET, "20150830", "us-east-1", "iam"), key);
    }

    #[test]
    fn fields_do_not_run_together() {
        let cache = KeyCache::new(MAX_ENTRIES);
        assert_ne!(
            cache.fingerprint("secret", "2015", "0830", "s3"),
            cache.fingerprint("secret2015", "", "0830", "s3")
        );
        // Another process (another random key) fingerprints the same inputs differently.
        assert_ne!(
            cache.fingerprint(SECRET, "20150830", "us-east-1", "iam"),
            KeyCache::new(1).fingerprint(SECRET, "20150830", "us-east-1", "iam")
        );
    }

    #[test]
    fn bound_holds() {
        let limit = 64;
        let cache = KeyCache::new(limit);
        for day in 0..limit * 3 + 7 {
            let date = format!("2015{day:04}");
            let key = cache.get(SECRET, &date, "us-east-1", "s3");
            assert_eq!(key, signing_key(SECRET, &date, "us-east-1", "s3"));
            assert!(cache.len() <= limit, "{} entries", cache.len());
        }
        assert!(cache.len() >= 1);
    }
}
