//! `bench`: start `jetgate dev` (or use given endpoints), run the scenario list of
//! issue #4 against the raw object store and the gateway, print the table, write
//! JSON, markdown and SVG.

use crate::driver::Driver;
use crate::procstat;
use crate::raw::RawDriver;
use crate::report::{markdown_table, Pair, Report};
use crate::runner::{self, Stop, Workload};
use crate::s3::S3Driver;
use crate::spec::{Mix, Op, SizeSpec};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct BenchOpts {
    pub out: PathBuf,
    pub jetgate_bin: PathBuf,
    pub duration: Duration,
    pub warmup: Duration,
    pub scenarios: Option<Vec<String>>,
    pub targets: Vec<String>,
    pub endpoint: Option<String>,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub nats_url: Option<String>,
    pub watch: Vec<u32>,
    pub progress: bool,
    pub command: String,
}

/// The scenario list of issue #4: name, op, size, concurrency.
pub fn scenarios() -> Vec<(String, Op, u64, usize)> {
    let mut v = Vec::new();
    for c in [64usize, 16] {
        for op in [Op::Put, Op::Get, Op::Head] {
            v.push((format!("{}-4KiB-c{c}", op.name()), op, 4 << 10, c));
        }
    }
    for op in [Op::Put, Op::Get] {
        v.push((format!("{}-64MiB-c4", op.name()), op, 64 << 20, 4));
    }
    v
}

/// The memory goal of issue #4 (64 concurrent 64 MiB uploads, then downloads): run only
/// when `--scenarios` names them exactly, since they move 8 GiB. Measured by operation count.
/// Also opt-in: issue #3's `multipart-1GiB-c1`, one 1 GiB upload at a time in 8 MiB parts,
/// 10 in flight (the aws CLI's defaults), against one raw put of the same bytes.
pub fn memory_scenarios() -> Vec<(String, Op, u64, usize)> {
    let mut v: Vec<_> = [Op::Put, Op::Get]
        .into_iter()
        .map(|op| (format!("{}-64MiB-c64", op.name()), op, 64 << 20, 64))
        .collect();
    v.push(("multipart-1GiB-c1".to_string(), Op::Multipart, 1 << 30, 1));
    v
}

pub(crate) struct Dev {
    child: Child,
    pub(crate) pids: Vec<u32>,
    data_dir: PathBuf,
    pub(crate) endpoint: String,
    pub(crate) nats: String,
    /// Where its stderr (the tracing log) goes.
    pub(crate) log: PathBuf,
}

/// How to start one `jetgate dev`: `name` names its log (`<name>.log` in the out folder)
/// and data dir, so two can run in one process; `args` are appended to `dev`'s.
pub(crate) struct DevSpec<'a> {
    pub(crate) name: &'a str,
    pub(crate) args: &'a [String],
}

const DEFAULT_DEV: DevSpec<'static> = DevSpec {
    name: "jetgate-dev",
    args: &[],
};

