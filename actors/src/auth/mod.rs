//! Auth verifier role: SigV4 verification against credentials held in NATS KV. The only
//! role that ever sees a secret.

pub mod credentials;
pub mod sigv2;
pub mod sigv4;

use jetgate_protocol::messages::{Ack, ChunkBatch, Owner, Principal, VerifyRequest};
use jetgate_protocol::{S3Error, S3ErrorCode};
use tokio::sync::OnceCell;

pub use credentials::{Credential, CredentialStore};

use crate::incoming::Incoming;
use crate::worker::Worker;

/// The auth role's credential store, opened on first use.
static STORE: OnceCell<CredentialStore> = OnceCell::const_new();

async fn store(worker: &Worker) -> Result<&'static CredentialStore, S3Error> {
    STORE
        .get_or_try_init(|| async {
            let store = CredentialStore::open(&worker.store().js, worker.cfg().replicas).await?;
            store.follow().await?;
            Ok::<_, credentials::CredentialError>(store)
        })
        .await
        .map_err(S3Error::internal)
}

async fn credential(worker: &Worker, access_key: &str) -> Result<Credential, S3Error> {
    store(worker)
        .await?
        .get(access_key)
        .await
        .map_err(S3Error::internal)?
        .ok_or_else(|| {
            S3Error::new(
                S3ErrorCode::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        })
}

fn verify_config(worker: &Worker) -> sigv4::VerifyConfig {
    sigv4::VerifyConfig {
        region: worker.cfg().region.clone(),
        max_skew: worker.cfg().max_skew,
        ..Default::default()
    }
}

pub async fn verify(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let req = inc.decode::<VerifyRequest>()?.msg;
    let signed = &req.signed;
    let now = time::OffsetDateTime::now_utc();
    // SigV2 stays for what still sends it: boto3's default presigned URLs, s3cmd.
    if sigv2::is_sigv2(signed) {
        let parsed = sigv2::parse(signed)?;
        let cred = credential(worker, &parsed.access_key).await?;
        sigv2::verify_for(
            signed,
            &parsed,
            &cred.secret_key,
            now,
            worker.cfg().max_skew,
            signed.virtual_host_bucket.as_deref(),
        )?;
        tracing::debug!(access_key = %parsed.access_key, "SigV2 signature verified");
        return inc.reply(&principal(cred, None), &[]).await;
    }
    let parsed = sigv4::parse(signed)?;
    let cred = credential(worker, &parsed.access_key).await?;
    sigv4::verify(
        signed,
        &parsed,
        &cred.secret_key,
        now,
        &verify_config(worker),
    )?;
    tracing::debug!(access_key = %parsed.access_key, "signature verified");
    let chunk_context = parsed.has_signed_chunks().then(|| parsed.chunk_context());
    inc.reply(&principal(cred, chunk_context), &[]).await
}

fn principal(
    cred: Credential,
    chunk_context: Option<jetgate_protocol::messages::ChunkContext>,
) -> Principal {
    Principal {
        chunk_context,
        access_key: cred.access_key,
        owner: Owner {
            id: cred.owner_id,
            display_name: cred.display_name,
        },
    }
}

pub async fn chunks(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let batch = inc.decode::<ChunkBatch>()?.msg;
    let cred = credential(worker, &batch.access_key).await?;
    let key = sigv4::signing_key_for_scope(&cred.secret_key, &batch.context.scope)?;
    sigv4::verify_chunk_batch(&key, &batch)?;
    inc.reply(&Ack {}, &[]).await
}
