//! GET bodies cross nats-server once (issue #16): JetStream delivers the chunks straight
//! to the edge, the worker only asks for them. Measured from outside with nats-server's
//! own byte counters per connection, and every byte of whole, ranged and partNumber GETs
//! checked. Then the attack: a message that did not come from the object's batch, put on
//! the edge's data subject mid-download, ends the download; the bytes before it are
//! right and none after it are delivered.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{complete, create_upload_with, put_part, random_bytes, Gateway, GatewayOptions};
use futures::StreamExt;

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
        "the download completed ({} bytes) despite a foreign delivery",
        got.len()
    );
    assert!(
        got[..] == data[..got.len()],
        "the {} bytes served before the cut are not the stored ones",
        got.len()
    );
    // The object is intact and readable again.
    let again = get(&s3, &b, "big", None, None).await;
    assert!(
        again == data,
        "a fresh GET after the cut returns the object"
    );
}
