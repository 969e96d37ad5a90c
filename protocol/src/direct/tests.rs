use async_nats::StatusCode;

use super::*;
use crate::stream::FRAME_SIZE;

fn plan(from_seq: u64, skip: u64, length: u64) -> DirectBody {
    DirectBody {
        stream: "OBJ_b".into(),
        subject: "$O.b.C.n1".into(),
        from_seq,
        skip,
        length,
        chunk_size: 4,
        control: "ctl".into(),
    }
}

fn msg(headers: HeaderMap, status: Option<u16>, payload: &'static [u8]) -> Message {
    Message {
        subject: "edge.d".into(),
        reply: None,
        payload: Bytes::from_static(payload),
        headers: Some(headers),
        status: status.and_then(|s| StatusCode::from_u16(s).ok()),
        description: None,
        length: payload.len(),
    }
}

fn chunk_from(stream: &str, subject: &str, seq: u64, prev: u64, payload: &'static [u8]) -> Message {
    let mut h = HeaderMap::new();
    h.insert("Nats-Stream", stream);
    h.insert("Nats-Subject", subject);
    h.insert("Nats-Sequence", seq.to_string().as_str());
    h.insert("Nats-Last-Sequence", prev.to_string().as_str());
    h.insert("Nats-Num-Pending", "9");
    msg(h, None, payload)
}

fn chunk(seq: u64, prev: u64, payload: &'static [u8]) -> Message {
    chunk_from("OBJ_b", "$O.b.C.n1", seq, prev, payload)
}

fn eob(last: u64, pending: u64) -> Message {
    let mut h = HeaderMap::new();
    h.insert("Nats-Last-Sequence", last.to_string().as_str());
    h.insert("Nats-Num-Pending", pending.to_string().as_str());
    msg(h, Some(204), b"")
}

fn not_found() -> Message {
    msg(HeaderMap::new(), Some(404), b"")
}

/// Feeds messages; the concatenated body, or the first error.
fn run(t: &mut Tracker, msgs: &[Message]) -> Result<Vec<u8>, StreamError> {
    let mut out = Vec::new();
    for m in msgs {
        if let Some(b) = t.accept(m)? {
            out.extend_from_slice(&b);
        }
    }
    Ok(out)
}

#[test]
fn whole_object_over_two_batches() {
    let mut t = Tracker::new(plan(0, 0, 10));
    assert_eq!(t.start_batch(8), (0, 2));
    let a = run(
        &mut t,
        &[chunk(3, 0, b"abcd"), chunk(7, 3, b"efgh"), eob(7, 1)],
    )
    .unwrap();
    assert!(!t.in_batch());
    assert_eq!(
        t.start_batch(8),
        (8, 1),
        "continues after the last sequence"
    );
    let b = run(&mut t, &[chunk(9, 0, b"ij"), eob(9, 0)]).unwrap();
    assert_eq!([a, b].concat(), b"abcdefghij");
    assert!(t.complete());
    assert_eq!(t.delivered(), 10);
}

#[test]
fn range_trims_both_ends() {
    // bytes 5..=9 of "abcd|efgh|ijkl", reading from the second chunk with 1 to skip.
    let mut t = Tracker::new(plan(7, 1, 5));
    assert_eq!(
        t.start_batch(1 << 20),
        (7, 2),
        "no more chunks than the range needs"
    );
    let got = run(&mut t, &[chunk(7, 0, b"efgh"), chunk(9, 7, b"ijkl")]).unwrap();
    assert_eq!(got, b"fghij");
    assert!(t.complete());
}

#[test]
fn a_lost_message_is_detected() {
    let mut t = Tracker::new(plan(0, 0, 12));
    t.start_batch(12);
    // seq 7 never arrived: 9 says its predecessor was 7.
    assert!(run(&mut t, &[chunk(3, 0, b"abcd"), chunk(9, 7, b"ijkl")]).is_err());
    // The last message of a batch lost: the end marker names a later one.
    let mut t = Tracker::new(plan(0, 0, 12));
    t.start_batch(12);
    assert!(run(&mut t, &[chunk(3, 0, b"abcd"), eob(7, 1)]).is_err());
}

#[test]
fn reordered_or_replayed_messages_are_refused() {
    let mut t = Tracker::new(plan(0, 0, 12));
    t.start_batch(12);
    assert!(run(&mut t, &[chunk(7, 3, b"efgh"), chunk(3, 0, b"abcd")]).is_err());
    let mut t = Tracker::new(plan(0, 0, 12));
    t.start_batch(12);
    assert!(run(&mut t, &[chunk(3, 0, b"abcd"), chunk(3, 3, b"abcd")]).is_err());
    // A second batch cannot go back before where the first ended.
    let mut t = Tracker::new(plan(0, 0, 12));
    t.start_batch(4);
    run(&mut t, &[chunk(3, 0, b"abcd"), eob(3, 2)]).unwrap();
    t.start_batch(4);
    assert!(run(&mut t, &[chunk(2, 0, b"zzzz")]).is_err());
}

#[test]
fn foreign_chunks_and_unasked_deliveries_are_refused() {
    let mut t = Tracker::new(plan(0, 0, 8));
    t.start_batch(8);
    assert!(run(
        &mut t,
        &[chunk_from("OBJ_b", "$O.b.C.other", 3, 0, b"abcd")]
    )
    .is_err());
    let mut t = Tracker::new(plan(0, 0, 8));
    t.start_batch(8);
    assert!(run(&mut t, &[chunk_from("OBJ_c", "$O.b.C.n1", 3, 0, b"abcd")]).is_err());
    // Nothing may arrive before the edge asked.
    let mut t = Tracker::new(plan(0, 0, 8));
    assert!(run(&mut t, &[chunk(3, 0, b"abcd")]).is_err());
}

