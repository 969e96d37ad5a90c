//! `jetgate`: S3 API gateway for NATS JetStream Object Store.

mod admin;
mod authz;
mod bootstrap;
mod buckets;
mod devserver;
mod nats;
mod policy_args;
mod services;
mod tracing_setup;
mod usage;
mod web_identity;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use admin::{CredentialsCmd, UploadsCmd};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use jetgate_actors::auth::{Credential, CredentialStore};
use jetgate_actors::{SupervisorMsg, Worker, WorkerConfig, WorkerSupervisor};
use jetgate_edge::{EdgeConfig, EdgeState};
use jetgate_protocol::stream::{StreamBudget, StreamConfig};
use jetgate_protocol::Role;
use nats::NatsArgs;
use ractor::Actor;
use rand::distributions::{Alphanumeric, DistString};

#[derive(Parser)]
#[command(
    name = "jetgate",
    version,
    about = "S3 API gateway for NATS JetStream Object Store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    tracing: tracing_setup::TracingArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run nats-server (unless --nats-url is given), the edge and every role in one process tree
    /// (one NATS account, no per-role users: for development, not deployment).
    Dev(DevArgs),
    /// Run the HTTP edge alone.
    Edge(EdgeArgs),
    /// Run worker roles.
    Worker(WorkerArgs),
    /// Run the NATS auth callout: NATS clients log in with S3 access keys (log in as
    /// `authz`, the AUTH account's callout user; deploy/nats/callout.conf).
    Authz(authz::AuthzArgs),
    /// Manage S3 access keys in the NATS credential store (log in as `auth-admin`, the
    /// AUTH account's user, in the per-role layouts).
    #[command(subcommand)]
    Credentials(CredentialsCmd),
    /// Show the worker services as `nats micro ls|info|stats` would.
    #[command(subcommand)]
    Services(ServicesCmd),
    /// Inspect and clean up multipart uploads in progress.
    #[command(subcommand)]
    Uploads(UploadsCmd),
    /// Bucket owners.
    #[command(subcommand)]
    Buckets(buckets::BucketsCmd),
    /// Requests, errors and bytes per access key, bucket, operation or owner, summed
    /// from the `jetgate-usage` stream.
    Usage(usage::UsageArgs),
    /// NATS operator-mode set-up (accounts, users and creds files for each role).
    #[command(subcommand)]
    Nats(NatsCmd),
}

