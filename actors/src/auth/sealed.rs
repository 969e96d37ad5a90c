//! Encryption at rest of the secrets in the credential bucket.
//!
//! Record format 2 keeps what listings need (access key, owner, policy) readable and
//! seals the secrets with ChaCha20-Poly1305 under a 32-byte key that only auth workers
//! and the admin command hold. The AEAD associated data is the record's readable part,
//! access key included: a sealed blob copied onto another access key, or a record whose
//! owner or policy was edited by someone without the key, fails to open.
//! Format 1 (the whole credential as plaintext JSON) is still read, with a warning, so a
//! bucket written by older versions keeps working until its keys are re-added.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::credential::{Credential, CredentialError};
use jetgate_protocol::policy::Policy;

/// Format of sealed records.
pub const SEALED_FORMAT: u32 = 2;
/// Domain separation for the associated data, so a blob means nothing elsewhere.
const AAD_PREFIX: &[u8] = b"jetgate-credentials/v2\0";

/// The key that seals secrets. `Debug` shows only its id.
#[derive(Clone)]
pub struct CredentialsKey {
    key: [u8; 32],
}

impl fmt::Debug for CredentialsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CredentialsKey({})", self.id())
    }
}

impl CredentialsKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        CredentialsKey { key }
    }

    /// A fresh random key (what `jetgate dev` writes into its data folder).
    pub fn generate() -> Self {
        CredentialsKey {
            key: ChaCha20Poly1305::generate_key(&mut OsRng).into(),
        }
    }

    /// The key as base64, the form `--credentials-key` and key files take.
    pub fn to_base64(&self) -> String {
        B64.encode(self.key)
    }

    /// Parses `--credentials-key`: base64 of 32 bytes, or the path of a file holding
    /// that base64 text (or the 32 raw bytes).
    pub fn parse(value: &str) -> Result<Self, CredentialError> {
        if let Some(k) = decode_b64_key(value.trim()) {
            return Ok(CredentialsKey { key: k });
        }
        let path = Path::new(value);
        if path.is_file() {
            return Self::from_file(path);
        }
        Err(CredentialError::BadKey(
            "expected base64 of 32 bytes or the path of a key file".into(),
        ))
    }

    pub fn from_file(path: &Path) -> Result<Self, CredentialError> {
        let raw = std::fs::read(path)
            .map_err(|e| CredentialError::BadKey(format!("reading {}: {e}", path.display())))?;
        if let Some(k) = std::str::from_utf8(&raw)
            .ok()
            .and_then(|s| decode_b64_key(s.trim()))
        {
            return Ok(CredentialsKey { key: k });
        }
        let key: [u8; 32] = raw.as_slice().try_into().map_err(|_| {
            CredentialError::BadKey(format!(
                "{} holds neither base64 of 32 bytes nor 32 raw bytes",
                path.display()
            ))
        })?;
        Ok(CredentialsKey { key })
    }

    /// Short public id of the key (a hash), stored beside sealed records so that a wrong
    /// key is reported as such instead of as corruption.
    pub fn id(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(b"jetgate-credentials-key-id\0");
        h.update(self.key);
        hex::encode(&h.finalize()[..4])
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.key))
    }
}

fn decode_b64_key(s: &str) -> Option<[u8; 32]> {
    B64.decode(s).ok()?.try_into().ok()
}

/// The readable part of a format-2 record; serialized as the AEAD associated data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicPart {
    pub format: u32,
    pub access_key: String,
    pub owner_id: String,
    pub display_name: String,
    #[serde(default)]
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// Temporary credentials: when they stop working (Unix ms). Part of the associated
    /// data, so it cannot be extended without the key; absent (and so serialized as
    /// before) on long-term keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
}

/// A format-2 record as stored in the bucket.
#[derive(Serialize, Deserialize)]
struct SealedRecord {
    #[serde(flatten)]
    public: PublicPart,
    /// Id of the key that sealed it.
    kid: String,
    nonce: String,
    sealed: String,
}

/// What the ciphertext holds: every valid secret, newest first.
#[derive(Serialize, Deserialize)]
struct Secrets {
    secrets: Vec<String>,
    /// Temporary credentials' session token, sealed like the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
}

fn aad(public: &PublicPart) -> Result<Vec<u8>, CredentialError> {
    let mut a = AAD_PREFIX.to_vec();
    a.extend(serde_json::to_vec(public).map_err(|e| CredentialError::Corrupt(e.to_string()))?);
    Ok(a)
}

