//! `jetgate`: S3 API gateway for NATS JetStream Object Store.

mod admin;
mod authz;
mod bootstrap;
mod buckets;
mod cli;
mod devserver;
mod nats;
mod policy_args;
mod services;
mod tracing_setup;
mod usage;
mod web_identity;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use cli::{Cli, Command, CommonOpts, DevArgs, EdgeOpts, NatsCmd, ServicesCmd, WorkerOpts};
use jetgate_actors::auth::{Credential, CredentialStore};
use jetgate_actors::{SupervisorMsg, Worker, WorkerConfig, WorkerSupervisor};
use jetgate_edge::{EdgeConfig, EdgeState};
use jetgate_protocol::Role;
use ractor::Actor;
use rand::distributions::{Alphanumeric, DistString};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        rt.worker_threads(usize::from(n));
    }
    let rt = rt.enable_all().build()?;
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
