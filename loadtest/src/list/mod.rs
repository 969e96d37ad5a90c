//! `list`: the instrument of issue #13 (listing cost must not grow with bucket size).
//! Starts `jetgate dev`, fills buckets of each size natively (NATS object-store
//! metadata and a 1-byte chunk per object), then measures through S3: the first page
//! (cold index build), a 1000-key page from the middle, a delimiter listing of a
//! 10-entry directory, a `/` roll-up of the whole bucket, pages/s at c16 and
//! list-after-write; with `--compare-scan` the same against a second `jetgate dev`
//! that lists by full scan (`--listing-index-budget 0`).

mod devlog;
mod fill;
mod model;
mod probe;
mod table;

use crate::bench::{nats_version, start_dev, stop_dev, Dev, DevSpec};
use crate::procstat;
use crate::report::ProcReport;
use crate::s3::S3Driver;
use anyhow::{Context, Result};
use devlog::BuildEvent;
use model::{data_key, Model};
use probe::Errors;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use table::{Build, Mem, Side, SizeResult};

pub struct ListOpts {
    pub out: PathBuf,
    pub jetgate_bin: PathBuf,
    pub sizes: Vec<u64>,
    pub pages: usize,
    pub after_write: usize,
    pub compare_scan: bool,
    /// Scan side: sizes above this are not run.
    pub scan_max_size: Option<u64>,
    /// Scan side: list-after-write tries (a full-scan listing of 100k objects is ~0.6 s).
    pub scan_after_write: usize,
    pub throughput: Duration,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub progress: bool,
    pub command: String,
}

/// How long the dev log may take to report an index build.
const BUILD_WAIT: Duration = Duration::from_secs(300);

/// Longest wait for the consumers a throughput run left behind (a full-scan listing
/// leaves its ordered consumer to the server, which reaps it after 30 s idle).
const SETTLE: Duration = Duration::from_secs(60);

/// Listers of the throughput figure (the c16).
const CONCURRENCY: usize = 16;

#[derive(Serialize)]
struct ListJson<'a> {
    command: &'a str,
    machine_cores: usize,
    nats_server: String,
    pages: usize,
    sides: &'a [Side],
}

/// Runs the scenario; returns the count of failed requests and wrong answers.
pub async fn list(o: ListOpts) -> Result<u64> {
    std::fs::create_dir_all(&o.out).with_context(|| format!("create {}", o.out.display()))?;
    let mut sides = vec![run_side(&o, "index", &[]).await?];
    if o.compare_scan {
        let args = ["--listing-index-budget".to_string(), "0".to_string()];
        sides.push(run_side(&o, "scan", &args).await?);
    }
    let md: Vec<String> = sides.iter().map(|s| table::markdown(s, o.pages)).collect();
    let md = md.join("\n");
    println!("{md}");
    let json = ListJson {
        command: &o.command,
        machine_cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        nats_server: nats_version(),
        pages: o.pages,
        sides: &sides,
    };
    std::fs::write(o.out.join("list.json"), serde_json::to_vec_pretty(&json)?)?;
    std::fs::write(
        o.out.join("list.md"),
        format!("Command: `{}`\n\n{md}", o.command),
    )?;
    eprintln!("wrote {}/list.{{json,md}}", o.out.display());
    Ok(sides
        .iter()
        .flat_map(|s| &s.sizes)
        .map(|r| r.errors.count)
        .sum())
}

async fn run_side(o: &ListOpts, name: &str, args: &[String]) -> Result<Side> {
    let log_name = format!("jetgate-dev-list-{name}");
    let spec = DevSpec {
        name: &log_name,
        args,
    };
    let dev = start_dev(&o.jetgate_bin, &o.out, &o.access_key, &o.secret_key, &spec).await?;
    let result = measure_side(o, name, &dev).await;
    stop_dev(dev).await;
    let (sizes, skipped) = result?;
    Ok(Side {
        name: name.to_string(),
        dev_args: args.to_vec(),
        goals: table::goals(&sizes),
        sizes,
        skipped,
    })
}

