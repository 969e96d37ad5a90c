//! The gateway under test: `jetgate dev` or split `edge` + `worker` processes in front
//! of their own nats-server, per test or shared by a whole test binary.

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{
    jetgate_bin, s3_client, temp_dir, unique_bucket, NatsServer, Proc, ACCESS_KEY, CREDENTIALS_KEY,
    SECRET_KEY, STARTUP_TIMEOUT,
};

/// How to run the gateway.
#[derive(Clone, Debug, Default)]
pub struct GatewayOptions {
    /// Separate `jetgate edge` + `jetgate worker` processes instead of `jetgate dev`.
    pub split: bool,
    /// `--domain` for virtual-hosted-style requests.
    pub domain: Option<String>,
    /// Extra environment variables for every gateway process (edge, workers, dev).
    pub env: Vec<(String, String)>,
}

/// A running gateway in front of its own nats-server.
pub struct Gateway {
    /// Field order matters: processes drop (and die) before the nats-server.
    procs: Vec<Proc>,
    pub endpoint: String,
    pub nats: NatsServer,
    dir: tempfile::TempDir,
    opts: GatewayOptions,
}

impl Gateway {
    /// Starts nats-server and the gateway, and waits until a signed ListBuckets works.
    pub async fn start(opts: GatewayOptions) -> Gateway {
        let nats = NatsServer::start();
        let dir = temp_dir("jetgate-");
        let mut g = Gateway {
            procs: Vec::new(),
            endpoint: String::new(),
            nats,
            dir,
            opts: opts.clone(),
        };
        // The process that serves S3: an edge in front of a worker, or `jetgate dev`.
        let (name, mut args, log) = if opts.split {
            // Credentials live in NATS KV: seed them as an operator would.
            let st = Command::new(jetgate_bin())
                .args(["credentials", "add", "--nats-url", g.nats.url()])
                .env("JETGATE_CREDENTIALS_KEY", CREDENTIALS_KEY)
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .args(["--owner-id", "test-owner", "--display-name", "tester"])
                .output()
                .expect("run jetgate credentials add");
            assert!(
                st.status.success(),
                "jetgate credentials add failed: {}\n{}{}",
                st.status,
                String::from_utf8_lossy(&st.stdout),
                String::from_utf8_lossy(&st.stderr)
            );
            g.start_worker();
            let args = vec![
                "edge".to_string(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--nats-url".into(),
                g.nats.url().into(),
            ];
            ("jetgate-edge", args, "edge.log")
        } else {
            let args = vec![
                "dev".to_string(),
                "--nats-url".into(),
                g.nats.url().into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--data-dir".into(),
                g.dir.path().join("data").display().to_string(),
                "--access-key".into(),
                ACCESS_KEY.into(),
                "--secret-key".into(),
                SECRET_KEY.into(),
            ];
            ("jetgate-dev", args, "dev.log")
        };
        if let Some(d) = &opts.domain {
            args.extend(["--domain".into(), d.clone()]);
        }
        let p = Proc::spawn(
            name,
            &jetgate_bin(),
            &args,
            &g.env_with(&[]),
            g.dir.path().join(log),
        );
        g.endpoint = p
            .wait_for_line("endpoint: ", STARTUP_TIMEOUT)
            .trim()
            .to_string();
        if !opts.split {
            let key = p.wait_for_line("access_key: ", STARTUP_TIMEOUT);
            assert_eq!(
                key.trim(),
                ACCESS_KEY,
                "jetgate dev printed another access key"
            );
        }
        g.procs.push(p);
        assert!(
            g.endpoint.starts_with("http://"),
            "endpoint line: {}",
            g.endpoint
        );
        g.wait_ready().await;
        g
    }

    /// Starts (another) `jetgate worker` with every role; waits for `worker ready`.
    pub fn start_worker(&mut self) -> &Proc {
        self.start_worker_with_env(&[])
    }

    /// Like [`Gateway::start_worker`] with extra environment variables.
    pub fn start_worker_with_env(&mut self, env: &[(&str, &str)]) -> &Proc {
        let n = self.procs.len();
        let mut envs = vec![("JETGATE_CREDENTIALS_KEY", CREDENTIALS_KEY)];
        envs.extend(self.env_with(env));
        let args = vec![
            "worker".to_string(),
            "--nats-url".into(),
            self.nats.url().into(),
        ];
        let p = Proc::spawn(
            "jetgate-worker",
            &jetgate_bin(),
            &args,
            &envs,
            self.dir.path().join(format!("worker-{n}.log")),
        );
        p.wait_for_line("worker ready", STARTUP_TIMEOUT);
        self.procs.push(p);
        self.procs.last().expect("just pushed")
    }

    /// The log settings, then [`GatewayOptions::env`], then `extra`.
    fn env_with<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut envs = log_env();
        envs.extend(self.opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        envs.extend_from_slice(extra);
        envs
    }

    /// The gateway processes (dev, or workers and edge in start order).
    pub fn procs(&self) -> &[Proc] {
        &self.procs
    }

    pub fn procs_mut(&mut self) -> &mut Vec<Proc> {
        &mut self.procs
    }

    /// First live worker process (split mode).
    pub fn worker(&self) -> &Proc {
        self.procs
            .iter()
            .find(|p| p.name == "jetgate-worker" && p.exit_status().is_none())
            .expect("a live worker")
    }

    /// Host and port of the endpoint, e.g. `127.0.0.1:41234`.
    pub fn addr(&self) -> String {
        self.endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr()
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("port in endpoint")
    }

    /// An aws-sdk-s3 client with the root credentials.
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_with(ACCESS_KEY, SECRET_KEY, |b| b)
    }

