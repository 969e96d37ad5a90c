//! jetgate-loadtest: S3 load generator with a raw NATS object-store mode (issue #4).

mod bench;
mod content;
mod driver;
mod list;
mod multipart;
mod op_error;
mod procstat;
mod raw;
mod report;
mod runner;
mod s3;
mod spec;
mod svg;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use driver::Driver;
use report::{Pair, Report};
use runner::{Stop, Workload};
use spec::{Mix, Op, SizeSpec};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "jetgate-loadtest",
    version,
    about = "S3 load generator for jetgate, with the raw NATS object store as the ceiling"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Drive an S3 endpoint (jetgate or any other S3 server), SigV4-signed.
    S3 {
        #[arg(long, env = "JETGATE_ENDPOINT")]
        endpoint: String,
        #[arg(long, env = "AWS_ACCESS_KEY_ID")]
        access_key: String,
        #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
        secret_key: String,
        #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
        region: String,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Drive the NATS object store directly (the ceiling).
    Raw {
        #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        /// PUT with async-nats `ObjectStore::put` (sequential acks) instead of the
        /// pipelined object-store protocol.
        #[arg(long)]
        store_api_put: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Start `jetgate dev` and run the issue #4 scenarios against raw NATS and jetgate.
    Bench {
        /// Folder for bench.json, bench.md, bench.svg and the dev log.
        #[arg(long, env = "LOADTEST_OUT", default_value = "target/loadtest")]
        out: PathBuf,
        /// ~2 s per scenario (CI smoke).
        #[arg(long)]
        quick: bool,
        #[arg(long, env = "JETGATE_BIN", default_value = "target/release/jetgate")]
        jetgate_bin: PathBuf,
        /// Measured time per scenario (default 10s, 2s with --quick).
        #[arg(long, value_parser = spec::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Warm-up per scenario (default 2s, 0.5s with --quick).
        #[arg(long, value_parser = spec::parse_duration)]
        warmup: Option<std::time::Duration>,
        /// Only scenarios whose name contains one of these (comma separated).
        #[arg(long, value_delimiter = ',')]
        scenarios: Option<Vec<String>>,
        /// Which targets to run: raw, jetgate.
        #[arg(long, value_delimiter = ',', default_value = "raw,jetgate")]
        targets: Vec<String>,
        /// Use this S3 endpoint instead of starting `jetgate dev`.
        #[arg(long, env = "JETGATE_ENDPOINT")]
        endpoint: Option<String>,
        #[command(flatten)]
        creds: DevCredentials,
        /// With --endpoint: NATS server for the raw runs.
        #[arg(long, env = "NATS_URL")]
        nats_url: Option<String>,
        /// With --endpoint: processes whose CPU and peak RSS to report.
        #[arg(long = "watch-pid")]
        watch_pid: Vec<u32>,
        #[arg(long)]
        quiet: bool,
    },
    /// Issue #13: listing cost against bucket size. Starts `jetgate dev`, fills buckets
    /// natively and times ListObjectsV2 through S3 (every answer checked).
    List {
        /// Bulk objects per bucket, one bucket per size (plus a 10-entry `dir/`).
        #[arg(long, value_delimiter = ',', default_value = "1000,100000")]
        sizes: Vec<u64>,
        #[arg(long, env = "JETGATE_BIN", default_value = "target/release/jetgate")]
        jetgate_bin: PathBuf,
        /// Folder for list.json, list.md and the dev logs.
        #[arg(long, env = "LOADTEST_OUT", default_value = "target/loadtest")]
        out: PathBuf,
        /// Timed listings per figure.
        #[arg(long, default_value_t = 50)]
        pages: usize,
        /// List-after-write tries per bucket (index side).
        #[arg(long, default_value_t = 10_000)]
        after_write: usize,
        /// Also run everything against a `jetgate dev` that lists by full scan
        /// (`--listing-index-budget 0`), after the index side.
        #[arg(long)]
        compare_scan: bool,
        /// Scan side: skip sizes above this (a full-scan page of 1M objects takes ~6 s).
        #[arg(long)]
        scan_max_size: Option<u64>,
        /// Scan side: list-after-write tries per bucket.
        #[arg(long, default_value_t = 100)]
        scan_after_write: usize,
        /// Time of the pages/s figure at c16 per bucket (0 to skip).
        #[arg(long, default_value = "5s", value_parser = spec::parse_duration)]
        throughput: std::time::Duration,
        #[command(flatten)]
        creds: DevCredentials,
        #[arg(long)]
        quiet: bool,
    },
}

/// The key the subcommands that start `jetgate dev` give it (and sign with).
#[derive(Args)]
struct DevCredentials {
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "loadtest")]
    access_key: String,
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "loadtest-secret-key",
        hide_env_values = true
    )]
    secret_key: String,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
}

