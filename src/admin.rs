//! Admin commands: S3 access keys in the credential store, multipart uploads in progress.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use jetgate_actors::auth::sealed::CredentialsKey;
use jetgate_actors::auth::{Credential, CredentialStore};
use jetgate_protocol::policy::Policy;
use rand::distributions::{Alphanumeric, DistString};

use crate::nats::NatsArgs;
use crate::policy_args::PolicyArgs;

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

/// The key that seals S3 secrets in the credential bucket. Give it to auth workers and
/// the admin command only.
#[derive(Args, Clone, Debug, Default)]
pub struct KeyArgs {
    /// Credentials encryption key: base64 of 32 bytes, or the path of a file holding it.
    #[arg(long, env = "JETGATE_CREDENTIALS_KEY", hide_env_values = true)]
    pub credentials_key: Option<String>,
}

impl KeyArgs {
    pub fn load(&self) -> anyhow::Result<Option<Arc<CredentialsKey>>> {
        self.credentials_key
            .as_deref()
            .map(|v| CredentialsKey::parse(v).map(Arc::new))
            .transpose()
            .context("--credentials-key")
    }

    pub fn require(&self) -> anyhow::Result<Arc<CredentialsKey>> {
        self.load()?.ok_or_else(|| {
            anyhow::anyhow!(
                "secrets are stored encrypted: give the credentials key (--credentials-key or JETGATE_CREDENTIALS_KEY)"
            )
        })
    }
}

/// Loads the key file in `path`, creating it (0600) with a fresh key when missing.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<Arc<CredentialsKey>> {
    if path.exists() {
        return Ok(Arc::new(CredentialsKey::from_file(path)?));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = CredentialsKey::generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut f, format!("{}\n", key.to_base64()).as_bytes())?;
    Ok(Arc::new(key))
}

#[derive(Subcommand)]
pub enum CredentialsCmd {
    /// Add or replace an access key (its secret is stored encrypted).
    Add {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        policy: PolicyArgs,
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
    /// Rotate a key's secret: the new one is added and the old ones stay valid until
    /// `--retire-old`.
    Rotate {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        key: KeyArgs,
        access_key: String,
        /// The new secret (generated and printed when absent).
        #[arg(long, env = "JETGATE_NEW_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
        /// End the rotation: drop every secret but the newest.
        #[arg(long, conflicts_with = "secret_key")]
        retire_old: bool,
    },
    /// Replace an access key's policy (no flags: unrestricted).
    Policy {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        key: KeyArgs,
        access_key: String,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Seal every plaintext (format 1) record with the credentials key. Plaintext
    /// records are refused by the auth role; run this once on a store written by an
    /// old version.
    Reseal {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Remove an access key.
    Remove {
        #[command(flatten)]
        nats: NatsArgs,
        #[arg(long)]
        access_key: String,
    },
    /// OIDC web-identity rules: token claims → policy (STS AssumeRoleWithWebIdentity).
    #[command(subcommand)]
    WebIdentity(crate::web_identity::WebIdentityCmd),
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
            key,
            policy,
            access_key,
            secret_key,
            owner_id,
            display_name,
            replicas,
        } => {
            let sealing = key.require()?;
            let mut cred = Credential::new(
                &access_key,
                &secret_key,
                owner_id.as_deref().unwrap_or(&access_key),
                display_name.as_deref().unwrap_or(&access_key),
            )?;
            cred.policy = policy.policy();
            let client = nats.connect("jetgate-credentials").await?;
            let store = CredentialStore::open(&async_nats::jetstream::new(client), replicas)
                .await?
                .with_key(Some(sealing));
            store.put(&cred).await?;
            println!("added {access_key}");
        }
        CredentialsCmd::Rotate {
            nats,
            key,
            access_key,
            secret_key,
            retire_old,
        } => {
            let store = keyed_store(&nats, &key).await?;
            let mut cred = store.load(&access_key).await?;
            if retire_old {
                let n = cred.retire_old();
                store.put(&cred).await?;
                println!("retired {n} old secret(s) of {access_key}");
            } else {
                let generated = secret_key.is_none();
                let secret = secret_key
                    .unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::thread_rng(), 40));
                cred.rotate(&secret)?;
                store.put(&cred).await?;
                println!(
                    "rotated {access_key}: {} secret(s) valid until --retire-old",
                    cred.secrets().count()
                );
                if generated {
                    println!("secret_key: {secret}");
                }
            }
        }
        CredentialsCmd::Policy {
            nats,
            key,
            access_key,
            policy,
        } => {
            let store = keyed_store(&nats, &key).await?;
            let mut cred = store.load(&access_key).await?;
            cred.policy = policy.policy();
            store.put(&cred).await?;
            println!("policy of {access_key}: {}", describe(cred.policy.as_ref()));
        }
        CredentialsCmd::List { nats } => {
            let client = nats.connect("jetgate-credentials").await?;
            let store = CredentialStore::open(&async_nats::jetstream::new(client), 1).await?;
            for c in store.list().await? {
                // Temporary (STS) credentials show when they expire.
                let kind = match c.expires_ms {
                    Some(ms) => format!("\tsts until {}", jetgate_edge::encode::iso8601(ms)),
                    None => String::new(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}{kind}",
                    c.access_key,
                    c.owner_id,
                    c.display_name,
                    if c.format >= 2 {
                        "encrypted"
                    } else {
                        "PLAINTEXT"
                    },
                    describe(c.policy.as_ref())
                );
            }
        }
        CredentialsCmd::Reseal { nats, key } => {
            let store = keyed_store(&nats, &key).await?;
            let resealed = store.reseal().await?;
            for k in &resealed {
                println!("sealed {k}");
            }
            println!("{} plaintext record(s) sealed", resealed.len());
        }
        CredentialsCmd::WebIdentity(cmd) => crate::web_identity::run(cmd).await?,
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

async fn keyed_store(nats: &NatsArgs, key: &KeyArgs) -> anyhow::Result<CredentialStore> {
    let sealing = key.require()?;
    let client = nats.connect("jetgate-credentials").await?;
    Ok(
        CredentialStore::open(&async_nats::jetstream::new(client), 1)
            .await?
            .with_key(Some(sealing)),
    )
}

fn describe(p: Option<&Policy>) -> String {
    match p {
        None => "all".into(),
        Some(p) => serde_json::to_string(p).unwrap_or_else(|_| "?".into()),
    }
}
