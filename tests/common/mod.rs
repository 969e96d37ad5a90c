//! Integration-test harness: a real `nats-server` on a free port and the `jetgate`
//! binary under test, either as one `jetgate dev` process or as separate `edge` and
//! `worker` processes.
//!
//! Every child runs under a tiny `sh` watchdog that holds our end of a pipe: when the
//! test process ends for any reason (normal exit, panic, SIGKILL), the pipe closes and
//! the watchdog terminates the child. This is what lets a test binary share one
//! gateway through a `static` (statics are never dropped) without leaking processes.
//! Processes owned by a value are also killed on `Drop`, panics included.
//!
//! All child output (stdout and stderr) is written to a log file whose path is printed
//! when the process starts; readiness is detected by polling, never by fixed sleeps.

#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{Credentials, Region};

/// Root credentials every gateway in the tests is started with.
pub const ACCESS_KEY: &str = "JGTESTACCESSKEY";
pub const SECRET_KEY: &str = "jgTestSecretKey/0123456789abcdefghijklmn";
pub const REGION: &str = "us-east-1";
/// Key sealing the secrets in split-mode gateways (auth workers and `credentials add`).
pub const CREDENTIALS_KEY: &str = "amV0Z2F0ZS10ZXN0LWNyZWRlbnRpYWxzLWtleS0zMiE=";

/// How long any child may take to become ready.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

const WATCHDOG: &str = r#"exec 3<&0
"$@" 2>&1 &
p=$!
echo "__harness_pid $p"
( read _ <&3; kill -TERM "$p" 2>/dev/null ) &
w=$!
wait "$p"
s=$?
echo "__harness_exit $s"
kill "$w" 2>/dev/null
exit 0
"#;

/// Directory for test scratch data (`target/tmp`, which `cargo clean` removes).
pub fn scratch_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).expect("create CARGO_TARGET_TMPDIR");
    dir
}

/// A temp directory under [`scratch_dir`].
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(scratch_dir())
        .expect("create temp dir")
}

/// A bucket name no other test (nor an earlier run) uses: `<tag>-<pid>-<n>-<rand>`.
pub fn unique_bucket(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let r: u32 = rand::random();
    let name = format!("{tag}-{}-{n}-{:06x}", std::process::id(), r & 0xff_ffff);
    assert!(name.len() <= 63, "bucket name too long: {name}");
    name
}

/// The NATS object-store name of an S3 bucket (contract: `.` becomes `_`).
pub fn nats_bucket(s3_bucket: &str) -> String {
    s3_bucket.replace('.', "_")
}

#[derive(Default)]
struct Output {
    lines: Vec<String>,
    exit: Option<String>,
    eof: bool,
}

/// One child process under the watchdog, with its output captured line by line.
pub struct Proc {
    name: String,
    watchdog: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    out: Arc<(Mutex<Output>, Condvar)>,
    log: PathBuf,
}

