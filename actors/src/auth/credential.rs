//! One access key as the credential store holds it: the key, its secrets (several
//! during a rotation), its owner and its policy.

use std::fmt;

use jetgate_protocol::policy::Policy;
use serde::{Deserialize, Serialize};

/// Format of a credential record; `sealed` writes its own, newer one.
const FORMAT: u32 = 1;

/// KV key prefix of temporary (STS) credentials: `sts.<access key>`. A long-term access
/// key is 3–128 letters and digits, so no long-term key is ever stored under it, and
/// the auth workers may write only below it (`$KV.jetgate-credentials.sts.>`).
pub const SESSION_PREFIX: &str = "sts.";

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
    #[error("credential {0} is stored in plaintext (format 1) and is refused; run `jetgate credentials reseal`")]
    Plaintext(String),
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
    /// Temporary (STS) credentials only: the session token every request must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// Temporary credentials only: unusable from this instant (Unix milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
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
            .field("session", &self.session_token.is_some())
            .field("expires_ms", &self.expires_ms)
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
            created_ms: crate::store::unix_ms(),
            previous_secrets: Vec::new(),
            policy: None,
            session_token: None,
            expires_ms: None,
        })
    }

    /// Temporary credentials: usable only with `session_token` and until `expires_ms`.
    pub fn session(
        access_key: &str,
        secret_key: &str,
        session_token: &str,
        expires_ms: i64,
        owner_id: &str,
        display_name: &str,
        policy: Policy,
    ) -> Result<Self, CredentialError> {
        let mut c = Credential::new(access_key, secret_key, owner_id, display_name)?;
        c.session_token = Some(session_token.to_string());
        c.expires_ms = Some(expires_ms);
        c.policy = Some(policy);
        Ok(c)
    }

    /// The KV key the record lives under: the access key, or `sts.<access key>` for
    /// temporary credentials.
    pub fn kv_key(&self) -> String {
        match self.session_token {
            Some(_) => format!("{SESSION_PREFIX}{}", self.access_key),
            None => self.access_key.clone(),
        }
    }

    /// Whether temporary credentials have run out at `now_ms`.
    pub fn expired_at(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|e| now_ms >= e)
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
}

fn check_secret(secret_key: &str) -> Result<(), CredentialError> {
    if !(8..=128).contains(&secret_key.len()) || !secret_key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CredentialError::InvalidSecret);
    }
    Ok(())
}
