//! The NATS auth callout (`jetgate authz`): nats-server asks it about every client that
//! is not one of jetgate's own users, and it answers from the credential store, so a
//! NATS client logs in with the same access key and secret an S3 client signs with and
//! gets the same buckets with the same rights (as far as NATS can express them:
//! [`grants`]).
//!
//! It is the `jetgate-authz` micro service on `$SYS.REQ.USER.AUTH` in the callout
//! account (the credential store's, AUTH), which only the server may publish to. A
//! login gets a user JWT for the gateway account, signed with the callout issuer key
//! and valid for `jwt_ttl` (the server drops the connection when it expires, and the
//! client's reconnect asks again, so a removed key or a narrowed policy takes effect
//! within that time for open connections, and at once for new ones). Which buckets
//! exist and who owns them it reads from the gateway account's JetStream through two
//! read-only API imports (`STREAM.NAMES`, `STREAM.INFO.*` under `gateway_js_prefix`),
//! fresh for every login: a bucket deleted and re-created by another owner is never
//! still granted to the old one.

pub mod grants;
pub mod request;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::service::ServiceExt;
use futures::{StreamExt, TryStreamExt};
use jetgate_protocol::names::bucket_from_nats;
use jetgate_protocol::policy::Policy;
use nkeys::KeyPair;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::credentials::{CredentialError, CredentialStore};
use super::nats_jwt::{self, Claims};
use super::oidc::{map_token, OidcConfig, OidcVerifier};
use super::sealed::CredentialsKey;
use crate::store::{owner_of, owns};
use grants::{Grant, Refusal};
use jetgate_protocol::messages::{Owner, Principal};
use request::{AuthRequest, Login};

/// The subject nats-server sends authorization requests to.
pub const CALLOUT_SUBJECT: &str = "$SYS.REQ.USER.AUTH";
/// Where the callout account sees the gateway account's stream names and infos.
pub const DEFAULT_GATEWAY_JS_PREFIX: &str = "jetgate.gw.js";
/// How long an issued user JWT is valid.
pub const DEFAULT_JWT_TTL: Duration = Duration::from_secs(600);
pub const SERVICE_NAME: &str = "jetgate-authz";

pub struct CalloutConfig {
    /// Signs responses (and user JWTs, without `user_signer`): the config-file
    /// server's `auth_callout.issuer`, or in operator mode a key of the callout account.
    pub issuer: KeyPair,
    /// The account logins are placed in: its name in a config-file server, its public
    /// key in operator mode.
    pub account: String,
    /// Operator mode: a signing key of `account`, which signs the user JWTs.
    pub user_signer: Option<KeyPair>,
    pub jwt_ttl: Duration,
    pub gateway_js_prefix: String,
    pub credentials_key: Option<Arc<CredentialsKey>>,
    /// Token logins: OIDC tokens of this issuer, mapped by the web-identity rules.
    pub oidc: Option<OidcConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum CalloutError {
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error("NATS: {0}")]
    Nats(String),
}

/// Why a login was refused; the message goes back to the server's log, the reason to
/// the metrics.
#[derive(Debug, thiserror::Error)]
enum Denied {
    #[error("no credentials presented")]
    NoLogin,
    #[error("unknown access key or wrong secret")]
    BadSecret,
    #[error("token logins are not enabled")]
    Token,
    #[error("web identity token refused: {0}")]
    BadToken(String),
    #[error(transparent)]
    Policy(#[from] Refusal),
    #[error("authorization unavailable: {0}")]
    Unavailable(String),
}

impl Denied {
    fn reason(&self) -> &'static str {
        match self {
            Denied::NoLogin => "no_credentials",
            Denied::BadSecret => "bad_secret",
            Denied::Token => "token",
            Denied::BadToken(_) => "bad_token",
            Denied::Policy(Refusal::Prefixes) => "prefix_policy",
            Denied::Policy(Refusal::TooManyBuckets(_)) => "too_many_buckets",
            Denied::Unavailable(_) => "unavailable",
        }
    }
}

/// A login let in: who, how many buckets, and its user JWT.
struct Allowed {
    access_key: String,
    buckets: usize,
    jwt: String,
}

struct Callout {
    cfg: CalloutConfig,
    store: CredentialStore,
    oidc: Option<OidcVerifier>,
    gateway: jetstream::Context,
}

