//! Bucket owners (issue #14): CreateBucket records the creating key's owner in the
//! bucket stream's metadata; creating a bucket someone else owns is 409
//! BucketAlreadyExists, re-creating one's own is 200 in us-east-1 (AWS's legacy answer,
//! nothing in the bucket changes) and 409 BucketAlreadyOwnedByYou elsewhere; an unowned
//! bucket (a native NATS object store) is the admin's; GetBucketAcl names the owner;
//! `jetgate buckets chown` gives a bucket away; a key with a policy uses its owner's
//! buckets and those its policy names, and ListBuckets shows exactly those. Split-mode
//! gateway, real aws-sdk-s3.

mod common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use common::{admin, succeeded, unique_bucket, Gateway, GatewayOptions, CREDENTIALS_KEY};

const ALICE: &str = "ALICEKEY";
const ALICE_SECRET: &str = "aliceSecret0123456789";
const BOB: &str = "BOBKEY";
const BOB_SECRET: &str = "bobSecret0123456789";

/// HTTP status and S3 code of a failed call (`(200, "OK")` for success).
fn outcome<T, E: ProvideErrorMetadata>(
    r: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> (u16, String) {
    match r {
        Ok(_) => (200, "OK".into()),
        Err(e) => (
            e.raw_response().map_or(0, |r| r.status().as_u16()),
            e.code().unwrap_or("<no code>").to_string(),
        ),
    }
}

/// Whether `key` is stored in `bucket`, asked with the admin key.
async fn stored(root: &aws_sdk_s3::Client, bucket: &str, key: &str) -> bool {
    root.head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

async fn bucket_names(c: &aws_sdk_s3::Client) -> Vec<String> {
    let out = c.list_buckets().send().await.expect("ListBuckets");
    out.buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect()
}

/// HTTP status and S3 code of a CreateBucket.
async fn create(c: &aws_sdk_s3::Client, b: &str) -> (u16, String) {
    outcome(c.create_bucket().bucket(b).send().await)
}

/// The owner id GetBucketAcl answers.
async fn acl_owner(c: &aws_sdk_s3::Client, b: &str) -> String {
    let acl = c
        .get_bucket_acl()
        .bucket(b)
        .send()
        .await
        .expect("GetBucketAcl");
    let grants: Vec<_> = acl
        .grants()
        .iter()
        .map(|g| g.permission().map(|p| p.as_str().to_string()))
        .collect();
    assert_eq!(grants, [Some("FULL_CONTROL".to_string())]);
    acl.owner()
        .and_then(|o| o.id())
        .expect("ACL owner")
        .to_string()
}

/// The owner recorded in the bucket stream's metadata, read with a NATS client.
async fn stored_owner(g: &Gateway, b: &str) -> Option<String> {
    let js = g.nats.jetstream().await;
    let stream = js
        .get_stream(format!("OBJ_{}", common::nats_bucket(b)))
        .await
        .expect("bucket stream");
    let raw = stream
        .cached_info()
        .config
        .metadata
        .get("jetgate.owner")?
        .clone();
    let v: serde_json::Value = serde_json::from_str(&raw).expect("owner JSON");
    Some(v["id"].as_str().expect("owner id").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_have_owners() {
    let g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    // Alice's key may use only her buckets (a policy makes a key not an admin).
    succeeded(admin(
        &g,
        "credentials",
        Some(CREDENTIALS_KEY),
        &[
            "add",
            "--access-key",
            ALICE,
            "--secret-key",
            ALICE_SECRET,
            "--owner-id",
            "alice",
            "--buckets",
            "alice-*",
        ],
    ));
    let alice = g.client_with(ALICE, ALICE_SECRET, |b| b);
    let root = g.client();
    common::poll(
        "Alice's key",
        std::time::Duration::from_secs(30),
        || async { alice.list_buckets().send().await.ok() },
    )
    .await;

    // Alice creates a bucket: it is hers, and re-creating it changes nothing.
    let mine = unique_bucket("alice-own");
    assert_eq!(create(&alice, &mine).await, (200, "OK".into()));
    assert_eq!(stored_owner(&g, &mine).await.as_deref(), Some("alice"));
    assert_eq!(acl_owner(&alice, &mine).await, "alice");
    alice
        .put_object()
        .bucket(&mine)
        .key("k")
        .body(ByteStream::from_static(b"kept"))
        .send()
        .await
        .expect("put");
    assert_eq!(create(&alice, &mine).await, (200, "OK".into()));
    assert_eq!(stored_owner(&g, &mine).await.as_deref(), Some("alice"));
    let listed = alice
        .list_objects_v2()
        .bucket(&mine)
        .send()
        .await
        .expect("list");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["k"], "re-creating kept the objects");
    // The admin does not own it either.
    assert_eq!(
        create(&root, &mine).await,
        (409, "BucketAlreadyExists".into())
    );
    assert_eq!(stored_owner(&g, &mine).await.as_deref(), Some("alice"));

    // A bucket the root key created, under a name Alice's policy allows: not hers.
    let roots = unique_bucket("alice-root");
    assert_eq!(create(&root, &roots).await, (200, "OK".into()));
    let root_id = stored_owner(&g, &roots)
        .await
        .expect("root's bucket has an owner");
    assert_eq!(acl_owner(&root, &roots).await, root_id);
    assert_eq!(
        create(&alice, &roots).await,
        (409, "BucketAlreadyExists".into())
    );

    // A native NATS object store has no owner: the admin's.
    let native = unique_bucket("alice-native");
    g.nats
        .jetstream()
        .await
        .create_object_store(async_nats::jetstream::object_store::Config {
            bucket: common::nats_bucket(&native),
            ..Default::default()
        })
        .await
        .expect("native object store");
    assert_eq!(
        create(&alice, &native).await,
        (409, "BucketAlreadyExists".into())
    );
    assert_eq!(create(&root, &native).await, (200, "OK".into()));
    assert_eq!(
        stored_owner(&g, &native).await,
        None,
        "re-creating recorded nothing"
    );

    // chown: the root key's bucket becomes Alice's.
    let out = succeeded(admin(
        &g,
        "buckets",
        None,
        &[
            "chown",
            "--bucket",
            &roots,
            "--owner-id",
            "alice",
            "--display-name",
            "Alice",
        ],
    ));
    assert_eq!(out.trim(), format!("{roots} now owned by alice"));
    assert_eq!(stored_owner(&g, &roots).await.as_deref(), Some("alice"));
    assert_eq!(acl_owner(&alice, &roots).await, "alice");
    assert_eq!(create(&alice, &roots).await, (200, "OK".into()));
    assert_eq!(
        create(&root, &roots).await,
        (409, "BucketAlreadyExists".into())
    );
    let listed = succeeded(admin(&g, "buckets", None, &["ls"]));
    assert!(listed.contains(&format!("{roots}\talice")), "{listed}");
    assert!(listed.contains(&format!("{native}\t-")), "{listed}");
    let out = admin(
        &g,
        "buckets",
        None,
        &[
            "chown",
            "--bucket",
            "no-such-bucket-here",
            "--owner-id",
            "x",
        ],
    );
    assert!(!out.status.success(), "chown of a missing bucket succeeded");
}

/// Outside us-east-1 AWS answers 409 BucketAlreadyOwnedByYou to the owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_recreating_outside_us_east_1_gets_409() {
    let region = "eu-west-1";
    let g = Gateway::start(GatewayOptions {
        env: vec![("JETGATE_REGION".into(), region.into())],
        ..Default::default()
    })
    .await;
    let c = g.client();
    let b = unique_bucket("owned-eu");
    let located = |b: &str| {
        c.create_bucket().bucket(b).create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
    };
    located(&b).send().await.expect("create");
    let e = located(&b).send().await.expect_err("re-create");
    assert_eq!(
        (e.raw_response().map(|r| r.status().as_u16()), e.code()),
        (Some(409), Some("BucketAlreadyOwnedByYou"))
    );
}

/// A key with a policy that names no bucket (a tenant's key) uses exactly the buckets its
/// owner owns: it creates its own, cannot read, write, list or copy from the admin's,
/// sees only its own in ListBuckets, and ownership changes (chown, a bucket deleted and
/// re-created by someone else) take effect on the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_use_their_owners_buckets() {
    let g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    succeeded(admin(
        &g,
        "credentials",
        Some(CREDENTIALS_KEY),
        &[
            "add",
            "--access-key",
            BOB,
            "--secret-key",
            BOB_SECRET,
            "--owner-id",
            "bob",
            "--operations",
            "read,write,delete,list,admin",
        ],
    ));
    let bob = g.client_with(BOB, BOB_SECRET, |b| b);
    let root = g.client();
    common::poll("Bob's key", std::time::Duration::from_secs(30), || async {
        bob.list_buckets().send().await.ok()
    })
    .await;

    let theirs = unique_bucket("root-owned");
    assert_eq!(create(&root, &theirs).await, (200, "OK".into()));
    root.put_object()
        .bucket(&theirs)
        .key("secret")
        .body(ByteStream::from_static(b"root's"))
        .send()
        .await
        .expect("root put");
    let mine = unique_bucket("bob-owned");
    assert_eq!(create(&bob, &mine).await, (200, "OK".into()));
    assert_eq!(stored_owner(&g, &mine).await.as_deref(), Some("bob"));
    bob.put_object()
        .bucket(&mine)
        .key("k")
        .body(ByteStream::from_static(b"bob's"))
        .send()
        .await
        .expect("put into own bucket");
    let got = bob
        .get_object()
        .bucket(&mine)
        .key("k")
        .send()
        .await
        .expect("get from own bucket");
    assert_eq!(got.body.collect().await.expect("body").to_vec(), b"bob's");

    let denied = (403, "AccessDenied".to_string());
    // A name another owner has is taken, as on S3.
    assert_eq!(
        create(&bob, &theirs).await,
        (409, "BucketAlreadyExists".into())
    );
    assert_eq!(
        outcome(bob.get_object().bucket(&theirs).key("secret").send().await),
        denied
    );
    assert_eq!(
        outcome(
            bob.put_object()
                .bucket(&theirs)
                .key("planted")
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
        ),
        denied
    );
    assert!(!stored(&root, &theirs, "planted").await, "nothing stored");
    assert_eq!(
        outcome(
            bob.delete_object()
                .bucket(&theirs)
                .key("secret")
                .send()
                .await
        ),
        denied
    );
    assert!(stored(&root, &theirs, "secret").await, "nothing deleted");
    assert_eq!(
        outcome(bob.list_objects_v2().bucket(&theirs).send().await),
        denied
    );
    assert_eq!(
        outcome(bob.head_bucket().bucket(&theirs).send().await).0,
        403
    );
    // A copy needs read access to its source bucket.
    assert_eq!(
        outcome(
            bob.copy_object()
                .bucket(&mine)
                .key("copied")
                .copy_source(format!("{theirs}/secret"))
                .send()
                .await
        ),
        denied
    );
    assert!(!stored(&root, &mine, "copied").await, "no copy stored");
    // A bucket that does not exist is 404, as on S3.
    assert_eq!(
        outcome(
            bob.list_objects_v2()
                .bucket("no-such-bucket-x")
                .send()
                .await
        ),
        (404, "NoSuchBucket".into())
    );

    let listed = bucket_names(&bob).await;
    assert!(listed.contains(&mine), "{listed:?}");
    assert!(!listed.contains(&theirs), "{listed:?}");
    let all = bucket_names(&root).await;
    assert!(all.contains(&mine) && all.contains(&theirs), "{all:?}");

    // chown takes effect on the next request, both ways.
    let chown = |b: &str, owner: &str| {
        succeeded(admin(
            &g,
            "buckets",
            None,
            &["chown", "--bucket", b, "--owner-id", owner],
        ))
    };
    chown(&theirs, "bob");
    let got = bob
        .get_object()
        .bucket(&theirs)
        .key("secret")
        .send()
        .await
        .expect("read after chown");
    assert_eq!(got.body.collect().await.expect("body").to_vec(), b"root's");
    assert!(bucket_names(&bob).await.contains(&theirs));
    chown(&theirs, "someone-else");
    assert_eq!(
        outcome(bob.get_object().bucket(&theirs).key("secret").send().await),
        denied
    );

    // Deleted and re-created by the admin: no longer Bob's.
    bob.delete_object()
        .bucket(&mine)
        .key("k")
        .send()
        .await
        .expect("delete own object");
    bob.delete_bucket()
        .bucket(&mine)
        .send()
        .await
        .expect("delete own bucket");
    assert_eq!(create(&root, &mine).await, (200, "OK".into()));
    assert_eq!(
        outcome(
            bob.put_object()
                .bucket(&mine)
                .key("k")
                .body(ByteStream::from_static(b"x"))
                .send()
                .await
        ),
        denied
    );
    assert!(!stored(&root, &mine, "k").await, "nothing stored");
}
