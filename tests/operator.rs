//! Contract 7, operator mode: `jetgate nats bootstrap` mints the operator, the two
//! accounts (JETGATE, AUTH) and per-role users; a nats-server runs on the generated
//! config; edge, auth worker, listing worker, data worker and the credentials admin
//! each log in with
//! their own creds file; an S3 round trip works across the account boundary; discovery
//! sees every role; and each user is refused what the permission table denies it.

mod common;

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{answered, bootstrap, next_message, Layout, STARTUP_TIMEOUT};
use jetgate_protocol::Endpoint;

const AK: &str = "JGOPERATORKEY";
const SK: &str = "operatorSecret/0123456789abcdefghijklmnop";

/// True when the credential bucket can be opened and its entry read.
async fn reads_credentials(client: &async_nats::Client) -> bool {
    let js = async_nats::jetstream::new(client.clone());
    let fut = async {
        let kv = js.get_key_value("jetgate-credentials").await.ok()?;
        kv.entry(AK).await.ok()?
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(5), fut).await,
        Ok(Some(_))
    )
}

/// `jetgate nats bootstrap` refuses to overwrite keys, replaces them on --force, and
/// writes every secret 0600.
fn bootstrap_refuses_then_forces(keys: &Path) {
    let out = bootstrap(keys, false);
    assert!(
        out.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first_edge = std::fs::read_to_string(keys.join("edge.creds")).expect("edge.creds");
    let again = bootstrap(keys, false);
    assert!(!again.status.success(), "second bootstrap must refuse");
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(keys.join("edge.creds")).expect("edge.creds"),
        first_edge,
        "a refused bootstrap must not touch the keys"
    );
    let forced = bootstrap(keys, true);
    assert!(forced.status.success());
    assert_ne!(
        std::fs::read_to_string(keys.join("edge.creds")).expect("edge.creds"),
        first_edge
    );
    #[cfg(unix)]
    for f in [
        "edge.creds",
        "auth.creds",
        "listing.creds",
        "data.creds",
        "admin.creds",
        "auth-admin.creds",
        "operator.nk",
        "AUTH.nk",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join(f))
            .expect(f)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f} mode {mode:o}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_mode_round_trip_and_permissions() {
    let dir = common::temp_dir("operator-");
    bootstrap_refuses_then_forces(&dir.path().join("keys-check"));
    let layout = Layout::bootstrap(dir.path());
    let nats = &layout.nats;

    // The credentials admin of the AUTH account seeds an S3 key.
    let st = layout.jetgate_cmd(
        "auth-admin",
        &["credentials", "add", "--access-key", AK, "--secret-key", SK],
    );
    assert!(
        st.status.success(),
        "credentials add: {}",
        String::from_utf8_lossy(&st.stderr)
    );

    let auth = layout.jetgate(
        "jetgate-auth",
        "auth",
        &["worker", "--roles", "auth"],
        dir.path().join("auth.log"),
    );
    auth.wait_for_line("worker ready", STARTUP_TIMEOUT);
    // The listing role creates buckets (streams): its own user; the multipart and
    // object roles run as `data`, which may not create streams.
    let listing = layout.jetgate(
        "jetgate-listing",
        "listing",
        &["worker", "--roles", "listing"],
        dir.path().join("listing.log"),
    );
    listing.wait_for_line("worker ready", STARTUP_TIMEOUT);
    let data = layout.jetgate(
        "jetgate-data",
        "data",
        &["worker", "--roles", "multipart,object"],
        dir.path().join("data.log"),
    );
    data.wait_for_line("worker ready", STARTUP_TIMEOUT);
    let edge = layout.jetgate(
        "jetgate-edge",
        "edge",
        &["edge", "--listen", "127.0.0.1:0"],
        dir.path().join("edge.log"),
    );
    let endpoint = edge
        .wait_for_line("endpoint: ", STARTUP_TIMEOUT)
        .trim()
        .to_string();

    // S3 round trip through the three processes.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(AK, SK, None, None, "operator-test"))
            .force_path_style(true)
            .build(),
    );
    let bucket = "operator-mode";
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create bucket: {e:?}\nedge:\n{}\nauth:\n{}\nlisting:\n{}\ndata:\n{}\nnats:\n{}",
                edge.log_tail(20),
                auth.log_tail(20),
                listing.log_tail(20),
                data.log_tail(20),
                nats.log_tail(20)
            )
        });
    s3.put_object()
        .bucket(bucket)
        .key("hello.txt")
        .body(ByteStream::from_static(b"hello operator mode"))
        .send()
        .await
        .expect("put");
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("hello.txt")
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&got[..], b"hello operator mode");

    let part1 = common::random_bytes(5 * 1024 * 1024, 1);
    let part2 = common::random_bytes(1000, 2);
    let up = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key("multi.bin")
        .send()
        .await
        .expect("create multipart");
    let id = up.upload_id().expect("upload id");
    let mut parts = Vec::new();
    for (n, body) in [(1, &part1), (2, &part2)] {
        let r = s3
            .upload_part()
            .bucket(bucket)
            .key("multi.bin")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .expect("upload part");
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().expect("etag"))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key("multi.bin")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let multi = s3
        .get_object()
        .bucket(bucket)
        .key("multi.bin")
        .send()
        .await
        .expect("get multi")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(multi.len(), part1.len() + part2.len());
    assert!(multi[..part1.len()] == part1[..] && multi[part1.len()..] == part2[..]);
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list");
    let keys_listed: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys_listed, ["hello.txt", "multi.bin"]);
    // Usage records of both worker users reached their stream (listing: CreateBucket,
    // ListObjectsV2; data: the writes), read back by admin with `jetgate usage`.
    let want = [
        ("CreateBucket", 1, 0),
        ("PutObject", 1, 19),
        ("UploadPart", 2, (part1.len() + part2.len()) as u64),
        ("ListObjectsV2", 1, 0),
    ];
    let by_op = common::poll("usage records", Duration::from_secs(20), || async {
        let out = layout.jetgate_cmd(
            "admin",
            &["usage", "--since", "10m", "--by", "operation", "--json"],
        );
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).ok()?;
        let got: Vec<(&str, u64, u64)> = want
            .iter()
            .map(|(op, _, _)| {
                let row = rows.iter().find(|r| r["group"] == *op);
                let n = |f: &str| row.and_then(|r| r[f].as_u64()).unwrap_or(0);
                (*op, n("requests"), n("bytes_in"))
            })
            .collect();
        (got == want).then_some(rows)
    })
    .await;
    assert!(by_op.iter().all(|r| r["errors"] == 0), "{by_op:?}");
    // The round trip needed no subject outside the table.
    let log = std::fs::read_to_string(nats.log_path()).expect("nats log");
    assert!(
        !log.contains("Violation"),
        "permission violations during the S3 round trip:\n{log}"
    );

    // Discovery from the gateway account sees the auth workers through the import.
    let ls = layout.jetgate_cmd("admin", &["services", "ls"]);
    let listed = String::from_utf8_lossy(&ls.stdout);
    assert!(ls.status.success(), "services ls: {listed}");
    for svc in [
        "jetgate-auth",
        "jetgate-listing",
        "jetgate-multipart",
        "jetgate-object",
    ] {
        assert!(listed.contains(svc), "services ls without {svc}:\n{listed}");
    }

    // Negative checks, each beside the positive control that makes it able to fail.
    let [edge_nc, auth_nc, listing_nc, data_nc, admin_nc, auth_admin_nc] = [
        layout.client("edge").await,
        layout.client("auth").await,
        layout.client("listing").await,
        layout.client("data").await,
        layout.client("admin").await,
        layout.client("auth-admin").await,
    ];
    assert!(answered(&admin_nc, "$JS.API.STREAM.LIST").await);
    assert!(answered(&data_nc, "$JS.API.STREAM.LIST").await);
    assert!(
        !answered(&edge_nc, "$JS.API.STREAM.LIST").await,
        "the edge must not reach the JetStream API"
    );
    assert!(
        !answered(&auth_nc, "$JS.API.STREAM.LIST").await,
        "auth may only reach the credential stream"
    );

    // The credentials live in the AUTH account: its two users read them, nobody in the
    // gateway account does, its admin included (tests/least_privilege.rs tries harder).
    assert!(reads_credentials(&auth_admin_nc).await);
    assert!(reads_credentials(&auth_nc).await);
    for (who, c) in [
        ("admin", &admin_nc),
        ("listing", &listing_nc),
        ("data", &data_nc),
        ("edge", &edge_nc),
    ] {
        assert!(!reads_credentials(c).await, "{who} read the credentials");
    }

    // Only the edge may call the data roles: a spy (admin) sees the edge's message only.
    for endpoint in [Endpoint::PutObject, Endpoint::ListObjects] {
        let subject = endpoint.subject();
        let mut spy = admin_nc
            .subscribe(subject.clone())
            .await
            .expect("spy subscribe");
        // `flush` only writes the socket, so the subscription is known to be live
        // once the spy receives a probe that the edge published after it.
        let mut live = false;
        for _ in 0..50 {
            edge_nc
                .publish(subject.clone(), "probe".into())
                .await
                .expect("probe");
            if next_message(&mut spy, Duration::from_millis(200))
                .await
                .is_some()
            {
                live = true;
                break;
            }
        }
        assert!(live, "the spy never saw the edge's probe on {subject}");
        for (who, c) in [
            ("auth", &auth_nc),
            ("listing", &listing_nc),
            ("data", &data_nc),
            ("edge", &edge_nc),
        ] {
            c.publish(subject.clone(), who.as_bytes().to_vec().into())
                .await
                .expect("publish");
            c.flush().await.expect("flush");
        }
        // Messages from different connections have no order, so after the edge's
        // message the spy keeps listening a while for anything auth or data got through.
        let mut seen = Vec::new();
        let mut wait = Duration::from_secs(10);
        while let Some(m) = next_message(&mut spy, wait).await {
            if m.payload == "probe" {
                continue;
            }
            seen.push(String::from_utf8_lossy(&m.payload).to_string());
            if m.payload == "edge" {
                wait = Duration::from_secs(1);
            }
        }
        assert_eq!(
            seen,
            ["edge"],
            "publishers seen on {subject}; edge connection {:?}\n{}",
            edge_nc.connection_state(),
            nats.log_tail(30)
        );
    }
    // Private inboxes. The replies to a data worker's JetStream requests travel on
    // `_INBOX_data.>`: admin (the positive control) sees them, the edge cannot; and
    // nobody but admin can publish there (an injected reply).
    let mut admin_spy = admin_nc
        .subscribe("_INBOX_data.>")
        .await
        .expect("subscribe");
    let mut live = false;
    for _ in 0..50 {
        admin_nc
            .publish("_INBOX_data.probe", "probe".into())
            .await
            .expect("probe");
        if next_message(&mut admin_spy, Duration::from_millis(200))
            .await
            .is_some()
        {
            live = true;
            break;
        }
    }
    assert!(live, "the admin spy never saw its probe on _INBOX_data");
    let mut edge_spy = edge_nc.subscribe("_INBOX_data.>").await.expect("subscribe");
    for (who, c) in [
        ("edge", &edge_nc),
        ("auth", &auth_nc),
        ("listing", &listing_nc),
    ] {
        c.publish("_INBOX_data.injected", who.as_bytes().to_vec().into())
            .await
            .expect("publish");
        c.flush().await.expect("flush");
    }
    assert!(answered(&data_nc, "$JS.API.STREAM.LIST").await);
    let mut seen_by_admin = Vec::new();
    while let Some(m) = next_message(&mut admin_spy, Duration::from_secs(2)).await {
        seen_by_admin.push((m.subject.to_string(), m.payload.clone()));
    }
    assert!(
        seen_by_admin
            .iter()
            .any(|(s, p)| s != "_INBOX_data.probe" && s != "_INBOX_data.injected" && p != "probe"),
        "the data worker's JetStream reply never reached _INBOX_data: {seen_by_admin:?}"
    );
    assert!(
        !seen_by_admin
            .iter()
            .any(|(s, _)| s == "_INBOX_data.injected"),
        "edge, auth or listing published into the data user's inbox: {seen_by_admin:?}"
    );
    assert!(
        next_message(&mut edge_spy, Duration::from_millis(500))
            .await
            .is_none(),
        "the edge read the data user's inbox"
    );
    let log = std::fs::read_to_string(nats.log_path()).expect("nats log");
    assert!(
        log.contains("Violation"),
        "the refusals above should be logged as permission violations"
    );
}