#[derive(Args)]
struct LoadArgs {
    #[arg(long, env = "LOADTEST_BUCKET", default_value = "loadtest")]
    bucket: String,
    /// put, get, head, list, delete, multipart or mix (raw mode runs multipart as one put).
    #[arg(long, default_value = "put")]
    op: String,
    /// Part size of --op multipart (at least 5MiB).
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    part_size: u64,
    /// Parts in flight per multipart upload.
    #[arg(long, default_value_t = s3::DEFAULT_PART_CONCURRENCY)]
    part_concurrency: usize,
    /// Weights for --op mix, e.g. get:6,put:3,delete:1.
    #[arg(long, default_value = "get:6,put:3,delete:1")]
    mix: String,
    /// 4KiB, 64MiB, or dist:4KiB:70,1MiB:30.
    #[arg(long, default_value = "4KiB")]
    size: String,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured time (ignored with --ops).
    #[arg(long, default_value = "10s", value_parser = spec::parse_duration)]
    duration: std::time::Duration,
    /// Measured operation count instead of a duration.
    #[arg(long)]
    ops: Option<u64>,
    #[arg(long, default_value = "2s", value_parser = spec::parse_duration)]
    warmup: std::time::Duration,
    #[arg(long, default_value = "loadtest/")]
    prefix: String,
    /// Objects preloaded for get/head (default: up to 1024 / 512 MiB).
    #[arg(long)]
    objects: Option<usize>,
    /// Per-operation timeout.
    #[arg(long, default_value = "120s", value_parser = spec::parse_duration)]
    timeout: std::time::Duration,
    /// Processes whose CPU time and peak RSS to report (repeatable).
    #[arg(long = "watch-pid")]
    watch_pid: Vec<u32>,
    /// Also watch this pid's whole process tree (e.g. `jetgate dev`).
    #[arg(long)]
    watch_tree: Option<u32>,
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long)]
    svg: Option<PathBuf>,
    #[arg(long)]
    quiet: bool,
}

impl LoadArgs {
    fn workload(&self, target: &str) -> Result<Workload> {
        let mix = if self.op == "mix" {
            Mix::parse(&self.mix)?
        } else {
            Mix::single(Op::parse(&self.op)?)
        };
        let size = SizeSpec::parse(&self.size)?;
        if self.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        let mut watch = self.watch_pid.clone();
        if let Some(p) = self.watch_tree {
            watch.extend(procstat::tree(p));
        }
        watch.sort_unstable();
        watch.dedup();
        Ok(Workload {
            scenario: format!("{}-{}-c{}", mix.label(), size.label(), self.concurrency),
            mix,
            size,
            concurrency: self.concurrency,
            stop: self.ops.map_or(Stop::Duration(self.duration), Stop::Ops),
            warmup: self.warmup,
            prefix: self.prefix.clone(),
            objects: self.objects,
            timeout: self.timeout,
            progress: !self.quiet,
            watch,
        })
        .map(|w| Workload {
            scenario: format!("{target}:{}", w.scenario),
            ..w
        })
    }