    /// An aws-sdk-s3 client with other credentials and a hook to adjust the config.
    pub fn client_with(
        &self,
        access: &str,
        secret: &str,
        f: impl FnOnce(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder,
    ) -> aws_sdk_s3::Client {
        // Signed for the region the gateway was started with (JETGATE_REGION).
        let region = self
            .opts
            .env
            .iter()
            .find(|(k, _)| k == "JETGATE_REGION")
            .map(|(_, v)| aws_sdk_s3::config::Region::new(v.clone()));
        s3_client(&self.endpoint, access, secret, |b| match region {
            Some(r) => f(b.region(r)),
            None => f(b),
        })
    }

    /// Polls until a signed ListBuckets succeeds (edge up, every role answering).
    pub async fn wait_ready(&self) {
        let client = self.client();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let err = match client.list_buckets().send().await {
                Ok(_) => return,
                Err(e) => e,
            };
            for p in &self.procs {
                if let Some(code) = p.exit_status() {
                    panic!(
                        "{} exited ({code}) during start-up\n{}",
                        p.name,
                        p.log_tail(40)
                    );
                }
            }
            if Instant::now() >= deadline {
                panic!("gateway at {} not ready: {:?}", self.endpoint, err);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a bucket and returns its name.
    pub async fn bucket(&self, tag: &str) -> String {
        let b = unique_bucket(tag);
        self.client()
            .create_bucket()
            .bucket(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {b}: {e:?}"));
        b
    }
}

fn log_env<'a>() -> Vec<(&'a str, &'a str)> {
    if std::env::var_os("RUST_LOG").is_some() {
        Vec::new()
    } else {
        vec![("RUST_LOG", "info")]
    }
}

/// A gateway shared by all tests of one test binary, on its own runtime thread so that
/// it outlives each test's runtime. The watchdogs end its processes when the binary
/// exits.
pub struct Shared {
    pub endpoint: String,
    pub nats_url: String,
    pub port: u16,
}

pub fn shared(opts: GatewayOptions) -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let g = Gateway::start(opts).await;
                let s = Shared {
                    endpoint: g.endpoint.clone(),
                    nats_url: g.nats.url().to_string(),
                    port: g.port(),
                };
                let _ = tx.send(s);
                // Keep the processes (and the temp dirs) alive for the whole binary.
                std::future::pending::<()>().await;
                drop(g);
            });
        });
        rx.recv()
            .expect("shared gateway failed to start (see panic above)")
    })
}

impl Shared {
    pub fn client(&self) -> aws_sdk_s3::Client {
        self.client_with(ACCESS_KEY, SECRET_KEY, |b| b)
    }

    pub fn client_with(
        &self,
        access: &str,
        secret: &str,
        f: impl FnOnce(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder,
    ) -> aws_sdk_s3::Client {
        s3_client(&self.endpoint, access, secret, f)
    }

    pub async fn bucket(&self, tag: &str) -> String {
        let b = unique_bucket(tag);
        self.client()
            .create_bucket()
            .bucket(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {b}: {e:?}"));
        b
    }

    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let c = async_nats::connect(&self.nats_url)
            .await
            .expect("connect to nats-server");
        async_nats::jetstream::new(c)
    }
}
