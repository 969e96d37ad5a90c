//! boto3's managed multipart transfers (tests/py/test_boto3_transfer.py: upload_file and
//! download_file with an 8 MiB threshold and 5 MiB parts) against a real gateway.

mod common;

use common::{Gateway, GatewayOptions, ACCESS_KEY, SECRET_KEY};

#[tokio::test]
async fn boto3_transfer_suite() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/py/test_boto3_transfer.py"
    );
    let scratch = common::temp_dir("boto3-transfer-");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("JETGATE_ENDPOINT", &g.endpoint)
        .env("JETGATE_ACCESS_KEY", ACCESS_KEY)
        .env("JETGATE_SECRET_KEY", SECRET_KEY)
        .env("JETGATE_SCRATCH", scratch.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .await
        .expect("run python3 (is it installed? run scripts/setup.sh)");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    println!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "boto3 transfer suite failed: {}",
        out.status
    );
}
