//! The AWS SDK for JavaScript v3 (tests/js/test_sdk_v3.js: client-s3 with its default
//! CRC32 checksums, lib-storage multipart, s3-request-presigner URLs with fetch)
//! against a real gateway. scripts/setup.sh installs the packages with npm into
//! `JETGATE_JS_DIR` (default `~/.local/share/jetgate/js`).

mod common;

use std::path::PathBuf;

use common::{require_tool, Gateway, GatewayOptions, ACCESS_KEY, SECRET_KEY};

fn js_dir() -> PathBuf {
    std::env::var_os("JETGATE_JS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".local/share/jetgate/js")
        })
}

#[tokio::test]
async fn js_sdk_v3_suite() {
    let test = "js_sdk.rs::js_sdk_v3_suite";
    let Some(node) = require_tool(test, &["node"]) else {
        return;
    };
    let modules = js_dir().join("node_modules");
    assert!(
        modules.join("@aws-sdk/client-s3").is_dir(),
        "no @aws-sdk/client-s3 in {}: run scripts/setup.sh",
        modules.display()
    );
    let g = Gateway::start(GatewayOptions::default()).await;
    let bucket = g.bucket("js-sdk").await;
    let script = format!("{}/tests/js/test_sdk_v3.js", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new(node)
        .arg(script)
        .env("NODE_PATH", &modules)
        .env("JETGATE_ENDPOINT", &g.endpoint)
        .env("JETGATE_ACCESS_KEY", ACCESS_KEY)
        .env("JETGATE_SECRET_KEY", SECRET_KEY)
        .env("JETGATE_BUCKET", &bucket)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "JS SDK v3 suite failed: {stdout}");
    assert!(stdout.contains("checks passed"), "{stdout}");
}
