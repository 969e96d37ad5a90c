//! A worker killed (SIGKILL) or stalled (SIGSTOP) while Complete copies the parts
//! (issue #3) leaves no partial object: a HEAD poller never sees one, the client of that
//! Complete never sees a wrong success, and the upload then either completes on retry or
//! is abortable, with every chunk of the interrupted copy reclaimed. A worker lost between
//! parts: tests/multipart_faults.rs.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use common::{
    assert_no_upload_keys, assert_stored_object, complete, create_upload_with, kill_worker,
    multipart_etag, nats_bucket, put_part, random_bytes, wait_chunks, Gateway, GatewayOptions,
    ORPHAN_GRACE_SECS,
};

const MIB: usize = 1024 * 1024;

fn no_retry(g: &Gateway) -> Client {
    g.client_with(common::ACCESS_KEY, common::SECRET_KEY, |c| {
        c.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
    })
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
        g.start_worker_with_env(&[("JETGATE_ORPHAN_GRACE_SECS", ORPHAN_GRACE_SECS)]);
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
    assert_stored_object(&t.g, &t.b, t.k, &t.whole, &t.etag).await;
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
