//! Contract 4, the credential store: secrets are sealed at rest (the KV value never holds
//! them, a wrong key fails closed), per-key policies answer AccessDenied, and rotation
//! keeps the old secret valid until it is retired. Split-mode gateway, real aws-sdk-s3.
//! Revocation of cached keys: `tests/revocation.rs`.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{
    code, credential_kv, credentials, jetgate_bin, raw_record, succeeded as ok, wait_for, Gateway,
    GatewayOptions, Proc, CREDENTIALS_KEY, SECRET_KEY,
};

const OTHER_KEY: &str = "YW5vdGhlci1jcmVkZW50aWFscy1rZXktMzJieXRlcyE=";

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

    // A plaintext format-1 record (older versions) is refused: whoever could write one
    // would choose a key's secret. `credentials reseal` seals it, and then it serves.
    let kv = credential_kv(&g).await;
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
    wait_for(
        &legacy,
        "the plaintext record refused",
        "InvalidAccessKeyId",
    )
    .await;
    let logs: String = g
        .procs()
        .iter()
        .map(|p| std::fs::read_to_string(p.log_path()).unwrap_or_default())
        .collect();
    assert!(logs.contains("plaintext credential refused"), "{logs}");
    let before = kv.get("LEGACYKEY").await.expect("get").expect("record");
    let resealed = ok(credentials(&g, Some(CREDENTIALS_KEY), &["reseal"]));
    assert!(resealed.contains("sealed LEGACYKEY"), "{resealed}");
    assert!(
        resealed.contains("1 plaintext record(s) sealed"),
        "{resealed}"
    );
    let after = kv.get("LEGACYKEY").await.expect("get").expect("record");
    assert_ne!(before, after);
    assert!(
        !String::from_utf8_lossy(&after).contains(legacy_secret),
        "the resealed record still holds the secret in clear"
    );
    let again = ok(credentials(&g, Some(CREDENTIALS_KEY), &["reseal"]));
    assert!(again.contains("0 plaintext record(s) sealed"), "{again}");
    wait_for(&legacy, "the resealed record", "OK").await;
    legacy
        .put_object()
        .bucket(&bucket)
        .key("legacy.txt")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("the resealed credential works");

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
    wait_for(&limited, "the limited key to become valid", "OK").await;
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
    // ListBuckets shows the limited key only the bucket its policy names.
    let names = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect()
    };
    let seen = names(limited.list_buckets().send().await.expect("limited list"));
    assert_eq!(
        seen,
        std::slice::from_ref(&bucket),
        "buckets the limited key sees"
    );
    let all = names(root.list_buckets().send().await.expect("root list"));
    assert!(all.contains(&other) && all.contains(&bucket), "{all:?}");

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
    wait_for(&rotated, "the rotated secret to become valid", "OK").await;
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
    // The key still exists, so the old secret's signature is what no longer matches.
    wait_for(
        &limited,
        "the retired secret to be refused",
        "SignatureDoesNotMatch",
    )
    .await;
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
    // The resealed record is sealed with the good key too.
    assert_eq!(code(legacy.list_buckets().send().await), "InternalError");

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
