//! Issue #15: NATS clients log in through the auth callout (`jetgate authz`,
//! deploy/nats/callout.conf) with an S3 access key and secret, and get the key's S3
//! rights in NATS terms, nothing more. Every refusal is checked twice: the server
//! refuses (no reply, no delivery, a failed connect), and the stored state is
//! unchanged afterwards.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, object_store};
use common::{next_message, reply, Layout};
use tokio::io::AsyncReadExt;

const READER: &str = "CALLOUTREADER";
const READER_SECRET: &str = "calloutReaderSecret/0123456789";
const OWNER_KEY: &str = "CALLOUTOWNER";
const OWNER_SECRET: &str = "calloutOwnerSecret/0123456789";
const PREFIXED: &str = "CALLOUTPREFIX";
const ADMIN_KEY: &str = "CALLOUTADMIN";
const SECRET: &str = "calloutSecret/0123456789abcdef";
/// Buckets (S3 names need 3 characters at least, or S3 never sees them).
const A: &str = "callout-a";
const B: &str = "callout-b";
const C: &str = "callout-c";

fn ok(out: std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How a NATS client reaches the callout.
enum Mode {
    /// deploy/nats/callout.conf: user and password alone.
    ConfigFile,
    /// Operator mode: the bootstrap's bearer sentinel, user and password beside it.
    Operator { sentinel: PathBuf },
}

impl Mode {
    async fn options(&self) -> async_nats::ConnectOptions {
        match self {
            Mode::ConfigFile => async_nats::ConnectOptions::new(),
            Mode::Operator { sentinel } => {
                async_nats::ConnectOptions::with_credentials_file(sentinel)
                    .await
                    .expect("sentinel creds")
            }
        }
    }

    /// A NATS login with an S3 key, on the inbox prefix its JWT allows.
    async fn login(
        &self,
        url: &str,
        key: &str,
        secret: &str,
    ) -> Result<async_nats::Client, String> {
        self.options()
            .await
            .user_and_password(key.into(), secret.into())
            .custom_inbox_prefix(format!("_INBOX_{key}"))
            .connect(url)
            .await
            .map_err(|e| e.to_string())
    }
}

fn js(c: &async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(c.clone())
}

/// Reads as a native NATS client does (one consumer per read is the point here).
#[allow(clippy::disallowed_methods)]
async fn read(store: &object_store::ObjectStore, name: &str) -> Result<Vec<u8>, String> {
    let mut o = store.get(name).await.map_err(|e| e.to_string())?;
    let mut v = Vec::new();
    o.read_to_end(&mut v).await.map_err(|e| e.to_string())?;
    Ok(v)
}

/// The buckets as the gateway account's admin makes them, each holding one object `x`
/// (`object x of <bucket>`).
async fn buckets_with_x(
    admin: &jetstream::Context,
    buckets: &[&str],
) -> Vec<object_store::ObjectStore> {
    let mut stores = Vec::new();
    for b in buckets {
        let s = admin
            .create_object_store(object_store::Config {
                bucket: b.to_string(),
                ..Default::default()
            })
            .await
            .expect("create bucket");
        s.put("x", &mut format!("object x of {b}").as_bytes())
            .await
            .expect("put");
        stores.push(s);
    }
    stores
}

/// Starts `jetgate authz` with `args` (logging to `dir/authz.log`) and waits until it
/// serves.
fn start_authz(layout: &Layout, dir: &Path, args: &[&str]) -> common::Proc {
    let authz = layout.jetgate("authz", "authz", args, dir.join("authz.log"));
    authz
        .wait_matching(common::STARTUP_TIMEOUT, |l| {
            l.contains("auth callout serving").then(String::new)
        })
        .unwrap_or_else(|e| panic!("authz not ready: {e}\n{}", authz.log_tail(30)));
    authz
}

async fn names(store: &object_store::ObjectStore) -> Vec<String> {
    use futures::StreamExt;
    let mut l = store.list().await.expect("list");
    let mut v = Vec::new();
    while let Some(i) = l.next().await {
        v.push(i.expect("info").name);
    }
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_keys_log_in_to_nats_with_their_s3_rights() {
    let dir = common::temp_dir("callout-");
    let layout = Layout::callout(dir.path());
    let issuer = dir.path().join("issuer.nk").display().to_string();
    let authz = ["authz", "--issuer-seed-file", &issuer];
    s3_rights_over_nats(&layout, dir.path(), &authz, Mode::ConfigFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_keys_log_in_through_the_operator_mode_callout() {
    let dir = common::temp_dir("callout-op-");
    let layout = Layout::bootstrap_callout(dir.path());
    let keys = dir.path().join("keys");
    let seed = std::fs::read_to_string(keys.join("JETGATE.nk")).expect("account seed");
    let account = nkeys::KeyPair::from_seed(seed.trim())
        .expect("seed")
        .public_key();
    let file = |f: &str| keys.join(f).display().to_string();
    let (issuer, signer) = (file("AUTH-signing.nk"), file("JETGATE-callout-signing.nk"));
    let authz = [
        "authz",
        "--issuer-seed-file",
        &issuer,
        "--user-signer-seed-file",
        &signer,
        "--account",
        &account,
    ];
    let mode = Mode::Operator {
        sentinel: keys.join("sentinel.creds"),
    };
    s3_rights_over_nats(&layout, dir.path(), &authz, mode).await;
}

/// One scenario for both layouts: keys with read, owner, prefix and no policies log in
/// through `jetgate authz` started with `authz_args`.
async fn s3_rights_over_nats(layout: &Layout, dir: &Path, authz_args: &[&str], mode: Mode) {
    let add = |key: &str, secret: &str, extra: &[&str]| {
        let mut args = vec![
            "credentials",
            "add",
            "--access-key",
            key,
            "--secret-key",
            secret,
        ];
        args.extend_from_slice(extra);
        ok(layout.jetgate_cmd("auth-admin", &args), "credentials add");
    };
    // Read and list: async-nats reads objects through unnamed consumers, which NATS
    // cannot confine to chunks (grants.rs).
    add(
        READER,
        READER_SECRET,
        &["--buckets", A, "--operations", "read,list"],
    );
    add(
        OWNER_KEY,
        OWNER_SECRET,
        &[
            "--buckets",
            "nothing-here",
            "--operations",
            "read,list",
            "--owner-id",
            "team-o",
        ],
    );
    add(PREFIXED, SECRET, &["--buckets", A, "--prefixes", "logs/"]);
    add(ADMIN_KEY, SECRET, &[]);

    // Buckets as the gateway account's admin makes them; C owned by team-o.
    let admin = js(&layout.client("admin").await);
    let stores = buckets_with_x(&admin, &[A, B, C]).await;
    let mut c = admin
        .get_stream(format!("OBJ_{C}"))
        .await
        .expect("stream c");
    let mut config = c.info().await.expect("info").config.clone();
    config.metadata.insert(
        "jetgate.owner".into(),
        r#"{"id":"team-o","display_name":"Team O"}"#.into(),
    );
    admin.update_stream(config).await.expect("owner recorded");

    let mut args = authz_args.to_vec();
    args.extend(["--jwt-ttl-secs", "60"]);
    let authz = start_authz(layout, dir, &args);

    // The reader: objects of `a` through the object-store API, and nothing else.
    let reader = mode
        .login(&layout.url, READER, READER_SECRET)
        .await
        .unwrap_or_else(|e| panic!("reader login: {e}\n{}", authz.log_tail(30)));
    let rjs = js(&reader);
    let a = rjs.get_object_store(A).await.expect("reader opens a");
    assert_eq!(
        read(&a, "x").await.expect("read a/x"),
        format!("object x of {A}").as_bytes()
    );
    assert!(
        a.put("planted", &mut &b"w"[..]).await.is_err(),
        "a read-only login wrote to a"
    );
    assert!(
        a.delete("x").await.is_err(),
        "a read-only login deleted from a"
    );
    assert!(
        rjs.get_object_store(B).await.is_err(),
        "the reader opened b"
    );
    // b's metadata by direct get, without the object-store API.
    assert!(reply(
        &reader,
        &format!("$JS.API.DIRECT.GET.OBJ_{B}.$O.{B}.M.eA=="),
        ""
    )
    .await
    .is_none());
    // The credential store and jetgate's own traffic.
    for s in [
        "$JS.API.STREAM.INFO.KV_jetgate-credentials".to_string(),
        "$JS.API.STREAM.NAMES".into(),
        "$JS.API.STREAM.CREATE.OBJ_evil".into(),
        format!("$JS.API.STREAM.PURGE.OBJ_{A}"),
        "jetgate.v1.object.get".into(),
    ] {
        assert!(reply(&reader, &s, "{}").await.is_none(), "{s} answered");
    }
    let spy = reader.subscribe("_INBOX_edge.>").await.expect("subscribe");
    let mut spy = spy;
    let admin_client = layout.client("admin").await;
    admin_client
        .publish("_INBOX_edge.x", "private".into())
        .await
        .expect("publish");
    admin_client.flush().await.expect("flush");
    assert!(
        next_message(&mut spy, Duration::from_millis(500))
            .await
            .is_none(),
        "the reader read the edge's inbox"
    );
    // Nothing changed: a has x only, with its bytes; b and c untouched.
    assert_eq!(names(&stores[0]).await, vec!["x"]);
    assert_eq!(
        read(&stores[0], "x").await.expect("a/x"),
        format!("object x of {A}").as_bytes()
    );
    assert_eq!(names(&stores[1]).await, vec!["x"]);

    // The owner's key: its own bucket c (read and list), not a.
    let owner = mode
        .login(&layout.url, OWNER_KEY, OWNER_SECRET)
        .await
        .expect("owner login");
    let ojs = js(&owner);
    let c_store = ojs.get_object_store(C).await.expect("owner opens c");
    assert_eq!(
        read(&c_store, "x").await.expect("c/x"),
        format!("object x of {C}").as_bytes()
    );
    assert_eq!(names(&c_store).await, vec!["x"]);
    assert!(ojs.get_object_store(A).await.is_err(), "owner opened a");

    // The admin key: every bucket, read and write.
    let root = mode
        .login(&layout.url, ADMIN_KEY, SECRET)
        .await
        .expect("admin key login");
    let b = js(&root).get_object_store(B).await.expect("admin opens b");
    b.put("y", &mut &b"written natively"[..])
        .await
        .expect("admin key writes b");
    assert_eq!(
        read(&stores[1], "y").await.expect("b/y"),
        b"written natively"
    );

    // Refused logins.
    for (key, secret, why) in [
        (READER, "wrong-secret-0123456789", "wrong secret"),
        ("NOSUCHKEY", READER_SECRET, "unknown key"),
        (PREFIXED, SECRET, "prefix policy NATS cannot express"),
    ] {
        assert!(
            mode.login(&layout.url, key, secret).await.is_err(),
            "{why}: logged in"
        );
    }
    let token = mode
        .options()
        .await
        .token("not-an-oidc-token".into())
        .connect(&layout.url)
        .await;
    assert!(token.is_err(), "a token login without OIDC was let in");

    // A removed key stops working for new connections at once.
    ok(
        layout.jetgate_cmd(
            "auth-admin",
            &["credentials", "remove", "--access-key", READER],
        ),
        "credentials remove",
    );
    let removed = Instant::now();
    loop {
        match mode.login(&layout.url, READER, READER_SECRET).await {
            Err(_) => break,
            Ok(_) if removed.elapsed() < Duration::from_secs(2) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Ok(_) => panic!("a removed key still logs in after 2 s"),
        }
    }
    let log = std::fs::read_to_string(dir.join("authz.log")).unwrap_or_default();
    assert!(log.contains("NATS login denied"), "denials not logged");
    assert!(!log.contains(READER_SECRET), "a secret reached the log");
}

/// Token logins: an OIDC token (here a Kubernetes-style service-account token signed by
/// the test's own key, read from a JWKS file) logs in with the policy of the
/// web-identity rule it maps to, as STS maps it, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_tokens_log_in_with_their_rules_policy() {
    const ISSUER: &str = "https://oidc.callout.test";
    const SUB: &str = "system:serviceaccount:team-a:builder";
    let dir = common::temp_dir("callout-oidc-");
    let layout = Layout::callout(dir.path());
    let (key, jwk) = common::ec_key();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::json!({"keys": [jwk]}).to_string()).expect("jwks");
    ok(
        layout.jetgate_cmd(
            "auth-admin",
            &[
                "credentials",
                "web-identity",
                "add",
                "team-a",
                "--claim",
                "sub=system:serviceaccount:team-a:*",
                "--buckets",
                A,
                "--operations",
                "read,list",
            ],
        ),
        "web-identity add",
    );
    let admin = js(&layout.client("admin").await);
    let stores = buckets_with_x(&admin, &[A, B]).await;
    let issuer_seed = dir.path().join("issuer.nk").display().to_string();
    let jwks_file = jwks.display().to_string();
    let authz = start_authz(
        &layout,
        dir.path(),
        &[
            "authz",
            "--issuer-seed-file",
            &issuer_seed,
            "--oidc-issuer",
            ISSUER,
            "--oidc-jwks-file",
            &jwks_file,
        ],
    );
    let now = common::unix_now();
    let claims = |sub: &str, aud: &str| serde_json::json!({"iss": ISSUER, "aud": [aud], "sub": sub, "exp": now + 600, "iat": now});
    let inbox = format!(
        "_INBOX_{}",
        jetgate_actors::auth::oidc::owner_id(ISSUER, SUB)
    );
    let connect = |token: String| {
        let inbox = inbox.clone();
        let url = layout.url.clone();
        async move {
            async_nats::ConnectOptions::with_token(token)
                .custom_inbox_prefix(inbox)
                .connect(url)
                .await
        }
    };
    let client = connect(common::sign_es256(&key, &claims(SUB, "jetgate")))
        .await
        .unwrap_or_else(|e| panic!("token login: {e}\n{}", authz.log_tail(30)));
    let tjs = js(&client);
    let a = tjs.get_object_store(A).await.expect("token opens A");
    assert_eq!(
        read(&a, "x").await.expect("A/x"),
        format!("object x of {A}").as_bytes()
    );
    assert!(a.put("planted", &mut &b"w"[..]).await.is_err(), "wrote A");
    assert!(tjs.get_object_store(B).await.is_err(), "opened B");
    assert_eq!(names(&stores[0]).await, vec!["x"]);

    let (other_key, _) = common::ec_key();
    for (token, why) in [
        (
            common::sign_es256(&key, &claims(SUB, "someone-else")),
            "wrong audience",
        ),
        (
            common::sign_es256(&other_key, &claims(SUB, "jetgate")),
            "another key",
        ),
        (
            common::sign_es256(&key, &claims("system:serviceaccount:team-b:x", "jetgate")),
            "no rule",
        ),
        (
            common::sign_es256(
                &key,
                &serde_json::json!({"iss": ISSUER, "aud": ["jetgate"], "sub": SUB, "exp": now - 120}),
            ),
            "expired",
        ),
    ] {
        assert!(connect(token).await.is_err(), "{why}: logged in");
    }
}