/// Serializes a credential as a sealed format-2 record.
pub fn seal(cred: &Credential, key: &CredentialsKey) -> Result<Vec<u8>, CredentialError> {
    let public = PublicPart {
        format: SEALED_FORMAT,
        access_key: cred.access_key.clone(),
        owner_id: cred.owner_id.clone(),
        display_name: cred.display_name.clone(),
        created_ms: cred.created_ms,
        policy: cred.policy.clone(),
        expires_ms: cred.expires_ms,
    };
    let secrets = Secrets {
        secrets: cred.secrets().map(str::to_string).collect(),
        session_token: cred.session_token.clone(),
    };
    let plain =
        serde_json::to_vec(&secrets).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = aad(&public)?;
    let ct = key
        .cipher()
        .encrypt(
            &nonce,
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .map_err(|_| CredentialError::Corrupt("encryption failed".into()))?;
    let rec = SealedRecord {
        public,
        kid: key.id(),
        nonce: B64.encode(nonce),
        sealed: B64.encode(ct),
    };
    serde_json::to_vec(&rec).map_err(|e| CredentialError::Corrupt(e.to_string()))
}

/// The format of a stored record (1 when absent: the first records had none).
fn format_of(raw: &[u8]) -> Result<u32, CredentialError> {
    #[derive(Deserialize)]
    struct F {
        #[serde(default)]
        format: u32,
    }
    let f: F = serde_json::from_slice(raw).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
    Ok(f.format.max(1))
}

/// Reads a stored record, opening sealed secrets with `key`. `stored_under` is the KV key
/// the record was read from: a record must describe the access key it is stored under.
pub fn open(
    raw: &[u8],
    stored_under: &str,
    key: Option<&CredentialsKey>,
) -> Result<Credential, CredentialError> {
    let cred = match format_of(raw)? {
        // A plaintext record is refused, never a fallback: whoever could write one into
        // the bucket would choose the secret of any key.
        1 => return Err(CredentialError::Plaintext(stored_under.to_string())),
        SEALED_FORMAT => {
            let rec: SealedRecord =
                serde_json::from_slice(raw).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
            let key = key.ok_or(CredentialError::KeyMissing)?;
            if rec.kid != key.id() {
                return Err(CredentialError::WrongKey {
                    stored: rec.kid,
                    held: key.id(),
                });
            }
            let nonce = B64
                .decode(&rec.nonce)
                .ok()
                .filter(|n| n.len() == 12)
                .ok_or_else(|| CredentialError::Corrupt("bad nonce".into()))?;
            let ct = B64
                .decode(&rec.sealed)
                .map_err(|e| CredentialError::Corrupt(e.to_string()))?;
            let aad = aad(&rec.public)?;
            let plain = key
                .cipher()
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &ct,
                        aad: &aad,
                    },
                )
                // Same key id but no match: the record was altered or moved.
                .map_err(|_| CredentialError::Corrupt("sealed secret does not open".into()))?;
            let s: Secrets = serde_json::from_slice(&plain)
                .map_err(|e| CredentialError::Corrupt(e.to_string()))?;
            credential_from_parts(rec.public, s)?
        }
        f => return Err(CredentialError::Corrupt(format!("unknown format {f}"))),
    };
    // The KV key binds the kind too: a long-term record copied under `sts.` (or a
    // session's under its bare access key) does not open.
    if cred.kv_key() != stored_under || cred.expires_ms.is_some() != cred.session_token.is_some() {
        return Err(CredentialError::Corrupt(format!(
            "record for {:?} stored under {stored_under:?}",
            cred.access_key
        )));
    }
    Ok(cred)
}

/// Reads a plaintext (format 1) record, for `jetgate credentials reseal` only: the
/// operator migrating a store they trust. Nothing that serves requests calls this.
pub fn open_plaintext(raw: &[u8], stored_under: &str) -> Result<Credential, CredentialError> {
    if format_of(raw)? != 1 {
        return Err(CredentialError::Corrupt("not a plaintext record".into()));
    }
    let c: Credential =
        serde_json::from_slice(raw).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
    if c.access_key != stored_under {
        return Err(CredentialError::Corrupt(format!(
            "record for {:?} stored under {stored_under:?}",
            c.access_key
        )));
    }
    Ok(c)
}

fn credential_from_parts(p: PublicPart, s: Secrets) -> Result<Credential, CredentialError> {
    let mut it = s.secrets.into_iter();
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
        session_token: s.session_token,
        expires_ms: p.expires_ms,
    })
}

