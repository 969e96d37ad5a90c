//! Multipart uploads survive a worker killed with SIGKILL between parts (issue #3):
//! upload state lives in the KV bucket `jetgate-uploads`, so a new worker carries on with
//! parts uploaded through the dead one, then completes or aborts the upload with every
//! chunk reclaimed. A part whose client leaves while the part is read ahead of its turn
//! leaves nothing behind either. A worker lost during Complete:
//! tests/multipart_complete_faults.rs.

mod common;

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{
    assert_no_upload_keys, assert_stored_object, chunk_messages, complete, create_upload_with,
    kill_worker, last_sequence, multipart_etag, nats_bucket, put_part, random_bytes, wait_chunks,
    Gateway, GatewayOptions, ORPHAN_GRACE_SECS,
};

const MIB: usize = 1024 * 1024;

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
    g.start_worker_with_env(&[("JETGATE_ORPHAN_GRACE_SECS", ORPHAN_GRACE_SECS)]);
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
            assert_stored_object(&g, &b, k, &whole, &want_etag).await;
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
    assert_stored_object(&g, &b, k, &parts.concat(), &etag).await;
    let chunks = chunk_messages(&js, &nats_bucket(&b)).await;
    assert_eq!(chunks, 5 + 2, "chunk messages in the bucket");
}
