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
    /// Inbox prefix of this connection (default per process: `_INBOX_edge` for an edge,
    /// `_INBOX_auth` for an auth-only worker, `_INBOX_listing` for a listing-only worker,
    /// `_INBOX_data` for other workers, `_INBOX` for `dev` and the admin commands). NATS permissions give each user only its own
    /// prefix, so no component can read another's replies; body streams use
    /// `<prefix>_S`.
    #[arg(long, env = "JETGATE_NATS_INBOX_PREFIX")]
    pub nats_inbox_prefix: Option<String>,
}

/// The inbox prefix of processes that have no role of their own (dev, admin commands).
pub const DEFAULT_INBOX: &str = "_INBOX";
/// The edge's inbox prefix.
pub const EDGE_INBOX: &str = "_INBOX_edge";
/// The inbox prefix of a worker that serves the auth role only.
pub const AUTH_INBOX: &str = "_INBOX_auth";
/// The inbox prefix of a worker that serves the listing role only (NATS user `listing`).
pub const LISTING_INBOX: &str = "_INBOX_listing";
/// The inbox prefix of a worker that serves data roles (multipart, object; and listing
/// where one process serves several roles, e.g. as an unrestricted user).
pub const DATA_INBOX: &str = "_INBOX_data";

/// A worker's own inbox prefix, by the roles it serves: the roles that run as their own
/// NATS user (deploy/nats/accounts.conf) each have one.
pub fn worker_inbox(roles: &[jetgate_protocol::Role]) -> &'static str {
    use jetgate_protocol::Role;
    match roles {
        r if !r.is_empty() && r.iter().all(|r| *r == Role::Auth) => AUTH_INBOX,
        r if !r.is_empty() && r.iter().all(|r| *r == Role::Listing) => LISTING_INBOX,
        _ => DATA_INBOX,
    }
}
/// The inbox prefix of `jetgate services`: the one inbox data workers may publish to, since
/// nats-server lets a connection answer a `$SRV.PING` once however many services it
/// hosts (allow_responses), and a data worker hosts three.
pub const SERVICES_INBOX: &str = "_INBOX_svc";
/// The auth callout's inbox prefix (NATS user `authz`).
pub const AUTHZ_INBOX: &str = "_INBOX_authz";

impl NatsArgs {
    /// Connects with the configured auth; `name` shows in the server's connz.
    pub async fn connect(&self, name: &str) -> anyhow::Result<async_nats::Client> {
        self.connect_with_inbox(name, DEFAULT_INBOX).await
    }

    /// [`NatsArgs::connect`] with this process's own inbox prefix unless
    /// `--nats-inbox-prefix` names one.
    pub async fn connect_with_inbox(
        &self,
        name: &str,
        default_inbox: &str,
    ) -> anyhow::Result<async_nats::Client> {
        let inbox = self.nats_inbox_prefix.as_deref().unwrap_or(default_inbox);
        let mut opts = async_nats::ConnectOptions::new()
            .name(name)
            .custom_inbox_prefix(inbox)
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
