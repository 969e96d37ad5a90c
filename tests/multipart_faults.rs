//! Multipart uploads survive a worker killed with SIGKILL (issue #3): upload state lives
//! in the KV bucket `jetgate-uploads`, so a new worker carries on with parts uploaded
//! through the dead one; a worker killed during Complete leaves no partial object, the
//! client of that Complete never sees a wrong success, and the upload then either
//! completes on retry or is abortable, with every chunk reclaimed. A part whose client
//! leaves while the part is read ahead of its turn leaves nothing behind either.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::Client;
use common::{
    chunk_messages, complete, create_upload_with, get_nats, last_sequence, md5_hex, multipart_etag,
    nats_bucket, put_part, random_bytes, upload_kv_keys, Gateway, GatewayOptions,
};

const MIB: usize = 1024 * 1024;
/// Orphan grace of the replacement workers: their janitor runs every this often. Long
/// enough that a Complete copying parts (which writes chunks continuously) is never
/// mistaken for a dead one on this busy 2-core machine.
const GRACE: &str = "10";

fn no_retry(g: &Gateway) -> Client {
    g.client_with(common::ACCESS_KEY, common::SECRET_KEY, |c| {
        c.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
    })
}

async fn assert_object(g: &Gateway, b: &str, k: &str, want: &[u8], etag: &str) {
    let got = g
        .client()
        .get_object()
        .bucket(b)
        .key(k)
        .send()
        .await
        .expect("get object");
    assert_eq!(got.e_tag(), Some(etag), "ETag via S3");
    let body = got.body.collect().await.expect("read body").to_vec();
    assert_eq!(body.len(), want.len(), "length via S3");
    assert_eq!(md5_hex(&body), md5_hex(want), "bytes via S3");
    let via_nats = get_nats(&g.nats.jetstream().await, b, k).await;
    assert_eq!(md5_hex(&via_nats), md5_hex(want), "bytes via async-nats");
}

/// No upload keys of `id` are left in the uploads KV.
async fn assert_no_upload_keys(g: &Gateway, id: &str) {
    let left = upload_kv_keys(&g.nats.jetstream().await, id).await;
    assert!(left.is_empty(), "upload keys left: {left:?}");
}

async fn wait_chunks(g: &Gateway, b: &str, want: u64) {
    let js = g.nats.jetstream().await;
    let nb = nats_bucket(b);
    let t = Instant::now();
    common::poll(
        &format!("{want} chunk messages in {b}"),
        Duration::from_secs(90),
        || {
            let (js, nb) = (js.clone(), nb.clone());
            async move { (chunk_messages(&js, &nb).await == want).then_some(()) }
        },
    )
    .await;
    println!(
        "{want} chunks left, {:?} after the check started",
        t.elapsed()
    );
}

fn kill_worker(g: &Gateway) {
    let w = g.worker();
    println!("kill -9 worker pid {}", w.pid());
    w.signal("KILL");
    w.wait_exit(Duration::from_secs(10))
        .expect("worker exits after SIGKILL");
}

enum Then {
    Complete,
    Abort,
}