/// The readable part of any record, for listings (no key needed).
pub fn public_part(raw: &[u8]) -> Result<PublicPart, CredentialError> {
    match format_of(raw)? {
        SEALED_FORMAT => {
            serde_json::from_slice(raw).map_err(|e| CredentialError::Corrupt(e.to_string()))
        }
        _ => {
            let c: Credential =
                serde_json::from_slice(raw).map_err(|e| CredentialError::Corrupt(e.to_string()))?;
            Ok(PublicPart {
                format: 1,
                access_key: c.access_key,
                owner_id: c.owner_id,
                display_name: c.display_name,
                created_ms: c.created_ms,
                policy: c.policy,
                expires_ms: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-VALUE-0123456789";

    fn cred() -> Credential {
        Credential::new("AKIDTEST", SECRET, "owner", "Owner").expect("valid")
    }

    #[test]
    fn sealed_record_hides_secret_and_round_trips() {
        let key = CredentialsKey::generate();
        let raw = seal(&cred(), &key).expect("seal");
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&B64.encode(SECRET)));
        let back = open(&raw, "AKIDTEST", Some(&key)).expect("open");
        assert_eq!(back.secret_key, SECRET);
        assert_eq!(back.owner_id, "owner");
    }

    #[test]
    fn session_records_seal_their_token_and_are_bound_to_sts_keys() {
        let key = CredentialsKey::generate();
        let policy = Policy {
            buckets: vec!["b".into()],
            ..Default::default()
        };
        let c = Credential::session("ASIATEST", SECRET, "TOKEN-0123456789", 5, "o", "d", policy)
            .expect("valid");
        let raw = seal(&c, &key).expect("seal");
        assert!(!String::from_utf8_lossy(&raw).contains("TOKEN-0123456789"));
        let back = open(&raw, "sts.ASIATEST", Some(&key)).expect("open");
        assert_eq!(back.session_token.as_deref(), Some("TOKEN-0123456789"));
        assert_eq!(back.expires_ms, Some(5));
        // Under the bare access key it would pass for a long-term key: refused.
        assert!(open(&raw, "ASIATEST", Some(&key)).is_err());
        // A long-term record copied below `sts.` is refused too.
        let lt = seal(&cred(), &key).expect("seal");
        assert!(open(&lt, "sts.AKIDTEST", Some(&key)).is_err());
        // The expiry is authenticated: extending it without the key fails.
        let extended =
            String::from_utf8_lossy(&raw).replace("\"expires_ms\":5", "\"expires_ms\":9");
        assert!(open(extended.as_bytes(), "sts.ASIATEST", Some(&key)).is_err());
    }

    #[test]
    fn wrong_or_missing_key_fails_closed() {
        let raw = seal(&cred(), &CredentialsKey::generate()).expect("seal");
        assert!(matches!(
            open(&raw, "AKIDTEST", Some(&CredentialsKey::generate())),
            Err(CredentialError::WrongKey { .. })
        ));
        assert!(matches!(
            open(&raw, "AKIDTEST", None),
            Err(CredentialError::KeyMissing)
        ));
    }

    #[test]
    fn sealed_blob_is_bound_to_its_access_key_and_metadata() {
        let key = CredentialsKey::generate();
        let raw = seal(&cred(), &key).expect("seal");
        // Moved to another access key (record rewritten to match its new KV key).
        let moved = String::from_utf8_lossy(&raw).replace("AKIDTEST", "AKIDOTHER");
        assert!(open(moved.as_bytes(), "AKIDOTHER", Some(&key)).is_err());
        // Stored verbatim under another KV key.
        assert!(open(&raw, "AKIDOTHER", Some(&key)).is_err());
        // Owner edited without the key.
        let edited = String::from_utf8_lossy(&raw).replace("\"owner\"", "\"root\"");
        assert!(open(edited.as_bytes(), "AKIDTEST", Some(&key)).is_err());
    }

    #[test]
    fn plaintext_records_are_refused_and_only_reseal_reads_them() {
        let raw = br#"{"format":1,"access_key":"OLDKEY","secret_key":"oldsecret123","owner_id":"o","display_name":"d"}"#;
        let legacy = br#"{"access_key":"OLDKEY","secret_key":"oldsecret123","owner_id":"o","display_name":"d"}"#;
        let key = CredentialsKey::generate();
        for r in [&raw[..], &legacy[..]] {
            for k in [None, Some(&key)] {
                assert!(matches!(
                    open(r, "OLDKEY", k),
                    Err(CredentialError::Plaintext(_))
                ));
            }
            assert_eq!(
                open_plaintext(r, "OLDKEY")
                    .expect("reseal reads it")
                    .secret_key,
                "oldsecret123"
            );
            assert!(open_plaintext(r, "OTHER").is_err(), "moved record");
        }
        assert_eq!(public_part(raw).expect("public").access_key, "OLDKEY");
    }

    #[test]
    fn key_parses_from_base64_and_files() {
        let k = CredentialsKey::generate();
        assert_eq!(
            CredentialsKey::parse(&k.to_base64()).expect("b64").id(),
            k.id()
        );
        let dir = std::env::temp_dir().join(format!("jg-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("key");
        std::fs::write(&f, format!("{}\n", k.to_base64())).expect("write");
        assert_eq!(
            CredentialsKey::parse(&f.display().to_string())
                .expect("file")
                .id(),
            k.id()
        );
        assert!(CredentialsKey::parse("c2hvcnQ=").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