#[derive(Subcommand)]
enum NatsCmd {
    /// Mint operator, accounts and per-role users (JWT + nkeys) into a folder.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Make the auth callout's issuer key (an account nkey seed) in a new 0600 file and
    /// print its public key, the server's `auth_callout.issuer`.
    CalloutKey {
        /// File to create.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ServicesCmd {
    /// Every jetgate service instance.
    Ls {
        #[command(flatten)]
        nats: NatsArgs,
    },
    /// Endpoints and metadata of one service (e.g. jetgate-object).
    Info {
        #[command(flatten)]
        nats: NatsArgs,
        name: String,
    },
    /// Per-endpoint request, error and latency counters of one service.
    Stats {
        #[command(flatten)]
        nats: NatsArgs,
        name: String,
    },
}

#[derive(Args, Clone)]
struct EdgeOpts {
    /// Address the S3 endpoint listens on.
    #[arg(long, env = "JETGATE_LISTEN", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Domain for virtual-hosted-style requests (`<bucket>.<domain>`).
    #[arg(long, env = "JETGATE_DOMAIN")]
    domain: Option<String>,
    /// Seconds a client may send no request-body bytes before the request ends with
    /// 400 RequestTimeout (a body shorter than its Content-Length), as S3 answers.
    #[arg(long, env = "JETGATE_CLIENT_BODY_IDLE_SECS", default_value_t = jetgate_edge::DEFAULT_CLIENT_BODY_IDLE.as_secs())]
    client_body_idle_secs: u64,
}

#[derive(Args, Clone)]
struct CommonOpts {
    /// The region clients sign for.
    #[arg(long, env = "JETGATE_REGION", default_value = "us-east-1")]
    region: String,
    /// Seconds of silence after which a body stream's peer is presumed dead.
    #[arg(long, env = "JETGATE_STREAM_IDLE_SECS", default_value_t = 10)]
    stream_idle_secs: u64,
    /// Bytes in flight per body stream (the memory bound of one request).
    #[arg(long, env = "JETGATE_STREAM_WINDOW", default_value_t = 4 * 1024 * 1024)]
    stream_window: u64,
    /// Receive memory shared by all body streams of the process: with many streams
    /// open each window shrinks to its share (never below one 252 KiB frame).
    #[arg(long, env = "JETGATE_STREAM_BUDGET", default_value_t = 32 * 1024 * 1024)]
    stream_budget: u64,
    /// Address for /metrics and /healthz on their own listener (off when absent). With
    /// it, the edge no longer answers unauthenticated /metrics on its S3 port.
    #[arg(long, env = "JETGATE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

impl CommonOpts {
    fn stream(&self) -> StreamConfig {
        StreamConfig {
            window: self.stream_window,
            budget: Some(StreamBudget::new(self.stream_budget)),
            idle_timeout: Duration::from_secs(self.stream_idle_secs),
            heartbeat: Duration::from_secs(self.stream_idle_secs.clamp(1, 10) / 3 + 1)
                .min(Duration::from_secs(self.stream_idle_secs.max(1))),
            ..StreamConfig::default()
        }
    }
}

#[derive(Args, Clone)]
struct WorkerOpts {
    /// Key sealing the S3 secrets (auth role only; `jetgate dev` makes one).
    #[command(flatten)]
    key: admin::KeyArgs,
    /// Allowed clock skew of signed requests, in seconds.
    #[arg(long, env = "JETGATE_MAX_SKEW_SECS", default_value_t = 900)]
    max_skew_secs: u64,
    /// Age in seconds after which chunks no object refers to are reclaimed.
    #[arg(long, env = "JETGATE_ORPHAN_GRACE_SECS", default_value_t = 300)]
    orphan_grace_secs: u64,
    /// Object-store replicas of buckets created through S3 (3 on a cluster).
    #[arg(long, env = "JETGATE_REPLICAS", default_value_t = 1)]
    replicas: usize,
    /// Age in seconds after which an unfinished multipart upload is aborted (7 days).
    #[arg(long, env = "JETGATE_UPLOAD_MAX_AGE_SECS", default_value_t = 7 * 24 * 3600)]
    upload_max_age_secs: u64,
    /// Seconds an UploadPart that arrives ahead of its turn waits to be appended in
    /// place before it is staged (and copied at Complete).
    #[arg(long, env = "JETGATE_PART_APPEND_WAIT_SECS", default_value_t = 20)]
    part_append_wait_secs: u64,
    /// Bytes of object chunks published to JetStream and not yet acknowledged, over all
    /// requests of the process: bounds memory and stays under the server's per-stream
    /// ingest queue (which answers 429 past it).
    #[arg(long, env = "JETGATE_PUBLISH_BUDGET", default_value_t = 16 * 1024 * 1024)]
    publish_budget: u64,
    /// Bytes of multipart parts received ahead of their turn, over all uploads of the
    /// process: parts of one upload then arrive and hash in parallel (0: they wait).
    #[arg(long, env = "JETGATE_PART_READ_AHEAD", default_value_t = jetgate_actors::config::DEFAULT_READ_AHEAD)]
    part_read_ahead: u64,
    /// Bytes of live listing indexes a worker holds over all buckets (listing role):
    /// cold buckets' indexes are evicted first, and a bucket larger than this lists by
    /// reading all its metadata.
    #[arg(long, env = "JETGATE_LISTING_INDEX_BUDGET", default_value_t = jetgate_actors::store::DEFAULT_INDEX_BUDGET)]
    listing_index_budget: u64,
    #[command(flatten)]
    usage: usage::UsageOpts,
    #[command(flatten)]
    oidc: web_identity::OidcArgs,
}

#[derive(Args)]
struct DevArgs {
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    edge: EdgeOpts,
    #[command(flatten)]
    common: CommonOpts,
    #[command(flatten)]
    worker: WorkerOpts,
    /// Start this nats-server binary instead of `nats-server` from PATH.
    #[arg(long, env = "JETGATE_NATS_SERVER_BIN")]
    nats_server_bin: Option<PathBuf>,
    /// Folder for the dev nats-server's JetStream data.
    #[arg(long, env = "JETGATE_DATA_DIR", default_value = "./.jetgate")]
    data_dir: PathBuf,
    /// Root access key (generated when absent).
    #[arg(long, env = "JETGATE_ACCESS_KEY")]
    access_key: Option<String>,
    /// Root secret key (generated when absent).
    #[arg(long, env = "JETGATE_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
}

#[derive(Args)]
struct EdgeArgs {
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    edge: EdgeOpts,
    #[command(flatten)]
    common: CommonOpts,
}

#[derive(Args)]
struct WorkerArgs {
    #[command(flatten)]
    nats: NatsArgs,
    #[command(flatten)]
    common: CommonOpts,
    #[command(flatten)]
    worker: WorkerOpts,
    /// Roles this process serves.
    #[arg(
        long,
        env = "JETGATE_ROLES",
        value_delimiter = ',',
        default_value = "auth,listing,multipart,object"
    )]
    roles: Vec<Role>,
}

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let service = match &cli.command {
        Command::Dev(_) => "jetgate-dev",
        Command::Edge(_) => "jetgate-edge",
        Command::Worker(_) => "jetgate-worker",
        Command::Authz(_) => "jetgate-authz",
        _ => "jetgate",
    };
    let telemetry = tracing_setup::init(&cli.tracing, service, rt.handle());
    let result = rt.block_on(run(cli));
    // After the signal-driven drain: send the spans still queued while the runtime
    // that carries the export requests is alive.
    telemetry.shutdown();
    result
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    jetgate_edge::telemetry::install();
    match cli.command {
        Command::Dev(a) => dev(a).await,
        Command::Edge(a) => {
            serve_metrics(a.common.metrics_listen).await?;
            let client = a
                .nats
                .connect_with_inbox("jetgate-edge", nats::EDGE_INBOX)
                .await?;
            let (addr, server) = serve_edge(client, &a.edge, &a.common).await?;
            println!("endpoint: http://{addr}");
            drain_edge(server).await;
            Ok(())
        }
        Command::Worker(a) => {
            serve_metrics(a.common.metrics_listen).await?;
            let inbox = nats::worker_inbox(&a.roles);
            let client = a.nats.connect_with_inbox("jetgate-worker", inbox).await?;
            let sup = start_worker(client, &a.common, &a.worker, a.roles.clone()).await?;
            let names: Vec<&str> = a.roles.iter().map(|r| r.as_str()).collect();
            println!("worker ready: {}", names.join(","));
            shutdown_signal().await;
            drain(sup).await;
            Ok(())
        }
        Command::Credentials(c) => admin::credentials(c).await,
        Command::Uploads(c) => admin::uploads_cmd(c).await,
        Command::Buckets(c) => buckets::buckets(c).await,
        Command::Authz(a) => authz::run(a).await,
        Command::Usage(a) => usage::usage(a).await,
        Command::Nats(NatsCmd::Bootstrap(a)) => bootstrap::run(&a),
        Command::Nats(NatsCmd::CalloutKey { out }) => bootstrap::callout_key(&out),
        Command::Services(c) => match c {
            ServicesCmd::Ls { nats } => {
                services::ls(
                    &nats
                        .connect_with_inbox("jetgate-services", nats::SERVICES_INBOX)
                        .await?,
                )
                .await
            }
            ServicesCmd::Info { nats, name } => {
                services::info(
                    &nats
                        .connect_with_inbox("jetgate-services", nats::SERVICES_INBOX)
                        .await?,
                    &name,
                )
                .await
            }
            ServicesCmd::Stats { nats, name } => {
                services::stats(
                    &nats
                        .connect_with_inbox("jetgate-services", nats::SERVICES_INBOX)
                        .await?,
                    &name,
                )
                .await
            }
        },
    }
}

