//! The two deployed NATS layouts, for tests that log in as each jetgate user: operator
//! mode from `jetgate nats bootstrap` (creds files) and the static users of
//! `deploy/nats/accounts.conf` (passwords). Both put the credential store in the AUTH
//! account and everything else in JETGATE.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{jetgate_bin, which, Proc, STARTUP_TIMEOUT};

/// How a user logs in.
#[derive(Clone, Debug)]
pub enum Login {
    Creds(PathBuf),
    Password { user: String, password: String },
}

impl Login {
    /// The `--nats-*` flags of a jetgate process logging in this way.
    pub fn flags(&self) -> Vec<String> {
        match self {
            Login::Creds(f) => vec!["--nats-creds".into(), f.display().to_string()],
            Login::Password { user, password } => vec![
                "--nats-user".into(),
                user.clone(),
                "--nats-password".into(),
                password.clone(),
            ],
        }
    }

    /// A raw client as this user, with the inbox prefix jetgate gives its processes.
    pub async fn connect(&self, url: &str, inbox: &str) -> async_nats::Client {
        let opts = match self {
            Login::Creds(f) => async_nats::ConnectOptions::with_credentials_file(f)
                .await
                .expect("read creds"),
            Login::Password { user, password } => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
        };
        opts.custom_inbox_prefix(inbox)
            .connect(url)
            .await
            .unwrap_or_else(|e| panic!("connect as {self:?}: {e}"))
    }
}

