//! `jetgate credentials web-identity add|list|remove`: the rules that map OIDC token
//! claims to a policy (actors/src/auth/webid.rs), and the worker's `--oidc-*` flags.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use jetgate_actors::auth::oidc::OidcConfig;
use jetgate_actors::auth::webid::{ClaimMatch, WebIdentityRule};
use jetgate_actors::auth::CredentialStore;

use crate::nats::NatsArgs;
use crate::policy_args::PolicyArgs;

/// OIDC web identity (auth role): whose tokens STS AssumeRoleWithWebIdentity accepts.
#[derive(Args, Clone, Debug, Default)]
pub struct OidcArgs {
    /// Issuer URL (the tokens' `iss`; https, or http on loopback). Its
    /// `/.well-known/openid-configuration` names the JWKS unless --oidc-jwks-file is
    /// given. Web identity is off without it.
    #[arg(long, env = "JETGATE_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The audience tokens must be issued for (a member of `aud`).
    #[arg(long, env = "JETGATE_OIDC_AUDIENCE", default_value = "jetgate")]
    pub oidc_audience: String,
    /// Read the issuer's keys from this JWKS file instead of its discovery document.
    #[arg(long, env = "JETGATE_OIDC_JWKS_FILE")]
    pub oidc_jwks_file: Option<PathBuf>,
    /// Seconds fetched keys are used before they are fetched again (a token naming an
    /// unknown key id fetches sooner, at most every 10 s).
    #[arg(long, env = "JETGATE_OIDC_JWKS_REFRESH_SECS", default_value_t = 300)]
    pub oidc_jwks_refresh_secs: u64,
    /// Longest life of STS temporary credentials, whatever DurationSeconds asks (and
    /// never past the token's exp).
    #[arg(long, env = "JETGATE_STS_MAX_DURATION_SECS", default_value_t = 43200)]
    pub sts_max_duration_secs: u64,
}

impl OidcArgs {
    pub fn config(&self) -> Option<OidcConfig> {
        Some(OidcConfig {
            issuer: self.oidc_issuer.clone()?,
            audience: self.oidc_audience.clone(),
            jwks_file: self.oidc_jwks_file.clone(),
            jwks_refresh: Duration::from_secs(self.oidc_jwks_refresh_secs.max(1)),
        })
    }

    pub fn sts_max_duration(&self) -> Duration {
        Duration::from_secs(self.sts_max_duration_secs.max(1))
    }
}

#[derive(Subcommand)]
pub enum WebIdentityCmd {
    /// Add or replace a rule: tokens whose claims all match get its policy.
    Add {
        #[command(flatten)]
        nats: NatsArgs,
        /// Rule name (letters, digits, '-', '_'); a RoleArn ending in `/<name>` selects it.
        name: String,
        /// `claim=value`, or `claim=prefix*`; repeat for more (all must match).
        #[arg(long = "claim", required = true)]
        claims: Vec<String>,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Replicas of the credential bucket when this creates it (3 on a cluster).
        #[arg(long, env = "JETGATE_REPLICAS", default_value_t = 1)]
        replicas: usize,
    },
    /// List the rules.
    List {
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Remove a rule.
    Remove {
        #[command(flatten)]
        nats: NatsArgs,
        name: String,
    },
}

async fn open(nats: &NatsArgs, replicas: usize) -> anyhow::Result<CredentialStore> {
    let client = nats.connect("jetgate-credentials").await?;
    Ok(CredentialStore::open(&async_nats::jetstream::new(client), replicas).await?)
}

pub async fn run(cmd: WebIdentityCmd) -> anyhow::Result<()> {
    match cmd {
        WebIdentityCmd::Add {
            nats,
            name,
            claims,
            policy,
            replicas,
        } => {
            let claims = claims
                .iter()
                .map(|c| ClaimMatch::parse(c))
                .collect::<Result<Vec<_>, _>>()?;
            let policy = policy.policy().unwrap_or_default();
            let rule = WebIdentityRule::new(&name, claims, policy).context("web-identity rule")?;
            open(&nats, replicas).await?.put_rule(&rule).await?;
            println!("added web-identity rule {name}");
        }
        WebIdentityCmd::List { nats } => {
            for r in open(&nats, 1).await?.load_rules().await? {
                let claims: Vec<String> = r
                    .claims
                    .iter()
                    .map(|c| format!("{}={}", c.claim, c.value))
                    .collect();
                println!(
                    "{}\t{}\t{}",
                    r.name,
                    claims.join(","),
                    serde_json::to_string(&r.policy).unwrap_or_else(|_| "?".into())
                );
            }
        }
        WebIdentityCmd::Remove { nats, name } => {
            if open(&nats, 1).await?.remove_rule(&name).await? {
                println!("removed web-identity rule {name}");
            } else {
                anyhow::bail!("no web-identity rule {name}");
            }
        }
    }
    Ok(())
}
