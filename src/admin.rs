//! Admin commands: S3 access keys in the credential store, multipart uploads in progress.

use std::time::Duration;

use clap::Subcommand;
use jetgate_actors::auth::{Credential, CredentialStore};

use crate::nats::NatsArgs;

#[derive(Subcommand)]
pub enum UploadsCmd {
    /// List uploads in progress, oldest first.
    List {
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Abort uploads older than --older-than-secs (default 7 days).
    AbortStale {
        #[command(flatten)]
        nats: NatsArgs,
        #[arg(long, default_value_t = 7 * 24 * 3600)]
        older_than_secs: u64,
    },
}

#[derive(Subcommand)]
pub enum CredentialsCmd {
    /// Add or replace an access key.
    Add {
        #[command(flatten)]
        nats: NatsArgs,
        #[arg(long)]
        access_key: String,
        #[arg(long, env = "JETGATE_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
        /// Replicas of the credential bucket when this creates it (3 on a cluster).
        #[arg(long, env = "JETGATE_REPLICAS", default_value_t = 1)]
        replicas: usize,
        /// Owner id shown in listings (defaults to the access key).
        #[arg(long)]
        owner_id: Option<String>,
        /// Owner display name shown in listings (defaults to the access key).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List access keys (never secrets).
    List {
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Remove an access key.
    Remove {
        #[command(flatten)]
        nats: NatsArgs,
        #[arg(long)]
        access_key: String,
    },
}

pub async fn uploads_cmd(cmd: UploadsCmd) -> anyhow::Result<()> {
    use jetgate_actors::multipart::{sweep, Uploads};
    use jetgate_actors::store::Store;
    let (nats, older) = match &cmd {
        UploadsCmd::List { nats } => (nats, None),
        UploadsCmd::AbortStale {
            nats,
            older_than_secs,
        } => (nats, Some(Duration::from_secs(*older_than_secs))),
    };
    let client = nats.connect("jetgate-uploads").await?;
    let store = Store::new(client);
    let Some(uploads) = Uploads::open_existing(&store.js)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    else {
        return Ok(());
    };
    match older {
        None => {
            for u in sweep::list(&uploads)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                println!(
                    "{}\t{}\t{}\t{}",
                    u.upload_id,
                    jetgate_edge::encode::iso8601(u.created_ms),
                    u.bucket,
                    u.key
                );
            }
        }
        Some(age) => {
            let aborted = sweep::abort_stale(&store, &uploads, age)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for u in &aborted {
                println!("aborted {}\t{}\t{}", u.upload_id, u.bucket, u.key);
            }
            println!("{} upload(s) aborted", aborted.len());
        }
    }
    Ok(())
}

pub async fn credentials(cmd: CredentialsCmd) -> anyhow::Result<()> {
    match cmd {
        CredentialsCmd::Add {
            nats,
            access_key,
            secret_key,
            owner_id,
            display_name,
            replicas,
        } => {
            let client = nats.connect("jetgate-credentials").await?;
            let store =
                CredentialStore::open(&async_nats::jetstream::new(client), replicas).await?;
            let cred = Credential::new(
                &access_key,
                &secret_key,
                owner_id.as_deref().unwrap_or(&access_key),
                display_name.as_deref().unwrap_or(&access_key),
            )?;
            store.put(&cred).await?;
            println!("added {access_key}");
        }
        CredentialsCmd::List { nats } => {
            let client = nats.connect("jetgate-credentials").await?;
            let store = CredentialStore::open(&async_nats::jetstream::new(client), 1).await?;
            for c in store.list().await? {
                println!("{}\t{}\t{}", c.access_key, c.owner_id, c.display_name);
            }
        }
        CredentialsCmd::Remove { nats, access_key } => {
            let client = nats.connect("jetgate-credentials").await?;
            let store = CredentialStore::open(&async_nats::jetstream::new(client), 1).await?;
            if store.remove(&access_key).await? {
                println!("removed {access_key}");
            } else {
                anyhow::bail!("no access key {access_key}");
            }
        }
    }
    Ok(())
}