impl Proc {
    /// Starts `program args` with output logged to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(&str, &str)],
        log: PathBuf,
    ) -> Proc {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut watchdog = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({}): {e}", program.display()));
        let stdin = watchdog.stdin.take();
        let stdout = watchdog.stdout.take().expect("piped stdout");
        let out: Arc<(Mutex<Output>, Condvar)> = Arc::default();
        let mut file = File::create(&log).expect("create log file");
        eprintln!(
            "[harness] {name}: {} {} (log {})",
            program.display(),
            args.join(" "),
            log.display()
        );
        let out2 = out.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let _ = file.write_all(&buf);
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        let (m, cv) = &*out2;
                        let mut o = m.lock().expect("output lock");
                        if let Some(code) = line.strip_prefix("__harness_exit ") {
                            o.exit = Some(code.to_string());
                        }
                        o.lines.push(line);
                        cv.notify_all();
                    }
                }
            }
            let (m, cv) = &*out2;
            m.lock().expect("output lock").eof = true;
            cv.notify_all();
        });
        let mut p = Proc {
            name: name.to_string(),
            watchdog,
            stdin,
            pid: 0,
            out,
            log,
        };
        let pid_line = p.wait_for_line("__harness_pid ", Duration::from_secs(10));
        p.pid = pid_line.trim().parse().expect("watchdog pid line");
        p
    }

    /// The pid of the real child (not the watchdog).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Waits for an output line starting with `prefix`; returns the rest of the line.
    /// Panics (with the log tail) if the process exits first or the timeout passes.
    pub fn wait_for_line(&self, prefix: &str, timeout: Duration) -> String {
        self.try_wait_for_line(prefix, timeout)
            .unwrap_or_else(|why| {
                panic!(
                    "{}: waiting for {prefix:?}: {why}\n--- log tail ---\n{}",
                    self.name,
                    self.log_tail(40)
                )
            })
    }

    /// Like [`Proc::wait_for_line`] but matching `needle` anywhere in a line.
    pub fn try_wait_for_line(&self, prefix: &str, timeout: Duration) -> Result<String, String> {
        self.wait_matching(timeout, |l| l.strip_prefix(prefix).map(str::to_string))
    }

    pub fn wait_matching(
        &self,
        timeout: Duration,
        f: impl Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.out;
        let mut o = m.lock().expect("output lock");
        loop {
            if let Some(v) = o.lines.iter().find_map(|l| f(l)) {
                return Ok(v);
            }
            if let Some(code) = &o.exit {
                return Err(format!("process exited with status {code}"));
            }
            if o.eof {
                return Err("output closed".into());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("timed out after {timeout:?}"));
            }
            o = cv.wait_timeout(o, deadline - now).expect("output lock").0;
        }
    }

    /// The exit status once the child has exited (`None` while it runs).
    pub fn exit_status(&self) -> Option<String> {
        self.out.0.lock().expect("output lock").exit.clone()
    }

    /// Waits until the child has exited; returns its status text.
    pub fn wait_exit(&self, timeout: Duration) -> Result<String, String> {
        self.wait_matching(timeout, |_| None)
            .or_else(|e| self.exit_status().ok_or(e))
    }

    pub fn log_tail(&self, n: usize) -> String {
        let o = self.out.0.lock().expect("output lock");
        let start = o.lines.len().saturating_sub(n);
        o.lines[start..].join("\n")
    }

    /// Sends a signal (`"KILL"`, `"TERM"`) to the real child.
    pub fn signal(&self, sig: &str) {
        if self.exit_status().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid.to_string())
            .stderr(Stdio::null())
            .status();
    }

    /// Peak resident set size (`VmHWM`) of the real child, in KiB.
    pub fn vm_hwm_kib(&self) -> u64 {
        proc_status_kib(self.pid, "VmHWM:")
            .unwrap_or_else(|| panic!("{}: no VmHWM for pid {}", self.name, self.pid))
    }

    /// Stops the child: SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exit_status().is_none() {
            self.signal("TERM");
            if self.wait_exit(grace).is_err() {
                self.signal("KILL");
                let _ = self.wait_exit(Duration::from_secs(10));
            }
        }
        drop(self.stdin.take());
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {} log tail ({}) ---\n{}",
                self.name,
                self.log.display(),
                self.log_tail(60)
            );
        }
        self.stop(Duration::from_secs(10));
    }
}

/// A `kB` field of `/proc/<pid>/status`.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A `nats-server -js` on a free port with its store in a temp dir.
pub struct NatsServer {
    proc: Proc,
    url: String,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let dir = temp_dir("nats-");
        let store = dir.path().join("store");
        let bin = which("nats-server").expect("nats-server must be on PATH (run scripts/setup.sh)");
        let args = vec![
            "-js".to_string(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            "-1".into(),
            "--http_port".into(),
            "0".into(),
            "--store_dir".into(),
            store.display().to_string(),
        ];
        let proc = Proc::spawn(
            "nats-server",
            &bin,
            &args,
            &[],
            dir.path().join("nats-server.log"),
        );
        let hostport = proc
            .wait_matching(STARTUP_TIMEOUT, |l| {
                l.split_once("Listening for client connections on ")
                    .map(|(_, rest)| rest.trim().to_string())
            })
            .unwrap_or_else(|e| panic!("nats-server did not start: {e}\n{}", proc.log_tail(40)));
        proc.wait_matching(STARTUP_TIMEOUT, |l| {
            l.contains("Server is ready").then(String::new)
        })
        .unwrap_or_else(|e| panic!("nats-server not ready: {e}\n{}", proc.log_tail(40)));
        NatsServer {
            url: format!("nats://{hostport}"),
            proc,
            _dir: dir,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(&self.url)
            .await
            .expect("connect to nats-server")
    }

    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.client().await)
    }
}

