//! Contract 4, the credential store: secrets are sealed at rest (the KV value never holds
//! them, a wrong key fails closed), per-key policies answer AccessDenied, and rotation
//! keeps the old secret valid until it is retired. Split-mode gateway, real aws-sdk-s3.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{
    jetgate_bin, succeeded as ok, Gateway, GatewayOptions, Proc, CREDENTIALS_KEY, SECRET_KEY,
};

const OTHER_KEY: &str = "YW5vdGhlci1jcmVkZW50aWFscy1rZXktMzJieXRlcyE=";

/// Runs `jetgate credentials ...` against the gateway's NATS with `key`.
fn credentials(g: &Gateway, key: Option<&str>, args: &[&str]) -> std::process::Output {
    common::admin(g, "credentials", key, args)
}

fn code<T, E: aws_sdk_s3::error::ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(e) => e.code().unwrap_or("<no code>").to_string(),
    }
}

/// Polls a signed ListBuckets with `client` until it answers `want` ("OK" or an S3 error
/// code, whose status must then be 403): KV changes reach the auth worker's cache
/// through a watch, a little later than the admin command returns.
async fn wait_for(client: &aws_sdk_s3::Client, what: &str, want: &str) {
    common::poll(what, Duration::from_secs(30), move || async move {
        match client.list_buckets().send().await {
            Ok(_) => (want == "OK").then_some(()),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                (aws_sdk_s3::error::ProvideErrorMetadata::code(&e) == Some(want))
                    .then(|| assert_eq!(status, Some(403), "{want}: {e:?}"))
            }
        }
    })
    .await;
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

    // A plaintext format-1 record (older versions) is refused: whoever could write one
    // would choose a key's secret. `credentials reseal` seals it, and then it serves.
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

/// HTTP status and S3 code of a call: `(200, "OK")` when it succeeded.
fn answer<T, E>(
    r: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> (u16, String)
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    match r {
        Ok(_) => (200, "OK".into()),
        Err(e) => (
            e.raw_response().map_or(0, |r| r.status().as_u16()),
            aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                .unwrap_or("<no code>")
                .to_string(),
        ),
    }
}

fn denied() -> (u16, String) {
    (403, "AccessDenied".into())
}

/// The answer to a small PutObject of `b`/`k` with `c`.
async fn put_answer(c: &aws_sdk_s3::Client, b: &str, k: &str) -> (u16, String) {
    answer(
        c.put_object()
            .bucket(b)
            .key(k)
            .body(ByteStream::from_static(b"data"))
            .send()
            .await,
    )
}

/// `credentials remove` revokes a key that the auth worker has already cached: its
/// requests turn into 403 InvalidAccessKeyId, the record is gone from the KV bucket and
/// from `credentials list`, and removing it again is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_revokes_a_cached_key() {
    let g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    let bucket = g.bucket("remove").await;
    let secret = "removeMeSecret0123456789";
    ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &["add", "--access-key", "REMOVEME", "--secret-key", secret],
    ));
    let doomed = g.client_with("REMOVEME", secret, |b| b);
    wait_for(&doomed, "the new key to become valid", "OK").await;
    // Used once, so the auth worker holds it in its cache.
    assert_eq!(
        put_answer(&doomed, &bucket, "before").await,
        (200, "OK".into())
    );

    let out = ok(credentials(
        &g,
        None,
        &["remove", "--access-key", "REMOVEME"],
    ));
    assert_eq!(out.trim(), "removed REMOVEME");
    let kv = g
        .nats
        .jetstream()
        .await
        .get_key_value("jetgate-credentials")
        .await
        .expect("credential bucket");
    assert!(kv.get("REMOVEME").await.expect("kv get").is_none());
    let listed = ok(credentials(&g, None, &["list"]));
    assert!(!listed.contains("REMOVEME"), "{listed}");
    assert!(listed.contains(common::ACCESS_KEY), "{listed}");

    wait_for(
        &doomed,
        "the removed key to be refused",
        "InvalidAccessKeyId",
    )
    .await;
    assert_eq!(
        put_answer(&doomed, &bucket, "after").await,
        (403, "InvalidAccessKeyId".into())
    );
    let root = g.client();
    assert_eq!(
        answer(root.head_object().bucket(&bucket).key("after").send().await),
        (404, "NotFound".into()),
        "a refused PUT stored nothing"
    );
    assert_eq!(
        answer(
            root.head_object()
                .bucket(&bucket)
                .key("before")
                .send()
                .await
        ),
        (200, "OK".into())
    );

    let out = credentials(&g, None, &["remove", "--access-key", "REMOVEME"]);
    assert!(!out.status.success(), "removing twice succeeded");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no access key REMOVEME"), "{err}");
    assert_eq!(answer(root.list_buckets().send().await), (200, "OK".into()));
}

