//! GET bodies cross nats-server once (issue #16): JetStream delivers the chunks straight
//! to the edge, the worker only asks for them. Measured from outside with nats-server's
//! own byte counters per connection, and every byte of whole, ranged and partNumber GETs
//! checked. Then the attack: a message that did not come from the object's batch, put on
//! the edge's data subject mid-download, ends the download; the bytes before it are
//! right and none after it are delivered. And a flood of replayed "more" requests on the
//! worker's control subject: the worker answers none of them and aborts the download.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{complete, create_upload_with, put_part, random_bytes, Gateway, GatewayOptions};
use futures::StreamExt;
use jetgate_protocol::direct::{BATCH, MAX_BYTES, RETRIES};
use jetgate_protocol::headers::{FRAME, OFFSET, STREAM};

const MIB: usize = 1024 * 1024;

async fn get(
    s3: &aws_sdk_s3::Client,
    b: &str,
    k: &str,
    range: Option<&str>,
    part: Option<i32>,
) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(b)
        .key(k)
        .set_range(range.map(str::to_string))
        .set_part_number(part)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {k} {range:?} {part:?}: {e:?}"));
    out.body
        .collect()
        .await
        .expect("read the body")
        .into_bytes()
        .to_vec()
}

/// A gateway with the edge and the worker in processes of their own (so nats-server
/// counts their bytes apart), a fresh bucket tagged `tag`, and `data` stored in it as
/// `big`.
async fn split_gateway_with_big(tag: &str, data: &[u8]) -> (Gateway, aws_sdk_s3::Client, String) {
    let g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    let s3 = g.client();
    let b = g.bucket(tag).await;
    s3.put_object()
        .bucket(&b)
        .key("big")
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .expect("put");
    (g, s3, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_bodies_reach_the_edge_without_passing_the_worker() {
    // 20 MiB + 5 bytes: several batches and a short last chunk.
    let data = random_bytes(20 * MIB + 5, 16);
    let (g, s3, b) = split_gateway_with_big("direct", &data).await;
    // Two parts that do not end on a chunk boundary.
    let (p1, p2) = (random_bytes(5 * MIB + 3, 17), random_bytes(3 * MIB + 1, 18));
    let id = create_upload_with(&s3, &b, "mp", |c| c).await;
    let e1 = put_part(&s3, &b, "mp", &id, 1, &p1).await;
    let e2 = put_part(&s3, &b, "mp", &id, 2, &p2).await;
    complete(&s3, &b, "mp", &id, &[(1, e1), (2, e2)])
        .await
        .expect("complete");

    let worker_before = g.nats.bytes_delivered_to("jetgate-worker").await;
    let edge_before = g.nats.bytes_delivered_to("jetgate-edge").await;
    let mut body_bytes = 0usize;
    let mut check = |got: Vec<u8>, want: &[u8], what: &str| {
        assert!(
            got == want,
            "{what}: {} bytes, not the stored ones",
            got.len()
        );
        body_bytes += got.len();
    };
    check(get(&s3, &b, "big", None, None).await, &data, "whole object");
    let deep = 17 * MIB + 123;
    check(
        get(&s3, &b, "big", Some(&format!("bytes={deep}-")), None).await,
        &data[deep..],
        "range to the end, far into the object",
    );
    check(
        get(&s3, &b, "big", Some("bytes=1000-2999999"), None).await,
        &data[1000..3_000_000],
        "range inside the first chunks",
    );
    check(
        get(&s3, &b, "big", Some("bytes=-300000"), None).await,
        &data[data.len() - 300_000..],
        "suffix range",
    );
    check(get(&s3, &b, "mp", None, Some(2)).await, &p2, "part 2");
    let whole = [p1.clone(), p2.clone()].concat();
    check(
        get(&s3, &b, "mp", None, None).await,
        &whole,
        "multipart object",
    );
    let across = 5 * MIB - 10;
    check(
        get(
            &s3,
            &b,
            "mp",
            Some(&format!("bytes={across}-{}", across + MIB)),
            None,
        )
        .await,
        &whole[across..=across + MIB],
        "range across the part boundary",
    );

    // Every download ended as finished for the worker too (it counts the bytes in the
    // usage record then), not as dropped by the edge once the client had its bytes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = g.worker().log_tail(2000);
    assert!(
        !log.contains("download stopped"),
        "a complete download ended as failed for the worker:\n{log}"
    );
    let to_worker = g.nats.bytes_delivered_to("jetgate-worker").await - worker_before;
    let to_edge = g.nats.bytes_delivered_to("jetgate-edge").await - edge_before;
    println!("{body_bytes} body bytes: nats-server delivered {to_edge} to the edge, {to_worker} to the worker");
    assert!(
        to_edge as usize >= body_bytes,
        "the edge received {to_edge} bytes for {body_bytes} body bytes"
    );
    // Requests, metadata reads and control frames only: no body byte reaches the worker.
    assert!(
        (to_worker as usize) < MIB,
        "the worker received {to_worker} bytes while {body_bytes} body bytes were served"
    );
}

/// A message on the edge's data subject that is not the next one of the batch (here:
/// the right stream and subject, a made-up sequence chain, as a publisher who can reach
/// the subject but not JetStream would send) cuts the download. In production only
/// workers may publish there (tests/least_privilege.rs); this server is open so the
/// test can play the intruder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_delivery_cuts_the_download_and_no_wrong_byte_is_served() {
    let data = random_bytes(48 * MIB, 19);
    let (g, s3, b) = split_gateway_with_big("forged", &data).await;

    // The intruder watches the edges' data subjects (`<inbox>_S.<id>.<route>.d`).
    let nats = g.nats.client().await;
    let mut sniff = nats.subscribe("*.*.*.d").await.expect("subscribe");
    let out = s3
        .get_object()
        .bucket(&b)
        .key("big")
        .send()
        .await
        .expect("GET starts");
    let mut body = out.body;
    let mut got = Vec::new();
    // Read a little so the first batch is flowing, then inject.
    while got.len() < MIB {
        match body.next().await {
            Some(Ok(b)) => got.extend_from_slice(&b),
            other => panic!("the body broke before the injection: {other:?}"),
        }
    }
    let seen = tokio::time::timeout(Duration::from_secs(5), sniff.next())
        .await
        .expect("saw a delivery")
        .expect("subscription open");
    let h = seen.headers.clone().expect("JetStream headers");
    let mut forged = async_nats::HeaderMap::new();
    for name in ["Nats-Stream", "Nats-Subject"] {
        forged.insert(name, h.get(name).expect("header").as_str());
    }
    forged.insert("Nats-Sequence", "999999999");
    forged.insert("Nats-Last-Sequence", "999999998");
    forged.insert("Nats-Num-Pending", "0");
    nats.publish_with_headers(
        seen.subject.clone(),
        forged,
        bytes::Bytes::from(vec![b'X'; 1000]),
    )
    .await
    .expect("inject");
    nats.flush().await.expect("flush");

    assert_cut_then_intact(body, got, &data, &s3, &b, "a foreign delivery").await;
}

/// Whoever can publish to the worker's control subject of a download (with the
/// permissions `jetgate nats bootstrap` grants, only the edges: `_INBOX_data_S.>` in
/// src/bootstrap/users.rs) cannot make the worker read the same chunks again: the flood
/// asks again and again from the first sequence, earlier than the worker already served,
/// and the worker answers none of it and aborts the download (asks that repeat one
/// sequence more than [`RETRIES`] times, or outnumber the object's chunks, are refused
/// too: `Asks` in protocol/src/direct.rs). The client sees a cut body with only right
/// bytes before the cut, and a fresh GET still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_replayed_batch_requests_is_refused() {
    let data = random_bytes(48 * MIB, 20);
    let (g, s3, b) = split_gateway_with_big("flood", &data).await;
    let chunks = g
        .nats
        .jetstream()
        .await
        .get_object_store(common::nats_bucket(&b))
        .await
        .expect("object store")
        .info("big")
        .await
        .expect("object info")
        .chunks as u64;
    let bound = chunks + 1 + u64::from(RETRIES);

    let nats = g.nats.client().await;
    // The edge's "more" frames (to `<worker inbox>_S.<id>.<route>.c`), and everything
    // delivered to the edges' data subjects, counted as it comes so that this client is
    // never a slow consumer.
    let mut control = nats.subscribe("*.*.*.c").await.expect("subscribe control");
    let deliveries = nats.subscribe("*.*.*.d").await.expect("subscribe data");
    let counting = tokio::spawn(count_batches(deliveries));

    let out = s3
        .get_object()
        .bucket(&b)
        .key("big")
        .send()
        .await
        .expect("GET starts");
    let mut body = out.body;
    let mut got = Vec::new();
    while got.len() < MIB {
        match body.next().await {
            Some(Ok(b)) => got.extend_from_slice(&b),
            other => panic!("the body broke before the flood: {other:?}"),
        }
    }
    // The edge asks for batches until the client's unread bytes fill the socket; once it
    // has been quiet for a second, nothing but the flood reaches the worker.
    let mut first = None;
    let mut asked = 0;
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), control.next()).await {
        let Some(h) = m.headers.as_ref() else {
            continue;
        };
        if h.get(FRAME).map(|v| v.as_str()) == Some("more") {
            asked += 1;
            first.get_or_insert_with(|| m.clone());
        }
    }
    let first = first.expect("the edge asked for a batch");
    let h = first.headers.as_ref().expect("headers");
    let edge = h
        .get(STREAM)
        .expect("the edge's data subject")
        .as_str()
        .to_string();
    let from_seq = h.get(OFFSET).expect("first sequence").as_str().to_string();

    for _ in 0..bound + 10 {
        let mut more = async_nats::HeaderMap::new();
        more.insert(FRAME, "more");
        more.insert(OFFSET, from_seq.as_str());
        more.insert(BATCH, "1");
        more.insert(MAX_BYTES, "1");
        more.insert(STREAM, edge.as_str());
        nats.publish_with_headers(first.subject.clone(), more, bytes::Bytes::new())
            .await
            .expect("publish more");
    }
    nats.flush().await.expect("flush");

    let (subject, served, aborted) = tokio::time::timeout(Duration::from_secs(60), counting)
        .await
        .expect("the worker aborted the download")
        .expect("counter task");
    println!(
        "{served} batches answered, {asked} asked by the edge, for {chunks} chunks; worker: {aborted}"
    );
    assert_eq!(subject, edge, "the abort went to the downloading edge");
    assert_eq!(aborted, "edge asked for an earlier sequence");
    assert!(
        asked > 1 && served <= asked,
        "the worker answered {served} batches, the edge asked for {asked}: the flood was served"
    );

    assert_cut_then_intact(body, got, &data, &s3, &b, "the flood").await;
}

