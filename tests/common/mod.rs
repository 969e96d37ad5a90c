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

//!
//! By job: `admin` (the `jetgate` admin commands), `process` (children under the watchdog), `nats` (the nats-server), `gateway`
//! (jetgate processes, per test or shared), `listing` (listings walked to
//! their end against a model), `client` (S3 and raw HTTP clients), `data`
//! (deterministic test data), `python` (the Python client suites in tests/py),
//! `multipart` (multipart-upload steps several test files share), `signer` (SigV4/SigV2
//! signing for crafted requests), `aws_chunked` (crafted `aws-chunked` uploads) and
//! `wire` (raw HTTP/1.1 client and a recording proxy); `oidc` (an OIDC issuer's key and tokens); `accounts` (the deployed NATS
//! account layouts, bootstrap and accounts.conf, with a login per user); `tools` (external programs, and
//! tests/optional.txt: the only tests that may skip without them).

#![allow(dead_code)]

mod accounts;
mod admin;
mod aws_chunked;
mod client;
mod data;
mod gateway;
mod listing;
mod multipart;
mod nats;
mod oidc;
mod process;
mod python;
mod signer;
mod tools;
mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

// Each test binary uses only some of these; the others would be "unused imports".
#[allow(unused_imports)]
pub use {
    accounts::*, admin::*, aws_chunked::*, client::*, data::*, gateway::*, listing::*,
    multipart::*, nats::*, oidc::*, process::*, python::*, signer::*, tools::*, wire::*,
};

/// Root credentials every gateway in the tests is started with.
pub const ACCESS_KEY: &str = "JGTESTACCESSKEY";
pub const SECRET_KEY: &str = "jgTestSecretKey/0123456789abcdefghijklmn";
pub const REGION: &str = "us-east-1";
/// Key sealing the secrets in split-mode gateways (auth workers and `credentials add`).
pub const CREDENTIALS_KEY: &str = "amV0Z2F0ZS10ZXN0LWNyZWRlbnRpYWxzLWtleS0zMiE=";

/// How long any child may take to become ready.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

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