/// Parts 1–2 through one worker, SIGKILL, then part 3 and a re-upload of part 2 through
/// a new worker; then Complete (byte-exact) or Abort (nothing left).
async fn kill_between_parts(then: Then) {
    let mut g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    let s3 = g.client();
    let b = g.bucket("mpkill").await;
    let k = "dir/survivor.bin";
    let id = create_upload_with(&s3, &b, k, |r| r).await;
    let p1 = random_bytes(6 * MIB, 1);
    let p2a = random_bytes(6 * MIB, 2);
    let p2b = random_bytes(7 * MIB + 11, 3);
    let p3 = random_bytes(2 * MIB + 5, 4);
    let e1 = put_part(&s3, &b, k, &id, 1, &p1).await;
    let e2a = put_part(&s3, &b, k, &id, 2, &p2a).await;

    kill_worker(&g);
    g.start_worker_with_env(&[("JETGATE_ORPHAN_GRACE_SECS", GRACE)]);
    g.wait_ready().await;

    // The new worker knows the parts uploaded through the dead one.
    let listed = s3
        .list_parts()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .send()
        .await
        .expect("list parts after the kill");
    let seen: Vec<(i32, String)> = listed
        .parts()
        .iter()
        .map(|p| {
            (
                p.part_number().unwrap_or_default(),
                p.e_tag().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(seen, vec![(1, e1.clone()), (2, e2a.clone())]);

    let e3 = put_part(&s3, &b, k, &id, 3, &p3).await;
    let e2b = put_part(&s3, &b, k, &id, 2, &p2b).await;
    assert_ne!(e2a, e2b);
    match then {
        Then::Complete => {
            let want_etag = multipart_etag(&[&p1, &p2b, &p3]);
            let parts = vec![(1, e1), (2, e2b), (3, e3)];
            // The replaced part 2 is refused, the new one accepted.
            let (code, _, _) = complete(&s3, &b, k, &id, &[(1, parts[0].1.clone()), (2, e2a)])
                .await
                .expect_err("old part 2");
            assert_eq!(code, "InvalidPart");
            let etag = complete(&s3, &b, k, &id, &parts)
                .await
                .expect("complete after the worker restart");
            assert_eq!(etag, want_etag);
            let whole = [p1.as_slice(), &p2b, &p3].concat();
            assert_object(&g, &b, k, &whole, &want_etag).await;
            // Only the object's chunks remain: 6 + 8 + 3 whole-MiB chunks.
            wait_chunks(&g, &b, 6 + 8 + 3).await;
        }
        Then::Abort => {
            s3.abort_multipart_upload()
                .bucket(&b)
                .key(k)
                .upload_id(&id)
                .send()
                .await
                .expect("abort after the worker restart");
            let e = s3
                .list_parts()
                .bucket(&b)
                .key(k)
                .upload_id(&id)
                .send()
                .await
                .expect_err("upload gone");
            assert_eq!(e.code(), Some("NoSuchUpload"));
            assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
            let e = s3
                .head_object()
                .bucket(&b)
                .key(k)
                .send()
                .await
                .expect_err("no object after abort");
            assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
            let ups = s3
                .list_multipart_uploads()
                .bucket(&b)
                .send()
                .await
                .expect("list uploads");
            assert!(ups.uploads().is_empty(), "{:?}", ups.uploads());
            wait_chunks(&g, &b, 0).await;
            assert_no_upload_keys(&g, &id).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_between_parts_then_complete() {
    kill_between_parts(Then::Complete).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_between_parts_then_abort() {
    kill_between_parts(Then::Abort).await;
}

/// What a HEAD poller saw: `Ok((size, etag))` or `Err(status)`.
type Seen = Vec<Result<(i64, String), Option<u16>>>;

struct Poller {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Poller {
    fn start(s3: Client, b: String, k: String) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let (stop2, seen2) = (stop.clone(), seen.clone());
        let task = tokio::spawn(async move {
            while !stop2.load(Ordering::Relaxed) {
                let r = match s3.head_object().bucket(&b).key(&k).send().await {
                    Ok(h) => Ok((
                        h.content_length().unwrap_or(-1),
                        h.e_tag().unwrap_or_default().to_string(),
                    )),
                    Err(e) => Err(e.raw_response().map(|r| r.status().as_u16())),
                };
                seen2.lock().expect("poller lock").push(r);
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
        Poller { stop, seen, task }
    }

    /// Stops the poller; every HEAD saw either no object or the final one.
    async fn finish(self, size: usize, etag: &str) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("poller task");
        let seen = std::mem::take(&mut *self.seen.lock().expect("poller lock"));
        let (mut absent, mut unavailable, mut final_) = (0, 0, 0);
        for s in &seen {
            match s {
                Ok((len, e)) => {
                    assert_eq!(
                        (*len, e.as_str()),
                        (size as i64, etag),
                        "HEAD saw a partial or wrong object"
                    );
                    final_ += 1;
                }
                Err(Some(404)) => absent += 1,
                // No worker answering while it was dead: not an object either way.
                Err(Some(503)) | Err(None) => unavailable += 1,
                Err(other) => panic!("HEAD answered {other:?}"),
            }
        }
        println!("HEAD poller: {absent} absent, {unavailable} unavailable, {final_} final");
        seen
    }
}

struct Killed {
    g: Gateway,
    b: String,
    k: &'static str,
    id: String,
    parts: Vec<(i32, String)>,
    whole: Vec<u8>,
    etag: String,
    poller: Poller,
}

const BIG_PART: usize = 48 * MIB;
const BIG_PARTS: usize = 5;

/// What happens to the worker of a Complete once its copy is under way.
#[derive(Clone, Copy, PartialEq)]
enum Interrupt {
    /// SIGKILL, then a replacement worker.
    Kill,
    /// SIGSTOP past the Complete's claim (20 s), then SIGCONT.
    Stall,
}

/// Uploads 5 × 48 MiB so that Complete must copy every part (parts 2–5 arrive before
/// part 1 and, with no append wait, are staged), starts Complete, and interrupts the
/// worker once the copy is under way (the bucket's stream grows), while a poller HEADs
/// the key.
async fn interrupt_complete(how: Interrupt) -> Killed {
    let mut g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    // A worker that stages early parts at once (the slow Complete path), replacing the
    // default one.
    g.start_worker_with_env(&[("JETGATE_PART_APPEND_WAIT_SECS", "0")]);
    g.procs_mut()[0].stop(Duration::from_secs(10));
    let s3 = g.client();
    let b = g.bucket("mpkc").await;
    let k = "slow/complete.bin";
    let id = create_upload_with(&s3, &b, k, |r| r).await;
    let data: Vec<Vec<u8>> = (0..BIG_PARTS)
        .map(|i| random_bytes(BIG_PART, 100 + i as u64))
        .collect();
    let mut parts = Vec::new();
    for n in (2..=BIG_PARTS).chain([1]) {
        let e = put_part(&s3, &b, k, &id, n as i32, &data[n - 1]).await;
        parts.push((n as i32, e));
    }
    parts.sort();
    let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let etag = multipart_etag(&refs);
    let whole = data.concat();
    drop(data);

    let poller = Poller::start(no_retry(&g), b.clone(), k.to_string());
    let js = g.nats.jetstream().await;
    let mut stream = js
        .get_stream(format!("OBJ_{}", nats_bucket(&b)))
        .await
        .expect("object store stream");
    let before = stream.info().await.expect("stream info").state.bytes;
    let c = no_retry(&g);
    let (b2, id2, parts2) = (b.clone(), id.clone(), parts.clone());
    let started = Instant::now();
    let completing = tokio::spawn(async move { complete(&c, &b2, k, &id2, &parts2).await });
    // Kill once a quarter of the object has been copied.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = stream.info().await.expect("stream info").state.bytes;
        if now >= before + (BIG_PART * BIG_PARTS / 4) as u64 {
            println!(
                "Complete has copied {} MiB after {:?}",
                (now - before) / MIB as u64,
                started.elapsed()
            );
            break;
        }
        assert!(
            !completing.is_finished(),
            "Complete ended before the copy got under way: {:?}",
            completing.await
        );
        assert!(Instant::now() < deadline, "Complete copied nothing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed = Instant::now();
    match how {
        Interrupt::Kill => kill_worker(&g),
        Interrupt::Stall => {
            println!("SIGSTOP worker pid {} for 25 s", g.worker().pid());
            g.worker().signal("STOP");
            tokio::time::sleep(Duration::from_secs(25)).await;
            g.worker().signal("CONT");
        }
    }

    // The client of the interrupted Complete: a 200 whose document never ends (the edge
    // cuts the connection once the worker is silent) or an error, never a success.
    let res = tokio::time::timeout(Duration::from_secs(60), completing)
        .await
        .expect("the interrupted Complete is answered within 60 s")
        .expect("complete task");
    match res {
        Ok(e) => panic!("Complete succeeded although its worker died mid-copy (ETag {e})"),
        Err((code, status, dbg)) => println!(
            "interrupted Complete failed {:?} after the kill: code {code:?}, status {status:?}\n{}",
            killed.elapsed(),
            &dbg[..dbg.len().min(600)]
        ),
    }
    if how == Interrupt::Kill {
        g.start_worker_with_env(&[("JETGATE_ORPHAN_GRACE_SECS", GRACE)]);
    } else {
        // Nobody touched the upload during the stall, yet the resumed Complete must not
        // carry on: its claim lapsed, and it cannot know what happened meanwhile. Wait
        // until it has given up (it hands the upload back: phase `Active` in the uploads
        // KV; a Complete that published would have removed the record), then look.
        let kv = g
            .nats
            .jetstream()
            .await
            .get_key_value("jetgate-uploads")
            .await
            .expect("uploads KV");
        common::poll(
            "the resumed Complete to give up",
            Duration::from_secs(60),
            || {
                let (kv, key) = (kv.clone(), format!("u.{id}"));
                async move {
                    let v = kv.get(&key).await.expect("uploads KV get");
                    v.is_none_or(|v| String::from_utf8_lossy(&v).contains(r#""phase":"Active""#))
                        .then_some(())
                }
            },
        )
        .await;
        let e = g
            .client()
            .head_object()
            .bucket(&b)
            .key(k)
            .send()
            .await
            .expect_err("the stalled Complete published its object");
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    }
    g.wait_ready().await;
    Killed {
        g,
        b,
        k,
        id,
        parts,
        whole,
        etag,
        poller,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_during_complete_then_retry() {
    retry_after(interrupt_complete(Interrupt::Kill).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_stalled_during_complete_then_retry() {
    retry_after(interrupt_complete(Interrupt::Stall).await).await;
}

/// Retries the interrupted Complete until it succeeds; nothing of the first is left.
async fn retry_after(t: Killed) {
    let s3 = no_retry(&t.g);
    // The dead Complete's claim runs out; until then a retry is told to retry.
    let retried = Instant::now();
    let deadline = retried + Duration::from_secs(120);
    let etag = loop {
        match complete(&s3, &t.b, t.k, &t.id, &t.parts).await {
            Ok(e) => break e,
            Err((code, status, dbg)) => {
                assert!(
                    code == "ServiceUnavailable" || status == Some(503),
                    "retried Complete: {code} {status:?} {dbg}"
                );
                assert!(Instant::now() < deadline, "Complete never succeeded: {dbg}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    println!(
        "retried Complete succeeded {:?} after the restart",
        retried.elapsed()
    );
    assert_eq!(etag, t.etag);
    assert_object(&t.g, &t.b, t.k, &t.whole, &t.etag).await;
    let seen = t.poller.finish(t.whole.len(), &t.etag).await;
    assert!(
        matches!(seen.last(), Some(Ok(_))),
        "the poller saw the final object"
    );
    // The copy the dead worker started is reclaimed; the object's chunks stay.
    wait_chunks(&t.g, &t.b, (BIG_PARTS * BIG_PART / MIB) as u64).await;
    assert_no_upload_keys(&t.g, &t.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_during_complete_then_abort() {
    let t = interrupt_complete(Interrupt::Kill).await;
    let s3 = no_retry(&t.g);
    // Abort is refused while the dead Complete's claim lasts, then succeeds.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match s3
            .abort_multipart_upload()
            .bucket(&t.b)
            .key(t.k)
            .upload_id(&t.id)
            .send()
            .await
        {
            Ok(_) => break,
            Err(e) => {
                assert!(Instant::now() < deadline, "Abort never succeeded: {e:?}");
                // Still there (claimed), not gone.
                s3.list_parts()
                    .bucket(&t.b)
                    .key(t.k)
                    .upload_id(&t.id)
                    .send()
                    .await
                    .expect("the upload still exists while Abort is refused");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let e = s3
        .head_object()
        .bucket(&t.b)
        .key(t.k)
        .send()
        .await
        .expect_err("no object after abort");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let (code, _, _) = complete(&s3, &t.b, t.k, &t.id, &t.parts)
        .await
        .expect_err("Complete after Abort");
    assert_eq!(code, "NoSuchUpload");
    t.poller.finish(t.whole.len(), &t.etag).await;
    wait_chunks(&t.g, &t.b, 0).await;
    assert_no_upload_keys(&t.g, &t.id).await;
}

/// A part read ahead of its turn whose client goes away mid-body leaves nothing behind:
/// no part, no chunks, no append lease, no budget held; the upload goes on in place.
#[tokio::test]
async fn part_read_ahead_then_abandoned_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    let g = Gateway::start(GatewayOptions {
        // Logs how much of a part was read ahead once the worker is done with it.
        env: vec![(
            "JETGATE_LOG".into(),
            "info,async_nats=warn,jetgate_actors::multipart::read_ahead=debug".into(),
        )],
        ..Default::default()
    })
    .await;
    let s3 = g.client();
    let b = g.bucket("mpra").await;
    let k = "read/ahead.bin";
    let id = create_upload_with(&s3, &b, k, |r| r).await;
    let presigned = s3
        .upload_part()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .part_number(2)
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(600))
                .expect("presigning config"),
        )
        .await
        .expect("presign part 2");
    let uri = presigned.uri();
    let rest = &uri[uri.find("://").map_or(0, |i| i + 3)..];
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    // Part 2 arrives first and is read ahead; its client leaves after 2 of 5 MiB.
    let mut sock = tokio::net::TcpStream::connect(host).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
        5 * MIB
    );
    sock.write_all(head.as_bytes()).await.expect("head");
    sock.write_all(&random_bytes(2 * MIB, 9))
        .await
        .expect("partial body");
    // The client stalls mid-body before it leaves: that stall is what is tested (the
    // part is read ahead while its client is still there), so it stays a fixed pause.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(sock);
    // The worker is done with the abandoned part once it logs what it read ahead; that
    // it read anything at all shows the read-ahead path ran.
    let line = g.procs()[0]
        .wait_matching(Duration::from_secs(60), |l| {
            l.contains("part read ahead of its turn")
                .then(|| l.to_string())
        })
        .unwrap_or_else(|e| panic!("the abandoned part was never read ahead: {e}"));
    // The event's own field comes last (the span's `bytes` is the part's length).
    let bytes: u64 = line
        .rsplit_once(" bytes=")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no bytes= in {line:?}"));
    assert!(bytes > 0, "nothing was read ahead: {line}");

    let parts = [random_bytes(5 * MIB, 10), random_bytes(MIB + 7, 11)];
    let e1 = put_part(&s3, &b, k, &id, 1, &parts[0]).await;
    let e2 = put_part(&s3, &b, k, &id, 2, &parts[1]).await;
    let listed = s3
        .list_parts()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .send()
        .await
        .expect("list parts");
    let sizes: Vec<i64> = listed.parts().iter().filter_map(|p| p.size()).collect();
    assert_eq!(sizes, vec![5 * MIB as i64, MIB as i64 + 7]);
    let js = g.nats.jetstream().await;
    let before = last_sequence(&js, &nats_bucket(&b)).await;
    let etag = complete(&s3, &b, k, &id, &[(1, e1), (2, e2)])
        .await
        .expect("complete");
    // Both parts were appended in place: Complete publishes the metadata and nothing else.
    assert_eq!(
        last_sequence(&js, &nats_bucket(&b)).await - before,
        1,
        "Complete wrote more than the metadata message (it copied parts)"
    );
    assert_object(&g, &b, k, &parts.concat(), &etag).await;
    let chunks = chunk_messages(&js, &nats_bucket(&b)).await;
    assert_eq!(chunks, 5 + 2, "chunk messages in the bucket");
}
