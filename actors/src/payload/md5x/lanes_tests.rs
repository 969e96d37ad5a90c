//! The multi-lane hasher on whatever this CPU offers: scalar lanes forced on every CPU,
//! the kernel's lanes where the CPU has AVX-512F, both against the `md-5` crate; and the
//! scalar MD5 against the test suite of RFC 1321.

use super::scalar::{Md5, BLOCK};
use super::tests::{private_hub, random_sizes, reference, Rng};
use super::{Hub, Md5Stream, Mode, INLINE_LIMIT};
use std::sync::atomic::Ordering;

/// RFC 1321, appendix A.5 ("Test suite").
const RFC1321: [(&str, &str); 7] = [
    ("", "d41d8cd98f00b204e9800998ecf8427e"),
    ("a", "0cc175b9c0f1b6a831c399e269772661"),
    ("abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
    (
        "abcdefghijklmnopqrstuvwxyz",
        "c3fcd3d76192e4007dfb496cca67e13b",
    ),
    (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "d174ab98d277d9f5a5611c2c9f419d9f",
    ),
    (
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "57edf4a22be3c955ac49da2e2107b67a",
    ),
];

#[test]
fn scalar_matches_rfc1321_test_suite() {
    for (input, want) in RFC1321 {
        let mut whole = Md5::default();
        whole.update(input.as_bytes());
        assert_eq!(hex::encode(whole.finish()), want, "MD5({input:?})");
        // A byte at a time: every length of the partial-block buffer.
        let mut bytes = Md5::default();
        for b in input.as_bytes() {
            bytes.update(std::slice::from_ref(b));
        }
        assert_eq!(hex::encode(bytes.finish()), want, "MD5({input:?}) bytewise");
    }
}

#[tokio::test]
async fn stream_matches_rfc1321_test_suite() {
    for (input, want) in RFC1321 {
        let mut s = Md5Stream::new();
        s.update(bytes::Bytes::from_static(input.as_bytes()));
        assert_eq!(hex::encode(s.finalize().await), want, "MD5({input:?})");
    }
}

/// Block-boundary lengths: padding fits (55), just does not (56), a block's last byte
/// (63), whole blocks (64, 128) and one past them.
const EDGES: [usize; 13] = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129];

/// Stream lengths: the edges alone (hashed inline), the edges past the inline limit and
/// past 1000 blocks more (hashed in the lanes, ending in each kind of tail), and random
/// lengths up to 3 MiB.
fn lengths(rng: &mut Rng) -> Vec<usize> {
    let limit = INLINE_LIMIT as usize;
    let mut v = EDGES.to_vec();
    v.extend(EDGES.iter().map(|e| limit + e));
    v.extend(EDGES.iter().map(|e| limit + 1000 * BLOCK + e));
    v.extend((0..15).map(|_| rng.range(0, 3 << 20)));
    v
}

/// Hashes one stream per length, all at once on `hub`, each fed in random pieces (some
/// streams in pieces of a few bytes, so blocks straddle pieces); every digest must be the
/// `md-5` crate's and every stream past the inline limit must have reached the lanes.
async fn lanes_match_md5_crate(hub: &'static Hub, seed: u64) {
    let mut rng = Rng(seed);
    let mut tasks = Vec::new();
    for (i, len) in lengths(&mut rng).into_iter().enumerate() {
        let data = rng.bytes(len);
        let max = [7, 200, 5000, 300_000][i % 4];
        let sizes = random_sizes(&mut rng, len, max);
        tasks.push(tokio::spawn(async move {
            let mut s = Md5Stream::with_hub(hub);
            let mut at = 0;
            for n in sizes {
                let end = (at + n).min(data.len());
                s.update(data.slice(at..end));
                s.ready().await;
                at = end;
            }
            let shared = matches!(s.mode, Mode::Shared { .. });
            (len, shared, s.finalize().await, reference(&data))
        }));
    }
    for task in tasks {
        let (len, shared, got, want) = task.await.expect("task panicked");
        assert_eq!(got, want, "stream of {len} bytes");
        assert_eq!(
            shared,
            len as u64 > INLINE_LIMIT,
            "stream of {len} bytes: in the lanes past the inline limit, inline before"
        );
    }
    assert!(!hub.is_dead(), "the hasher died");
    assert!(
        hub.lock().entries.iter().all(Option::is_none),
        "entry leaked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_scalar_lanes_match_md5_crate() {
    let hub = private_hub();
    hub.scalar_only.store(true, Ordering::SeqCst);
    assert!(!hub.simd(), "the hook did not turn the kernel off");
    lanes_match_md5_crate(hub, 21).await;
}

/// The real kernel where the CPU has it; elsewhere the same lanes run scalar, and
/// `forced_scalar_lanes_match_md5_crate` is the whole check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kernel_lanes_match_md5_crate() {
    let hub = private_hub();
    assert_eq!(hub.simd(), super::avx512::available());
    if !hub.simd() {
        eprintln!("NOTE: no AVX-512F on this CPU: the lanes run scalar, the kernel is not run");
    }
    lanes_match_md5_crate(hub, 22).await;
}
