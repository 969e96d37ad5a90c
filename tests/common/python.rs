//! The Python client suites in tests/py, run with `python3` against a gateway.

use std::ffi::OsStr;

use super::{Gateway, ACCESS_KEY, SECRET_KEY};

/// Runs `tests/py/<script>` against `g` with the root credentials and `env` on top;
/// no AWS config file, profile or proxy of the machine reaches it. Prints its output,
/// asserts it exited 0 (`what` names the suite in the failure) and returns its stdout.
pub async fn run_python_suite(
    g: &Gateway,
    script: &str,
    what: &str,
    env: &[(&str, &OsStr)],
) -> String {
    let script = format!("{}/tests/py/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("JETGATE_ENDPOINT", &g.endpoint)
        .env("JETGATE_ACCESS_KEY", ACCESS_KEY)
        .env("JETGATE_SECRET_KEY", SECRET_KEY)
        .envs(env.iter().copied())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .await
        .expect("run python3 (is it installed? run scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    println!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed: {}", out.status);
    stdout
}