async fn dev(a: DevArgs) -> anyhow::Result<()> {
    serve_metrics(a.common.metrics_listen).await?;
    // An explicit --nats-url (flag or env) means "use that server"; otherwise start one.
    let own_server = !url_given() && std::env::var_os("JETGATE_NATS_URL").is_none();
    let mut nats_args = a.nats.clone();
    let _nats_child = if own_server {
        let bin = a
            .nats_server_bin
            .clone()
            .unwrap_or_else(devserver::default_bin);
        let child = devserver::start(&bin, &a.data_dir).await?;
        nats_args.nats_url = child.url.clone();
        Some(child)
    } else {
        None
    };
    let client = nats_args.connect("jetgate-dev").await?;
    let access_key = a.access_key.clone().unwrap_or_else(|| {
        format!(
            "JG{}",
            Alphanumeric
                .sample_string(&mut rand::thread_rng(), 18)
                .to_uppercase()
        )
    });
    let secret_key = a
        .secret_key
        .clone()
        .unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::thread_rng(), 40));
    // The dev key lives beside the dev data unless one is given.
    let mut worker_opts = a.worker.clone();
    let sealing = match worker_opts.key.load()? {
        Some(k) => k,
        None => {
            let path = a.data_dir.join("credentials.key");
            let k = admin::load_or_create_key(&path)?;
            worker_opts.key.credentials_key = Some(path.display().to_string());
            k
        }
    };
    let store = CredentialStore::open(
        &async_nats::jetstream::new(client.clone()),
        a.worker.replicas,
    )
    .await
    .context("opening the credential store")?
    .with_key(Some(sealing));
    store
        .put(&Credential::new(
            &access_key,
            &secret_key,
            &access_key,
            "jetgate-root",
        )?)
        .await?;
    let sup = start_worker(client.clone(), &a.common, &worker_opts, Role::ALL.to_vec()).await?;
    // The edge gets its own connection, as in a deployment: one connection's reader
    // serving both the GET bodies JetStream delivers to the edge and the worker's
    // traffic made nats-server buffer and re-flush (`bench --scenarios get-64MiB-c4`:
    // 188 MB/s and 434 ms of nats-server CPU per GET on one connection, 651 MB/s and
    // 98 ms with an edge of its own).
    let edge_client = nats_args
        .connect_with_inbox("jetgate-dev-edge", nats::EDGE_INBOX)
        .await?;
    let (addr, server) = serve_edge(edge_client, &a.edge, &a.common).await?;
    println!("endpoint: http://{addr}");
    println!("access_key: {access_key}");
    println!("secret_key: {secret_key}");
    println!("region: {}", a.common.region);
    println!("nats: {}", nats_args.nats_url);
    println!(
        "try: AWS_ACCESS_KEY_ID={access_key} AWS_SECRET_ACCESS_KEY=<secret_key> aws --endpoint-url http://{addr} s3 ls"
    );
    drain_edge(server).await;
    drain(sup).await;
    Ok(())
}

