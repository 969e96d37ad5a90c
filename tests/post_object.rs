//! POST Object (browser form uploads with a signed policy): tests/py/test_post_object.py
//! uses boto3's generate_presigned_post against a gateway of its own.

mod common;

use common::{Gateway, GatewayOptions, ACCESS_KEY, SECRET_KEY};

#[tokio::test]
async fn boto3_presigned_post() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/test_post_object.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("JETGATE_ENDPOINT", &g.endpoint)
        .env("JETGATE_ACCESS_KEY", ACCESS_KEY)
        .env("JETGATE_SECRET_KEY", SECRET_KEY)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .await
        .expect("run python3 (is it installed? run scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    println!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "POST Object suite failed: {}",
        out.status
    );
    assert!(stdout.contains("checks passed"), "suite did not finish");
}
