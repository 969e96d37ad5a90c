//! Parts in the orders clients really send them: one at a time from the last to the
//! first (a client retrying failed parts, or uploading a subset), and a first part
//! re-sent while the later parts finish (an SDK retry). Every order completes with the
//! right bytes, and no part stalls waiting for a part that nobody is uploading.

use std::time::{Duration, Instant};

use common::{complete, create_upload_with, multipart_etag, put_part};

use super::*;

const MIB: usize = 1 << 20;

/// Far below the `--part-append-wait-secs` default (20 s) that such a part used to wait
/// for its turn, far above the second an idle cursor is given.
const NO_STALL: Duration = Duration::from_secs(10);

#[tokio::test]
async fn parts_uploaded_last_to_first_one_at_a_time() {
    let c = gw().client();
    let b = gw().bucket("parts-reverse").await;
    let parts = [
        random_bytes(5 * MIB, 51),
        random_bytes(5 * MIB + 1, 52),
        random_bytes(777, 53),
    ];
    let id = create_upload_with(&c, &b, "k", |r| r).await;
    let mut etags = vec![String::new(); parts.len()];
    for n in (1..=parts.len()).rev() {
        let started = Instant::now();
        etags[n - 1] = put_part(&c, &b, "k", &id, n as i32, &parts[n - 1]).await;
        let took = started.elapsed();
        assert!(
            took < NO_STALL,
            "part {n} took {took:?}: it waited for a part nobody was uploading"
        );
    }
    let list: Vec<(i32, &str)> = (1..).zip(etags.iter().map(String::as_str)).collect();
    let etag = complete(&c, &b, "k", &id, &list).await.expect("complete");
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    assert_eq!(etag, multipart_etag(&refs));
    assert!(
        get_bytes(&c, &b, "k").await == parts.concat(),
        "stored bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_part_resent_and_finishing_last_is_the_one_completed() {
    let c = gw().client();
    let b = gw().bucket("parts-resent").await;
    let first = random_bytes(5 * MIB, 61);
    let resent = random_bytes(5 * MIB, 62);
    let second = random_bytes(5 * MIB, 63);
    let last = random_bytes(999, 64);
    let id = create_upload_with(&c, &b, "k", |r| r).await;
    let e1 = put_part(&c, &b, "k", &id, 1, &first).await;
    let (c2, b2, id2) = (c.clone(), b.clone(), id.clone());
    let later = tokio::spawn(async move {
        let e2 = put_part(&c2, &b2, "k", &id2, 2, &second).await;
        let e3 = put_part(&c2, &b2, "k", &id2, 3, &last).await;
        (e2, e3, second, last)
    });
    let (e2, e3, second, last) = later.await.expect("later parts");
    // The retry of part 1 finishes after parts 2 and 3.
    let e1b = put_part(&c, &b, "k", &id, 1, &resent).await;
    assert_ne!(e1, e1b);
    let etag = complete(&c, &b, "k", &id, &[(1, &e1b), (2, &e2), (3, &e3)])
        .await
        .expect("complete with the re-sent first part");
    assert_eq!(etag, multipart_etag(&[&resent, &second, &last]));
    assert!(
        get_bytes(&c, &b, "k").await == [resent, second, last].concat(),
        "stored bytes are the re-sent part's"
    );
}
