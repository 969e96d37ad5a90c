//! Issue #12: no NATS user but `auth` and `auth-admin` can read or change a credential
//! record by any means, in both deployed layouts (operator mode from `jetgate nats
//! bootstrap`, static users from deploy/nats/accounts.conf). Each attacker (edge, data,
//! and the gateway account's admin, who may do anything in JETGATE) tries every
//! JetStream API form that reads a stream (direct get by subject and by body, message
//! get, stream info with subjects, consumers in every create form), streams that mirror
//! or source the credential stream with and without an external API prefix, direct KV
//! writes, a republishing stream, and purge/delete/update. Every reply is checked for
//! the record's bytes, and afterwards the credential stream is compared byte for byte
//! with a snapshot taken before. Positive controls (auth-admin and auth read it; a
//! mirror inside AUTH fills) show that each probe could have succeeded.
//!
//! Then, within the gateway account: `data` (the multipart and object roles, which
//! handle every object byte) may not create, update or delete any stream but the
//! upload-state KV, while `listing` (bucket creation) may.

mod common;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use common::{next_message, reply, Layout};

const AK: &str = "JGLEASTPRIVKEY";
const SK: &str = "leastPrivilegeSecret/0123456789abcdefghij";
const STREAM: &str = "KV_jetgate-credentials";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_store_out_of_reach_in_operator_mode() {
    let dir = common::temp_dir("lp-operator-");
    let layout = Layout::bootstrap(dir.path());
    attack_credential_store(&layout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_store_out_of_reach_with_accounts_conf() {
    let dir = common::temp_dir("lp-accounts-");
    let layout = Layout::accounts_conf(dir.path());
    attack_credential_store(&layout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_user_changes_no_stream_in_operator_mode() {
    let dir = common::temp_dir("lp-streams-operator-");
    let layout = Layout::bootstrap(dir.path());
    data_changes_no_stream(&layout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_user_changes_no_stream_with_accounts_conf() {
    let dir = common::temp_dir("lp-streams-accounts-");
    let layout = Layout::accounts_conf(dir.path());
    data_changes_no_stream(&layout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_writes_only_sessions_in_operator_mode() {
    let dir = common::temp_dir("lp-sessions-operator-");
    auth_writes_only_sessions(&Layout::bootstrap(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_writes_only_sessions_with_accounts_conf() {
    let dir = common::temp_dir("lp-sessions-accounts-");
    auth_writes_only_sessions(&Layout::accounts_conf(dir.path())).await;
}

/// The auth workers mint STS temporary credentials (`sts.<access key>`) and may write
/// nothing else into the credential store: not a long-term key (whose secret they would
/// choose), not a web-identity rule (which would choose a policy).
async fn auth_writes_only_sessions(layout: &Layout) {
    let admin = async_nats::jetstream::new(layout.client("auth-admin").await);
    admin
        .create_key_value(async_nats::jetstream::kv::Config {
            bucket: "jetgate-credentials".into(),
            history: 1,
            ..Default::default()
        })
        .await
        .expect("credential bucket");
    let auth = async_nats::jetstream::new(layout.client("auth").await);
    let kv = auth
        .get_key_value("jetgate-credentials")
        .await
        .expect("auth opens the bucket");
    kv.put("sts.ASIALEASTPRIV", "x".into())
        .await
        .expect("auth writes a session");
    // Nor change the store so that what it may write lands elsewhere (a subject
    // transform from sts.> to long-term keys), nor delete a record or the store.
    let auth_client = layout.client("auth").await;
    let update = format!(
        r#"{{"name":"{STREAM}","subjects":["$KV.jetgate-credentials.>"],"subject_transform":{{"src":"$KV.jetgate-credentials.sts.>","dest":"$KV.jetgate-credentials.>"}}}}"#
    );
    for (subject, body) in [
        (format!("$JS.API.STREAM.UPDATE.{STREAM}"), update.as_str()),
        (format!("$JS.API.STREAM.DELETE.{STREAM}"), ""),
        (
            format!("$JS.API.STREAM.MSG.DELETE.{STREAM}"),
            r#"{"seq":1}"#,
        ),
    ] {
        assert!(
            refused(&reply(&auth_client, &subject, body).await),
            "auth may {subject}"
        );
    }
    let info = admin
        .get_stream(STREAM)
        .await
        .expect("stream")
        .cached_info()
        .clone();
    assert!(
        info.config.subject_transform.is_none(),
        "the store was changed"
    );
    assert_eq!(info.state.messages, 1, "a record was deleted");
    for key in ["JGFORGEDLONGTERM", "webid.forged"] {
        assert!(kv.put(key, "x".into()).await.is_err(), "auth wrote {key}");
        let admin_kv = admin
            .get_key_value("jetgate-credentials")
            .await
            .expect("bucket");
        assert!(
            admin_kv.get(key).await.expect("get").is_none(),
            "{key} stored"
        );
    }
}

/// Stream changes a user of the gateway account could make with a stream's config: a
/// stream capturing the S3 calls, a look-alike bucket, a mirror of a bucket, a bucket
/// changed to republish its objects, a bucket deleted. `tag` keeps names apart.
fn stream_changes(tag: &str, bucket: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("$JS.API.STREAM.CREATE.CAPTURE_{tag}"),
            format!(r#"{{"name":"CAPTURE_{tag}","subjects":["jetgate.v1.>"],"storage":"memory"}}"#),
        ),
        (
            format!("$JS.API.STREAM.CREATE.OBJ_{tag}"),
            format!(
                r#"{{"name":"OBJ_{tag}","subjects":["$O.{tag}.C.>","$O.{tag}.M.>"],"storage":"memory","allow_rollup_hdrs":true,"allow_direct":true}}"#
            ),
        ),
        (
            format!("$JS.API.STREAM.CREATE.MIRROR_{tag}"),
            format!(
                r#"{{"name":"MIRROR_{tag}","mirror":{{"name":"{bucket}"}},"storage":"memory"}}"#
            ),
        ),
        (
            format!("$JS.API.STREAM.UPDATE.{bucket}"),
            format!(
                r#"{{"name":"{bucket}","subjects":["$O.lp.C.>","$O.lp.M.>"],"storage":"memory","allow_rollup_hdrs":true,"allow_direct":true,"republish":{{"src":">","dest":"leak.{tag}.>"}}}}"#
            ),
        ),
    ]
}

/// Names and configs of every stream in the account, as admin sees them.
async fn streams(admin: &async_nats::Client) -> Vec<(String, serde_json::Value)> {
    let m = reply(admin, "$JS.API.STREAM.LIST", "{}")
        .await
        .expect("stream list answered for admin");
    let v: serde_json::Value = serde_json::from_slice(&m.payload).expect("stream list json");
    let mut out: Vec<(String, serde_json::Value)> = v["streams"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["config"]["name"].as_str().unwrap_or_default().to_string(),
                        s["config"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn refused(m: &Option<async_nats::Message>) -> bool {
    m.as_ref()
        .is_none_or(|m| String::from_utf8_lossy(&m.payload).contains("\"error\""))
}

async fn data_changes_no_stream(layout: &Layout) {
    let admin = layout.client("admin").await;
    let listing = layout.client("listing").await;
    let data = layout.client("data").await;
    // A bucket, created by the listing role's user (as CreateBucket does).
    let bucket = "OBJ_lp";
    let created = reply(
        &listing,
        &format!("$JS.API.STREAM.CREATE.{bucket}"),
        r#"{"name":"OBJ_lp","subjects":["$O.lp.C.>","$O.lp.M.>"],"storage":"memory","allow_rollup_hdrs":true,"allow_direct":true}"#,
    )
    .await;
    assert!(
        !refused(&created),
        "listing cannot create a bucket: {created:?}"
    );

    // Positive control: every change below is one listing may make (so a refusal for
    // data is the permission, not a malformed request); undone afterwards.
    let before = streams(&admin).await;
    for (subject, config) in stream_changes("ctl", bucket) {
        let m = reply(&listing, &subject, &config).await;
        assert!(!refused(&m), "listing could not {subject}: {m:?}");
    }
    let changed = streams(&admin).await;
    assert_ne!(before, changed);
    for name in ["CAPTURE_ctl", "OBJ_ctl", "MIRROR_ctl"] {
        let m = reply(&admin, &format!("$JS.API.STREAM.DELETE.{name}"), "").await;
        assert!(!refused(&m), "admin could not delete {name}: {m:?}");
    }
    let restore = reply(
        &admin,
        &format!("$JS.API.STREAM.UPDATE.{bucket}"),
        r#"{"name":"OBJ_lp","subjects":["$O.lp.C.>","$O.lp.M.>"],"storage":"memory","allow_rollup_hdrs":true,"allow_direct":true}"#,
    )
    .await;
    assert!(!refused(&restore), "{restore:?}");
    let before = streams(&admin).await;
    assert_eq!(
        before.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [bucket]
    );

    // The data user: every change refused, and afterwards the account holds exactly
    // the streams it held, with the same configs.
    let mut attempts = stream_changes("data", bucket);
    attempts.push((format!("$JS.API.STREAM.DELETE.{bucket}"), String::new()));
    for (subject, config) in &attempts {
        let m = reply(&data, subject, config).await;
        assert!(refused(&m), "data was allowed {subject}: {m:?}");
    }
    assert_eq!(streams(&admin).await, before, "data changed the streams");

    // What data may do: read and write objects of the bucket, and create the
    // upload-state KV (by its exact name) on first use.
    let js = async_nats::jetstream::new(data.clone());
    js.publish(
        "$O.lp.M.a2V5",
        r#"{"name":"key","bucket":"lp","nuid":"N1","size":0,"chunks":0}"#.into(),
    )
    .await
    .expect("publish")
    .await
    .expect("data writes object metadata");
    js.create_key_value(async_nats::jetstream::kv::Config {
        bucket: "jetgate-uploads".into(),
        history: 1,
        ..Default::default()
    })
    .await
    .expect("data creates the upload-state KV");

    // And the usage stream, by its exact name, as a worker creates it; then it may
    // publish records there but not change the stream, and the edge may not publish
    // records at all (it cannot author usage).
    let usage = jetgate_actors::usage::publisher::stream_config(&Default::default());
    js.create_stream(usage.clone())
        .await
        .expect("data creates the usage stream");
    js.publish("jetgate.usage.PutObject", "{}".into())
        .await
        .expect("publish")
        .await
        .expect("data publishes a usage record");
    let republish = format!(
        r#"{{"name":"{0}","subjects":["{1}"],"republish":{{"src":">","dest":"leak.>"}}}}"#,
        usage.name,
        jetgate_actors::usage::SUBJECTS
    );
    let m = reply(
        &data,
        &format!("$JS.API.STREAM.UPDATE.{}", usage.name),
        &republish,
    )
    .await;
    assert!(refused(&m), "data changed the usage stream: {m:?}");
    let edge = layout.client("edge").await;
    edge.publish("jetgate.usage.PutObject", "{}".into())
        .await
        .expect("publish");
    edge.flush().await.expect("flush");
    // Had the server taken it, the stream would store it within this.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut stream = js.get_stream(&usage.name).await.expect("usage stream");
    let state = stream.info().await.expect("info").state.clone();
    assert_eq!(state.messages, 1, "the edge wrote a usage record");
    let names: Vec<String> = streams(&admin).await.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["KV_jetgate-uploads", bucket, "jetgate-usage"]);
}

/// Everything in the credential stream: its state and every message, in order.
#[derive(Debug, PartialEq)]
struct Snapshot {
    messages: u64,
    bytes: u64,
    first_seq: u64,
    last_seq: u64,
    contents: Vec<(u64, String, Bytes)>,
}

async fn snapshot(js: &async_nats::jetstream::Context) -> Snapshot {
    let mut stream = js.get_stream(STREAM).await.expect("credential stream");
    let state = stream.info().await.expect("stream info").state.clone();
    let mut contents = Vec::new();
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(m) = stream.get_raw_message(seq).await {
            contents.push((seq, m.subject.to_string(), m.payload));
        }
    }
    Snapshot {
        messages: state.messages,
        bytes: state.bytes,
        first_seq: state.first_sequence,
        last_seq: state.last_sequence,
        contents,
    }
}

/// True when `got` carries the record: its raw bytes, or base64 as the JSON API sends
/// message data.
fn reveals(got: &[u8], record: &[u8]) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD.encode(record);
    let has = |needle: &[u8]| got.windows(needle.len()).any(|w| w == needle);
    has(record) || has(b64.as_bytes())
}

/// Every read an attacker can try, as (subject, body). The consumers deliver to
/// `deliver` (the attacker's own inbox), which the caller watches.
fn read_attempts(deliver: &str) -> Vec<(String, String)> {
    let kv_subject = format!("$KV.jetgate-credentials.{AK}");
    let push = |name: &str| {
        format!(
            r#"{{"stream_name":"{STREAM}","config":{{"name":"{name}","deliver_subject":"{deliver}.{name}","deliver_policy":"all","ack_policy":"none"}}}}"#
        )
    };
    vec![
        (
            format!("$JS.API.DIRECT.GET.{STREAM}.{kv_subject}"),
            String::new(),
        ),
        (
            format!("$JS.API.DIRECT.GET.{STREAM}"),
            format!(r#"{{"last_by_subj":"{kv_subject}"}}"#),
        ),
        (
            format!("$JS.API.STREAM.MSG.GET.{STREAM}"),
            format!(r#"{{"last_by_subj":"{kv_subject}"}}"#),
        ),
        (
            format!("$JS.API.STREAM.MSG.GET.{STREAM}"),
            r#"{"seq":1}"#.into(),
        ),
        (
            format!("$JS.API.STREAM.INFO.{STREAM}"),
            r#"{"subjects_filter":">"}"#.into(),
        ),
        (format!("$JS.API.CONSUMER.CREATE.{STREAM}"), push("spy1")),
        (
            format!("$JS.API.CONSUMER.CREATE.{STREAM}.spy2"),
            push("spy2"),
        ),
        (
            format!("$JS.API.CONSUMER.CREATE.{STREAM}.spy3.$KV.jetgate-credentials.>"),
            push("spy3"),
        ),
        (
            format!("$JS.API.CONSUMER.DURABLE.CREATE.{STREAM}.spy4"),
            push("spy4").replace(r#""name":"spy4""#, r#""durable_name":"spy4""#),
        ),
        (format!("$JS.API.CONSUMER.LIST.{STREAM}"), String::new()),
        (
            format!("$JS.API.CONSUMER.MSG.NEXT.{STREAM}.spy4"),
            r#"{"batch":10,"expires":1000000000}"#.into(),
        ),
    ]
}

/// Streams in the attacker's own account that would copy the credential stream if it
/// were reachable, named by attacker so they do not collide.
fn copy_streams(who: &str) -> Vec<(String, String)> {
    let external = r#""external":{"api":"$JS.AUTH.API","deliver":""}"#;
    let who = who.replace('-', "_").to_uppercase();
    [
        (
            format!("SPYM_{who}"),
            format!(r#""mirror":{{"name":"{STREAM}"}}"#),
        ),
        (
            format!("SPYX_{who}"),
            format!(r#""mirror":{{"name":"{STREAM}",{external}}}"#),
        ),
        (
            format!("SPYS_{who}"),
            format!(r#""sources":[{{"name":"{STREAM}"}},{{"name":"{STREAM}",{external}}}]"#),
        ),
    ]
    .into_iter()
    .map(|(name, how)| {
        (
            name.clone(),
            format!(r#"{{"name":"{name}","storage":"memory",{how}}}"#),
        )
    })
    .collect()
}

/// Sends every request at once (a refused one costs its 2 s timeout); the replies.
async fn replies(c: &async_nats::Client, reqs: &[(String, String)]) -> Vec<Bytes> {
    futures::future::join_all(reqs.iter().map(|(s, b)| reply(c, s, b)))
        .await
        .into_iter()
        .flatten()
        .map(|m| m.payload)
        .collect()
}

/// Tries everything as `who`; returns every byte it got back.
async fn try_as(layout: &Layout, who: &str) -> Vec<Bytes> {
    let c = layout.client(who).await;
    let deliver = format!("{}.spy", Layout::inbox(who));
    // A subscription the attacker may hold (its own inbox) catches push deliveries.
    let mut pushed = c.subscribe(format!("{deliver}.>")).await.ok();
    let mut first = read_attempts(&deliver);
    let streams = copy_streams(who);
    first.extend(
        streams
            .iter()
            .map(|(name, config)| (format!("$JS.API.STREAM.CREATE.{name}"), config.clone())),
    );
    // Writes: a plaintext (format 1) record with a chosen secret, over a new key and
    // over the existing one, directly and through a republishing stream; and the
    // stream's destruction.
    let forged = format!(
        r#"{{"format":1,"access_key":"{AK}","secret_key":"chosenByTheAttacker/0123456789abcdef","owner_id":"x","display_name":"x"}}"#
    );
    let tag = who.replace('-', "_");
    first.extend([
        ("$KV.jetgate-credentials.FORGED".to_string(), forged.clone()),
        (format!("$KV.jetgate-credentials.{AK}"), forged.clone()),
        (
            format!("$JS.API.STREAM.CREATE.REPUB_{tag}"),
            format!(
                r#"{{"name":"REPUB_{tag}","subjects":["$O.repub{tag}.>"],"storage":"memory","republish":{{"src":">","dest":"$KV.jetgate-credentials.{AK}"}}}}"#
            ),
        ),
        (format!("$JS.API.STREAM.PURGE.{STREAM}"), String::new()),
        (format!("$JS.API.STREAM.MSG.DELETE.{STREAM}"), r#"{"seq":1}"#.into()),
        (
            format!("$JS.API.STREAM.UPDATE.{STREAM}"),
            format!(r#"{{"name":"{STREAM}","subjects":["$KV.jetgate-credentials.>"]}}"#),
        ),
        (format!("$JS.API.STREAM.DELETE.{STREAM}"), String::new()),
    ]);
    let mut got = replies(&c, &first).await;
    // Then: feed the republishing stream, and read what the copies hold by now.
    let mut second = vec![(format!("$O.repub{tag}.x"), forged)];
    second.extend(streams.iter().map(|(name, _)| {
        (
            format!("$JS.API.STREAM.MSG.GET.{name}"),
            r#"{"seq":1}"#.into(),
        )
    }));
    got.extend(replies(&c, &second).await);
    if let Some(sub) = pushed.as_mut() {
        while let Some(m) = next_message(sub, Duration::from_secs(1)).await {
            got.push(m.payload);
        }
    }
    got
}

async fn attack_credential_store(layout: &Layout) {
    let add = layout.jetgate_cmd(
        "auth-admin",
        &["credentials", "add", "--access-key", AK, "--secret-key", SK],
    );
    assert!(
        add.status.success(),
        "credentials add: {}",
        String::from_utf8_lossy(&add.stderr)
    );
    let auth_admin = layout.client("auth-admin").await;
    let js = async_nats::jetstream::new(auth_admin.clone());
    let before = snapshot(&js).await;
    let record = before
        .contents
        .iter()
        .find(|(_, s, _)| s.ends_with(AK))
        .map(|(_, _, p)| p.clone())
        .expect("the record in the stream");
    assert!(!record.is_empty());

    // Positive controls: the store's own users read the record by direct get, and a
    // mirror inside AUTH copies it: the same probes would show a leak.
    let direct = format!("$JS.API.DIRECT.GET.{STREAM}.$KV.jetgate-credentials.{AK}");
    for who in ["auth-admin", "auth"] {
        let c = layout.client(who).await;
        let m = reply(&c, &direct, "").await.expect("direct get answered");
        assert!(reveals(&m.payload, &record), "{who} cannot read the record");
    }
    let (name, config) = copy_streams("control").remove(0);
    let m = reply(
        &auth_admin,
        &format!("$JS.API.STREAM.CREATE.{name}"),
        &config,
    )
    .await
    .expect("mirror created in AUTH");
    assert!(
        !String::from_utf8_lossy(&m.payload).contains("\"error\""),
        "{:?}",
        m.payload
    );
    common::poll(
        "the control mirror to fill",
        Duration::from_secs(10),
        || {
            let auth_admin = auth_admin.clone();
            let name = name.clone();
            let record = record.clone();
            async move {
                reply(
                    &auth_admin,
                    &format!("$JS.API.STREAM.MSG.GET.{name}"),
                    r#"{"seq":1}"#,
                )
                .await
                .filter(|m| reveals(&m.payload, &record))
            }
        },
    )
    .await;
    js.delete_stream(&name)
        .await
        .expect("delete control mirror");

    for who in ["edge", "listing", "data", "admin"] {
        let got = try_as(layout, who).await;
        let leaked: Vec<_> = got.iter().filter(|g| reveals(g, &record)).collect();
        assert!(
            leaked.is_empty(),
            "{who} read the credential record: {leaked:?}"
        );
    }
    // The copies had time to fill while the later attempts ran; the store is unchanged.
    let after = snapshot(&js).await;
    assert_eq!(before, after, "the credential stream changed");
    let kv = js
        .get_key_value("jetgate-credentials")
        .await
        .expect("credentials");
    assert!(kv.get("FORGED").await.expect("get").is_none());

    // The JETGATE account holds no credential bucket that anyone could have planted.
    let admin = layout.client("admin").await;
    let m = reply(&admin, &format!("$JS.API.STREAM.INFO.{STREAM}"), "")
        .await
        .expect("stream info answered for admin");
    assert!(
        String::from_utf8_lossy(&m.payload).contains("\"error\""),
        "a credential stream exists in the gateway account: {:?}",
        m.payload
    );
}