/// Looks a program up on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// The jetgate binary under test.
pub fn jetgate_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jetgate"))
}

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
        if opts.split {
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
            let mut args = vec![
                "edge".to_string(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--nats-url".into(),
                g.nats.url().into(),
            ];
            if let Some(d) = &opts.domain {
                args.extend(["--domain".into(), d.clone()]);
            }
            let p = Proc::spawn(
                "jetgate-edge",
                &jetgate_bin(),
                &args,
                &g.env_with(&[]),
                g.dir.path().join("edge.log"),
            );
            g.endpoint = p
                .wait_for_line("endpoint: ", STARTUP_TIMEOUT)
                .trim()
                .to_string();
            g.procs.push(p);
        } else {
            let mut args = vec![
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
            if let Some(d) = &opts.domain {
                args.extend(["--domain".into(), d.clone()]);
            }
            let p = Proc::spawn(
                "jetgate-dev",
                &jetgate_bin(),
                &args,
                &g.env_with(&[]),
                g.dir.path().join("dev.log"),
            );
            g.endpoint = p
                .wait_for_line("endpoint: ", STARTUP_TIMEOUT)
                .trim()
                .to_string();
            let key = p.wait_for_line("access_key: ", STARTUP_TIMEOUT);
            assert_eq!(
                key.trim(),
                ACCESS_KEY,
                "jetgate dev printed another access key"
            );
            g.procs.push(p);
        }
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
        let b = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                access,
                secret,
                None,
                None,
                "jetgate-tests",
            ))
            .force_path_style(true);
        aws_sdk_s3::Client::from_conf(f(b).build())
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
        let b = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                access,
                secret,
                None,
                None,
                "jetgate-tests",
            ))
            .force_path_style(true);
        aws_sdk_s3::Client::from_conf(f(b).build())
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

/// A raw HTTP/1.1 exchange (for requests no SDK will send). Returns status, headers
/// (lower-cased names) and body. The request must carry `Connection: close`.
pub async fn raw_http(addr: &str, request: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write request");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read response");
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of response head");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body)
}

/// Writes `size` bytes of deterministic pseudo-random data to `path` in 8 MiB pieces
/// and returns its MD5 hex.
pub fn write_random_file(path: &Path, size: u64, seed: u64) -> String {
    use md5::{Digest, Md5};
    let mut f = std::io::BufWriter::new(File::create(path).expect("create data file"));
    let mut md5 = Md5::new();
    let mut state = seed | 1;
    let mut piece = vec![0u8; 8 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(piece.len() as u64) as usize;
        for chunk in piece[..n].chunks_mut(8) {
            // xorshift64*: fast and deterministic, enough to defeat compression.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let v = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        md5.update(&piece[..n]);
        f.write_all(&piece[..n]).expect("write data file");
        left -= n as u64;
    }
    f.flush().expect("flush data file");
    hex::encode(md5.finalize())
}

/// Deterministic pseudo-random bytes.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        v.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(len);
    v
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(data))
}

/// Polls `f` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Number of chunk messages (`$O.<bucket>.C.>`) in a NATS object store's stream.
pub async fn chunk_messages(js: &async_nats::jetstream::Context, nats_bucket: &str) -> u64 {
    let mut stream = js
        .get_stream(format!("OBJ_{nats_bucket}"))
        .await
        .expect("object store stream");
    let info = stream.info().await.expect("stream info");
    if info.state.messages == 0 {
        return 0;
    }
    use futures::TryStreamExt;
    let subjects: Vec<(String, usize)> = stream
        .info_with_subjects(format!("$O.{nats_bucket}.C.>"))
        .await
        .expect("stream subjects")
        .try_collect()
        .await
        .expect("stream subjects");
    subjects.iter().map(|(_, n)| *n as u64).sum()
}
