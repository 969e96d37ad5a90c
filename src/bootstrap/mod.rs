//! `jetgate nats bootstrap`: mints a NATS operator, its accounts and one user per kind of
//! jetgate process (edge, listing, data, admin in the gateway account; auth, auth-admin
//! in the AUTH account; the table is in `users.rs`), as JWTs signed with nkeys, and writes the creds files plus a
//! nats-server config fragment (operator mode, MEMORY resolver).
//!
//! The permissions are those of `deploy/nats/operator/README.md` (and of the plain-user
//! `deploy/nats/accounts.conf`). The credential store lives in the AUTH account's
//! JetStream, so no user of the gateway account can reach it by any JetStream API form,
//! mirror, source or republish: accounts, not a deny list, are the boundary. AUTH
//! exports the auth service (`jetgate.v1.auth.>`) and its discovery (`$SRV.>`); the
//! gateway account imports both, so the edge and data workers call auth as before.
//! The JWTs are written by `jetgate_actors::auth::nats_jwt`, which the auth callout
//! shares.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use jetgate_actors::auth::nats_jwt;
use nkeys::KeyPair;
use serde_json::{json, Value};

mod users;

use users::{users, Home, AUTH_EXPORTS, GATEWAY_JS_IMPORTS};

#[derive(Args)]
pub struct BootstrapArgs {
    /// Folder for the keys, JWTs, creds files and server.conf (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite keys already in --out (every existing creds file stops working).
    #[arg(long)]
    pub force: bool,
    /// Operator name written into the operator JWT.
    #[arg(long, default_value = "jetgate")]
    pub operator_name: String,
    /// Name of the gateway account (edge, data workers, admin).
    #[arg(long, default_value = "JETGATE")]
    pub account_name: String,
    /// Name of the account that holds the credential store (auth workers, auth-admin).
    #[arg(long, default_value = "AUTH")]
    pub auth_account_name: String,
    /// Also set up the NATS auth callout (`jetgate authz`): NATS clients log in with an
    /// S3 key through `sentinel.creds`, and `authz.creds` serves the callout.
    #[arg(long)]
    pub auth_callout: bool,
}

/// Files whose presence means "this folder already holds a deployment's keys".
const KEY_FILES: &[&str] = &[
    "operator.nk",
    "operator-signing.nk",
    "server.conf",
    "edge.creds",
];

pub fn run(a: &BootstrapArgs) -> anyhow::Result<()> {
    if !a.force {
        if let Some(f) = KEY_FILES.iter().find(|f| a.out.join(f).exists()) {
            anyhow::bail!(
                "{} already holds NATS keys ({f}); pass --force to replace them (existing creds stop working)",
                a.out.display()
            );
        }
    }
    create_private_dir(&a.out)?;
    let minted = mint(
        &a.operator_name,
        &a.account_name,
        &a.auth_account_name,
        a.auth_callout,
    )?;
    for (name, contents) in &minted.files {
        write_private(&a.out.join(name), contents)?;
    }
    println!("operator: {}", minted.operator);
    println!("system account (SYS): {}", minted.system_account);
    println!("gateway account ({}): {}", a.account_name, minted.account);
    println!(
        "credential account ({}): {}",
        a.auth_account_name, minted.auth_account
    );
    for u in specs(a.auth_callout) {
        let account = match u.home {
            Home::Gateway => &a.account_name,
            Home::Auth => &a.auth_account_name,
        };
        println!(
            "creds ({account}): {}",
            a.out.join(format!("{}.creds", u.name)).display()
        );
    }
    println!(
        "server config: include \"{}\" from nats-server.conf",
        a.out.join("server.conf").display()
    );
    if a.auth_callout {
        println!(
            "auth callout: jetgate authz --nats-creds {} --issuer-seed-file {} --user-signer-seed-file {} --account {}",
            a.out.join("authz.creds").display(),
            a.out.join(format!("{}-signing.nk", a.auth_account_name)).display(),
            a.out.join(format!("{}-callout-signing.nk", a.account_name)).display(),
            minted.account,
        );
    }
    Ok(())
}

