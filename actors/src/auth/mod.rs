//! Auth verifier role: SigV4 verification against credentials held in NATS KV. The only
//! role that ever sees a secret. Also STS (`sts`): OIDC web identities (`oidc`, mapped
//! by the rules in `webid`) exchanged for temporary credentials.

pub mod callout;
pub mod credential;
pub mod credentials;
pub mod nats_jwt;
pub mod oidc;
pub mod policy;
pub mod post;
pub mod sealed;
pub mod sigv2;
pub mod sigv4;
pub mod sts;
pub mod webid;

use jetgate_protocol::messages::{Ack, ChunkBatch, Owner, Principal, SignedRequest};
use jetgate_protocol::rpc;
use jetgate_protocol::S3Error;
use tokio::sync::OnceCell;

pub use credentials::{Credential, CredentialStore};
pub use oidc::{web_identity, WebIdentity};

use crate::incoming::Incoming;
use crate::worker::Worker;

/// The auth role's state in a worker: its credential store, opened on first use.
#[derive(Default)]
struct AuthState {
    store: OnceCell<CredentialStore>,
}

async fn store(worker: &Worker) -> Result<CredentialStore, S3Error> {
    worker
        .role_state::<AuthState>()
        .store
        .get_or_try_init(|| async {
            let store = CredentialStore::open(&worker.store().js, worker.cfg().replicas)
                .await?
                .with_key(worker.cfg().credentials_key.clone());
            store.follow().await?;
            spawn_sweep(store.clone());
            Ok::<_, credentials::CredentialError>(store)
        })
        .await
        .cloned()
        .map_err(S3Error::internal)
}

async fn credential(worker: &Worker, access_key: &str) -> Result<Credential, S3Error> {
    store(worker)
        .await?
        .get(access_key)
        .await
        .map_err(|e| match e {
            // Refused, never served: the operator migrates it with `credentials reseal`.
            credentials::CredentialError::Plaintext(_) => {
                tracing::error!(access_key, error = %e, "plaintext credential refused");
                S3Error::invalid_access_key_id()
            }
            e => S3Error::internal(e),
        })?
        .ok_or_else(S3Error::invalid_access_key_id)
}

/// Removes expired temporary credentials from the bucket now and then, for as long as
/// the process runs.
fn spawn_sweep(store: CredentialStore) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(sts::SWEEP_EVERY);
        loop {
            tick.tick().await;
            match store.sweep_expired(sts::SWEEP_GRACE).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired temporary credentials removed"),
                Err(e) => tracing::warn!(error = %e, "temporary credential sweep failed"),
            }
        }
    });
}

/// The session token a SigV4 request carries, if any, once it is known to be signed:
/// in the query it always is (the canonical query string holds every parameter but the
/// signature); as a header it must be in SignedHeaders, or whoever relays the request
/// could swap it.
fn session_token<'a>(
    signed: &'a SignedRequest,
    parsed: &sigv4::ParsedAuth,
) -> Result<Option<std::borrow::Cow<'a, str>>, S3Error> {
    let query = jetgate_protocol::query::query_pairs(&signed.query)
        .into_iter()
        .filter(|(k, _)| k == "X-Amz-Security-Token")
        .map(|(_, v)| v)
        .collect::<Vec<_>>();
    let headers = signed
        .headers
        .iter()
        .filter(|(n, _)| n == "x-amz-security-token")
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>();
    if query.len() > 1 || headers.len() > 1 {
        return Err(S3Error::invalid_token());
    }
    if let Some(h) = headers.first() {
        if !parsed
            .signed_headers
            .iter()
            .any(|s| s == "x-amz-security-token")
        {
            return Err(S3Error::access_denied_with(
                "There were headers present in the request which were not signed: x-amz-security-token",
            ));
        }
        if query.first().is_some_and(|q| q != h) {
            return Err(S3Error::invalid_token());
        }
        return Ok(Some(std::borrow::Cow::Borrowed(h)));
    }
    Ok(query.into_iter().next().map(std::borrow::Cow::Owned))
}

/// Whether a request carries a session token anywhere (SigV2 cannot use one).
fn carries_token(signed: &SignedRequest) -> bool {
    signed.header("x-amz-security-token").is_some()
        || jetgate_protocol::query::query_pairs(&signed.query)
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("x-amz-security-token"))
}

