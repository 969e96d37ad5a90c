//! Listing workers killed under load (issue #13): two workers serve the listing role
//! (each indexes the buckets it is asked about); while a native NATS writer changes
//! the bucket and every change is followed by listings checked against a model, the
//! workers are killed with SIGKILL one after the other and fresh ones started. Every
//! listing answered must equal the model; a listing caught on a dying worker may fail,
//! retriably (503), never with a wrong page. The writes go straight to NATS, so they are
//! never in doubt when a worker dies.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{expected_listing, try_walk, Gateway, GatewayOptions};

/// The listings checked after each write: whole bucket in pages, and one directory.
const SHAPES: [(&str, Option<&str>, i32); 2] = [("", None, 250), ("d/", Some("/"), 7)];

#[derive(Default)]
struct Tally {
    checks: usize,
    /// Listings that failed (retriable) and were asked again.
    retried: usize,
}

/// Writes and checks until `stop`; panics on the first listing that differs.
async fn write_and_check(
    c: aws_sdk_s3::Client,
    store: async_nats::jetstream::object_store::ObjectStore,
    bucket: String,
    mut model: BTreeMap<String, i64>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut step = 0u32;
    while !stop.load(Ordering::Relaxed) {
        step += 1;
        // Put a new key, overwrite one, or delete one: the native NATS way.
        let key = match step % 3 {
            0 => format!("d/{step:05}"),
            1 => format!("n/{:05}", step % 97),
            _ => format!("d/sub/{step:05}"),
        };
        if step.is_multiple_of(5) {
            if let Some(victim) = model
                .keys()
                .nth(step as usize % model.len().max(1))
                .cloned()
            {
                store.delete(victim.as_str()).await.expect("native delete");
                model.remove(&victim);
            }
        } else {
            let body = vec![b'x'; (step % 13) as usize + 1];
            store
                .put(key.as_str(), &mut body.as_slice())
                .await
                .expect("native put");
            model.insert(key, body.len() as i64);
        }
        for (prefix, delimiter, max) in SHAPES {
            let mut attempts = 0;
            let got = loop {
                match try_walk(&c, &bucket, prefix, delimiter, max).await {
                    Ok(got) => break got,
                    Err(e) => {
                        let status = e.raw_response().map(|r| r.status().as_u16());
                        // Only the answer of a call whose worker died, or no answer.
                        assert!(
                            matches!(status, None | Some(503)),
                            "step {step}: listing failed with {status:?} {:?}: {e:?}",
                            e.code()
                        );
                        attempts += 1;
                        assert!(
                            attempts < 5,
                            "step {step}: listing failed {attempts} times: {e:?}"
                        );
                        tally.retried += 1;
                    }
                }
            };
            assert_eq!(
                got,
                expected_listing(&model, prefix, delimiter),
                "step {step}: prefix {prefix:?} delimiter {delimiter:?} max {max}"
            );
            tally.checks += 1;
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_stay_right_while_listing_workers_die() {
    let mut g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    g.start_worker();
    let b = g.bucket("failover").await;
    let js = g.nats.jetstream().await;
    let store = js
        .get_object_store(&common::nats_bucket(&b))
        .await
        .expect("object store");
    let mut model = BTreeMap::new();
    for i in 0..400u32 {
        let key = format!("pre/{i:04}");
        store
            .put(key.as_str(), &mut &b"p"[..])
            .await
            .expect("native put");
        model.insert(key, 1);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(write_and_check(
        g.client(),
        store,
        b.clone(),
        model,
        stop.clone(),
    ));
    let started = Instant::now();
    // Kill each of the two first workers in turn, a fresh worker joining between.
    for round in 0..2 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            !load.is_finished(),
            "the load stopped early (round {round})"
        );
        let victim = g.worker();
        println!(
            "round {round}: kill -9 worker pid {} at {:?}",
            victim.pid(),
            started.elapsed()
        );
        victim.signal("KILL");
        victim
            .wait_exit(Duration::from_secs(10))
            .expect("worker exits after SIGKILL");
        tokio::time::sleep(Duration::from_secs(2)).await;
        g.start_worker();
    }
    // The fresh workers serve (and index) on their own for a while.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let tally = load
        .await
        .expect("the load task (a wrong listing panics it)");
    println!(
        "{} listings checked against the model, {} retried, in {:?}",
        tally.checks,
        tally.retried,
        started.elapsed()
    );
    // Dozens of checked listings across the kills, not a vacuous pass.
    assert!(tally.checks >= 40, "only {} listings checked", tally.checks);
}

/// A worker whose `--listing-index-budget` holds the small bucket but not the large one:
/// both list exactly as the model says while a native writer changes them (the large
/// one by the full scan, which the worker logs), and indexing a third bucket evicts
/// the coldest index rather than growing past the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_past_the_index_budget_still_list_right() {
    // About 100 objects of index at ~250 bytes each: the two small buckets fit one at
    // a time, not together.
    let g = Gateway::start(GatewayOptions {
        env: vec![("JETGATE_LISTING_INDEX_BUDGET".into(), "26000".into())],
        ..Default::default()
    })
    .await;
    let c = g.client();
    let js = g.nats.jetstream().await;
    let mut buckets = Vec::new();
    for (tag, n) in [
        ("budget-big", 300u32),
        ("budget-small", 60),
        ("budget-other", 70),
    ] {
        let b = g.bucket(tag).await;
        let store = js
            .get_object_store(&common::nats_bucket(&b))
            .await
            .expect("object store");
        let mut model = BTreeMap::new();
        for i in 0..n {
            let key = format!("d/{i:04}");
            store
                .put(key.as_str(), &mut &b"p"[..])
                .await
                .expect("native put");
            model.insert(key, 1);
        }
        buckets.push((b, store, model));
    }
    for round in 0..3 {
        for (b, store, model) in buckets.iter_mut() {
            let key = format!("d/new-{round}");
            store
                .put(key.as_str(), &mut &b"new"[..])
                .await
                .expect("native put");
            model.insert(key, 3);
            let first = model.keys().next().cloned().expect("a key");
            store.delete(first.as_str()).await.expect("native delete");
            model.remove(&first);
            for (prefix, delimiter, max) in SHAPES {
                let got = try_walk(&c, b, prefix, delimiter, max)
                    .await
                    .unwrap_or_else(|e| panic!("{b} round {round}: {e:?}"));
                assert_eq!(
                    got,
                    expected_listing(model, prefix, delimiter),
                    "{b} round {round}: prefix {prefix:?} delimiter {delimiter:?}"
                );
            }
        }
    }
    let log = std::fs::read_to_string(g.procs()[0].log_path()).expect("dev log");
    assert!(
        log.contains("larger than --listing-index-budget"),
        "the large bucket was not found over the budget"
    );
    assert!(
        log.contains("listing index evicted (budget)"),
        "no index was evicted to stay within the budget:\n{}",
        log.lines()
            .filter(|l| l.contains("listing"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Listing by full scan (`--listing-index-budget 0`) a thousand and more times within
/// the 30 s an abandoned consumer lingers: each scan deletes its consumer, so the
/// bucket's stream never nears nats-server's 1000 consumers and no listing fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_scans_leave_no_consumers_behind() {
    let g = Gateway::start(GatewayOptions {
        env: vec![("JETGATE_LISTING_INDEX_BUDGET".into(), "0".into())],
        ..Default::default()
    })
    .await;
    let c = g.client();
    let b = g.bucket("scan-consumers").await;
    let js = g.nats.jetstream().await;
    let store = js
        .get_object_store(&common::nats_bucket(&b))
        .await
        .expect("object store");
    for i in 0..5 {
        store
            .put(format!("k{i}").as_str(), &mut &b"x"[..])
            .await
            .expect("native put");
    }
    let started = Instant::now();
    let mut scans = 0;
    // More than the server's limit, in well under the 30 s they would linger.
    while scans < 1100 {
        let out = c
            .list_objects_v2()
            .bucket(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("listing {scans} failed: {e:?}"));
        assert_eq!(out.key_count(), Some(5), "listing {scans}");
        scans += 1;
    }
    let elapsed = started.elapsed();
    let mut stream = js
        .get_stream(format!("OBJ_{}", common::nats_bucket(&b)))
        .await
        .expect("bucket stream");
    let consumers = stream
        .info()
        .await
        .expect("stream info")
        .state
        .consumer_count;
    println!("{scans} full-scan listings in {elapsed:?}, {consumers} consumers left");
    assert!(
        elapsed < Duration::from_secs(30),
        "the listings took {elapsed:?}: too slow to show consumers piling up"
    );
    assert!(consumers < 10, "{consumers} consumers left on the stream");
}
