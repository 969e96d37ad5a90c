//! The `jetgate` admin commands (`credentials`, `buckets`, …) run against a test
//! gateway's NATS.

use std::process::{Command, Output};

use super::{jetgate_bin, Gateway};

/// Runs `jetgate <group> <args[0]> --nats-url <the gateway's NATS> <args[1..]>` with
/// `key` as JETGATE_CREDENTIALS_KEY (unset when `None`).
pub fn admin(g: &Gateway, group: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(jetgate_bin());
    cmd.arg(group)
        .arg(args[0])
        .args(["--nats-url", g.nats.url()])
        .args(&args[1..])
        .env_remove("JETGATE_CREDENTIALS_KEY");
    if let Some(k) = key {
        cmd.env("JETGATE_CREDENTIALS_KEY", k);
    }
    cmd.output().expect("run a jetgate admin command")
}

/// The stdout of a command that must have succeeded.
pub fn succeeded(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}
