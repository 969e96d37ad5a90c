//! boto3 and the aws CLI (tests/py/test_boto3_features.py): tagging, checksums,
//! GetObjectAttributes and the versioning probes.

mod common;

use common::{run_python_suite, Gateway, GatewayOptions};

#[tokio::test]
async fn boto3_features() {
    let g = Gateway::start(GatewayOptions {
        domain: Some("jetgate.test".into()),
        ..Default::default()
    })
    .await;
    let env = [("JETGATE_DOMAIN", "jetgate.test".as_ref())];
    run_python_suite(&g, "test_boto3_features.py", "boto3 features suite", &env).await;
}
