//! The load loop: preload, warm-up, measured phase, per-worker HDR histograms.

use crate::driver::Driver;
use crate::procstat::Watch;
use crate::report::{new_histogram, Latency, OpReport, Report};
use crate::spec::{Mix, Op, SizeSpec};
use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, VecDeque};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Duration(Duration),
    Ops(u64),
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub scenario: String,
    pub mix: Mix,
    pub size: SizeSpec,
    pub concurrency: usize,
    pub stop: Stop,
    pub warmup: Duration,
    pub prefix: String,
    /// Objects preloaded for get/head (default from size and concurrency).
    pub objects: Option<usize>,
    pub timeout: Duration,
    pub progress: bool,
    /// Processes whose CPU and peak RSS the report carries.
    pub watch: Vec<u32>,
}

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOPPED: u8 = 2;

struct Shared {
    phase: AtomicU8,
    remaining: AtomicU64,
    ops: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    pool_cursor: AtomicUsize,
    /// Per-run tag of PUT keys, so a run writes fresh objects (no purge of a
    /// previous version) until its ring wraps.
    nonce: String,
}

struct WorkerOut {
    hist: Vec<Histogram<u64>>,
    count: [u64; Op::ALL.len()],
    bytes: [u64; Op::ALL.len()],
    errors: BTreeMap<String, u64>,
    samples: Vec<String>,
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

impl Workload {
    fn pool_size(&self) -> usize {
        self.objects.unwrap_or_else(|| {
            let by_bytes = ((512u64 << 20) as f64 / self.size.mean().max(1.0)) as usize;
            by_bytes.min(1024).max(self.concurrency).max(1)
        })
    }

    /// Per-worker ring of PUT keys: bounds what a long run leaves behind (≈2 GiB).
    fn put_ring(&self) -> u64 {
        let per_worker = (2u64 << 30) / (self.size.max().max(1) * self.concurrency.max(1) as u64);
        per_worker.clamp(1, 1 << 20)
    }

    pub fn pool_key(&self, i: usize) -> String {
        format!("{}pool/{i:06}", self.prefix)
    }

    /// How the pool is written: by multipart uploads when the mix uploads only that
    /// way, so its GETs verify what multipart assembly stored.
    fn preload_op(&self) -> Op {
        if self.mix.contains(Op::Multipart) && !self.mix.contains(Op::Put) {
            Op::Multipart
        } else {
            Op::Put
        }
    }