/// Everything bootstrap produces, by file name.
pub struct Minted {
    pub operator: String,
    pub system_account: String,
    pub account: String,
    pub auth_account: String,
    pub files: Vec<(String, String)>,
}

/// Every user bootstrap mints: the per-role table, and the callout's users with it.
fn specs(callout: bool) -> Vec<users::UserSpec> {
    let mut specs = users();
    if callout {
        specs.extend(users::callout_users());
    }
    specs
}

pub fn mint(
    operator_name: &str,
    account_name: &str,
    auth_account_name: &str,
    callout: bool,
) -> anyhow::Result<Minted> {
    anyhow::ensure!(
        account_name != auth_account_name,
        "the gateway and credential accounts need different names"
    );
    let operator = KeyPair::new_operator();
    let operator_sk = KeyPair::new_operator();
    let sys = KeyPair::new_account();
    let sys_sk = KeyPair::new_account();
    let acct = KeyPair::new_account();
    let acct_sk = KeyPair::new_account();
    let auth = KeyPair::new_account();
    let auth_sk = KeyPair::new_account();
    // The callout signs its users with a key of their own, so it can be revoked alone.
    let callout_sk = KeyPair::new_account();
    let user_keys: Vec<(users::UserSpec, KeyPair)> = specs(callout)
        .into_iter()
        .map(|u| (u, KeyPair::new_user()))
        .collect();

    let operator_jwt = encode_jwt(
        &operator,
        &operator.public_key(),
        operator_name,
        json!({
            "signing_keys": [operator_sk.public_key()],
            "system_account": sys.public_key(),
            // Identity keys stay offline: accounts must be signed by a signing key.
            "strict_signing_key_usage": true,
            "type": "operator",
            "version": 2,
        }),
    )?;
    let sys_jwt = encode_jwt(
        &operator_sk,
        &sys.public_key(),
        "SYS",
        account_claims(&sys_sk, false),
    )?;
    let mut acct_claims = account_claims(&acct_sk, true);
    acct_claims["imports"] = Value::Array(
        AUTH_EXPORTS
            .iter()
            .map(|(subject, _)| {
                json!({
                    "name": format!("{auth_account_name} {subject}"),
                    "subject": subject,
                    "account": auth.public_key(),
                    "type": "service",
                })
            })
            .collect(),
    );
    if callout {
        acct_claims["signing_keys"]
            .as_array_mut()
            .context("signing keys")?
            .push(Value::String(callout_sk.public_key()));
        acct_claims["exports"] = Value::Array(
            GATEWAY_JS_IMPORTS
                .iter()
                .map(|(subject, _)| json!({"name": subject, "subject": subject, "type": "service"}))
                .collect(),
        );
    }
    let acct_jwt = encode_jwt(&operator_sk, &acct.public_key(), account_name, acct_claims)?;
    let mut auth_claims = account_claims(&auth_sk, true);
    auth_claims["exports"] = Value::Array(
        AUTH_EXPORTS
            .iter()
            .map(|(subject, response)| {
                json!({
                    "name": subject,
                    "subject": subject,
                    "type": "service",
                    "response_type": response,
                })
            })
            .collect(),
    );
    if callout {
        auth_claims["imports"] = Value::Array(
            GATEWAY_JS_IMPORTS
                .iter()
                .map(|(subject, local)| {
                    json!({
                        "name": format!("{account_name} {subject}"),
                        "subject": subject,
                        "local_subject": local,
                        "account": acct.public_key(),
                        "type": "service",
                    })
                })
                .collect(),
        );
        // Every AUTH user but the sentinel logs in as before; everyone else is asked
        // about, and may be placed in the gateway account only.
        auth_claims["authorization"] = json!({
            "auth_users": user_keys
                .iter()
                .filter(|(u, _)| u.home == Home::Auth && u.name != "sentinel")
                .map(|(_, k)| k.public_key())
                .collect::<Vec<_>>(),
            "allowed_accounts": [acct.public_key()],
        });
    }
    let auth_jwt = encode_jwt(
        &operator_sk,
        &auth.public_key(),
        auth_account_name,
        auth_claims,
    )?;

    let mut files = vec![
        ("operator.nk".to_string(), seed(&operator)?),
        ("operator-signing.nk".to_string(), seed(&operator_sk)?),
        ("SYS.nk".to_string(), seed(&sys)?),
        ("SYS-signing.nk".to_string(), seed(&sys_sk)?),
        (format!("{account_name}.nk"), seed(&acct)?),
        (format!("{account_name}-signing.nk"), seed(&acct_sk)?),
        (format!("{auth_account_name}.nk"), seed(&auth)?),
        (format!("{auth_account_name}-signing.nk"), seed(&auth_sk)?),
        ("operator.jwt".to_string(), operator_jwt.clone()),
        ("SYS.jwt".to_string(), sys_jwt.clone()),
        (format!("{account_name}.jwt"), acct_jwt.clone()),
        (format!("{auth_account_name}.jwt"), auth_jwt.clone()),
    ];
    if callout {
        files.push((
            format!("{account_name}-callout-signing.nk"),
            seed(&callout_sk)?,
        ));
    }
    for (u, user) in user_keys {
        let (account, signing) = match u.home {
            Home::Gateway => (&acct, &acct_sk),
            Home::Auth => (&auth, &auth_sk),
        };
        let jwt = encode_jwt(
            signing,
            &user.public_key(),
            u.name,
            user_claims(&account.public_key(), u.permissions),
        )?;
        files.push((format!("{}.creds", u.name), creds_file(&jwt, &seed(&user)?)));
    }
    // The system user, for `nats server ...` monitoring requests.
    let sys_user = KeyPair::new_user();
    let sys_user_jwt = encode_jwt(
        &sys_sk,
        &sys_user.public_key(),
        "sys",
        user_claims(&sys.public_key(), None),
    )?;
    files.push((
        "sys.creds".to_string(),
        creds_file(&sys_user_jwt, &seed(&sys_user)?),
    ));
    files.push((
        "server.conf".to_string(),
        server_conf(
            &operator_jwt,
            &sys.public_key(),
            &[
                (&sys.public_key(), &sys_jwt),
                (&acct.public_key(), &acct_jwt),
                (&auth.public_key(), &auth_jwt),
            ],
        ),
    ));
    Ok(Minted {
        operator: operator.public_key(),
        system_account: sys.public_key(),
        account: acct.public_key(),
        auth_account: auth.public_key(),
        files,
    })
}