pub(crate) async fn start_dev(
    bin: &Path,
    out: &Path,
    key: &str,
    secret: &str,
    spec: &DevSpec<'_>,
) -> Result<Dev> {
    if !bin.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p jetgate` or pass --jetgate-bin",
            bin.display()
        );
    }
    let data_dir = std::env::temp_dir().join(format!("{}-{}", spec.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let log_path = out.join(format!("{}.log", spec.name));
    let log = std::fs::File::create(&log_path)?;
    let mut child = Command::new(bin)
        .args([
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--access-key",
            key,
            "--secret-key",
            secret,
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .args(spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let stdout = child.stdout.take().context("dev stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let (mut endpoint, mut nats) = (None, None);
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(v) = line.trim().strip_prefix("endpoint:") {
                endpoint = Some(v.trim().to_string());
            } else if let Some(v) = line.trim().strip_prefix("nats:") {
                nats = Some(v.trim().to_string());
            }
            if endpoint.is_some() && nats.is_some() {
                return Ok::<bool, std::io::Error>(true);
            }
        }
        Ok(false)
    })
    .await;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let (Ok(Ok(true)), Some(endpoint), Some(nats)) = (found, endpoint, nats) else {
        let _ = child.kill().await;
        bail!(
            "jetgate dev did not print its endpoint and nats url; see {}",
            log_path.display()
        );
    };
    let pid = child.id().context("dev pid")?;
    // Give the roles a moment to register, then take the process tree.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(Dev {
        pids: procstat::tree(pid),
        child,
        data_dir,
        endpoint,
        nats,
        log: log_path,
    })
}

pub(crate) async fn stop_dev(mut dev: Dev) {
    if let Some(pid) = dev.child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), dev.child.wait())
            .await
            .is_err()
        {
            let _ = dev.child.kill().await;
        }
    }
    // Whatever of the tree outlived its parent (e.g. nats-server) is ours to end.
    for pid in dev.pids.iter().skip(1) {
        if procstat::stat(*pid).is_some_and(|s| s.ppid == 1) {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
    }
    let _ = std::fs::remove_dir_all(&dev.data_dir);
}

#[derive(Serialize)]
struct BenchJson<'a> {
    command: &'a str,
    machine_cores: usize,
    nats_server: String,
    duration_s: f64,
    warmup_s: f64,
    pairs: &'a [Pair],
}

pub(crate) fn nats_version() -> String {
    std::process::Command::new("nats-server")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

pub async fn bench(o: BenchOpts) -> Result<Vec<Pair>> {
    std::fs::create_dir_all(&o.out).with_context(|| format!("create {}", o.out.display()))?;
    let dev = match &o.endpoint {
        Some(_) => None,
        None => Some(
            start_dev(
                &o.jetgate_bin,
                &o.out,
                &o.access_key,
                &o.secret_key,
                &DEFAULT_DEV,
            )
            .await?,
        ),
    };
    let result = run_all(&o, dev.as_ref()).await;
    if let Some(dev) = dev {
        stop_dev(dev).await;
    }
    let pairs = result?;
    let table = markdown_table(&pairs);
    println!("{table}");
    let json = BenchJson {
        command: &o.command,
        machine_cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        nats_server: nats_version(),
        duration_s: o.duration.as_secs_f64(),
        warmup_s: o.warmup.as_secs_f64(),
        pairs: &pairs,
    };
    std::fs::write(o.out.join("bench.json"), serde_json::to_vec_pretty(&json)?)?;
    std::fs::write(
        o.out.join("bench.md"),
        format!("Command: `{}`\n\n{table}", o.command),
    )?;
    std::fs::write(
        o.out.join("bench.svg"),
        crate::svg::render("jetgate vs raw NATS object store", &pairs),
    )?;
    eprintln!("wrote {}/bench.{{json,md,svg}}", o.out.display());
    Ok(pairs)
}

async fn run_all(o: &BenchOpts, dev: Option<&Dev>) -> Result<Vec<Pair>> {
    let endpoint = dev
        .map(|d| d.endpoint.clone())
        .or_else(|| o.endpoint.clone());
    let nats = dev.map(|d| d.nats.clone()).or_else(|| o.nats_url.clone());
    let want = |t: &str| o.targets.iter().any(|x| x == t);
    let (gw_watch, raw_watch): (Vec<u32>, Vec<u32>) = match dev {
        Some(d) => {
            let nats_pids = d
                .pids
                .iter()
                .copied()
                .filter(|p| procstat::stat(*p).is_some_and(|s| s.name.starts_with("nats-server")))
                .collect();
            (d.pids.clone(), nats_pids)
        }
        None => (o.watch.clone(), o.watch.clone()),
    };
    let raw = match (&nats, want("raw")) {
        (Some(url), true) => {
            let mut d = RawDriver::connect(url, "loadtest-raw").await?;
            d.open().await?;
            Some(Arc::new(Driver::Raw(Box::new(d))))
        }
        _ => None,
    };
    let gw = match (&endpoint, want("jetgate")) {
        (Some(ep), true) => Some(Arc::new(Driver::S3(Box::new(S3Driver::new(
            ep,
            &o.access_key,
            &o.secret_key,
            &o.region,
            "loadtest-s3",
            128,
        )?)))),
        _ => None,
    };
    let mut pairs = Vec::new();
    let all = scenarios()
        .into_iter()
        .map(|s| (s, false))
        .chain(memory_scenarios().into_iter().map(|s| (s, true)));
    for ((name, op, size, c), memory) in all {
        // Memory scenarios by exact name only: `put-64MiB-c4` must not pick them.
        let picked = o.scenarios.as_ref().map(|f| {
            f.iter().any(|s| {
                if memory {
                    name == *s
                } else {
                    name.contains(s.as_str())
                }
            })
        });
        if picked == Some(false) || (memory && picked.is_none()) {
            continue;
        }
        let w = Workload {
            scenario: name.clone(),
            mix: Mix::single(op),
            size: SizeSpec::Fixed(size),
            concurrency: c,
            // A 64 MiB operation can take seconds: measure long enough to see several.
            stop: if op == Op::Multipart {
                Stop::Ops(3)
            } else if memory {
                Stop::Ops(2 * c as u64)
            } else if size >= 1 << 20 {
                Stop::Duration(o.duration.max(Duration::from_secs(6)))
            } else {
                Stop::Duration(o.duration)
            },
            warmup: if memory { Duration::ZERO } else { o.warmup },
            prefix: format!("bench-{}/", crate::spec::fmt_bytes(size)),
            // 16 objects (1 GiB) are enough for 64 readers to stream at once.
            objects: memory.then_some(16),
            timeout: Duration::from_secs(120),
            progress: o.progress,
            watch: Vec::new(),
        };
        let mut pair = Pair {
            scenario: name,
            raw: None,
            gateway: None,
        };
        if let Some(d) = &raw {
            let w = Workload {
                watch: raw_watch.clone(),
                ..w.clone()
            };
            pair.raw = Some(run_one(d, &w).await?);
        }
        if let Some(d) = &gw {
            let w = Workload {
                watch: gw_watch.clone(),
                ..w.clone()
            };
            pair.gateway = Some(run_one(d, &w).await?);
        }
        pairs.push(pair);
    }
    Ok(pairs)
}

async fn run_one(d: &Arc<Driver>, w: &Workload) -> Result<Report> {
    let r = runner::run(d.clone(), w).await?;
    eprint!("{}", r.render());
    Ok(r)
}