/// Serves the callout until the connection closes.
pub async fn serve(client: async_nats::Client, cfg: CalloutConfig) -> Result<(), CalloutError> {
    let js = jetstream::new(client.clone());
    let store = CredentialStore::open_existing(&js)
        .await?
        .with_key(cfg.credentials_key.clone());
    store.follow().await?;
    let gateway = jetstream::with_prefix(client.clone(), &cfg.gateway_js_prefix);
    let oidc = cfg
        .oidc
        .clone()
        .map(OidcVerifier::new)
        .transpose()
        .map_err(|e| CalloutError::Nats(format!("OIDC: {e}")))?;
    let service = client
        .service_builder()
        .description("jetgate NATS auth callout: logins with S3 access keys")
        .start(SERVICE_NAME, jetgate_protocol::roles::SERVICE_VERSION)
        .await
        .map_err(|e| CalloutError::Nats(e.to_string()))?;
    let mut endpoint = service
        .endpoint_builder()
        .name("authorize")
        .add(CALLOUT_SUBJECT)
        .await
        .map_err(|e| CalloutError::Nats(e.to_string()))?;
    tracing::info!(
        issuer = %cfg.issuer.public_key(),
        account = %cfg.account,
        "auth callout serving {CALLOUT_SUBJECT}"
    );
    let callout = Arc::new(Callout {
        cfg,
        store,
        oidc,
        gateway,
    });
    while let Some(req) = endpoint.next().await {
        let callout = callout.clone();
        tokio::spawn(async move {
            // An unreadable request gets no answer: nothing we could sign would be
            // accepted, and the server times the login out.
            if let Some(jwt) = callout.answer(&req.message.payload).await {
                if let Err(e) = req.respond(Ok(jwt.into())).await {
                    tracing::warn!(error = %e, "auth callout reply not sent");
                }
            }
        });
    }
    Ok(())
}

impl Callout {
    /// The signed response to one request; `None` when the request is unreadable.
    async fn answer(&self, payload: &[u8]) -> Option<String> {
        let req = match request::parse(payload) {
            Ok(r) => r,
            Err(e) => {
                metrics::counter!("jetgate_authz_logins_total", "result" => "denied", "reason" => "bad_request").increment(1);
                tracing::warn!(error = %e, "unreadable authorization request");
                return None;
            }
        };
        let outcome = self.authorize(&req).await;
        let result = match &outcome {
            Ok(login) => {
                metrics::counter!("jetgate_authz_logins_total", "result" => "allowed", "reason" => "").increment(1);
                tracing::info!(
                    access_key = %login.access_key,
                    buckets = login.buckets,
                    client = %req.client_host,
                    "NATS login allowed"
                );
                Ok(outcome.ok()?.jwt)
            }
            Err(d) => {
                metrics::counter!("jetgate_authz_logins_total", "result" => "denied", "reason" => d.reason()).increment(1);
                tracing::info!(reason = d.reason(), client = %req.client_host, error = %d, "NATS login denied");
                Err(d.to_string())
            }
        };
        match request::respond(&self.cfg.issuer, &req, result) {
            Ok(jwt) => Some(jwt),
            Err(e) => {
                tracing::error!(error = %e, "auth callout response not signed");
                None
            }
        }
    }

    async fn authorize(&self, req: &AuthRequest) -> Result<Allowed, Denied> {
        let (user, password) = match &req.login {
            Login::Password { user, password } => (user, password),
            Login::Token(token) => return self.authorize_token(req, token).await,
            Login::None => return Err(Denied::NoLogin),
        };
        let cred = match self.store.get(user).await {
            Ok(Some(c)) => c,
            Ok(None) | Err(CredentialError::Plaintext(_)) => return Err(Denied::BadSecret),
            Err(e) => return Err(Denied::Unavailable(e.to_string())),
        };
        let matches = cred.secrets().fold(0u8, |m, s| {
            m | s.as_bytes().ct_eq(password.as_bytes()).unwrap_u8()
        });
        if matches != 1 {
            return Err(Denied::BadSecret);
        }
        self.issue(req, super::principal(cred, None), None).await
    }