/// The auth worker trusts a cached key for at most 30 s (`MAX_AGE` in
/// actors/src/auth/credentials.rs), so a watch that stalls without ending cannot keep a
/// removed key alive. The watch's consumer is paused on the server (it stays, it just
/// delivers nothing), the key is removed, and it must be refused within that bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_revokes_with_the_watch_stalled() {
    let g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    let secret = "stalledWatchSecret012345";
    ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &["add", "--access-key", "STALLED", "--secret-key", secret],
    ));
    let doomed = g.client_with("STALLED", secret, |b| b);
    wait_for(&doomed, "the new key to become valid", "OK").await;

    let js = g.nats.jetstream().await;
    let stream = "KV_jetgate-credentials";
    let mut names = js
        .get_stream(stream)
        .await
        .expect("credential stream")
        .consumer_names();
    let mut paused = 0;
    // Paused for good: this gateway ends with the test.
    let until = "2099-01-01T00:00:00Z";
    while let Some(name) = futures::TryStreamExt::try_next(&mut names)
        .await
        .expect("consumer names")
    {
        let reply = g
            .nats
            .client()
            .await
            .request(
                format!("$JS.API.CONSUMER.PAUSE.{stream}.{name}"),
                serde_json::json!({ "pause_until": until })
                    .to_string()
                    .into(),
            )
            .await
            .expect("pause consumer");
        let v: serde_json::Value = serde_json::from_slice(&reply.payload).expect("json");
        assert_eq!(v["paused"], true, "pause {name}: {v}");
        paused += 1;
    }
    assert!(paused > 0, "no watch consumer on {stream}");
    assert_eq!(
        answer(doomed.list_buckets().send().await),
        (200, "OK".into()),
        "served from the cache while the watch is stalled"
    );

    let removed = std::time::Instant::now();
    ok(credentials(
        &g,
        None,
        &["remove", "--access-key", "STALLED"],
    ));
    common::poll(
        "the removed key to be refused",
        Duration::from_secs(45),
        || async {
            let (status, code) = answer(doomed.list_buckets().send().await);
            (code == "InvalidAccessKeyId").then(|| assert_eq!(status, 403))
        },
    )
    .await;
    let took = removed.elapsed();
    eprintln!("removed key refused after {took:?} with the watch stalled");
    assert!(
        took <= Duration::from_secs(35),
        "removed key accepted for {took:?}, longer than the 30 s cache bound"
    );
}

/// `credentials policy` replaces the policy of a key the auth worker has cached: the
/// restricted key gets 403 AccessDenied on what the new policy leaves out (and nothing
/// is stored), keeps what it allows, and `policy` without flags lifts the restriction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_replaces_the_rights_of_a_cached_key() {
    let g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    let (mine, other) = (g.bucket("polmine").await, g.bucket("polother").await);
    let secret = "policySecret0123456789";
    ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &["add", "--access-key", "POLKEY", "--secret-key", secret],
    ));
    let c = g.client_with("POLKEY", secret, |b| b);
    wait_for(&c, "the new key to become valid", "OK").await;
    let ok200 = (200, "OK".to_string());
    assert_eq!(put_answer(&c, &mine, "k").await, ok200);
    assert_eq!(put_answer(&c, &other, "k").await, ok200);

    // Without the sealing key the command refuses, and the policy stays as it was.
    let out = credentials(&g, None, &["policy", "POLKEY", "--buckets", &mine]);
    assert!(!out.status.success(), "policy without the credentials key");
    let listed = ok(credentials(&g, None, &["list"]));
    let line = |listed: &str| {
        listed
            .lines()
            .find(|l| l.starts_with("POLKEY\t"))
            .unwrap_or_else(|| panic!("POLKEY not listed:\n{listed}"))
            .to_string()
    };
    assert!(line(&listed).ends_with("\tall"), "{listed}");

    let out = ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &[
            "policy",
            "POLKEY",
            "--buckets",
            &mine,
            "--operations",
            "read,list",
        ],
    ));
    let policy = format!(r#"{{"buckets":["{mine}"],"operations":["read","list"]}}"#);
    assert_eq!(out.trim(), format!("policy of POLKEY: {policy}"));
    assert!(line(&ok(credentials(&g, None, &["list"]))).ends_with(&format!("\t{policy}")));
    let raw = raw_record(&g, "POLKEY").await;
    assert!(
        !String::from_utf8_lossy(&raw).contains(secret),
        "secret in the KV value"
    );

    // The cached key loses what the new policy leaves out.
    let (cr, mr, or) = (&c, mine.as_str(), other.as_str());
    common::poll(
        "the new policy to apply",
        Duration::from_secs(30),
        move || async move { (put_answer(cr, mr, "late").await == denied()).then_some(()) },
    )
    .await;
    assert_eq!(
        answer(c.get_object().bucket(&mine).key("k").send().await),
        ok200,
        "read stays allowed"
    );
    assert_eq!(
        answer(c.list_objects_v2().bucket(&mine).send().await),
        ok200,
        "list stays allowed"
    );
    assert_eq!(
        answer(c.get_object().bucket(&other).key("k").send().await),
        denied(),
        "another bucket"
    );
    assert_eq!(
        answer(c.delete_object().bucket(&mine).key("k").send().await),
        denied(),
        "delete"
    );
    assert_eq!(put_answer(&c, &other, "late").await, denied());
    // Nothing refused happened: no new objects, the old one still there.
    let root = g.client();
    for (b, k, want) in [
        (&mine, "late", (404, "NotFound".to_string())),
        (&other, "late", (404, "NotFound".to_string())),
        (&mine, "k", ok200.clone()),
    ] {
        assert_eq!(
            answer(root.head_object().bucket(b).key(k).send().await),
            want,
            "{b}/{k}"
        );
    }

    // No flags: unrestricted again.
    let out = ok(credentials(
        &g,
        Some(CREDENTIALS_KEY),
        &["policy", "POLKEY"],
    ));
    assert_eq!(out.trim(), "policy of POLKEY: all");
    common::poll(
        "the lifted policy to apply",
        Duration::from_secs(30),
        move || async move { (put_answer(cr, or, "lifted").await.0 == 200).then_some(()) },
    )
    .await;
    assert_eq!(
        answer(c.delete_object().bucket(&mine).key("k").send().await),
        ok200
    );
}