async fn measure_side(o: &ListOpts, side: &str, dev: &Dev) -> Result<(Vec<SizeResult>, Vec<u64>)> {
    let client = async_nats::ConnectOptions::new()
        .name("jetgate-loadtest-list")
        .connect(&dev.nats)
        .await
        .with_context(|| format!("connect to {}", dev.nats))?;
    let js = async_nats::jetstream::new(client.clone());
    let (mut done, mut skipped) = (Vec::new(), Vec::new());
    for &n in &o.sizes {
        if side == "scan" && o.scan_max_size.is_some_and(|max| n > max) {
            skipped.push(n);
            continue;
        }
        done.push(measure_size(o, side, dev, &client, &js, n).await?);
    }
    Ok((done, skipped))
}

/// Summed RSS (KiB) of the pids.
fn rss_kb(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|p| procstat::rss_kb(*p)).sum()
}

async fn measure_size(
    o: &ListOpts,
    side: &str,
    dev: &Dev,
    client: &async_nats::Client,
    js: &async_nats::jetstream::Context,
    n: u64,
) -> Result<SizeResult> {
    let say = |m: String| {
        if o.progress {
            eprintln!("list [{side}] {m}");
        }
    };
    let bucket = format!("list-{n}");
    let d = Arc::new(S3Driver::new(
        &dev.endpoint,
        &o.access_key,
        &o.secret_key,
        &o.region,
        &bucket,
        CONCURRENCY * 2,
    )?);
    let (nats_pids, jetgate_pids): (Vec<u32>, Vec<u32>) = dev
        .pids
        .iter()
        .partition(|p| procstat::stat(**p).is_some_and(|s| s.name.starts_with("nats-server")));
    let mut errs = Errors::default();
    let rss_before = rss_kb(&jetgate_pids);
    let watch = procstat::Watch::start(&dev.pids);

    d.ensure_bucket().await?;
    let mut model = Model::new(n);
    let fill_s = fill::fill(client, js, &bucket, &model).await?.as_secs_f64();
    say(format!(
        "{bucket}: filled {} objects in {fill_s:.1} s",
        model.objects()
    ));

    // The first page: the cold index build (or, for the scan side, one full scan). A
    // page waits up to 2 s for a building index, then reads the whole bucket beside
    // the build: the metrics say which it was.
    let want = model.listing("", None, None, 1000);
    let q = probe::query("", None, None, 1000);
    let first_page = probe::timed(&d, "first page", &q, &want, 1, &mut errs).await;
    let build = if side == "index" {
        index_build(dev, &bucket, &mut errs).await
    } else {
        None
    };
    let mut mem = memory(rss_before, &watch.finish(0), &nats_pids, &jetgate_pids);
    mem.scale(model.objects());
    say(format!(
        "{bucket}: first page {} ms, build {}",
        table::first_page_cell(&first_page, side == "index"),
        build.as_ref().map_or("—".into(), |b| format!(
            "{:.2} s, {:.0} bytes/object",
            b.secs, b.bytes_per_object
        )),
    ));

    // A 1000-key page from the middle (a full page even in a bucket of 1000).
    let start_after = data_key((n / 2).min(n.saturating_sub(1000)));
    let page_q = probe::query("", None, Some(&start_after), 1000);
    let want = model.listing("", None, Some(&start_after), 1000);
    let page = probe::timed(&d, "1000-key page", &page_q, &want, o.pages, &mut errs).await;
    let want = model.listing("dir/", Some("/"), None, 1000);
    let q = probe::query("dir/", Some("/"), None, 1000);
    let delimiter = probe::timed(&d, "delimiter", &q, &want, o.pages, &mut errs).await;
    let want = model.listing("", Some("/"), None, 1000);
    let q = probe::query("", Some("/"), None, 1000);
    let rollup = probe::timed(&d, "roll-up", &q, &want, o.pages, &mut errs).await;
    say(format!(
        "{bucket}: 1000-key page p50 {:.2} ms, delimiter {:.2} ms, roll-up {:.2} ms",
        page.latency.p50_ms, delimiter.latency.p50_ms, rollup.latency.p50_ms
    ));
    let throughput = if o.throughput.is_zero() {
        None
    } else {
        let want = Arc::new(model.listing("", None, Some(&start_after), 1000));
        let before = consumers(js, &bucket).await;
        let mut t = probe::throughput(
            d.clone(),
            &page_q,
            want,
            CONCURRENCY,
            o.throughput,
            &mut errs,
        )
        .await;
        t.consumers_after = consumers(js, &bucket).await;
        let settled = Instant::now();
        while consumers(js, &bucket).await > before && settled.elapsed() < SETTLE {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        t.settle_s = Some(settled.elapsed().as_secs_f64());
        say(format!(
            "{bucket}: {:.0} pages/s at c{CONCURRENCY}, {} consumers left, {:.1} s to settle",
            t.pages_per_s,
            t.consumers_after.unwrap_or(0),
            settled.elapsed().as_secs_f64()
        ));
        Some(t)
    };
    // Last: it adds objects to the bucket.
    let tries = if side == "index" {
        o.after_write
    } else {
        o.scan_after_write
    };
    let after_write = probe::after_write(&d, tries, &mut model, &mut errs).await;
    say(format!(
        "{bucket}: list-after-write {} misses in {} tries, list p50 {:.2} ms",
        after_write.misses, after_write.tries, after_write.list.p50_ms
    ));
    Ok(SizeResult {
        size: n,
        bucket,
        fill_s,
        first_page,
        page_start_after: start_after,
        page,
        delimiter,
        rollup,
        throughput,
        after_write,
        build,
        mem,
        errors: errs,
    })
}

/// Consumers on the bucket's stream.
async fn consumers(js: &async_nats::jetstream::Context, bucket: &str) -> Option<usize> {
    let mut stream = js.get_stream(format!("OBJ_{bucket}")).await.ok()?;
    Some(stream.info().await.ok()?.state.consumer_count)
}

/// How the bucket's index build ended, by the dev log.
async fn index_build(dev: &Dev, bucket: &str, errs: &mut Errors) -> Option<Build> {
    match devlog::wait_build(&dev.log, bucket, BUILD_WAIT).await {
        Some(BuildEvent::Built {
            objects,
            bytes,
            secs,
        }) => Some(Build {
            objects,
            bytes,
            secs,
            bytes_per_object: bytes as f64 / objects.max(1) as f64,
            over_budget: false,
        }),
        Some(BuildEvent::OverBudget { bytes }) => Some(Build {
            objects: 0,
            bytes,
            secs: 0.0,
            bytes_per_object: 0.0,
            over_budget: true,
        }),
        None => {
            let why = format!("not in {} after {BUILD_WAIT:?}", dev.log.display());
            errs.add("index build", why);
            None
        }
    }
}

/// jetgate's and nats-server's memory and CPU over the fill and build.
fn memory(rss_before_kb: u64, procs: &[ProcReport], nats: &[u32], jetgate: &[u32]) -> Mem {
    let sum = |of_nats: bool, f: fn(&ProcReport) -> f64| -> f64 {
        procs
            .iter()
            .filter(|p| nats.contains(&p.pid) == of_nats)
            .map(f)
            .sum()
    };
    Mem {
        jetgate_rss_before_mib: rss_before_kb as f64 / 1024.0,
        jetgate_rss_after_mib: rss_kb(jetgate) as f64 / 1024.0,
        jetgate_peak_mib: sum(false, |p| p.peak_rss_mib),
        jetgate_cpu_s: sum(false, |p| p.cpu_s),
        nats_rss_after_mib: rss_kb(nats) as f64 / 1024.0,
        nats_peak_mib: sum(true, |p| p.peak_rss_mib),
        nats_cpu_s: sum(true, |p| p.cpu_s),
        jetgate_rss_per_million_mib: None,
    }
}
