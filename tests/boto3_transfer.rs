//! boto3's managed multipart transfers (tests/py/test_boto3_transfer.py: upload_file and
//! download_file with an 8 MiB threshold and 5 MiB parts) against a real gateway.

mod common;

use common::{run_python_suite, Gateway, GatewayOptions};

#[tokio::test]
async fn boto3_transfer_suite() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let scratch = common::temp_dir("boto3-transfer-");
    let env = [("JETGATE_SCRATCH", scratch.path().as_os_str())];
    run_python_suite(&g, "test_boto3_transfer.py", "boto3 transfer suite", &env).await;
}
