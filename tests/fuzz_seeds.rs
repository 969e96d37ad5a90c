//! Replays the committed fuzz seeds (`fuzz/seeds/<target>/`, a minimized corpus of each
//! cargo-fuzz target) through the entry points the targets call, decoding each input as
//! libFuzzer hands it to the target, so the test command runs every target's corpus on
//! stable Rust. `scripts/fuzz.sh` fuzzes for real (nightly, hours).

use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};

#[path = "../fuzz/fuzz_targets/request.rs"]
#[allow(dead_code)]
mod request;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.expect("seed entry").path()).expect("read seed"))
        .collect();
    assert!(out.len() >= 10, "{target}: only {} seeds", out.len());
    out.sort();
    out
}

/// What `fuzz_target!(|x: T| …)` does with the bytes: `None` when they are not a `T`.
fn typed<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

/// Runs `each` on every seed of `target` that decodes; most must (the fuzzer kept them
/// for the coverage they reached, which an undecodable input does not), or the replay
/// would be testing nothing.
fn replay(target: &str, mut each: impl FnMut(&[u8]) -> bool) {
    let all = seeds(target);
    let ran = all.iter().filter(|s| each(s)).count();
    assert!(
        ran * 2 > all.len(),
        "{target}: {ran} of {} seeds decoded",
        all.len()
    );
}

#[test]
fn route_seeds() {
    replay("route", |s| {
        typed::<request::Request>(s)
            .map(|req| jetgate_actors::fuzzing::route(&req.signed()))
            .is_some()
    });
}

#[test]
fn auth_request_seeds() {
    replay("auth_request", |s| {
        typed::<request::Request>(s)
            .map(|req| jetgate_actors::fuzzing::auth_request(&req.signed()))
            .is_some()
    });
}

#[test]
fn xml_bodies_seeds() {
    replay("xml_bodies", |s| {
        jetgate_actors::fuzzing::xml_bodies(s);
        true
    });
}

#[test]
fn aws_chunked_seeds() {
    replay("aws_chunked", |s| {
        typed::<(bool, bool, Vec<Vec<u8>>)>(s)
            .map(|(signed, trailer, pieces)| {
                jetgate_actors::fuzzing::aws_chunked(signed, trailer, &pieces)
            })
            .is_some()
    });
}
