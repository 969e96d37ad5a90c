//! The command line: every subcommand and flag of `jetgate`, with the env var each
//! flag reads. `main.rs` runs them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use jetgate_protocol::stream::{StreamBudget, StreamConfig};
use jetgate_protocol::Role;

use crate::admin::{CredentialsCmd, UploadsCmd};
use crate::nats::NatsArgs;
use crate::{admin, authz, bootstrap, buckets, tracing_setup, usage, web_identity};

#[derive(Parser)]
#[command(
    name = "jetgate",
    version,
    about = "S3 API gateway for NATS JetStream Object Store"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) tracing: tracing_setup::TracingArgs,
    /// Runtime threads of this process (default: one per CPU). Processes that share a
    /// host's CPUs (an edge and a worker on one machine) spend less CPU per request
    /// with fewer threads each: on 2 cores, one thread each cut the CPU of a 4 KiB
    /// GET by a fifth (fewer cross-thread wake-ups and context switches).
    #[arg(long, env = "JETGATE_THREADS", global = true, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: Option<u16>,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
pub(crate) enum NatsCmd {
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
pub(crate) enum ServicesCmd {
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
pub(crate) struct EdgeOpts {
    /// Address the S3 endpoint listens on.
    #[arg(long, env = "JETGATE_LISTEN", default_value = "127.0.0.1:9000")]
    pub(crate) listen: SocketAddr,
    /// Domain for virtual-hosted-style requests (`<bucket>.<domain>`).
    #[arg(long, env = "JETGATE_DOMAIN")]
    pub(crate) domain: Option<String>,
    /// Seconds a client may send no request-body bytes before the request ends with
    /// 400 RequestTimeout (a body shorter than its Content-Length), as S3 answers.
    #[arg(long, env = "JETGATE_CLIENT_BODY_IDLE_SECS", default_value_t = jetgate_edge::DEFAULT_CLIENT_BODY_IDLE.as_secs())]
    pub(crate) client_body_idle_secs: u64,
}

#[derive(Args, Clone)]
pub(crate) struct CommonOpts {
    /// The region clients sign for.
    #[arg(long, env = "JETGATE_REGION", default_value = "us-east-1")]
    pub(crate) region: String,
    /// Seconds of silence after which a body stream's peer is presumed dead.
    #[arg(long, env = "JETGATE_STREAM_IDLE_SECS", default_value_t = 10)]
    pub(crate) stream_idle_secs: u64,
    /// Bytes in flight per body stream (the memory bound of one request).
    #[arg(long, env = "JETGATE_STREAM_WINDOW", default_value_t = 4 * 1024 * 1024)]
    pub(crate) stream_window: u64,
    /// Receive memory shared by all body streams of the process: with many streams
    /// open each window shrinks to its share (never below one 252 KiB frame).
    #[arg(long, env = "JETGATE_STREAM_BUDGET", default_value_t = 32 * 1024 * 1024)]
    pub(crate) stream_budget: u64,
    /// Address for /metrics and /healthz on their own listener (off when absent). With
    /// it, the edge no longer answers unauthenticated /metrics on its S3 port.
    #[arg(long, env = "JETGATE_METRICS_LISTEN")]
    pub(crate) metrics_listen: Option<SocketAddr>,
}

impl CommonOpts {
    pub(crate) fn stream(&self) -> StreamConfig {
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
pub(crate) struct WorkerOpts {
    /// Key sealing the S3 secrets (auth role only; `jetgate dev` makes one).
    #[command(flatten)]
    pub(crate) key: admin::KeyArgs,
    /// Allowed clock skew of signed requests, in seconds.
    #[arg(long, env = "JETGATE_MAX_SKEW_SECS", default_value_t = 900)]
    pub(crate) max_skew_secs: u64,
    /// Age in seconds after which chunks no object refers to are reclaimed.
    #[arg(long, env = "JETGATE_ORPHAN_GRACE_SECS", default_value_t = 300)]
    pub(crate) orphan_grace_secs: u64,
    /// Object-store replicas of buckets created through S3 (3 on a cluster).
    #[arg(long, env = "JETGATE_REPLICAS", default_value_t = 1)]
    pub(crate) replicas: usize,
    /// Age in seconds after which an unfinished multipart upload is aborted (7 days).
    #[arg(long, env = "JETGATE_UPLOAD_MAX_AGE_SECS", default_value_t = 7 * 24 * 3600)]
    pub(crate) upload_max_age_secs: u64,
    /// Seconds an UploadPart that arrives ahead of its turn waits to be appended in
    /// place before it is staged (and copied at Complete).
    #[arg(long, env = "JETGATE_PART_APPEND_WAIT_SECS", default_value_t = 20)]
    pub(crate) part_append_wait_secs: u64,
    /// Bytes of object chunks published to JetStream and not yet acknowledged, over all
    /// requests of the process: bounds memory and stays under the server's per-stream
    /// ingest queue (which answers 429 past it).
    #[arg(long, env = "JETGATE_PUBLISH_BUDGET", default_value_t = 16 * 1024 * 1024)]
    pub(crate) publish_budget: u64,
    /// Bytes of multipart parts received ahead of their turn, over all uploads of the
    /// process: parts of one upload then arrive and hash in parallel (0: they wait).
    #[arg(long, env = "JETGATE_PART_READ_AHEAD", default_value_t = jetgate_actors::config::DEFAULT_READ_AHEAD)]
    pub(crate) part_read_ahead: u64,
    /// Bytes of live listing indexes a worker holds over all buckets (listing role):
    /// cold buckets' indexes are evicted first, and a bucket larger than this lists by
    /// reading all its metadata.
    #[arg(long, env = "JETGATE_LISTING_INDEX_BUDGET", default_value_t = jetgate_actors::store::DEFAULT_INDEX_BUDGET)]
    pub(crate) listing_index_budget: u64,
    #[command(flatten)]
    pub(crate) usage: usage::UsageOpts,
    #[command(flatten)]
    pub(crate) oidc: web_identity::OidcArgs,
}

#[derive(Args)]
pub(crate) struct DevArgs {
    #[command(flatten)]
    pub(crate) nats: NatsArgs,
    #[command(flatten)]
    pub(crate) edge: EdgeOpts,
    #[command(flatten)]
    pub(crate) common: CommonOpts,
    #[command(flatten)]
    pub(crate) worker: WorkerOpts,
    /// Start this nats-server binary instead of `nats-server` from PATH.
    #[arg(long, env = "JETGATE_NATS_SERVER_BIN")]
    pub(crate) nats_server_bin: Option<PathBuf>,
    /// Folder for the dev nats-server's JetStream data.
    #[arg(long, env = "JETGATE_DATA_DIR", default_value = "./.jetgate")]
    pub(crate) data_dir: PathBuf,
    /// Root access key (generated when absent).
    #[arg(long, env = "JETGATE_ACCESS_KEY")]
    pub(crate) access_key: Option<String>,
    /// Root secret key (generated when absent).
    #[arg(long, env = "JETGATE_SECRET_KEY", hide_env_values = true)]
    pub(crate) secret_key: Option<String>,
}

#[derive(Args)]
pub(crate) struct EdgeArgs {
    #[command(flatten)]
    pub(crate) nats: NatsArgs,
    #[command(flatten)]
    pub(crate) edge: EdgeOpts,
    #[command(flatten)]
    pub(crate) common: CommonOpts,
}

#[derive(Args)]
pub(crate) struct WorkerArgs {
    #[command(flatten)]
    pub(crate) nats: NatsArgs,
    #[command(flatten)]
    pub(crate) common: CommonOpts,
    #[command(flatten)]
    pub(crate) worker: WorkerOpts,
    /// Roles this process serves.
    #[arg(
        long,
        env = "JETGATE_ROLES",
        value_delimiter = ',',
        default_value = "auth,listing,multipart,object"
    )]
    pub(crate) roles: Vec<Role>,
}

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
