//! POST Object (browser form uploads with a signed policy): tests/py/test_post_object.py
//! uses boto3's generate_presigned_post against a gateway of its own.

mod common;

use common::{run_python_suite, Gateway, GatewayOptions};

#[tokio::test]
async fn boto3_presigned_post() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let stdout = run_python_suite(&g, "test_post_object.py", "POST Object suite", &[]).await;
    assert!(stdout.contains("checks passed"), "suite did not finish");
}