/// True when --nats-url was spelled out on the command line.
fn url_given() -> bool {
    std::env::args().any(|a| a == "--nats-url" || a.starts_with("--nats-url="))
}

/// Waits for SIGTERM/Ctrl-C, then for the edge to finish its in-flight requests (the
/// server stops accepting at the signal), at most `EDGE_DRAIN`.
async fn drain_edge(server: tokio::task::JoinHandle<()>) {
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(EDGE_DRAIN, server).await.is_err() {
        tracing::warn!("in-flight requests still running after {EDGE_DRAIN:?}; exiting");
    }
}

/// Longest an edge waits for in-flight requests on shutdown.
const EDGE_DRAIN: Duration = Duration::from_secs(30);

async fn serve_edge(
    client: async_nats::Client,
    opts: &EdgeOpts,
    common: &CommonOpts,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let cfg = EdgeConfig {
        domain: opts.domain.clone(),
        region: common.region.clone(),
        stream: common.stream(),
        metrics_on_s3_port: common.metrics_listen.is_none(),
        client_body_idle: Duration::from_secs(opts.client_body_idle_secs.max(1)),
        ..EdgeConfig::default()
    };
    let state = EdgeState::new(client, cfg).await?;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let app = jetgate_edge::app(state);
    let server = tokio::spawn(jetgate_edge::serve::serve(listener, app, shutdown_signal()));
    tracing::info!(%addr, "edge listening");
    Ok((addr, server))
}