fn verify_config(worker: &Worker) -> sigv4::VerifyConfig {
    sigv4::VerifyConfig {
        region: worker.cfg().region.clone(),
        max_skew: worker.cfg().max_skew,
        ..Default::default()
    }
}

pub async fn verify(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let req = inc.message::<rpc::AuthVerify>()?.msg;
    let principal = verify_signed(worker, &req.signed).await?;
    inc.reply::<rpc::AuthVerify>(&principal, &[]).await
}

/// What the auth role answers for one request; called in-process when this worker also
/// hosts the auth role (saves a NATS round trip per request), else over NATS.
pub(crate) async fn verify_signed(
    worker: &Worker,
    signed: &SignedRequest,
) -> Result<Principal, S3Error> {
    let now = time::OffsetDateTime::now_utc();
    // SigV2 stays for what still sends it: boto3's default presigned URLs, s3cmd.
    if sigv2::is_sigv2(signed) {
        // Temporary credentials are SigV4 only; a token here is refused rather than
        // ignored, so a long-term key never passes with someone's session token.
        if carries_token(signed) {
            return Err(S3Error::invalid_token());
        }
        let parsed = sigv2::parse(signed)?;
        let cred = credential(worker, &parsed.access_key).await?;
        any_secret(&cred, |secret| {
            sigv2::verify_for(
                signed,
                &parsed,
                secret,
                now,
                worker.cfg().max_skew,
                signed.virtual_host_bucket.as_deref(),
            )
        })?;
        tracing::debug!(access_key = %parsed.access_key, "SigV2 signature verified");
        return Ok(principal(cred, None));
    }
    let parsed = sigv4::parse(signed)?;
    // With a session token the key must be temporary credentials and the token theirs;
    // without one it must be a long-term key (a temporary key alone is unknown).
    let token = session_token(signed, &parsed)?;
    let cred = match &token {
        Some(t) => sts::session_credential(worker, &parsed.access_key, t).await?,
        None => credential(worker, &parsed.access_key).await?,
    };
    let cfg = verify_config(worker);
    any_secret(&cred, |secret| {
        sigv4::verify(signed, &parsed, secret, now, &cfg)
    })?;
    tracing::debug!(access_key = %parsed.access_key, "signature verified");
    let chunk_context = parsed.has_signed_chunks().then(|| {
        let mut c = parsed.chunk_context();
        c.session = token.is_some();
        c
    });
    Ok(principal(cred, chunk_context))
}

pub(crate) fn principal(
    cred: Credential,
    chunk_context: Option<jetgate_protocol::messages::ChunkContext>,
) -> Principal {
    Principal {
        chunk_context,
        policy: cred.policy.clone(),
        access_key: cred.access_key,
        owner: Owner {
            id: cred.owner_id,
            display_name: cred.display_name,
        },
    }
}

pub async fn chunks(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let batch = inc.message::<rpc::AuthChunks>()?.msg;
    verify_chunks(worker, &batch).await?;
    inc.reply::<rpc::AuthChunks>(&Ack {}, &[]).await
}

/// Checks a batch of aws-chunked chunk signatures; in-process like [`verify_signed`].
pub(crate) async fn verify_chunks(worker: &Worker, batch: &ChunkBatch) -> Result<(), S3Error> {
    let cred = if batch.context.session {
        // The seed request proved the token; the session must still be alive.
        let session = store(worker)
            .await?
            .get_session(&batch.access_key)
            .await
            .map_err(S3Error::internal)?
            .ok_or_else(S3Error::invalid_token)?;
        sts::live(session)?
    } else {
        credential(worker, &batch.access_key).await?
    };
    any_secret(&cred, |secret| {
        let key = sigv4::signing_key_for_scope(secret, &batch.context.scope)?;
        sigv4::verify_chunk_batch(&key, batch)
    })
}

/// Accepts a signature made with any of the key's secrets: during a rotation the old and
/// the new one are both valid. The first secret's error is the one reported.
fn any_secret<T>(
    cred: &Credential,
    mut check: impl FnMut(&str) -> Result<T, S3Error>,
) -> Result<T, S3Error> {
    let mut first_err = None;
    for secret in cred.secrets() {
        match check(secret) {
            Ok(v) => return Ok(v),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| S3Error::internal("credential without a secret")))
}
