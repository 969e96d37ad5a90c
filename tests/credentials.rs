//! Contract 4, the credential store: secrets are sealed at rest (the KV value never holds
//! them, a wrong key fails closed), per-key policies answer AccessDenied, and rotation
//! keeps the old secret valid until it is retired. Split-mode gateway, real aws-sdk-s3.

mod common;

use std::process::Command;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{jetgate_bin, Gateway, GatewayOptions, Proc, CREDENTIALS_KEY, SECRET_KEY};

const OTHER_KEY: &str = "YW5vdGhlci1jcmVkZW50aWFscy1rZXktMzJieXRlcyE=";

/// Runs `jetgate credentials ...` against the gateway's NATS with `key`.
fn credentials(g: &Gateway, key: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(jetgate_bin());
    cmd.arg("credentials")
        .arg(args[0])
        .args(["--nats-url", g.nats.url()])
        .args(&args[1..])
        .env_remove("JETGATE_CREDENTIALS_KEY");
    if let Some(k) = key {
        cmd.env("JETGATE_CREDENTIALS_KEY", k);
    }
    cmd.output().expect("run jetgate credentials")
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn code<T, E: aws_sdk_s3::error::ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(e) => e.code().unwrap_or("<no code>").to_string(),
    }
}

async fn raw_record(g: &Gateway, access_key: &str) -> Vec<u8> {
    let kv = g
        .nats
        .jetstream()
        .await
        .get_key_value("jetgate-credentials")
        .await
        .expect("credential bucket");
    kv.get(access_key)
        .await
        .expect("kv get")
        .expect("record")
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_sealed_policies_and_rotation() {
    let mut g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;

    // --- Encryption at rest -------------------------------------------------------
    let raw = raw_record(&g, common::ACCESS_KEY).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("\"format\":2"), "{text}");
    assert!(!text.contains(SECRET_KEY), "secret in the KV value: {text}");
    // `add` without the key refuses; nothing is written.
    let out = credentials(
        &g,
        None,
        &[
            "add",
            "--access-key",
            "NOKEYADD",
            "--secret-key",
            "whatever-secret-1",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("credentials key"));
    // Listing needs no key and shows the record as encrypted.
    let listed = ok(credentials(&g, None, &["list"]));
    assert!(listed.contains(common::ACCESS_KEY) && listed.contains("encrypted"));
    assert!(!listed.contains("NOKEYADD"));

    // A plaintext format-1 record (older versions) is still served.
    let kv = g
        .nats
        .jetstream()
        .await
        .get_key_value("jetgate-credentials")
        .await
        .expect("bucket");
    let legacy_secret = "legacyPlainSecret0123456789";
    kv.put(
        "LEGACYKEY",
        format!(
            r#"{{"format":1,"access_key":"LEGACYKEY","secret_key":"{legacy_secret}","owner_id":"legacy","display_name":"legacy"}}"#
        )
        .into(),
    )
    .await
    .expect("put legacy");
    let legacy = g.client_with("LEGACYKEY", legacy_secret, |b| b);
    let bucket = g.bucket("sealed").await;
    legacy
        .put_object()
        .bucket(&bucket)
        .key("legacy.txt")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("format-1 credential still works");

    // --- Policies -----------------------------------------------------------------
    let other = g.bucket("other").await;
    ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &[
            "add",
            "--access-key",
            "LIMITEDKEY",
            "--secret-key",
            "limitedSecret0123456789",
            "--buckets",
            &bucket,
            "--prefixes",
            "alice/",
            "--operations",
            "read,write,list",
        ],
    ));
    let limited = g.client_with("LIMITEDKEY", "limitedSecret0123456789", |b| b);
    // Propagation to the auth worker's cache goes through a KV watch.
    let mut tries = 0;
    while code(limited.list_buckets().send().await) != "OK" {
        tries += 1;
        assert!(tries < 100, "limited key never became valid");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let put = |c: &aws_sdk_s3::Client, b: &str, k: &str| {
        c.put_object()
            .bucket(b)
            .key(k)
            .body(ByteStream::from_static(b"data"))
            .send()
    };
    assert_eq!(code(put(&limited, &bucket, "alice/a.txt").await), "OK");
    assert_eq!(
        code(
            limited
                .get_object()
                .bucket(&bucket)
                .key("alice/a.txt")
                .send()
                .await
        ),
        "OK"
    );
    assert_eq!(
        code(put(&limited, &bucket, "bob/b.txt").await),
        "AccessDenied",
        "prefix"
    );
    assert_eq!(
        code(put(&limited, &other, "alice/a.txt").await),
        "AccessDenied",
        "bucket"
    );
    assert_eq!(
        code(
            limited
                .delete_object()
                .bucket(&bucket)
                .key("alice/a.txt")
                .send()
                .await
        ),
        "AccessDenied",
        "operation"
    );
    assert_eq!(
        code(limited.create_bucket().bucket("limited-new").send().await),
        "AccessDenied"
    );
    assert_eq!(
        code(
            limited
                .list_objects_v2()
                .bucket(&bucket)
                .prefix("alice/")
                .send()
                .await
        ),
        "OK"
    );
    assert_eq!(
        code(limited.list_objects_v2().bucket(&bucket).send().await),
        "AccessDenied",
        "a listing of the whole bucket reaches outside alice/"
    );
    // Nothing denied was stored; the root key still does everything.
    let root = g.client();
    assert_eq!(
        code(
            root.head_object()
                .bucket(&bucket)
                .key("bob/b.txt")
                .send()
                .await
        ),
        "NotFound"
    );
    assert_eq!(code(put(&root, &other, "bob/x").await), "OK");

    // --- Rotation -----------------------------------------------------------------
    let out = ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &[
            "rotate",
            "LIMITEDKEY",
            "--secret-key",
            "rotatedSecret0123456789",
        ],
    ));
    assert!(out.contains("2 secret(s)"), "{out}");
    let rotated = g.client_with("LIMITEDKEY", "rotatedSecret0123456789", |b| b);
    let mut tries = 0;
    while code(rotated.list_buckets().send().await) != "OK" {
        tries += 1;
        assert!(tries < 100, "rotated secret never became valid");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both secrets work during the overlap, and the policy came along.
    assert_eq!(code(put(&limited, &bucket, "alice/old.txt").await), "OK");
    assert_eq!(code(put(&rotated, &bucket, "alice/new.txt").await), "OK");
    assert_eq!(
        code(put(&rotated, &bucket, "bob/new.txt").await),
        "AccessDenied"
    );
    let raw = raw_record(&g, "LIMITEDKEY").await;
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("rotatedSecret") && !text.contains("limitedSecret"));
    ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &["rotate", "LIMITEDKEY", "--retire-old"],
    ));
    let mut tries = 0;
    while code(limited.list_buckets().send().await) != "InvalidAccessKeyId"
        && code(limited.list_buckets().send().await) != "SignatureDoesNotMatch"
    {
        tries += 1;
        assert!(tries < 100, "retired secret still accepted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(code(rotated.list_buckets().send().await), "OK");

    // --- Wrong key fails closed -----------------------------------------------------
    // Stop the good auth worker; one holding another key must not serve the sealed keys.
    for p in g.procs_mut().iter_mut() {
        if p.log_path().to_string_lossy().contains("worker") {
            p.stop(Duration::from_secs(10));
        }
    }
    let wrong = g
        .start_worker_with_env(&[("JETGATE_CREDENTIALS_KEY", OTHER_KEY)])
        .log_path()
        .to_path_buf();
    assert_eq!(code(root.list_buckets().send().await), "InternalError");
    let log = std::fs::read_to_string(&wrong).expect("worker log");
    assert!(log.contains("sealed with credentials key"), "{log}");
    assert!(!log.contains(SECRET_KEY));
    // The plaintext format-1 record is not affected by the key.
    assert_eq!(code(legacy.list_buckets().send().await), "OK");

    // A worker without any key refuses to start the auth role.
    let dir = common::temp_dir("nokey-");
    let p = Proc::spawn(
        "jetgate-worker-nokey",
        &jetgate_bin(),
        &[
            "worker".into(),
            "--roles".into(),
            "auth".into(),
            "--nats-url".into(),
            g.nats.url().into(),
        ],
        &[],
        dir.path().join("nokey.log"),
    );
    let exit = p.wait_exit(Duration::from_secs(30)).expect("worker exits");
    assert_ne!(exit.trim(), "0");
    let log = std::fs::read_to_string(p.log_path()).expect("log");
    assert!(log.contains("credentials key"), "{log}");
}