    fn write_outputs(&self, report: &Report) -> Result<()> {
        if let Some(p) = &self.json {
            std::fs::write(p, serde_json::to_vec_pretty(report)?)?;
        }
        if let Some(p) = &self.svg {
            let pair = Pair {
                scenario: report.scenario.clone(),
                raw: (report.target == "raw").then(|| report.clone()),
                gateway: (report.target != "raw").then(|| report.clone()),
            };
            std::fs::write(p, svg::render(&report.scenario, &[pair]))?;
        }
        Ok(())
    }
}

async fn single(driver: Driver, load: &LoadArgs) -> Result<u64> {
    let w = load.workload(driver.target_name())?;
    let report = runner::run(Arc::new(driver), &w).await?;
    print!("{}", report.render());
    load.write_outputs(&report)?;
    Ok(report.error_count())
}

// Same allocator as the gateway, so the load generator steals as little CPU as it can.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let errors = match cli.cmd {
        Cmd::S3 {
            endpoint,
            access_key,
            secret_key,
            region,
            load,
        } => {
            let d = s3::S3Driver::new(
                &endpoint,
                &access_key,
                &secret_key,
                &region,
                &load.bucket,
                load.concurrency * (2 + load.part_concurrency),
            )?
            .with_parts(load.part_size, load.part_concurrency);
            single(Driver::S3(Box::new(d)), &load).await?
        }
        Cmd::Raw {
            nats_url,
            store_api_put,
            load,
        } => {
            let mut d = raw::RawDriver::connect(&nats_url, &load.bucket).await?;
            d.store_api_put = store_api_put;
            d.open().await?;
            single(Driver::Raw(Box::new(d)), &load).await?
        }
        Cmd::Bench {
            out,
            quick,
            jetgate_bin,
            duration,
            warmup,
            scenarios,
            targets,
            endpoint,
            creds,
            nats_url,
            watch_pid,
            quiet,
        } => {
            let opts = bench::BenchOpts {
                out,
                jetgate_bin,
                duration: duration.unwrap_or(std::time::Duration::from_secs(if quick {
                    2
                } else {
                    10
                })),
                warmup: warmup.unwrap_or(std::time::Duration::from_millis(if quick {
                    500
                } else {
                    2000
                })),
                scenarios,
                targets,
                endpoint,
                access_key: creds.access_key,
                secret_key: creds.secret_key,
                region: creds.region,
                nats_url,
                watch: watch_pid,
                progress: !quiet,
                command: std::env::args().collect::<Vec<_>>().join(" "),
            };
            let pairs = bench::bench(opts).await?;
            pairs
                .iter()
                .flat_map(|p| [&p.raw, &p.gateway])
                .filter_map(|r| r.as_ref())
                .map(|r| r.error_count())
                .sum()
        }
        Cmd::List {
            mut sizes,
            jetgate_bin,
            out,
            pages,
            after_write,
            compare_scan,
            scan_max_size,
            scan_after_write,
            throughput,
            creds,
            quiet,
        } => {
            sizes.sort_unstable();
            sizes.dedup();
            if sizes.first().is_none_or(|n| *n == 0) || pages == 0 {
                bail!("--sizes must be positive object counts and --pages at least 1");
            }
            list::list(list::ListOpts {
                out,
                jetgate_bin,
                sizes,
                pages,
                after_write,
                compare_scan,
                scan_max_size,
                scan_after_write,
                throughput,
                access_key: creds.access_key,
                secret_key: creds.secret_key,
                region: creds.region,
                progress: !quiet,
                command: std::env::args().collect::<Vec<_>>().join(" "),
            })
            .await?
        }
    };
    if errors > 0 {
        eprintln!("{errors} operations failed");
        std::process::exit(2);
    }
    Ok(())
}

fn parse_size(s: &str) -> Result<u64, String> {
    match SizeSpec::parse(s) {
        Ok(SizeSpec::Fixed(n)) => Ok(n),
        _ => Err(format!("{s:?} is not a size like 8MiB")),
    }
}