    /// A login with an OIDC token: the rule it maps to is its policy, the hash of its
    /// issuer and subject its identity (owner id, and inbox `_INBOX_<owner id>`), and
    /// its JWT ends no later than the token.
    async fn authorize_token(&self, req: &AuthRequest, token: &str) -> Result<Allowed, Denied> {
        let verifier = self.oidc.as_ref().ok_or(Denied::Token)?;
        let id = map_token(verifier, &self.store, token, None)
            .await
            .map_err(|e| Denied::BadToken(e.code.to_string()))?;
        let expires = id
            .expires_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let principal = Principal {
            access_key: id.owner_id.clone(),
            owner: Owner {
                id: id.owner_id,
                display_name: id.subject,
            },
            chunk_context: None,
            policy: Some(id.policy),
        };
        self.issue(req, principal, Some(expires)).await
    }

    /// The user JWT of a principal: its buckets, with its operations, until `until`
    /// (Unix seconds) at the latest.
    async fn issue(
        &self,
        req: &AuthRequest,
        principal: Principal,
        until: Option<u64>,
    ) -> Result<Allowed, Denied> {
        let ops = grants::operations(principal.policy.as_ref())?;
        let grants: Vec<Grant> = self
            .usable_buckets(&principal)
            .await?
            .into_iter()
            .map(|bucket| Grant {
                bucket,
                ops: ops.clone(),
            })
            .collect();
        let perms = grants::permissions(&grants::inbox(&principal.access_key), &grants)?;
        let jwt = self
            .user_jwt(req, &principal.access_key, perms, until)
            .map_err(|e| Denied::Unavailable(e.to_string()))?;
        Ok(Allowed {
            access_key: principal.access_key,
            buckets: grants.len(),
            jwt,
        })
    }

    /// The S3 buckets the principal may use: those its policy names and those its
    /// owner owns (every bucket, for a key without a policy).
    async fn usable_buckets(&self, principal: &Principal) -> Result<Vec<String>, Denied> {
        let unavailable = |e: &dyn std::fmt::Display| Denied::Unavailable(e.to_string());
        let names: Vec<String> = self
            .gateway
            .stream_names()
            .try_collect()
            .await
            .map_err(|e| unavailable(&e))?;
        let policy = principal.policy.as_ref().filter(|p| !p.is_unrestricted());
        let mut usable = Vec::new();
        for stream in names {
            let Some(bucket) = stream.strip_prefix("OBJ_").and_then(bucket_from_nats) else {
                continue;
            };
            if policy.is_none_or(|p: &Policy| p.names_bucket(&bucket)) {
                usable.push(bucket);
                continue;
            }
            // Owned buckets: the owner is in the stream's metadata.
            match self.gateway.get_stream(&stream).await {
                Ok(s) => {
                    if owns(principal, owner_of(&s.cached_info().config).as_ref()) {
                        usable.push(bucket);
                    }
                }
                // Deleted since it was listed.
                Err(e) if e.to_string().contains("not found") => {}
                Err(e) => return Err(unavailable(&e)),
            }
        }
        usable.sort();
        Ok(usable)
    }

    fn user_jwt(
        &self,
        req: &AuthRequest,
        name: &str,
        perms: grants::Permissions,
        until: Option<u64>,
    ) -> Result<String, nats_jwt::JwtError> {
        // An empty allow list in a user JWT means "no restriction": deny instead.
        let publish = if perms.publish.is_empty() {
            json!({"deny": [">"]})
        } else {
            json!({"allow": perms.publish})
        };
        let expires = (nats_jwt::now_secs() + self.cfg.jwt_ttl.as_secs().max(1))
            .min(until.unwrap_or(u64::MAX));
        let mut nats = json!({
            "pub": publish,
            "sub": {"allow": perms.subscribe},
            "subs": -1, "data": -1, "payload": -1,
            "type": "user",
            "version": 2,
        });
        // Signed by one of the account's signing keys, so the account is named.
        if self.cfg.user_signer.is_some() {
            nats["issuer_account"] = json!(self.cfg.account);
        }
        nats_jwt::encode(
            self.cfg.user_signer.as_ref().unwrap_or(&self.cfg.issuer),
            Claims {
                subject: &req.user_nkey,
                name,
                audience: Some(&self.cfg.account),
                expires: Some(expires),
                nats,
            },
        )
    }
}