#[test]
fn a_forged_stored_header_does_not_shadow_the_servers() {
    // A native writer stored a chunk with its own Nats-Subject; the server appends its own.
    let mut h = HeaderMap::new();
    h.insert("Nats-Subject", "$O.b.C.other");
    h.append("Nats-Stream", "OBJ_b");
    h.append("Nats-Subject", "$O.b.C.n1");
    h.append("Nats-Sequence", "3");
    h.append("Nats-Last-Sequence", "0");
    let mut t = Tracker::new(plan(0, 0, 4));
    t.start_batch(4);
    assert_eq!(run(&mut t, &[msg(h, None, b"abcd")]).unwrap(), b"abcd");
    // A stored chunk that says it is an abort frame is still a chunk.
    let mut h = HeaderMap::new();
    h.insert(FRAME, "abort");
    let forged = msg(h, None, b"x");
    assert_eq!(
        delivery_of(&forged),
        Delivery::Frame(Frame::Abort("x".into()))
    );
    let mut with_server = forged.headers.clone().unwrap_or_default();
    with_server.append("Nats-Stream", "OBJ_b");
    with_server.append("Nats-Subject", "$O.b.C.n1");
    with_server.append("Nats-Sequence", "3");
    with_server.append("Nats-Last-Sequence", "0");
    assert!(matches!(
        delivery_of(&msg(with_server, None, b"x")),
        Delivery::Chunk { seq: 3, .. }
    ));
}

#[test]
fn a_short_object_is_retried_then_fails() {
    let mut t = Tracker::new(plan(0, 0, 8));
    for _ in 0..RETRIES {
        t.start_batch(8);
        assert_eq!(run(&mut t, &[not_found()]).unwrap(), b"");
        assert!(t.take_retry().is_some());
        assert!(t.take_retry().is_none(), "one pause per retry");
    }
    t.start_batch(8);
    assert!(run(&mut t, &[not_found()]).is_err());
    // Ends early with nothing pending: a lagging replica, or a short object.
    let mut t = Tracker::new(plan(0, 0, 8));
    t.start_batch(8);
    assert_eq!(
        run(&mut t, &[chunk(3, 0, b"abcd"), eob(3, 0)]).unwrap(),
        b"abcd"
    );
    assert!(t.take_retry().is_some());
    assert_eq!(t.start_batch(8), (4, 1), "retries from where it stopped");
    assert_eq!(
        run(&mut t, &[chunk(5, 0, b"efgh"), eob(5, 0)]).unwrap(),
        b"efgh"
    );
    assert!(t.complete());
}

#[test]
fn worker_abort_ends_the_download() {
    let mut t = Tracker::new(plan(0, 0, 8));
    t.start_batch(8);
    let mut h = HeaderMap::new();
    h.insert(FRAME, "abort");
    assert!(matches!(
        run(&mut t, &[msg(h, None, b"gone")]),
        Err(StreamError::Aborted(r)) if r == "gone"
    ));
}

#[test]
fn batch_size_follows_window_and_range() {
    let mut p = plan(0, 0, 64 << 20);
    p.chunk_size = 1 << 20;
    let mut t = Tracker::new(p.clone());
    assert_eq!(t.start_batch(4 << 20).1, 4);
    assert_eq!(t.start_batch(FRAME_SIZE as u64).1, 1, "at least one chunk");
    p.length = 1;
    assert_eq!(Tracker::new(p).start_batch(4 << 20).1, 1);
}

#[test]
fn control_frames_round_trip() {
    let m = msg(more_frame(42, 4, 1 << 22, "me"), None, b"");
    assert_eq!(
        control_of(&m),
        Control::More {
            from_seq: 42,
            batch: 4,
            max_bytes: 1 << 22
        }
    );
    assert_eq!(
        control_of(&msg(done_frame(7, "me"), None, b"")),
        Control::Done { total: 7 }
    );
    let mut h = HeaderMap::new();
    h.insert(FRAME, "more");
    assert_eq!(control_of(&msg(h, None, b"")), Control::Other);
}

#[test]
fn batch_request_is_the_servers_json() {
    let body = batch_request("$O.b.C.n1", 5, 4, 1024);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(
        v,
        serde_json::json!({"seq": 5, "next_by_subj": "$O.b.C.n1", "batch": 4, "max_bytes": 1024})
    );
}

#[test]
fn the_worker_admits_asks_that_go_forward_and_few_retries() {
    let mut a = Asks::new(100, 3);
    assert_eq!(a.admit(99), Err("edge asked for an earlier sequence"));
    a.admit(100).unwrap();
    a.admit(101).unwrap();
    assert_eq!(a.admit(100), Err("edge asked for an earlier sequence"));
    for _ in 0..RETRIES {
        a.admit(101).unwrap();
    }
    assert_eq!(a.admit(101), Err("edge asked for the same batch too often"));

    // Going forward one sequence at a time, the object's chunks bound the batches.
    let mut a = Asks::new(0, 3);
    for seq in 1..=(3 + 1 + u64::from(RETRIES)) {
        a.admit(seq).unwrap();
    }
    assert_eq!(
        a.admit(1000),
        Err("more batches than the object has chunks")
    );
}
