//! `jetgate authz`: the NATS auth callout service (actors/src/auth/callout), in its own
//! process logged in as the `authz` user of the credential account.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use jetgate_actors::auth::callout::{self, CalloutConfig};
use nkeys::KeyPair;

use crate::admin::KeyArgs;
use crate::nats::NatsArgs;

#[derive(Args)]
pub struct AuthzArgs {
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// File holding the callout issuer's account seed (SA...): its public key is the
    /// server's `auth_callout.issuer`. `jetgate nats callout-key` makes one.
    #[arg(long, env = "JETGATE_CALLOUT_ISSUER_SEED_FILE")]
    issuer_seed_file: PathBuf,
    /// The account NATS logins are placed in.
    #[arg(long, env = "JETGATE_CALLOUT_ACCOUNT", default_value = "JETGATE")]
    account: String,
    /// Seconds an issued user JWT is valid; a removed key or narrowed policy reaches
    /// open connections within this time (new ones at once).
    #[arg(long, env = "JETGATE_CALLOUT_JWT_TTL_SECS", default_value_t = callout::DEFAULT_JWT_TTL.as_secs())]
    jwt_ttl_secs: u64,
    /// Subject prefix under which the gateway account's STREAM.NAMES and STREAM.INFO
    /// are imported into the callout account (deploy/nats/callout.conf).
    #[arg(long, env = "JETGATE_CALLOUT_GATEWAY_JS_PREFIX", default_value = callout::DEFAULT_GATEWAY_JS_PREFIX)]
    gateway_js_prefix: String,
    /// Address for /metrics (off when absent).
    #[arg(long, env = "JETGATE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

pub async fn run(a: AuthzArgs) -> anyhow::Result<()> {
    crate::serve_metrics(a.metrics_listen).await?;
    let seed = std::fs::read_to_string(&a.issuer_seed_file)
        .with_context(|| format!("reading {}", a.issuer_seed_file.display()))?;
    let issuer = KeyPair::from_seed(seed.trim()).context("--issuer-seed-file: not an nkey seed")?;
    anyhow::ensure!(
        issuer.public_key().starts_with('A'),
        "--issuer-seed-file must hold an account seed (SA...)"
    );
    let client = a
        .nats
        .connect_with_inbox("jetgate-authz", crate::nats::AUTHZ_INBOX)
        .await?;
    let cfg = CalloutConfig {
        issuer,
        account: a.account,
        jwt_ttl: Duration::from_secs(a.jwt_ttl_secs),
        gateway_js_prefix: a.gateway_js_prefix,
        credentials_key: Some(a.key.require()?),
    };
    println!("auth callout ready: issuer {}", cfg.issuer.public_key());
    tokio::select! {
        r = callout::serve(client, cfg) => r.context("auth callout")?,
        _ = crate::shutdown_signal() => {}
    }
    Ok(())
}
