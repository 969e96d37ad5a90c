//! Revocation and policy changes of keys the auth workers have cached: `credentials
//! remove` and a replaced policy take effect on every worker, also while the KV watch
//! that keeps the cache current is stalled. Split-mode gateway, real aws-sdk-s3.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{
    credential_kv, credentials, raw_record, succeeded as ok, wait_for, Gateway, GatewayOptions,
    CREDENTIALS_KEY,
};

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
    let kv = credential_kv(&g).await;
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
