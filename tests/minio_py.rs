//! minio-py as applications use it (tests/py/test_minio.py) against a real gateway:
//! objects of known and unknown length (multipart), files, metadata, ranges, copies,
//! listings by "directory" and with start_after, presigned URLs, bulk delete.

mod common;

use common::{run_python_suite, Gateway, GatewayOptions};

#[tokio::test]
async fn minio_py_suite() {
    let g = Gateway::start(GatewayOptions::default()).await;
    let scratch = common::temp_dir("minio-py-");
    let env = [("JETGATE_SCRATCH", scratch.path().as_os_str())];
    run_python_suite(&g, "test_minio.py", "minio-py suite", &env).await;
}
