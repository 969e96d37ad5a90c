//! Housekeeping of multipart uploads in progress: `jetgate uploads list`, `jetgate
//! uploads abort-stale --older-than-secs` and the worker's `--upload-max-age-secs`
//! sweep, against a real gateway. An aborted upload is gone everywhere: from
//! ListMultipartUploads, from the uploads KV and from the bucket's chunk messages.

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::Client;
use aws_smithy_types::date_time::Format;
use common::{
    chunk_messages, create_upload_with, jetgate_bin, nats_bucket, put_part, random_bytes,
    record_marker, upload_kv_keys, Gateway, GatewayOptions,
};

const MIB: usize = 1024 * 1024;

/// Runs `jetgate uploads <args>` against the gateway's NATS; returns its stdout.
fn uploads(g: &Gateway, args: &[&str]) -> String {
    let out = Command::new(jetgate_bin())
        .arg("uploads")
        .arg(args[0])
        .args(["--nats-url", g.nats.url()])
        .args(&args[1..])
        .output()
        .expect("run jetgate uploads");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "jetgate uploads {args:?}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `(upload id, key, initiated)` of every upload ListMultipartUploads shows in `b`.
async fn listed(s3: &Client, b: &str) -> Vec<(String, String, DateTime)> {
    let out = s3
        .list_multipart_uploads()
        .bucket(b)
        .send()
        .await
        .expect("list multipart uploads");
    out.uploads()
        .iter()
        .map(|u| {
            (
                u.upload_id().expect("UploadId").to_string(),
                u.key().expect("Key").to_string(),
                *u.initiated().expect("Initiated"),
            )
        })
        .collect()
}

/// Milliseconds since the epoch of an `Initiated` timestamp.
async fn initiated_ms(s3: &Client, b: &str, id: &str) -> i64 {
    let out = s3
        .list_multipart_uploads()
        .bucket(b)
        .send()
        .await
        .expect("list multipart uploads");
    let u = out
        .uploads()
        .iter()
        .find(|u| u.upload_id() == Some(id))
        .unwrap_or_else(|| panic!("upload {id} not listed"));
    let t = u.initiated().expect("Initiated");
    t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The upload is gone: NoSuchUpload (404) for its parts, no KV keys left.
async fn assert_gone(g: &Gateway, s3: &Client, b: &str, k: &str, id: &str) {
    let e = s3
        .list_parts()
        .bucket(b)
        .key(k)
        .upload_id(id)
        .send()
        .await
        .expect_err("ListParts of an aborted upload");
    assert_eq!(e.code(), Some("NoSuchUpload"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let js = g.nats.jetstream().await;
    assert_eq!(upload_kv_keys(&js, id).await, Vec::<String>::new());
    // The record went by a purge marker that the upload indexes see, and that expires.
    assert_eq!(
        record_marker(&js, id).await,
        Some(("PURGE".to_string(), Some("3600".to_string())))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_list_and_abort_stale() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let s3 = g.client();
    let b = g.bucket("upadmin").await;
    let js = g.nats.jetstream().await;

    // The stale upload, with a 2 MiB part (2 chunk messages).
    let old = create_upload_with(&s3, &b, "old/one.bin", |r| r).await;
    put_part(&s3, &b, "old/one.bin", &old, 1, &random_bytes(2 * MIB, 1)).await;
    // The cut-off below must fall between the two uploads' creation times. The
    // command's own start-up (a process and a NATS connection) must fit in the margin,
    // so the stale one is made 6 s old first: an age, polled for, not a fixed sleep.
    let old_ms = initiated_ms(&s3, &b, &old).await;
    common::poll(
        "the first upload to be 6 s old",
        Duration::from_secs(30),
        move || async move { (now_ms() >= old_ms + 6_000).then_some(()) },
    )
    .await;
    let fresh = create_upload_with(&s3, &b, "new/two.bin", |r| r).await;
    let part = random_bytes(MIB + 1, 2);
    let part_etag = put_part(&s3, &b, "new/two.bin", &fresh, 1, &part).await;
    assert_eq!(chunk_messages(&js, &nats_bucket(&b)).await, 2 + 2);
    let fresh_keys = upload_kv_keys(&js, &fresh).await;
    assert!(fresh_keys.contains(&format!("u.{fresh}")), "{fresh_keys:?}");

    // `list`: one line per upload as ListMultipartUploads shows it, oldest first
    // (ListMultipartUploads orders by key, so "new/…" comes first there).
    let before = listed(&s3, &b).await;
    let ids: Vec<&str> = before.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, [fresh.as_str(), old.as_str()]);
    let (fresh_entry, old_entry) = (before[0].clone(), before[1].clone());
    assert_eq!(uploads_listed(&g, &b), vec![old_entry, fresh_entry.clone()]);

    // `abort-stale` with a cut-off 3 s back: the 6 s old upload goes, the new one stays.
    let out = uploads(&g, &["abort-stale", "--older-than-secs", "3"]);
    assert_eq!(
        out,
        format!("aborted {old}\t{b}\told/one.bin\n1 upload(s) aborted\n")
    );
    assert_gone(&g, &s3, &b, "old/one.bin", &old).await;
    assert_eq!(listed(&s3, &b).await, vec![fresh_entry.clone()]);
    assert_eq!(
        upload_kv_keys(&js, &fresh).await,
        fresh_keys,
        "the fresh upload's state"
    );
    // The stale upload's chunks are purged; the fresh one's are untouched.
    assert_eq!(chunk_messages(&js, &nats_bucket(&b)).await, 2);
    assert_eq!(uploads_listed(&g, &b), vec![fresh_entry]);

    // The survivor still completes into the right object.
    common::complete(&s3, &b, "new/two.bin", &fresh, &[(1, part_etag)])
        .await
        .expect("complete the fresh upload");
    let got = s3
        .get_object()
        .bucket(&b)
        .key("new/two.bin")
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&got[..], &part[..]);

    // Nothing in progress: abort-stale aborts nothing, list prints nothing.
    let out = uploads(&g, &["abort-stale", "--older-than-secs", "0"]);
    assert_eq!(out, "0 upload(s) aborted\n");
    assert_eq!(uploads(&g, &["list"]), "");
}

/// `jetgate uploads list` parsed (`id <TAB> initiated <TAB> bucket <TAB> key` lines), all
/// in `bucket`.
fn uploads_listed(g: &Gateway, bucket: &str) -> Vec<(String, String, DateTime)> {
    uploads(g, &["list"])
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "uploads list line {l:?}");
            let at = DateTime::from_str(f[1], Format::DateTime)
                .unwrap_or_else(|e| panic!("time in {l:?}: {e}"));
            assert_eq!(f[2], bucket, "bucket in {l:?}");
            (f[0].to_string(), f[3].to_string(), at)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_older_than_max_age_is_swept() {
    const MAX_AGE_SECS: i64 = 5;
    let g = Gateway::start(GatewayOptions {
        env: vec![(
            "JETGATE_UPLOAD_MAX_AGE_SECS".into(),
            MAX_AGE_SECS.to_string(),
        )],
        ..Default::default()
    })
    .await;
    let s3 = g.client();
    let b = g.bucket("upsweep").await;
    let js = g.nats.jetstream().await;
    let k = "abandoned/upload.bin";
    let id = create_upload_with(&s3, &b, k, |r| r).await;
    s3.upload_part()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(random_bytes(3 * MIB, 3)))
        .send()
        .await
        .expect("upload part");
    let created = initiated_ms(&s3, &b, &id).await;
    assert_eq!(chunk_messages(&js, &nats_bucket(&b)).await, 3);

    // Swept for its age, not at sight: whenever a listing finds it gone, the maximum
    // age must have passed before that listing was answered.
    common::poll(
        "the sweep to abort the upload",
        Duration::from_secs(60),
        || {
            let s3 = s3.clone();
            let b = b.clone();
            async move {
                let gone = listed(&s3, &b).await.is_empty();
                let answered = now_ms();
                if gone {
                    assert!(
                        answered >= created + MAX_AGE_SECS * 1000,
                        "aborted {} ms after creation, before the {MAX_AGE_SECS} s maximum",
                        answered - created
                    );
                }
                gone.then_some(())
            }
        },
    )
    .await;
    assert_gone(&g, &s3, &b, k, &id).await;
    common::poll(
        "the upload's chunks to be purged",
        Duration::from_secs(30),
        || {
            let js = js.clone();
            let nb = nats_bucket(&b);
            async move { (chunk_messages(&js, &nb).await == 0).then_some(()) }
        },
    )
    .await;
    let log = std::fs::read_to_string(g.procs()[0].log_path()).expect("dev log");
    assert!(
        log.lines()
            .any(|l| l.contains("aborted a stale upload") && l.contains(&id)),
        "no sweep log line for {id}"
    );
}
