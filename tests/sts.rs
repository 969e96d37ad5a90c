//! OIDC web identity and STS AssumeRoleWithWebIdentity end to end: this test is the
//! OIDC issuer (its own P-256 key, a discovery document and JWKS served on a loopback
//! port), the gateway is started with `--oidc-issuer` pointing there, a web-identity
//! rule is added with the CLI, and boto3 (tests/py/test_sts.py) exchanges tokens for
//! temporary credentials and uses them. Afterwards the stored state is checked: nothing
//! landed outside the rule, and the session records are sealed.

mod common;

use std::ffi::OsStr;
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use common::{credential_kv, ec_key, jetgate_bin, run_python_suite, Gateway, GatewayOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const AUD: &str = "jetgate";
const SUB: &str = "system:serviceaccount:team-a:builder";

struct Issuer {
    url: String,
    key: EncodingKey,
    jwk: Value,
}

/// Serves `/.well-known/openid-configuration` and `/jwks` on 127.0.0.1.
async fn start_issuer() -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (key, jwk) = ec_key();
    let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")});
    let jwks = json!({"keys": [jwk.clone()]});
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || async move { axum::Json(jwks) }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Issuer { url, key, jwk }
}

use common::unix_now as now;

impl Issuer {
    fn claims(&self) -> Value {
        json!({"iss": self.url, "aud": [AUD], "sub": SUB, "exp": now() + 3600, "iat": now()})
    }

    fn sign_with(&self, key: &EncodingKey, claims: &Value) -> String {
        common::sign_es256(key, claims)
    }

    fn sign(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut c = self.claims();
        edit(&mut c);
        self.sign_with(&self.key, &c)
    }

    /// Every token the Python suite uses, by name.
    fn tokens(&self) -> Vec<(String, String)> {
        let (other_key, _) = ec_key();
        let none = format!(
            "{}.{}.",
            B64URL.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
            B64URL.encode(self.claims().to_string())
        );
        // HS256 keyed with the public key's bytes (the JWK's x coordinate).
        let n = B64URL
            .decode(self.jwk["x"].as_str().expect("x"))
            .expect("x coordinate");
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some("k1".into());
        let hs256 = jsonwebtoken::encode(
            &hs,
            &self.claims(),
            &EncodingKey::from_secret(&n).expect("hmac key"),
        )
        .expect("hs256");
        vec![
            ("good".into(), self.sign(|_| {})),
            ("short".into(), self.sign(|c| c["exp"] = json!(now() + 25))),
            (
                "expired".into(),
                self.sign(|c| c["exp"] = json!(now() - 300)),
            ),
            (
                "wrong_aud".into(),
                self.sign(|c| c["aud"] = json!("someone-else")),
            ),
            (
                "wrong_iss".into(),
                self.sign(|c| c["iss"] = json!("http://127.0.0.1:1")),
            ),
            (
                "other_key".into(),
                self.sign_with(&other_key, &self.claims()),
            ),
            ("alg_none".into(), none),
            ("hs256".into(), hs256),
            (
                "unmapped".into(),
                self.sign(|c| c["sub"] = json!("user:alice")),
            ),
        ]
    }
}

fn web_identity(g: &Gateway, args: &[&str]) -> String {
    common::succeeded(
        Command::new(jetgate_bin())
            .args(["credentials", "web-identity"])
            .args(&args[..1])
            .args(["--nats-url", g.nats.url()])
            .args(&args[1..])
            .output()
            .expect("run jetgate credentials web-identity"),
    )
}

#[tokio::test]
async fn boto3_assume_role_with_web_identity() {
    let issuer = start_issuer().await;
    let g = Gateway::start(GatewayOptions {
        env: vec![
            ("JETGATE_OIDC_ISSUER".into(), issuer.url.clone()),
            ("JETGATE_OIDC_AUDIENCE".into(), AUD.into()),
        ],
        ..Default::default()
    })
    .await;
    let root = g.client();
    let allowed = common::unique_bucket("team-a");
    let other = common::unique_bucket("other");
    for b in [&allowed, &other] {
        root.create_bucket()
            .bucket(b)
            .send()
            .await
            .expect("create bucket");
    }
    root.put_object()
        .bucket(&other)
        .key("seed.txt")
        .body(b"seed".to_vec().into())
        .send()
        .await
        .expect("seed");
    web_identity(
        &g,
        &[
            "add",
            "team-a",
            "--claim",
            "sub=system:serviceaccount:team-a:*",
            "--buckets",
            "team-a-*",
            "--operations",
            "read,write,list",
        ],
    );
    let listed = web_identity(&g, &["list"]);
    assert!(
        listed.contains("team-a\tsub=system:serviceaccount:team-a:*"),
        "{listed}"
    );
    // An unrestricted rule (it would hand out admin keys) is refused by the CLI.
    let refused = Command::new(jetgate_bin())
        .args([
            "credentials",
            "web-identity",
            "add",
            "admin",
            "--nats-url",
            g.nats.url(),
        ])
        .args(["--claim", "sub=*"])
        .output()
        .expect("run");
    assert!(!refused.status.success(), "unrestricted rule accepted");

    let tokens = issuer.tokens();
    let mut env: Vec<(String, String)> = tokens
        .into_iter()
        .map(|(k, v)| (format!("STS_TOKEN_{}", k.to_uppercase()), v))
        .collect();
    env.push(("STS_ALLOWED_BUCKET".into(), allowed.clone()));
    env.push(("STS_OTHER_BUCKET".into(), other.clone()));
    let env_ref: Vec<(&str, &OsStr)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), OsStr::new(v.as_str())))
        .collect();
    let stdout = run_python_suite(&g, "test_sts.py", "STS suite", &env_ref).await;
    assert!(stdout.contains("sts checks passed"), "suite did not finish");

    // Nothing was stored outside the rule.
    let listing = root
        .list_objects_v2()
        .bucket(&other)
        .send()
        .await
        .expect("list other");
    let keys: Vec<&str> = listing.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["seed.txt"], "a refused write left something behind");
    // The sessions are sealed records under sts.<access key>, secrets and token unseen.
    let kv = credential_kv(&g).await;
    let session = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SESSION "))
        .expect("session line");
    let mut parts = session.split(' ');
    let (ak, secret, token) = (
        parts.next().expect("ak"),
        parts.next().expect("secret"),
        parts.next().expect("token"),
    );
    let raw = kv
        .get(format!("sts.{ak}"))
        .await
        .expect("kv get")
        .expect("session record");
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains(secret) && !text.contains(token), "{text}");
    assert!(text.contains("\"expires_ms\""), "{text}");
    assert!(
        kv.get(ak).await.expect("kv get").is_none(),
        "stored as a long-term key"
    );
    // The session's owner is derived from iss+sub, not a long-term key's.
    let owner = jetgate_actors::auth::oidc::owner_id(&issuer.url, SUB);
    assert!(text.contains(&owner), "{text}");
}