fn seed(kp: &KeyPair) -> anyhow::Result<String> {
    kp.seed()
        .map_err(|e| anyhow::anyhow!("reading nkey seed: {e}"))
}

fn account_claims(signing_key: &KeyPair, jetstream: bool) -> Value {
    // -1 is "unlimited" in NATS JWT limits; JetStream is on when a storage limit is not 0.
    let js = if jetstream { -1 } else { 0 };
    json!({
        "limits": {
            "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
            "wildcards": true, "conn": -1, "leaf": -1,
            "mem_storage": js, "disk_storage": js, "streams": js, "consumer": js,
        },
        "signing_keys": [signing_key.public_key()],
        "default_permissions": {"pub": {}, "sub": {}},
        "type": "account",
        "version": 2,
    })
}

fn user_claims(issuer_account: &str, permissions: Option<Value>) -> Value {
    let mut nats = json!({
        "subs": -1, "data": -1, "payload": -1,
        // Signed by the account's signing key, so the account is named explicitly.
        "issuer_account": issuer_account,
        "type": "user",
        "version": 2,
    });
    if let (Some(Value::Object(p)), Value::Object(n)) = (permissions, &mut nats) {
        n.extend(p);
    }
    nats
}

/// A JWT without audience or expiry: bootstrap's keys live until re-minted.
fn encode_jwt(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> anyhow::Result<String> {
    Ok(nats_jwt::encode(
        issuer,
        nats_jwt::Claims {
            subject,
            name,
            audience: None,
            expires: None,
            nats,
        },
    )?)
}

/// The decorated creds format that nats-server's tools and every NATS client read.
fn creds_file(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

fn server_conf(operator_jwt: &str, system_account: &str, accounts: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "# Generated by `jetgate nats bootstrap`: operator mode with the accounts preloaded.\n\
         # Include it from the nats-server config (same file on every cluster node).\n\
         # Account JWTs change only by re-running bootstrap (MEMORY resolver: no `nsc push`).\n",
    );
    s.push_str(&format!("operator: \"{operator_jwt}\"\n"));
    s.push_str(&format!("system_account: {system_account}\n"));
    s.push_str("resolver: MEMORY\nresolver_preload: {\n");
    for (pk, jwt) in accounts {
        s.push_str(&format!("  {pk}: \"{jwt}\"\n"));
    }
    s.push_str("}\n");
    s
}

/// `jetgate nats callout-key`: a new account key for the auth callout's signatures
/// (config-file servers; operator mode signs with the gateway account's key instead).
pub fn callout_key(out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !out.exists(),
        "{} exists; remove it first (logins signed by its key stop working)",
        out.display()
    );
    let kp = KeyPair::new_account();
    write_private(out, &format!("{}\n", seed(&kp)?))?;
    println!("{}", kp.public_key());
    Ok(())
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
}

