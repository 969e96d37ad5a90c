//! NATS connection flags shared by every subcommand: URL plus any auth the server offers.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct NatsArgs {
    /// NATS server URL(s), comma separated.
    #[arg(
        long,
        env = "JETGATE_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// NATS user (with --nats-password).
    #[arg(long, env = "JETGATE_NATS_USER")]
    pub nats_user: Option<String>,
    /// NATS password.
    #[arg(long, env = "JETGATE_NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,
    /// NATS token.
    #[arg(long, env = "JETGATE_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// File holding an nkey seed (SU...).
    #[arg(long, env = "JETGATE_NATS_NKEY_SEED_FILE")]
    pub nats_nkey_seed_file: Option<PathBuf>,
    /// Credentials file with a user JWT and its seed.
    #[arg(long, env = "JETGATE_NATS_CREDS")]
    pub nats_creds: Option<PathBuf>,
}

impl NatsArgs {
    /// Connects with the configured auth; `name` shows in the server's connz.
    pub async fn connect(&self, name: &str) -> anyhow::Result<async_nats::Client> {
        let mut opts = async_nats::ConnectOptions::new()
            .name(name)
            .retry_on_initial_connect()
            .max_reconnects(None);
        if let (Some(u), Some(p)) = (&self.nats_user, &self.nats_password) {
            opts = opts.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &self.nats_token {
            opts = opts.token(t.clone());
        }
        if let Some(f) = &self.nats_nkey_seed_file {
            let seed = std::fs::read_to_string(f)
                .with_context(|| format!("reading nkey seed {}", f.display()))?;
            opts = opts.nkey(seed.trim().to_string());
        }
        if let Some(f) = &self.nats_creds {
            opts = opts
                .credentials_file(f)
                .await
                .with_context(|| format!("reading creds file {}", f.display()))?;
        }
        // A cluster is given as a comma-separated list; the client fails over between them.
        let urls: Vec<&str> = self
            .nats_url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let client = tokio::time::timeout(std::time::Duration::from_secs(20), opts.connect(urls))
            .await
            .with_context(|| format!("timed out connecting to NATS at {}", self.nats_url))?
            .with_context(|| format!("connecting to NATS at {}", self.nats_url))?;
        Ok(client)
    }
}
