//! Cross-checks against the `md-5` crate; the benchmark is `#[ignore]`d. The helpers
//! are shared with `lanes_tests`.

use super::scalar::{Md5, BLOCK};
use super::{Hub, Md5Stream, BACKLOG_CAP, INLINE_LIMIT};
use bytes::Bytes;
use md5::Digest as _;
use std::time::Instant;

/// Deterministic test data without a `rand` dependency (splitmix64).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `lo..=hi`.
    pub(super) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    pub(super) fn bytes(&mut self, n: usize) -> Bytes {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        Bytes::from(v)
    }
}

pub(super) fn reference(data: &[u8]) -> [u8; 16] {
    md5::Md5::digest(data).into()
}

fn scalar_digest(data: &[u8]) -> [u8; 16] {
    let mut h = Md5::default();
    h.update(data);
    h.finish()
}

/// A hub of its own, so a test can inspect or crash it without touching others.
pub(super) fn private_hub() -> &'static Hub {
    let hub: &'static Hub = Box::leak(Box::new(Hub::new()));
    hub.start("md5x-test");
    hub
}

/// Feeds `data` in pieces of the given sizes (the last piece takes the rest).
async fn stream_digest(mut s: Md5Stream, data: &Bytes, sizes: &[usize]) -> [u8; 16] {
    let mut at = 0;
    for &n in sizes {
        let end = (at + n).min(data.len());
        s.update(data.slice(at..end));
        s.ready().await;
        at = end;
    }
    s.update(data.slice(at..));
    s.finalize().await
}

pub(super) fn random_sizes(rng: &mut Rng, total: usize, max: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut sum = 0;
    while sum < total {
        let n = rng.range(1, max);
        sizes.push(n);
        sum += n;
    }
    sizes
}

#[test]
fn scalar_matches_md5_crate() {
    let mut rng = Rng(1);
    let data = rng.bytes(1 << 20);
    for len in 0..=300 {
        assert_eq!(
            scalar_digest(&data[..len]),
            reference(&data[..len]),
            "{len}"
        );
    }
    for _ in 0..20 {
        let len = rng.range(301, data.len());
        assert_eq!(
            scalar_digest(&data[..len]),
            reference(&data[..len]),
            "{len}"
        );
    }
    // Byte-at-a-time and odd splits exercise the partial-block buffer.
    let mut h = Md5::default();
    for chunk in data[..5000].chunks(7) {
        h.update(chunk);
    }
    assert_eq!(h.finish(), reference(&data[..5000]));
}

#[test]
fn handle_is_send_static_debug() {
    fn check<T: Send + 'static + std::fmt::Debug + Default>() {}
    check::<Md5Stream>();
}