/// Writes a file only its owner can read (seeds are secrets), replacing any old one.
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let _ = fs::remove_file(path);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn decode_part(p: &str) -> Value {
        let raw = URL_SAFE_NO_PAD.decode(p).expect("base64url part");
        serde_json::from_slice(&raw).expect("json part")
    }

    #[test]
    fn mint_writes_creds_and_config() {
        let m = mint("op", "JETGATE", "AUTH", false).expect("mint");
        let file = |n: &str| {
            m.files
                .iter()
                .find(|(f, _)| f == n)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| panic!("no {n}"))
        };
        let conf = file("server.conf");
        assert!(conf.contains(&format!("system_account: {}", m.system_account)));
        assert!(conf.contains(&m.account));
        let creds = file("edge.creds");
        assert!(creds.contains("BEGIN NATS USER JWT") && creds.contains("\nSU"));
        let user_claims = decode_part(
            creds
                .lines()
                .nth(1)
                .and_then(|l| l.split('.').nth(1))
                .expect("jwt line"),
        );
        assert_eq!(user_claims["nats"]["issuer_account"], m.account);
        assert_eq!(user_claims["nats"]["type"], "user");

        // The credential store's users live in the other account, and the gateway
        // account reaches auth only through the service imports.
        let issuer = |f: &str| {
            let c = file(f);
            decode_part(
                c.lines()
                    .nth(1)
                    .and_then(|l| l.split('.').nth(1))
                    .expect("jwt line"),
            )["nats"]["issuer_account"]
                .clone()
        };
        for (f, acct) in [
            ("auth.creds", &m.auth_account),
            ("auth-admin.creds", &m.auth_account),
            ("listing.creds", &m.account),
            ("data.creds", &m.account),
            ("admin.creds", &m.account),
        ] {
            assert_eq!(issuer(f), Value::String(acct.clone()), "{f}");
        }
        assert_ne!(m.account, m.auth_account);
        let claims =
            |f: &str| decode_part(file(f).split('.').nth(1).expect("claims part"))["nats"].clone();
        let gw = claims("JETGATE.jwt");
        let imports = gw["imports"].as_array().expect("imports");
        assert_eq!(imports.len(), 2);
        for i in imports {
            assert_eq!(i["account"], m.auth_account.as_str());
            assert_eq!(i["type"], "service");
        }
        assert!(
            gw.get("exports").is_none(),
            "the gateway account exports nothing"
        );
        let auth = claims("AUTH.jwt");
        let exports: Vec<&str> = auth["exports"]
            .as_array()
            .expect("exports")
            .iter()
            .filter_map(|e| e["subject"].as_str())
            .collect();
        assert_eq!(exports, ["jetgate.v1.auth.>", "$SRV.>"]);
        assert!(auth.get("imports").is_none(), "AUTH imports nothing");
        assert!(mint("op", "X", "X", false).is_err());
    }
}
