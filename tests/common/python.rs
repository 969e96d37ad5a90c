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
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    println!("{stderr}");
    assert!(out.status.success(), "{what} failed: {}", out.status);
    check_skips(&stderr, what);
    stdout
}

/// Only tests/py/tools.py may skip a test (for a test tests/optional.txt lists), and it
/// says so in a `SKIPPED ` line: any other unittest skip fails the suite.
fn check_skips(stderr: &str, what: &str) {
    let sanctioned: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("SKIPPED "))
        .collect();
    for s in &sanctioned {
        super::report_skip(s);
    }
    // unittest's summary: `OK (skipped=2)` or `FAILED (failures=1, skipped=2)`.
    let skipped: usize = stderr
        .lines()
        .filter(|l| l.starts_with("OK") || l.starts_with("FAILED"))
        .filter_map(|l| l.split("skipped=").nth(1))
        .filter_map(|n| {
            n.trim_end_matches(')')
                .split(',')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(
        skipped,
        sanctioned.len(),
        "{what}: unittest skipped {skipped} test(s), tests/optional.txt allowed {}: a \
         missing tool must fail the test (tests/py/tools.py), not skip it",
        sanctioned.len()
    );
}