/// A nats-server running one of the layouts, and how each user logs in.
pub struct Layout {
    pub nats: Proc,
    pub url: String,
    logins: Vec<(&'static str, Login)>,
}

/// Every user of both layouts.
pub const USERS: &[&str] = &["edge", "auth", "listing", "data", "admin", "auth-admin"];

impl Layout {
    pub fn login(&self, user: &str) -> &Login {
        self.logins
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, l)| l)
            .unwrap_or_else(|| panic!("no user {user}"))
    }

    /// The inbox prefix jetgate's processes of this user connect with.
    pub fn inbox(user: &str) -> &'static str {
        match user {
            "edge" => "_INBOX_edge",
            "auth" => "_INBOX_auth",
            "listing" => "_INBOX_listing",
            "data" => "_INBOX_data",
            "authz" => "_INBOX_authz",
            _ => "_INBOX",
        }
    }

    pub async fn client(&self, user: &str) -> async_nats::Client {
        self.login(user).connect(&self.url, Self::inbox(user)).await
    }

    /// Operator mode: `jetgate nats bootstrap --out <dir>/keys`, nats-server on its
    /// server.conf.
    pub fn bootstrap(dir: &Path) -> Layout {
        Self::bootstrapped(dir, &[], USERS)
    }

    /// Operator mode with the auth callout (`bootstrap --auth-callout`): the users of
    /// [`Layout::bootstrap`] and `authz`; NATS clients log in with `keys/sentinel.creds`.
    pub fn bootstrap_callout(dir: &Path) -> Layout {
        let users: Vec<&'static str> = USERS.iter().copied().chain(["authz"]).collect();
        Self::bootstrapped(dir, &["--auth-callout"], &users)
    }

    fn bootstrapped(dir: &Path, args: &[&str], users: &[&'static str]) -> Layout {
        let keys = dir.join("keys");
        let mut cmd = Command::new(jetgate_bin());
        cmd.args(["nats", "bootstrap", "--out"])
            .arg(&keys)
            .args(args);
        let out = cmd.output().expect("run jetgate nats bootstrap");
        assert!(
            out.status.success(),
            "bootstrap: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (nats, url) = start_nats(dir, "keys/server.conf", &[]);
        let logins = users
            .iter()
            .map(|u| (*u, Login::Creds(keys.join(format!("{u}.creds")))))
            .collect();
        Layout { nats, url, logins }
    }

    /// Static users: deploy/nats/accounts.conf, passwords from the environment.
    pub fn accounts_conf(dir: &Path) -> Layout {
        Self::static_users(dir, "accounts.conf", &[])
    }

    /// deploy/nats/callout.conf: the static users plus the auth callout, with its
    /// issuer key made by `jetgate nats callout-key` in `dir/issuer.nk`. Start
    /// `jetgate authz` as user `authz` to answer it.
    pub fn callout(dir: &Path) -> Layout {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nats/callout.conf");
        std::fs::copy(&src, dir.join("callout.conf")).expect("copy callout.conf");
        let out = Command::new(jetgate_bin())
            .args(["nats", "callout-key", "--out"])
            .arg(dir.join("issuer.nk"))
            .output()
            .expect("run jetgate nats callout-key");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let issuer = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Self::static_users(
            dir,
            "callout.conf",
            &[("JETGATE_CALLOUT_ISSUER".into(), issuer)],
        )
    }

    /// nats-server on `include` (from deploy/nats), every user of accounts.conf with a
    /// random password.
    fn static_users(dir: &Path, include: &str, extra_env: &[(String, String)]) -> Layout {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nats/accounts.conf");
        std::fs::copy(&src, dir.join("accounts.conf")).expect("copy accounts.conf");
        let passwords: Vec<(&'static str, String, String)> = USERS
            .iter()
            .chain(&["authz", "sys"])
            .map(|u| {
                let var = format!("JETGATE_{}_PASSWORD", u.to_uppercase().replace('-', "_"));
                (*u, var, format!("{u}-{:08x}", rand::random::<u32>()))
            })
            .collect();
        let mut env: Vec<(String, String)> = passwords
            .iter()
            .map(|(_, var, pw)| (var.clone(), pw.clone()))
            .collect();
        env.extend(extra_env.iter().cloned());
        let (nats, url) = start_nats(dir, include, &env);
        let logins = passwords
            .into_iter()
            .filter(|(u, _, _)| *u != "sys")
            .map(|(u, _, password)| {
                (
                    u,
                    Login::Password {
                        user: u.to_string(),
                        password,
                    },
                )
            })
            .collect();
        Layout { nats, url, logins }
    }

    /// A jetgate subcommand as `user`, run to completion.
    pub fn jetgate_cmd(&self, user: &str, args: &[&str]) -> std::process::Output {
        Command::new(jetgate_bin())
            .args(args)
            .args(["--nats-url", &self.url])
            .args(self.login(user).flags())
            .env("JETGATE_CREDENTIALS_KEY", super::CREDENTIALS_KEY)
            .output()
            .expect("run jetgate")
    }

    /// A long-running jetgate process as `user`.
    pub fn jetgate(&self, name: &str, user: &str, args: &[&str], log: PathBuf) -> Proc {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--nats-url".into(), self.url.clone()]);
        a.extend(self.login(user).flags());
        Proc::spawn(
            name,
            &jetgate_bin(),
            &a,
            &[
                ("RUST_LOG", "info"),
                ("JETGATE_CREDENTIALS_KEY", super::CREDENTIALS_KEY),
            ],
            log,
        )
    }
}

pub fn bootstrap(out: &Path, force: bool) -> std::process::Output {
    let mut cmd = Command::new(jetgate_bin());
    cmd.args(["nats", "bootstrap", "--out"]).arg(out);
    if force {
        cmd.arg("--force");
    }
    cmd.output().expect("run jetgate nats bootstrap")
}

/// nats-server with JetStream in `dir/store` and `include` (relative to `dir`).
fn start_nats(dir: &Path, include: &str, env: &[(String, String)]) -> (Proc, String) {
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "jetstream {{ store_dir: \"{}\" }}\ninclude \"{include}\"\n",
            dir.join("store").display(),
        ),
    )
    .expect("write nats.conf");
    let bin = which("nats-server").expect("nats-server on PATH");
    let args: Vec<String> = vec![
        "-c".into(),
        conf.display().to_string(),
        "-a".into(),
        "127.0.0.1".into(),
        "-p".into(),
        "-1".into(),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = Proc::spawn("nats-server", &bin, &args, &env, dir.join("nats.log"));
    let hostport = p
        .wait_matching(STARTUP_TIMEOUT, |l| {
            l.split_once("Listening for client connections on ")
                .map(|(_, r)| r.trim().to_string())
        })
        .unwrap_or_else(|e| panic!("nats-server did not start: {e}\n{}", p.log_tail(40)));
    p.wait_matching(STARTUP_TIMEOUT, |l| {
        l.contains("Server is ready").then(String::new)
    })
    .unwrap_or_else(|e| panic!("nats-server not ready: {e}\n{}", p.log_tail(40)));
    (p, format!("nats://{hostport}"))
}

pub async fn next_message(
    sub: &mut async_nats::Subscriber,
    wait: Duration,
) -> Option<async_nats::Message> {
    use futures::StreamExt;
    tokio::time::timeout(wait, sub.next()).await.ok().flatten()
}

/// The reply to a request, or `None` when nobody answered within 2 s (a permission
/// check drops the request silently).
pub async fn reply(
    client: &async_nats::Client,
    subject: &str,
    payload: &str,
) -> Option<async_nats::Message> {
    let req = async_nats::Request::new()
        .payload(payload.to_string().into())
        .timeout(Some(Duration::from_secs(2)));
    client.send_request(subject.to_string(), req).await.ok()
}

/// True when a request is answered (as opposed to dropped by a permission check).
pub async fn answered(client: &async_nats::Client, subject: &str) -> bool {
    reply(client, subject, "").await.is_some()
}
