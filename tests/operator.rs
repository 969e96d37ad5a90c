//! Contract 7, operator mode: `jetgate nats bootstrap` mints the operator, accounts and
//! per-role users; a nats-server runs on the generated config; edge, auth worker, data
//! worker and the admin command each log in with their own creds file; an S3 round trip
//! works; and each user is refused what the permission table denies it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{jetgate_bin, which, Proc, CREDENTIALS_KEY, STARTUP_TIMEOUT};
use jetgate_protocol::Endpoint;

const AK: &str = "JGOPERATORKEY";
const SK: &str = "operatorSecret/0123456789abcdefghijklmnop";

fn bootstrap(out: &Path, force: bool) -> std::process::Output {
    let mut cmd = Command::new(jetgate_bin());
    cmd.args(["nats", "bootstrap", "--out"]).arg(out);
    if force {
        cmd.arg("--force");
    }
    cmd.output().expect("run jetgate nats bootstrap")
}

fn start_nats(dir: &Path, keys: &Path) -> (Proc, String) {
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "jetstream {{ store_dir: \"{}\" }}\ninclude \"{}\"\n",
            dir.join("store").display(),
            // Includes are relative to the including file.
            keys.strip_prefix(dir)
                .expect("keys under dir")
                .join("server.conf")
                .display()
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
    let p = Proc::spawn("nats-server", &bin, &args, &[], dir.join("nats.log"));
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

fn jetgate(
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
    creds: &Path,
    url: &str,
    log: PathBuf,
) -> Proc {
    let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    a.extend([
        "--nats-url".into(),
        url.into(),
        "--nats-creds".into(),
        creds.display().to_string(),
    ]);
    let mut envs = vec![("RUST_LOG", "info")];
    envs.extend_from_slice(env);
    Proc::spawn(name, &jetgate_bin(), &a, &envs, log)
}

async fn next_message(
    sub: &mut async_nats::Subscriber,
    wait: Duration,
) -> Option<async_nats::Message> {
    use futures::StreamExt;
    tokio::time::timeout(wait, sub.next()).await.ok().flatten()
}

/// A raw client as one user, with the inbox prefix jetgate gives that user's processes.
async fn nats_as(url: &str, creds: &Path, inbox: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_credentials_file(creds)
        .await
        .expect("read creds")
        .custom_inbox_prefix(inbox)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect with {}: {e}", creds.display()))
}

/// True when a request is answered (as opposed to dropped by a permission check).
async fn answered(client: &async_nats::Client, subject: &str) -> bool {
    let req = async_nats::Request::new()
        .payload("".into())
        .timeout(Some(Duration::from_secs(2)));
    client.send_request(subject.to_string(), req).await.is_ok()
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_mode_round_trip_and_permissions() {
    let dir = common::temp_dir("operator-");
    let keys = dir.path().join("keys");

    // Bootstrap, then refuse to overwrite, then overwrite on --force.
    let out = bootstrap(&keys, false);
    assert!(
        out.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first_edge = std::fs::read_to_string(keys.join("edge.creds")).expect("edge.creds");
    let again = bootstrap(&keys, false);
    assert!(!again.status.success(), "second bootstrap must refuse");
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(keys.join("edge.creds")).expect("edge.creds"),
        first_edge,
        "a refused bootstrap must not touch the keys"
    );
    let forced = bootstrap(&keys, true);
    assert!(forced.status.success());
    assert_ne!(
        std::fs::read_to_string(keys.join("edge.creds")).expect("edge.creds"),
        first_edge
    );
    #[cfg(unix)]
    for f in [
        "edge.creds",
        "auth.creds",
        "data.creds",
        "admin.creds",
        "operator.nk",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join(f))
            .expect(f)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f} mode {mode:o}");
    }

    let (nats, url) = start_nats(dir.path(), &keys);
    let creds = |u: &str| keys.join(format!("{u}.creds"));

    // The admin command seeds an S3 key.
    let st = Command::new(jetgate_bin())
        .args(["credentials", "add", "--nats-url", &url, "--nats-creds"])
        .arg(creds("admin"))
        .args(["--access-key", AK, "--secret-key", SK])
        .env("JETGATE_CREDENTIALS_KEY", CREDENTIALS_KEY)
        .output()
        .expect("credentials add");
    assert!(
        st.status.success(),
        "credentials add: {}",
        String::from_utf8_lossy(&st.stderr)
    );

    let auth = jetgate(
        "jetgate-auth",
        &["worker", "--roles", "auth"],
        &[("JETGATE_CREDENTIALS_KEY", CREDENTIALS_KEY)],
        &creds("auth"),
        &url,
        dir.path().join("auth.log"),
    );
    auth.wait_for_line("worker ready", STARTUP_TIMEOUT);
    let data = jetgate(
        "jetgate-data",
        &["worker", "--roles", "listing,multipart,object"],
        &[],
        &creds("data"),
        &url,
        dir.path().join("data.log"),
    );
    data.wait_for_line("worker ready", STARTUP_TIMEOUT);
    let edge = jetgate(
        "jetgate-edge",
        &["edge", "--listen", "127.0.0.1:0"],
        &[],
        &creds("edge"),
        &url,
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
                "create bucket: {e:?}\nedge:\n{}\nauth:\n{}\ndata:\n{}\nnats:\n{}",
                edge.log_tail(20),
                auth.log_tail(20),
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
    // The round trip needed no subject outside the table.
    let log = std::fs::read_to_string(nats.log_path()).expect("nats log");
    assert!(
        !log.contains("Violation"),
        "permission violations during the S3 round trip:\n{log}"
    );

    // Negative checks, each beside the positive control that makes it able to fail.
    let [edge_nc, auth_nc, data_nc, admin_nc] = [
        nats_as(&url, &creds("edge"), "_INBOX_edge").await,
        nats_as(&url, &creds("auth"), "_INBOX_auth").await,
        nats_as(&url, &creds("data"), "_INBOX_data").await,
        nats_as(&url, &creds("admin"), "_INBOX").await,
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

    assert!(reads_credentials(&admin_nc).await);
    assert!(reads_credentials(&auth_nc).await);
    assert!(
        !reads_credentials(&data_nc).await,
        "data roles must not read the credentials"
    );
    assert!(!reads_credentials(&edge_nc).await);
    assert!(
        !answered(
            &data_nc,
            &format!("$JS.API.DIRECT.GET.KV_jetgate-credentials.$KV.jetgate-credentials.{AK}")
        )
        .await
    );

    // Nor write one (a forged access key).
    let forge = async {
        async_nats::jetstream::new(data_nc.clone())
            .publish("$KV.jetgate-credentials.FORGED", "{}".into())
            .await
            .ok()?
            .await
            .ok()
    };
    assert!(
        matches!(
            tokio::time::timeout(Duration::from_secs(5), forge).await,
            Ok(None) | Err(_)
        ),
        "data roles must not write the credentials"
    );
    let admin_kv = async_nats::jetstream::new(admin_nc.clone())
        .get_key_value("jetgate-credentials")
        .await
        .expect("admin opens the credentials");
    assert!(admin_kv.get("FORGED").await.expect("get").is_none());
    assert!(admin_kv.get(AK).await.expect("get").is_some());

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
        for (who, c) in [("auth", &auth_nc), ("data", &data_nc), ("edge", &edge_nc)] {
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
    for (who, c) in [("edge", &edge_nc), ("auth", &auth_nc)] {
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
        "edge or auth published into the data user's inbox: {seen_by_admin:?}"
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
