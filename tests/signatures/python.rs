//! The forms only Python clients send (tests/py/test_signatures.py): boto3's unsigned
//! trailers over TLS with every checksum and chunked transfer without Content-Length,
//! boto3's SigV2 header and presigned-query auth, minio-py's literal payload hash. Each
//! object the script stored is read back here too.

use std::ffi::OsString;

use crate::common::{md5_hex, temp_dir, ACCESS_KEY, SECRET_KEY};
use crate::gw;

/// Where scripts/setup.sh installs awscrt, apart from the default Python path: there it
/// would switch every boto3 suite to the CRT signer. botocore computes CRC32C and
/// CRC64NVME only with it.
fn awscrt_dir() -> OsString {
    std::env::var_os("JETGATE_AWSCRT_DIR").unwrap_or_else(|| {
        let home = std::env::var_os("HOME").expect("HOME");
        let mut p = std::path::PathBuf::from(home);
        p.push(".local/share/jetgate/awscrt");
        p.into_os_string()
    })
}

/// Runs one case of the script against the shared gateway in a new bucket, checks it
/// finished, and reads back every object it reports.
async fn run_case(tag: &str, args: &[&str], with_awscrt: bool, objects: usize) {
    let b = gw().bucket(tag).await;
    let scratch = temp_dir("py-signatures-");
    let script = format!("{}/tests/py/test_signatures.py", env!("CARGO_MANIFEST_DIR"));
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(script)
        .args(args)
        .env("JETGATE_ENDPOINT", &gw().endpoint)
        .env("JETGATE_ACCESS_KEY", ACCESS_KEY)
        .env("JETGATE_SECRET_KEY", SECRET_KEY)
        .env("JETGATE_BUCKET", &b)
        .env("JETGATE_SCRATCH", scratch.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("BOTO_DISABLE_CRT")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    if with_awscrt {
        cmd.env("PYTHONPATH", awscrt_dir());
    } else {
        cmd.env_remove("PYTHONPATH");
    }
    let out = cmd
        .output()
        .await
        .expect("run python3 (is it installed? run scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    println!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "test_signatures.py {args:?}: {}",
        out.status
    );
    assert!(
        stdout.lines().any(|l| l == format!("DONE {}", args[0])),
        "the script did not finish its case"
    );

    let s3 = gw().client();
    let mut n = 0;
    for line in stdout.lines().filter_map(|l| l.strip_prefix("STORED ")) {
        let (key, md5) = line.split_once(' ').expect("STORED <key> <md5>");
        let got = s3
            .get_object()
            .bucket(&b)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
        assert_eq!(got.e_tag(), Some(format!("\"{md5}\"").as_str()), "{key}");
        let body = got.body.collect().await.expect("body").into_bytes();
        assert_eq!(md5_hex(&body), md5, "{key}: bytes");
        n += 1;
    }
    assert_eq!(n, objects, "objects the script reported");
}

/// CRC32 (also botocore's default), SHA-1, SHA-256, SHA-512: botocore alone.
#[tokio::test]
async fn boto3_unsigned_trailer_builtin_checksums() {
    run_case(
        "sig-py-trailer",
        &[
            "unsigned-trailer",
            "default",
            "crc32",
            "sha1",
            "sha256",
            "sha512",
        ],
        false,
        11,
    )
    .await;
}

/// CRC32C, CRC64NVME and the xxHashes: botocore with awscrt (and so with the CRT
/// signer).
#[tokio::test]
async fn boto3_unsigned_trailer_crt_checksums() {
    run_case(
        "sig-py-trailer-crt",
        &[
            "unsigned-trailer",
            "crc32c",
            "crc64nvme",
            "xxhash64",
            "xxhash3",
            "xxhash128",
        ],
        true,
        11,
    )
    .await;
}

#[tokio::test]
async fn boto3_sigv2_header_and_presigned() {
    run_case("sig-py-v2", &["sigv2"], false, 4).await;
}

/// botocore puts a signed Content-Type of a SigV2 presigned URL in its query string.
#[tokio::test]
async fn boto3_sigv2_presigned_put_with_content_type() {
    run_case("sig-py-v2-ctype", &["sigv2-content-type"], false, 1).await;
}

#[tokio::test]
async fn minio_py_literal_payload_hash() {
    run_case("sig-py-minio", &["minio"], false, 2).await;
}
