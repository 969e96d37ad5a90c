//! OIDC web identity: verifying an issuer's JWTs (Kubernetes service-account tokens,
//! any OIDC provider) and mapping them to a policy.
//!
//! A token is accepted when: it is at most 16 KiB; its header's `alg` is the one
//! algorithm of the JWKS key it names by `kid` (RS256/384/512 and PS256/384/512 for RSA
//! keys, ES256/ES384 for P-256/P-384, EdDSA for Ed25519 — taken from the key's `kty`,
//! `crv` and `alg`, never from the token; `none` and every HS* are refused, so an HS256
//! token "signed" with the public key fails); its signature verifies; `iss` equals
//! `--oidc-issuer`; `aud` contains `--oidc-audience`; `exp` lies ahead and `nbf` (when
//! present) behind, with [`LEEWAY`] for clock skew; `sub` is present.
//!
//! Keys come from `--oidc-jwks-file` or the issuer's discovery document
//! (`<issuer>/.well-known/openid-configuration` → `jwks_uri`, https), cached and
//! re-read every `--oidc-jwks-refresh-secs`, and again when a token names an unknown
//! `kid` (key rotation) — at most once per 10 s, so made-up key ids cannot make us
//! hammer the issuer.
//!
//! # Interface for other roles (the NATS auth callout)
//!
//! [`web_identity`]`(worker, token) -> Result<WebIdentity, S3Error>` verifies a token
//! and maps it through the web-identity rules in one call (see `webid` for how a rule
//! is chosen). The error codes: `InvalidIdentityToken` (malformed, bad signature, wrong
//! issuer/audience, unknown key, algorithm), `ExpiredTokenException`,
//! `IDPCommunicationError` (keys unavailable), `AccessDenied` (no rule, or several),
//! `InvalidRequest` (web identity not configured on this worker). The owner of what the
//! identity creates is [`owner_id`]: a hash of `iss` and `sub`.

pub mod fetch;
pub mod jwks;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jetgate_protocol::policy::Policy;
use jetgate_protocol::S3Error;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use sha2::Digest;
use tokio::sync::OnceCell;

use crate::worker::Worker;
use jwks::{KeyCache, KeySet, Source};

/// Allowed clock skew on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// Longest token accepted (AWS caps `WebIdentityToken` at 20000 characters).
pub const MAX_TOKEN: usize = 16 * 1024;

// Defined with the worker's other settings; read here.
pub use crate::config::OidcConfig;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("web identity is not configured (--oidc-issuer)")]
    NotConfigured,
    #[error("OIDC configuration: {0}")]
    Config(String),
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("the token names a signing key the issuer does not publish")]
    UnknownKey,
    #[error("token algorithm not allowed: {0}")]
    Algorithm(String),
    #[error("token signature does not verify")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer is not the configured issuer")]
    Issuer,
    #[error("token audience does not include the configured audience")]
    Audience,
    #[error("token lacks claim {0}")]
    MissingClaim(String),
    #[error("issuer keys unavailable: {0}")]
    Jwks(String),
}

impl OidcError {
    /// The STS error an STS caller (and the callout) reports.
    pub fn to_s3(&self) -> S3Error {
        match self {
            OidcError::NotConfigured | OidcError::Config(_) => {
                S3Error::invalid_request("Web identity federation is not configured")
            }
            OidcError::Expired => S3Error::expired_token_exception(
                "Token expired: current date/time is past the token's exp",
            ),
            OidcError::Jwks(_) => {
                S3Error::idp_communication_error("The issuer's signing keys could not be retrieved")
            }
            e => S3Error::invalid_identity_token(e.to_string()),
        }
    }
}

/// A token that verified.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub issuer: String,
    pub subject: String,
    /// The configured audience the token was checked for.
    pub audience: String,
    /// `exp`, Unix seconds.
    pub expires_at: i64,
    /// Every claim, for the rules.
    pub claims: Map<String, Value>,
}

/// Verifies tokens of one issuer.
pub struct OidcVerifier {
    cfg: OidcConfig,
    pub(crate) keys: KeyCache,
}

impl OidcVerifier {
    pub fn new(cfg: OidcConfig) -> Result<Self, OidcError> {
        if cfg.audience.is_empty() {
            return Err(OidcError::Config("--oidc-audience is required".into()));
        }
        let source = match &cfg.jwks_file {
            Some(path) => Source::File(path.clone()),
            None => {
                fetch::check_url(&cfg.issuer)?;
                Source::Discovery {
                    issuer: cfg.issuer.clone(),
                    fetcher: Box::default(),
                }
            }
        };
        Ok(OidcVerifier {
            keys: KeyCache::new(source, cfg.jwks_refresh),
            cfg,
        })
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, OidcError> {
        let keys = self.keys.keys().await?;
        match verify_with(token, &keys, &self.cfg.issuer, &self.cfg.audience) {
            Err(OidcError::UnknownKey) => {
                let keys = self.keys.keys_after_unknown_kid().await?;
                verify_with(token, &keys, &self.cfg.issuer, &self.cfg.audience)
            }
            r => r,
        }
    }
}

fn validation(alg: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY.as_secs();
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> OidcError {
    match e.kind() {
        ErrorKind::InvalidSignature => OidcError::Signature,
        ErrorKind::ExpiredSignature => OidcError::Expired,
        ErrorKind::ImmatureSignature => OidcError::NotYetValid,
        ErrorKind::InvalidIssuer => OidcError::Issuer,
        ErrorKind::InvalidAudience => OidcError::Audience,
        ErrorKind::MissingRequiredClaim(c) => OidcError::MissingClaim(c.clone()),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            OidcError::Algorithm("not the key's algorithm".into())
        }
        other => OidcError::Malformed(format!("{other:?}")),
    }
}

/// Verifies `token` against `keys` (pure: no fetch). `UnknownKey` tells the caller a
/// refreshed key set might know the token's `kid`.
pub fn verify_with(
    token: &str,
    keys: &KeySet,
    issuer: &str,
    audience: &str,
) -> Result<VerifiedToken, OidcError> {
    if token.len() > MAX_TOKEN {
        return Err(OidcError::Malformed("token too long".into()));
    }
    // An `alg` the library does not know (`none`) fails here, before any key is chosen.
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| OidcError::Malformed(format!("header: {:?}", e.kind())))?;
    let candidates: Vec<&jwks::Key> = match &header.kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .collect(),
        None => keys.keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(OidcError::UnknownKey);
    }
    let mut first_err = None;
    for key in candidates.iter().filter(|k| k.alg == header.alg) {
        let v = validation(key.alg, issuer, audience);
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &v) {
            Ok(data) => return claims_of(data.claims, audience),
            Err(e) => {
                first_err.get_or_insert(map_jwt_error(e));
            }
        }
    }
    Err(first_err.unwrap_or_else(|| {
        OidcError::Algorithm(format!(
            "{:?} is not the signing key's algorithm",
            header.alg
        ))
    }))
}