/// Reads the rest of a download that `cause` must have cut: it breaks (it neither
/// completes nor hangs), the bytes served before the cut are the stored ones, and a
/// fresh GET returns the whole object.
async fn assert_cut_then_intact(
    mut body: ByteStream,
    mut got: Vec<u8>,
    data: &[u8],
    s3: &aws_sdk_s3::Client,
    b: &str,
    cause: &str,
) {
    let mut broke = false;
    while let Some(piece) = tokio::time::timeout(Duration::from_secs(30), body.next())
        .await
        .expect("the download ends, it does not hang")
    {
        match piece {
            Ok(b) => got.extend_from_slice(&b),
            Err(_) => {
                broke = true;
                break;
            }
        }
    }
    assert!(
        broke && got.len() < data.len(),
        "the download completed ({} bytes) despite {cause}",
        got.len()
    );
    assert!(
        got[..] == data[..got.len()],
        "the {} bytes served before the cut are not the stored ones",
        got.len()
    );
    let again = get(s3, b, "big", None, None).await;
    assert!(
        again == data,
        "a fresh GET after {cause} returns the object"
    );
}

/// Counts the batches answered on each edge data subject (each ends with JetStream's
/// end-of-batch marker, or a not-found) until a worker aborts a download there, and then
/// until that subject has been quiet for two seconds (the abort goes straight to the
/// edge and can overtake replies of JetStream still on their way): that subject, its
/// count and the worker's reason.
async fn count_batches(mut deliveries: async_nats::Subscriber) -> (String, u64, String) {
    let is_end = |m: &async_nats::Message| matches!(m.status.map(|c| c.as_u16()), Some(204 | 404));
    let mut served: HashMap<String, u64> = HashMap::new();
    while let Some(m) = deliveries.next().await {
        let subject = m.subject.to_string();
        let frame = m.headers.as_ref().and_then(|h| h.get(FRAME));
        if is_end(&m) {
            *served.entry(subject).or_default() += 1;
        } else if m.status.is_none() && frame.map(|v| v.as_str()) == Some("abort") {
            let reason = String::from_utf8_lossy(&m.payload).into_owned();
            let mut n = served.get(&subject).copied().unwrap_or(0);
            while let Ok(Some(m)) =
                tokio::time::timeout(Duration::from_secs(2), deliveries.next()).await
            {
                if m.subject.as_str() == subject && is_end(&m) {
                    n += 1;
                }
            }
            return (subject, n, reason);
        }
    }
    panic!("the data subscription ended before any abort");
}