async fn start_worker(
    client: async_nats::Client,
    common: &CommonOpts,
    opts: &WorkerOpts,
    roles: Vec<Role>,
) -> anyhow::Result<ractor::ActorRef<SupervisorMsg>> {
    let cfg = WorkerConfig {
        region: common.region.clone(),
        max_skew: Duration::from_secs(opts.max_skew_secs),
        stream: common.stream(),
        orphan_grace: Duration::from_secs(opts.orphan_grace_secs),
        replicas: opts.replicas,
        upload_max_age: Duration::from_secs(opts.upload_max_age_secs),
        part_append_wait: Duration::from_secs(opts.part_append_wait_secs),
        publish_budget: opts.publish_budget,
        part_read_ahead: opts.part_read_ahead,
        listing_index_budget: opts.listing_index_budget,
        // Only the auth role opens secrets; it refuses to start without the key rather
        // than serve from (or write) plaintext.
        credentials_key: if roles.contains(&Role::Auth) {
            Some(opts.key.require().context("the auth role")?)
        } else {
            None
        },
        oidc: opts.oidc.config(),
        sts_max_duration: opts.oidc.sts_max_duration(),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(client, cfg).await?;
    // Usage is recorded where S3 requests end, which auth-only workers never see (and
    // their user is in the AUTH account, where the usage stream is not).
    if roles.iter().any(|r| *r != Role::Auth) {
        let js = async_nats::jetstream::new(worker.client().clone());
        worker.set_usage(jetgate_actors::usage::start(
            js,
            opts.usage.limits(opts.replicas),
        ));
    }
    if roles.contains(&Role::Object) {
        spawn_janitor(worker.clone());
    }
    if roles.contains(&Role::Multipart) {
        spawn_upload_sweep(worker.clone());
    }
    if roles.contains(&Role::Listing) {
        spawn_closing_check(worker.clone());
    }
    let (sup, _) = Actor::spawn(None, WorkerSupervisor, (worker, roles))
        .await
        .map_err(|e| anyhow::anyhow!("starting roles: {e}"))?;
    Ok(sup)
}

/// /metrics and /healthz on their own listener, when `--metrics-listen` names one.
pub(crate) async fn serve_metrics(addr: Option<SocketAddr>) -> anyhow::Result<()> {
    let Some(addr) = addr else {
        return Ok(());
    };
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(|| async { jetgate_edge::telemetry::render() }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding metrics listener {addr}"))?;
    tracing::info!(%addr, "metrics listening");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    Ok(())
}

/// Reclaims chunks of uploads whose worker died, at start and every minute.
fn spawn_janitor(worker: Worker) {
    tokio::spawn(async move {
        let grace = worker.cfg().orphan_grace;
        let period = grace.clamp(Duration::from_secs(1), Duration::from_secs(60));
        loop {
            match worker.store().nats_buckets().await {
                Ok(buckets) => {
                    for b in buckets {
                        if let Err(e) = worker.store().sweep_orphans(&b.name, grace).await {
                            tracing::warn!(bucket = %b.name, error = %e, "orphan sweep failed");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "orphan sweep could not list buckets"),
            }
            tokio::time::sleep(period).await;
        }
    });
}

/// Reopens buckets that a DeleteBucket left closed to writers when its worker died.
fn spawn_closing_check(worker: Worker) {
    let period = jetgate_actors::store::CLOSING_STALE;
    tokio::spawn(async move {
        loop {
            if let Err(e) = worker.store().reopen_stale_closings().await {
                tracing::warn!(error = %e, "closed-bucket check failed");
            }
            tokio::time::sleep(period).await;
        }
    });
}

/// Aborts abandoned multipart uploads, at start and every hour.
fn spawn_upload_sweep(worker: Worker) {
    use jetgate_actors::multipart::{sweep, Uploads};
    tokio::spawn(async move {
        let max_age = worker.cfg().upload_max_age;
        let period = (max_age / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
        loop {
            match Uploads::open_existing(&worker.store().js).await {
                Ok(Some(u)) => {
                    if let Err(e) = sweep::abort_stale(worker.store(), &u, max_age).await {
                        tracing::warn!(error = %e, "stale upload sweep failed");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "stale upload sweep could not read uploads"),
            }
            tokio::time::sleep(period).await;
        }
    });
}

async fn drain(sup: ractor::ActorRef<SupervisorMsg>) {
    let _ = ractor::call_t!(sup, SupervisorMsg::Drain, 30_000);
    sup.stop(None);
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