/// The registered claims, read again with their JSON types held: the library has
/// checked them, this only refuses what it might have let through as "absent".
fn claims_of(claims: Map<String, Value>, audience: &str) -> Result<VerifiedToken, OidcError> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| OidcError::MissingClaim(name.to_string()))
    };
    let time = |name: &str| claims.get(name).map(|v| v.as_f64().map(|f| f as i64));
    let exp = match time("exp") {
        Some(Some(e)) => e,
        _ => return Err(OidcError::MissingClaim("exp".into())),
    };
    if matches!(time("nbf"), Some(None)) {
        return Err(OidcError::Malformed("nbf is not a number".into()));
    }
    Ok(VerifiedToken {
        issuer: text("iss")?,
        subject: text("sub")?,
        audience: audience.to_string(),
        expires_at: exp,
        claims,
    })
}

/// Owner id of a web identity: hex SHA-256 of `iss`, NUL, `sub` (64 hex digits, like an
/// S3 canonical user id). Stable across sessions, so what one session of an identity
/// creates, the next one owns; distinct per issuer.
pub fn owner_id(issuer: &str, subject: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"jetgate-web-identity\0");
    h.update(issuer.as_bytes());
    h.update([0]);
    h.update(subject.as_bytes());
    hex::encode(h.finalize())
}

/// A verified and mapped web identity.
#[derive(Debug, Clone)]
pub struct WebIdentity {
    /// The token's `sub`.
    pub subject: String,
    /// The token's `iss`.
    pub issuer: String,
    /// See [`owner_id`].
    pub owner_id: String,
    /// The web-identity rule that matched.
    pub rule: String,
    pub policy: Policy,
    /// The token's `exp`: nothing derived from it may outlive it.
    pub expires_at: SystemTime,
    /// The audience the token was checked for.
    pub audience: String,
}

/// The auth role's verifier, built on first use from the worker's config.
#[derive(Default)]
pub(crate) struct OidcState {
    verifier: OnceCell<Option<Arc<OidcVerifier>>>,
}

async fn verifier(worker: &Worker) -> Result<Arc<OidcVerifier>, OidcError> {
    let state = worker.role_state::<OidcState>();
    let v = state
        .verifier
        .get_or_try_init(|| async {
            match worker.cfg().oidc.clone() {
                Some(cfg) => OidcVerifier::new(cfg).map(|v| Some(Arc::new(v))),
                None => Ok(None),
            }
        })
        .await?;
    v.clone().ok_or(OidcError::NotConfigured)
}

/// Verifies an OIDC token and maps it through the web-identity rules (the NATS auth
/// callout's entry point; see the module doc).
pub async fn web_identity(worker: &Worker, token: &str) -> Result<WebIdentity, S3Error> {
    web_identity_for(worker, token, None).await
}

/// [`web_identity`] with the role ARN an STS caller named (it may select a rule).
pub async fn web_identity_for(
    worker: &Worker,
    token: &str,
    role_arn: Option<&str>,
) -> Result<WebIdentity, S3Error> {
    let verifier = verifier(worker).await.map_err(|e| e.to_s3())?;
    map_token(&verifier, &super::store(worker).await?, token, role_arn).await
}

/// Verifies `token` with `verifier` and maps it through the rules in `store`: the
/// whole of [`web_identity_for`], for a process without a worker (the NATS auth
/// callout).
pub async fn map_token(
    verifier: &OidcVerifier,
    store: &super::CredentialStore,
    token: &str,
    role_arn: Option<&str>,
) -> Result<WebIdentity, S3Error> {
    let verified = verifier.verify(token).await.map_err(|e| {
        tracing::info!(error = %e, "web identity token refused");
        e.to_s3()
    })?;
    let rules = store.rules().await.map_err(S3Error::internal)?;
    let rule = super::webid::select(&rules, &verified.claims, role_arn).map_err(|e| {
        tracing::info!(subject = %verified.subject, error = %e, "web identity not mapped");
        // Which rules exist is the operator's business: the detail goes to the log only.
        S3Error::access_denied_with("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    })?;
    let expires_at = UNIX_EPOCH + Duration::from_secs(verified.expires_at.max(0) as u64);
    Ok(WebIdentity {
        owner_id: owner_id(&verified.issuer, &verified.subject),
        rule: rule.name.clone(),
        policy: rule.policy.clone(),
        subject: verified.subject,
        issuer: verified.issuer,
        expires_at,
        audience: verified.audience,
    })
}
