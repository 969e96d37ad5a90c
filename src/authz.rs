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
    /// The account NATS logins are placed in: its name (config-file server) or, with
    /// --user-signer-seed-file, its public key (operator mode).
    #[arg(long, env = "JETGATE_CALLOUT_ACCOUNT", default_value = "JETGATE")]
    account: String,
    /// Operator mode: file holding the signing key of --account that signs the issued
    /// user JWTs (`jetgate nats bootstrap --auth-callout` writes
    /// `<ACCOUNT>-callout-signing.nk`); --issuer-seed-file is then the callout
    /// account's signing key (`AUTH-signing.nk`).
    #[arg(long, env = "JETGATE_CALLOUT_USER_SIGNER_SEED_FILE")]
    user_signer_seed_file: Option<PathBuf>,
    /// Seconds an issued user JWT is valid; a removed key or narrowed policy reaches
    /// open connections within this time (new ones at once).
    #[arg(long, env = "JETGATE_CALLOUT_JWT_TTL_SECS", default_value_t = callout::DEFAULT_JWT_TTL.as_secs())]
    jwt_ttl_secs: u64,
    /// Subject prefix under which the gateway account's STREAM.NAMES and STREAM.INFO
    /// are imported into the callout account (deploy/nats/callout.conf).
    #[arg(long, env = "JETGATE_CALLOUT_GATEWAY_JS_PREFIX", default_value = callout::DEFAULT_GATEWAY_JS_PREFIX)]
    gateway_js_prefix: String,
    /// NATS logins with an OIDC token (`--oidc-issuer`…): mapped by the web-identity
    /// rules, as STS AssumeRoleWithWebIdentity maps them.
    #[command(flatten)]
    oidc: crate::web_identity::OidcArgs,
    /// Address for /metrics (off when absent).
    #[arg(long, env = "JETGATE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

pub async fn run(a: AuthzArgs) -> anyhow::Result<()> {
    crate::serve_metrics(a.metrics_listen).await?;
    let issuer = account_key(&a.issuer_seed_file)?;
    let user_signer = a
        .user_signer_seed_file
        .as_deref()
        .map(account_key)
        .transpose()?;
    let client = a
        .nats
        .connect_with_inbox("jetgate-authz", crate::nats::AUTHZ_INBOX)
        .await?;
    let cfg = CalloutConfig {
        issuer,
        account: a.account,
        user_signer,
        jwt_ttl: Duration::from_secs(a.jwt_ttl_secs),
        gateway_js_prefix: a.gateway_js_prefix,
        credentials_key: Some(a.key.require()?),
        oidc: a.oidc.config(),
    };
    println!("auth callout ready: issuer {}", cfg.issuer.public_key());
    tokio::select! {
        r = callout::serve(client, cfg) => r.context("auth callout")?,
        _ = crate::shutdown_signal() => {}
    }
    Ok(())
}

/// An account key (seed `SA...`) from a file.
fn account_key(path: &std::path::Path) -> anyhow::Result<KeyPair> {
    let seed =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let key = KeyPair::from_seed(seed.trim())
        .with_context(|| format!("{}: not an nkey seed", path.display()))?;
    anyhow::ensure!(
        key.public_key().starts_with('A'),
        "{} must hold an account seed (SA...)",
        path.display()
    );
    Ok(key)
}
