//! Real clients that sign every chunk, through a recording proxy that proves which form
//! they sent: restic (minio-go: `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` over plain HTTP)
//! and the Rust SDK (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` over plain HTTP for a
//! streaming body, chunk and trailer signatures, each checksum algorithm).

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use sha2::{Digest, Sha256};

use crate::common::{
    md5_hex, random_bytes, require_tool, s3_client, temp_dir, write_random_file, Checksum,
    RecordingProxy, ACCESS_KEY, ALL_CHECKSUMS, SECRET_KEY, STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
};
use crate::{assert_stored, gw, host};

/// Runs restic with the repository in `bucket` behind `proxy`; panics on failure.
async fn restic(
    bin: &Path,
    proxy: &RecordingProxy,
    bucket: &str,
    dir: &Path,
    args: &[&str],
) -> String {
    let out = tokio::process::Command::new(bin)
        .args(args)
        .env(
            "RESTIC_REPOSITORY",
            format!("s3:{}/{bucket}", proxy.endpoint()),
        )
        .env("RESTIC_PASSWORD", "jetgate-signatures")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("RESTIC_CACHE_DIR", dir.join("cache"))
        .env("HOME", dir)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .await
        .expect("run restic");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "restic {args:?} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// restic backs up, checks and restores a repository whose every file it uploaded with
/// signed chunks; each object reads back with its MD5 ETag and the SHA-256 restic named
/// it by.
#[tokio::test]
async fn restic_signed_chunks_round_trip() {
    let test = "signatures/clients.rs::restic_signed_chunks_round_trip";
    let Some(bin) = require_tool(test, &["restic"]) else {
        return;
    };
    let b = gw().bucket("sig-restic").await;
    let proxy = RecordingProxy::start(&host()).await;
    let dir = temp_dir("restic-");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub")).expect("mkdir");
    // One pack past 256 chunks of 64 KiB: several verification batches.
    let big_md5 = write_random_file(&src.join("big.bin"), 20 * 1024 * 1024 + 3, 61);
    std::fs::write(src.join("sub/small.txt"), b"restic through jetgate\n").expect("write");
    std::fs::write(src.join("empty"), b"").expect("write");

    restic(&bin, &proxy, &b, dir.path(), &["init"]).await;
    restic(
        &bin,
        &proxy,
        &b,
        dir.path(),
        &["backup", src.to_str().expect("utf-8")],
    )
    .await;
    let forms = proxy.header_values("x-amz-content-sha256");
    assert!(
        forms.iter().any(|f| f == STREAMING_SIGNED),
        "restic sent no signed aws-chunked body: {forms:?}"
    );
    assert!(
        proxy.count("chunk-signature=") > 300,
        "{} chunk signatures",
        proxy.count("chunk-signature=")
    );

    restic(&bin, &proxy, &b, dir.path(), &["check", "--read-data"]).await;
    let target = dir.path().join("restore");
    restic(
        &bin,
        &proxy,
        &b,
        dir.path(),
        &[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf-8"),
        ],
    )
    .await;
    let restored = target.join(src.strip_prefix("/").expect("absolute"));
    let big = std::fs::read(restored.join("big.bin")).expect("restored big.bin");
    assert_eq!(md5_hex(&big), big_md5);
    assert_eq!(
        std::fs::read(restored.join("sub/small.txt")).expect("restored small.txt"),
        b"restic through jetgate\n"
    );
    assert_eq!(
        std::fs::read(restored.join("empty"))
            .expect("restored empty")
            .len(),
        0
    );

    // Every object restic stored, read back through S3.
    let s3 = gw().client();
    let list = s3
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .expect("list the repository");
    let mut named = 0;
    for o in list.contents() {
        let key = o.key().expect("key");
        let got = s3
            .get_object()
            .bucket(&b)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
        let etag = got.e_tag().expect("etag").to_string();
        let body = got.body.collect().await.expect("body").into_bytes();
        assert_eq!(etag, format!("\"{}\"", md5_hex(&body)), "{key}");
        if key != "config" {
            // data/, index/, snapshots/ and keys/ files are named by their SHA-256.
            let name = key.rsplit('/').next().expect("name");
            assert_eq!(
                name,
                sha256_hex(&body),
                "{key}: content does not match its name"
            );
            named += 1;
        }
    }
    assert!(
        named >= 4,
        "{named} content-addressed files in {:?}",
        list.contents()
    );
}

fn sdk_algorithm(c: Checksum) -> ChecksumAlgorithm {
    match c {
        Checksum::Crc32 => ChecksumAlgorithm::Crc32,
        Checksum::Crc32c => ChecksumAlgorithm::Crc32C,
        Checksum::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
        Checksum::Sha1 => ChecksumAlgorithm::Sha1,
        Checksum::Sha256 => ChecksumAlgorithm::Sha256,
    }
}

/// The Rust SDK signs a streaming body's chunks and trailer over plain HTTP; small and
/// multi-MiB bodies (8 KiB chunks: several verification batches), every algorithm and
/// the default (CRC32).
#[tokio::test]
async fn rust_sdk_signed_trailer_each_checksum() {
    let b = gw().bucket("sig-sdk").await;
    let proxy = RecordingProxy::start(&host()).await;
    let s3 = s3_client(&proxy.endpoint(), ACCESS_KEY, SECRET_KEY, |c| {
        c.aws_chunked_encoding_chunk_size(Some(8 * 1024))
    });
    let dir = temp_dir("sdk-trailer-");
    let mut uploads = 0;
    let cases = ALL_CHECKSUMS.into_iter().map(Some).chain([None]);
    for (i, algo) in cases.enumerate() {
        for size in [20 * 1024 + i, 3 * 1024 * 1024 + i] {
            let name = algo.map_or("default", |a| a.name());
            let key = format!("sdk/{name}-{size}.bin");
            let data = random_bytes(size, 70 + i as u64);
            let path = dir.path().join(format!("{name}-{size}"));
            std::fs::write(&path, &data).expect("write data file");
            // A file body is a stream to the SDK: aws-chunked, not one signed hash.
            let body = ByteStream::from_path(&path).await.expect("file body");
            let mut put = s3.put_object().bucket(&b).key(&key).body(body);
            if let Some(a) = algo {
                put = put.checksum_algorithm(sdk_algorithm(a));
            }
            let out = put
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
            uploads += 1;
            assert_eq!(
                out.e_tag(),
                Some(format!("\"{}\"", md5_hex(&data)).as_str())
            );
            let algo = algo.unwrap_or(Checksum::Crc32);
            let echoed = match algo {
                Checksum::Crc32 => out.checksum_crc32(),
                Checksum::Crc32c => out.checksum_crc32_c(),
                Checksum::Crc64Nvme => out.checksum_crc64_nvme(),
                Checksum::Sha1 => out.checksum_sha1(),
                Checksum::Sha256 => out.checksum_sha256(),
            };
            assert_eq!(echoed, Some(algo.value(&data).as_str()), "{key}");
            assert_stored(&b, &key, &data).await;
        }
    }
    let forms = proxy.header_values("x-amz-content-sha256");
    let signed_trailer = forms
        .iter()
        .filter(|f| *f == STREAMING_SIGNED_TRAILER)
        .count();
    assert_eq!(signed_trailer, uploads, "{forms:?}");
    assert_eq!(proxy.count("x-amz-trailer-signature:"), uploads);
    // 3 MiB in 8 KiB chunks: 385 signatures per large body at least.
    assert!(proxy.count("chunk-signature=") > 6 * 385);
}