    fn needs_pool(&self) -> bool {
        self.mix.contains(Op::Get)
            || self.mix.contains(Op::Head)
            || (self.mix.contains(Op::Delete) && !self.mix.contains(Op::Put))
    }
}

/// Write the pool objects that reads verify against.
async fn preload(driver: &Arc<Driver>, w: &Workload) -> Result<()> {
    let n = w.pool_size();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..w.concurrency.clamp(1, 64) {
        let (driver, next, w) = (driver.clone(), next.clone(), w.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                let key = w.pool_key(i);
                let size = w.size.for_hash(crate::content::key_hash(&key));
                if let Err(e) = driver.run(w.preload_op(), &key, size, "").await {
                    bail!("preloading {key}: {e}");
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn worker(id: usize, driver: Arc<Driver>, w: Arc<Workload>, sh: Arc<Shared>) -> WorkerOut {
    let mut out = WorkerOut {
        hist: Op::ALL.iter().map(|_| new_histogram()).collect(),
        count: [0; Op::ALL.len()],
        bytes: [0; Op::ALL.len()],
        errors: BTreeMap::new(),
        samples: Vec::new(),
    };
    let mut rng = 0x2545_F491_4F6C_DD1D_u64 ^ ((id as u64 + 1) * 0x9E37_79B9);
    let pool = w.pool_size();
    let ring = w.put_ring();
    let mut put_n: u64 = 0;
    let mut live: VecDeque<String> = VecDeque::new();
    let list_prefix = format!("{}pool/", w.prefix);
    loop {
        let phase = sh.phase.load(Ordering::Acquire);
        if phase == STOPPED {
            break;
        }
        if phase == MEASURE {
            if let Stop::Ops(_) = w.stop {
                let claimed = sh
                    .remaining
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| r.checked_sub(1));
                if claimed.is_err() {
                    break;
                }
            }
        }
        let op = w.mix.pick(xorshift(&mut rng));
        let key = match op {
            Op::Put | Op::Multipart => {
                let k = format!("{}w{id:03}-{}/{:07}", w.prefix, sh.nonce, put_n % ring);
                put_n += 1;
                k
            }
            Op::Get | Op::Head => w.pool_key((xorshift(&mut rng) % pool as u64) as usize),
            Op::Delete if w.mix.contains(Op::Put) => live
                .pop_front()
                .unwrap_or_else(|| format!("{}w{id:03}/missing", w.prefix)),
            Op::Delete => {
                let i = sh.pool_cursor.fetch_add(1, Ordering::Relaxed);
                if i < pool {
                    w.pool_key(i)
                } else {
                    format!("{}w{id:03}/missing", w.prefix)
                }
            }
            Op::List => String::new(),
        };
        let size = w.size.for_hash(crate::content::key_hash(&key));
        let t0 = Instant::now();
        let res = tokio::time::timeout(w.timeout, driver.run(op, &key, size, &list_prefix)).await;
        let us = t0.elapsed().as_micros() as u64;
        if matches!(op, Op::Put | Op::Multipart) && w.mix.contains(Op::Delete) {
            live.push_back(key.clone());
            if live.len() as u64 > ring {
                live.pop_front();
            }
        }
        // An operation counts if it completes inside the measured window (so long
        // operations straddling the warm-up boundary are not lost).
        if sh.phase.load(Ordering::Acquire) != MEASURE {
            continue;
        }
        let i = op.index();
        match res {
            Ok(Ok(bytes)) => {
                out.count[i] += 1;
                out.bytes[i] += bytes;
                out.hist[i].saturating_record(us.max(1));
                sh.ops.fetch_add(1, Ordering::Relaxed);
                sh.bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Ok(Err(e)) => {
                *out.errors.entry(e.kind.clone()).or_default() += 1;
                sh.errors.fetch_add(1, Ordering::Relaxed);
                if out.samples.len() < 3 {
                    out.samples.push(format!("{} {}: {e}", op.name(), key));
                }
            }
            Err(_) => {
                *out.errors.entry("timeout".into()).or_default() += 1;
                sh.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    out
}

fn progress_line(w: &Workload, target: &str, sh: &Shared, t: f64) -> String {
    let ops = sh.ops.load(Ordering::Relaxed);
    let bytes = sh.bytes.load(Ordering::Relaxed);
    let total = match w.stop {
        Stop::Duration(d) => format!("{t:.0}/{:.0}s", d.as_secs_f64()),
        Stop::Ops(n) => format!("{ops}/{n} ops"),
    };
    let t = t.max(1e-3);
    format!(
        "[{} {target}] {total} {} ops/s {:.1} MB/s errors {}",
        w.scenario,
        crate::report::fmt_count(ops as f64 / t),
        bytes as f64 / t / 1e6,
        sh.errors.load(Ordering::Relaxed)
    )
}

/// Run one workload against one driver and report it.
pub async fn run(driver: Arc<Driver>, w: &Workload) -> Result<Report> {
    driver.ensure_bucket().await?;
    if w.needs_pool() {
        if w.progress {
            eprintln!("[{}] preloading {} objects", w.scenario, w.pool_size());
        }
        preload(&driver, w).await?;
    }
    let sh = Arc::new(Shared {
        phase: AtomicU8::new(if w.warmup.is_zero() { MEASURE } else { WARMUP }),
        remaining: AtomicU64::new(match w.stop {
            Stop::Ops(n) => n,
            Stop::Duration(_) => 0,
        }),
        ops: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        pool_cursor: AtomicUsize::new(0),
        nonce: format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        ),
    });
    let wl = Arc::new(w.clone());
    let mut tasks = Vec::new();
    for id in 0..w.concurrency.max(1) {
        tasks.push(tokio::spawn(worker(
            id,
            driver.clone(),
            wl.clone(),
            sh.clone(),
        )));
    }
    if !w.warmup.is_zero() {
        tokio::time::sleep(w.warmup).await;
    }
    let mut pids = w.watch.clone();
    pids.push(std::process::id());
    let mut watch = Watch::start(&pids);
    let t0 = Instant::now();
    sh.phase.store(MEASURE, Ordering::Release);
    let tty = std::io::stderr().is_terminal();
    let mut last_print = Instant::now();
    let mut tick = tokio::time::interval(match w.stop {
        Stop::Duration(_) => Duration::from_millis(250),
        Stop::Ops(_) => Duration::from_millis(20),
    });
    loop {
        tick.tick().await;
        watch.sample();
        let done = match w.stop {
            Stop::Duration(d) => t0.elapsed() >= d,
            Stop::Ops(_) => tasks.iter().all(|t| t.is_finished()),
        };
        if done {
            break;
        }
        let every = if tty { 1 } else { 5 };
        if w.progress && last_print.elapsed() >= Duration::from_secs(every) {
            last_print = Instant::now();
            let line = progress_line(w, driver.target_name(), &sh, t0.elapsed().as_secs_f64());
            if tty {
                eprint!("\r{line}\x1b[K");
            } else {
                eprintln!("{line}");
            }
        }
    }
    sh.phase.store(STOPPED, Ordering::Release);
    let elapsed = t0.elapsed().as_secs_f64().max(1e-6);
    let mut outs = Vec::new();
    for t in tasks {
        outs.push(t.await?);
    }
    if w.progress && tty {
        eprint!("\r\x1b[K");
    }
    Ok(assemble(w, driver.target_name(), elapsed, outs, watch))
}

fn assemble(
    w: &Workload,
    target: &str,
    elapsed: f64,
    outs: Vec<WorkerOut>,
    watch: Watch,
) -> Report {
    let mut all = new_histogram();
    let mut per_op = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut samples = Vec::new();
    let (mut ops, mut bytes) = (0u64, 0u64);
    for op in Op::ALL {
        let i = op.index();
        let mut h = new_histogram();
        let (mut n, mut b) = (0u64, 0u64);
        for o in &outs {
            let _ = h.add(&o.hist[i]);
            n += o.count[i];
            b += o.bytes[i];
        }
        let _ = all.add(&h);
        ops += n;
        bytes += b;
        if n > 0 || w.mix.contains(op) {
            per_op.push(OpReport {
                op: op.name().to_string(),
                ops: n,
                bytes: b,
                ops_per_s: n as f64 / elapsed,
                mb_per_s: b as f64 / elapsed / 1e6,
                latency: Latency::from_hist(&h),
            });
        }
    }
    for o in outs {
        for (k, v) in o.errors {
            *errors.entry(k).or_default() += v;
        }
        for s in o.samples {
            if samples.len() < 5 {
                samples.push(s);
            }
        }
    }
    Report {
        scenario: w.scenario.clone(),
        target: target.to_string(),
        op: w.mix.label(),
        size: w.size.label(),
        concurrency: w.concurrency,
        duration_s: elapsed,
        ops,
        bytes,
        ops_per_s: ops as f64 / elapsed,
        mb_per_s: bytes as f64 / elapsed / 1e6,
        latency: Latency::from_hist(&all),
        per_op,
        errors,
        error_samples: samples,
        procs: watch.finish(ops),
    }
}
