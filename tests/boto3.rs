//! boto3 (tests/py/test_boto3.py) against a gateway started with `--domain jetgate.test`,
//! path-style and virtual-hosted-style.

mod common;

use common::{run_python_suite, Gateway, GatewayOptions};

#[tokio::test]
async fn boto3_suite() {
    let g = Gateway::start(GatewayOptions {
        domain: Some("jetgate.test".into()),
        ..Default::default()
    })
    .await;
    let env = [("JETGATE_DOMAIN", "jetgate.test".as_ref())];
    run_python_suite(&g, "test_boto3.py", "boto3 suite", &env).await;
}
