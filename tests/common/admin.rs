//! The `jetgate` admin commands (`credentials`, `buckets`, …) run against a test
//! gateway's NATS.

use std::process::{Command, Output};
use std::time::Duration;

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

/// Runs `jetgate credentials ...` against the gateway's NATS with `key`.
pub fn credentials(g: &Gateway, key: Option<&str>, args: &[&str]) -> Output {
    admin(g, "credentials", key, args)
}

/// The S3 error code of a call, `"OK"` when it succeeded.
pub fn code<T, E: aws_sdk_s3::error::ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(e) => e.code().unwrap_or("<no code>").to_string(),
    }
}

/// Polls a signed ListBuckets with `client` until it answers `want` ("OK" or an S3 error
/// code, whose status must then be 403): KV changes reach the auth worker's cache
/// through a watch, a little later than the admin command returns.
pub async fn wait_for(client: &aws_sdk_s3::Client, what: &str, want: &str) {
    super::poll(what, Duration::from_secs(30), move || async move {
        match client.list_buckets().send().await {
            Ok(_) => (want == "OK").then_some(()),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                (aws_sdk_s3::error::ProvideErrorMetadata::code(&e) == Some(want))
                    .then(|| assert_eq!(status, Some(403), "{want}: {e:?}"))
            }
        }
    })
    .await;
}

/// The credential KV bucket, as a native NATS client (or an attacker with its
/// permissions) reaches it.
pub async fn credential_kv(g: &Gateway) -> async_nats::jetstream::kv::Store {
    g.nats
        .jetstream()
        .await
        .get_key_value("jetgate-credentials")
        .await
        .expect("credential bucket")
}

/// The credential record of `access_key` as the KV bucket holds it.
pub async fn raw_record(g: &Gateway, access_key: &str) -> Vec<u8> {
    credential_kv(g)
        .await
        .get(access_key)
        .await
        .expect("kv get")
        .expect("record")
        .to_vec()
}