#[tokio::test]
async fn empty_and_small_streams() {
    assert_eq!(Md5Stream::new().finalize().await, reference(b""));
    let mut rng = Rng(2);
    let data = rng.bytes(100_000);
    for len in [1, 63, 64, 65, 4096, 100_000] {
        let d = data.slice(..len);
        let got = stream_digest(Md5Stream::new(), &d, &[len / 3, 1, len / 5]).await;
        assert_eq!(got, reference(&d), "{len}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_limit_boundaries() {
    let mut rng = Rng(3);
    let limit = INLINE_LIMIT as usize;
    let data = rng.bytes(limit + 3 * BLOCK);
    let cases: &[(usize, &[usize])] = &[
        (limit - 1, &[]),
        (limit, &[]),
        (limit + 1, &[]),
        (limit, &[limit - 1]),
        (limit + 1, &[limit]),
        (limit + 1, &[limit - 5]),
        (limit + 2 * BLOCK, &[limit - 5, 5, BLOCK - 1]),
        (limit + 3 * BLOCK, &[10, limit - 10, 1]),
    ];
    for &(len, sizes) in cases {
        let d = data.slice(..len);
        let got = stream_digest(Md5Stream::new(), &d, sizes).await;
        assert_eq!(got, reference(&d), "len {len} sizes {sizes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_random_updates() {
    let mut rng = Rng(4);
    for total in [3 << 20, 40 << 20] {
        let data = rng.bytes(total);
        let sizes = random_sizes(&mut rng, total, 1 << 20);
        let got = stream_digest(Md5Stream::new(), &data, &sizes).await;
        assert_eq!(got, reference(&data), "{total}");
        // Tiny pieces: many Bytes boundaries inside each block.
        let small = data.slice(..(2 << 20) + 13);
        let sizes = random_sizes(&mut rng, small.len(), 200);
        let got = stream_digest(Md5Stream::new(), &small, &sizes).await;
        assert_eq!(got, reference(&small));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_streams() {
    let hub = private_hub();
    let mut rng = Rng(5);
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let len = rng.range(1 << 20, 6 << 20);
        let data = rng.bytes(len);
        let max = [100, 5000, 70_000, 1 << 20][(i % 4) as usize];
        let sizes = random_sizes(&mut rng, len, max);
        let mut yields = Rng(i);
        tasks.push(tokio::spawn(async move {
            let mut s = Md5Stream::with_hub(hub);
            let mut at = 0;
            for n in sizes {
                let end = (at + n).min(data.len());
                s.update(data.slice(at..end));
                at = end;
                // Random interleavings: sometimes skip ready, sometimes yield.
                match yields.next() % 4 {
                    0 => tokio::task::yield_now().await,
                    1 => {}
                    _ => s.ready().await,
                }
            }
            s.ready().await;
            (s.finalize().await, reference(&data))
        }));
    }
    for task in tasks {
        let (got, want) = task.await.expect("task panicked");
        assert_eq!(got, want);
    }
    assert!(
        hub.lock().entries.iter().all(Option::is_none),
        "entry leaked"
    );
    assert!(!hub.is_dead());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_stream_frees_its_lane() {
    let hub = private_hub();
    let mut rng = Rng(6);
    let data = rng.bytes(8 << 20);
    let mut dropped = Md5Stream::with_hub(hub);
    dropped.update(data.slice(..3 << 20));
    let mut others = Vec::new();
    for k in 0..20 {
        let d = data.slice(k * 1000..);
        others.push(tokio::spawn(async move {
            let sizes = vec![300_001; 30];
            (
                stream_digest(Md5Stream::with_hub(hub), &d, &sizes).await,
                reference(&d),
            )
        }));
    }
    tokio::task::yield_now().await;
    drop(dropped);
    // Dropped before ever reaching the hasher, and dropped after finalize-less waiting.
    let mut idle = Md5Stream::with_hub(hub);
    idle.update(data.slice(..1 << 20));
    idle.ready().await;
    drop(idle);
    for task in others {
        let (got, want) = task.await.expect("task panicked");
        assert_eq!(got, want);
    }
    // The hasher frees a busy entry at its commit; give it a moment.
    for _ in 0..200 {
        if hub.lock().entries.iter().all(Option::is_none) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("dropped stream's entry was never freed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_hasher_falls_back_inline() {
    let hub = private_hub();
    let mut rng = Rng(7);
    let data = rng.bytes(6 << 20);
    let mut a = Md5Stream::with_hub(hub);
    a.update(data.slice(..2 << 20));
    a.ready().await;
    hub.crash.store(true, std::sync::atomic::Ordering::SeqCst);
    a.update(data.slice(2 << 20..(4 << 20) + 7));
    let b = tokio::spawn({
        let d = data.slice(5..);
        async move {
            let sizes = random_sizes(&mut Rng(8), d.len(), 1 << 20);
            (
                stream_digest(Md5Stream::with_hub(hub), &d, &sizes).await,
                reference(&d),
            )
        }
    });
    a.ready().await;
    a.update(data.slice((4 << 20) + 7..));
    assert_eq!(a.finalize().await, reference(&data));
    let (got, want) = b.await.expect("task panicked");
    assert_eq!(got, want);
    assert!(hub.is_dead(), "the injected crash did not happen");
    // New streams on a dead hub stay inline.
    let got = stream_digest(Md5Stream::with_hub(hub), &data, &[1 << 20]).await;
    assert_eq!(got, reference(&data));
}

#[test]
fn backlog_cap_is_above_lane_budget() {
    // Otherwise a writer could wait for progress the hasher reports too rarely.
    const { assert!(BACKLOG_CAP > super::LANE_BUDGET) };
}

#[test]
fn avx512_kernel_matches_scalar() {
    if !super::avx512::available() {
        eprintln!("skipped: no avx512f on this CPU (or the kernel is compiled out)");
        return;
    }
    kernel_matches_scalar(16, super::avx512::compress16);
}

#[test]
fn avx512_8_lane_kernel_matches_scalar() {
    if !super::avx512::available8() {
        eprintln!("skipped: no avx512vl on this CPU (or the kernel is compiled out)");
        return;
    }
    kernel_matches_scalar(8, super::avx512::compress8);
}

/// A multi-lane compress: `compress16` or `compress8`.
type Kernel = fn(&mut [[u32; 16]; 4], &[&[u8]; 16], usize) -> bool;

/// `kernel` on lanes 0..`lanes` gives scalar compress's states; short lanes and lanes
/// past `lanes` keep theirs.
fn kernel_matches_scalar(lanes: usize, kernel: Kernel) {
    let mut rng = Rng(9);
    for rounds in [1, 2, 7, 40] {
        let bufs: Vec<Bytes> = (0..16)
            .map(|i| {
                // Lanes 3 and 11 are too short: they must be left untouched.
                let blocks = if i == 3 || i == 11 {
                    rounds - 1
                } else {
                    rounds + i % 3
                };
                rng.bytes(blocks * BLOCK + i)
            })
            .collect();
        let start: Vec<[u32; 4]> = (0..16)
            .map(|_| std::array::from_fn(|_| rng.next() as u32))
            .collect();
        let mut state = [[0u32; 16]; 4];
        for (i, s) in start.iter().enumerate() {
            for w in 0..4 {
                state[w][i] = s[w];
            }
        }
        let data: [&[u8]; 16] = std::array::from_fn(|i| &bufs[i][..]);
        assert!(kernel(&mut state, &data, rounds));
        for (i, s) in start.iter().enumerate() {
            let mut want = *s;
            if i < lanes && bufs[i].len() >= rounds * BLOCK {
                super::scalar::compress_blocks(&mut want, &bufs[i][..rounds * BLOCK]);
            }
            let got = [state[0][i], state[1][i], state[2][i], state[3][i]];
            assert_eq!(got, want, "lane {i} of {lanes}, {rounds} rounds");
        }
    }
}

/// `cargo test --release -- --ignored --nocapture bench`
#[test]
#[ignore]
fn bench() {
    const LEN: usize = 64 << 20;
    const PIECE: usize = 64 << 10;
    let data = Rng(10).bytes(LEN);
    let t = Instant::now();
    let want = reference(&data);
    let md5_crate = mbps(LEN, t);
    let t = Instant::now();
    assert_eq!(scalar_digest(&data), want);
    let ours = mbps(LEN, t);
    println!("md-5 crate, 1 thread : {md5_crate:8.0} MB/s");
    println!("md5x scalar, 1 thread: {ours:8.0} MB/s");
    if super::avx512::available() {
        let lanes: [&[u8]; 16] = std::array::from_fn(|i| &data[i * (LEN / 16)..][..LEN / 16]);
        let mut state = [[0u32; 16]; 4];
        let t = Instant::now();
        for at in (0..LEN / 16).step_by(PIECE) {
            let chunk: [&[u8]; 16] = std::array::from_fn(|i| &lanes[i][at..]);
            super::avx512::compress16(&mut state, &chunk, PIECE / BLOCK);
        }
        println!(
            "avx512 kernel, 16 lanes, 1 thread: {:8.0} MB/s",
            mbps(LEN, t)
        );
    }
    if super::avx512::available8() {
        let lanes: [&[u8]; 8] = std::array::from_fn(|i| &data[i * (LEN / 8)..][..LEN / 8]);
        let mut state = [[0u32; 16]; 4];
        let t = Instant::now();
        for at in (0..LEN / 8).step_by(PIECE) {
            let chunk: [&[u8]; 16] =
                std::array::from_fn(|i| lanes.get(i).map_or(&[][..], |l| &l[at..]));
            super::avx512::compress8(&mut state, &chunk, PIECE / BLOCK);
        }
        println!(
            "avx512 kernel, 8 lanes in 256 bits, 1 thread: {:8.0} MB/s",
            mbps(LEN, t)
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    println!("| streams | aggregate MB/s | vs md-5 1 thread |");
    println!("|--------:|---------------:|-----------------:|");
    for streams in [1, 4, 10, 16, 32] {
        let t = Instant::now();
        rt.block_on(async {
            let tasks: Vec<_> = (0..streams)
                .map(|_| {
                    let data = data.clone();
                    tokio::spawn(async move {
                        let mut s = Md5Stream::new();
                        for at in (0..LEN).step_by(PIECE) {
                            s.update(data.slice(at..(at + PIECE).min(LEN)));
                            s.ready().await;
                        }
                        s.finalize().await
                    })
                })
                .collect();
            for task in tasks {
                assert_eq!(task.await.expect("task panicked"), want);
            }
        });
        let rate = mbps(LEN * streams, t);
        println!("| {streams:7} | {rate:14.0} | {:15.1}x |", rate / md5_crate);
    }
}

fn mbps(bytes: usize, since: Instant) -> f64 {
    bytes as f64 / 1e6 / since.elapsed().as_secs_f64()
}

/// Many smaller objects: what the inline limit trades off.
/// `cargo test --release -- --ignored --nocapture objects_by_inline_limit`
#[test]
#[ignore]
fn objects_by_inline_limit() {
    const PIECE: usize = 64 << 10;
    let data = Rng(11).bytes(8 << 20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    println!("inline limit {} KiB", INLINE_LIMIT >> 10);
    println!("| object | streams | aggregate MB/s |");
    println!("|-------:|--------:|---------------:|");
    for size in [128 << 10, 1 << 20, 8 << 20] {
        for streams in [1, 32] {
            let objects = (256 << 20) / size / streams;
            let obj = data.slice(..size);
            let want = reference(&obj);
            let t = Instant::now();
            rt.block_on(async {
                let tasks: Vec<_> = (0..streams)
                    .map(|_| {
                        let obj = obj.clone();
                        tokio::spawn(async move {
                            for _ in 0..objects {
                                let mut s = Md5Stream::new();
                                for at in (0..size).step_by(PIECE) {
                                    s.update(obj.slice(at..(at + PIECE).min(size)));
                                    s.ready().await;
                                }
                                assert_eq!(s.finalize().await, want);
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task panicked");
                }
            });
            let rate = mbps(size * objects * streams, t);
            println!("| {:4} KiB | {streams:7} | {rate:14.0} |", size >> 10);
        }
    }
}
