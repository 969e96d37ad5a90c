//! Contract 2, bounded memory: a 1 GiB PUT and a 1 GiB GET through separate `jetgate
//! edge` and `jetgate worker` processes keep each one's peak RSS (`VmHWM`) under 256 MiB.

mod common;

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use common::{Gateway, GatewayOptions};
use md5::Digest;

const GIB: u64 = 1024 * 1024 * 1024;
const LIMIT_KIB: u64 = 256 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_put_and_get_stay_under_256_mib_rss() {
    let g = Gateway::start(GatewayOptions {
        split: true,
        ..Default::default()
    })
    .await;
    let c = g.client();
    let b = g.bucket("mem").await;

    let dir = common::temp_dir("memory-");
    let path = dir.path().join("1gib.bin");
    let t = Instant::now();
    let md5 = common::write_random_file(&path, GIB, 1234);
    println!("wrote 1 GiB test file in {:?}", t.elapsed());

    let t = Instant::now();
    let body = ByteStream::from_path(&path).await.expect("file body");
    let out = c
        .put_object()
        .bucket(&b)
        .key("big/1gib.bin")
        .body(body)
        .send()
        .await
        .expect("1 GiB PUT");
    let put_time = t.elapsed();
    assert_eq!(out.e_tag(), Some(format!("\"{md5}\"").as_str()));
    drop(dir);

    let t = Instant::now();
    let mut got = c
        .get_object()
        .bucket(&b)
        .key("big/1gib.bin")
        .send()
        .await
        .expect("1 GiB GET");
    assert_eq!(got.content_length(), Some(GIB as i64));
    let mut h = md5::Md5::new();
    let mut n = 0u64;
    while let Some(chunk) = got.body.try_next().await.expect("body chunk") {
        n += chunk.len() as u64;
        h.update(&chunk);
    }
    let get_time = t.elapsed();
    assert_eq!(n, GIB);
    assert_eq!(hex::encode(h.finalize()), md5, "1 GiB GET bytes differ");

    let mib_s = |d: std::time::Duration| GIB as f64 / (1024.0 * 1024.0) / d.as_secs_f64();
    println!(
        "PUT 1 GiB: {put_time:?} ({:.0} MiB/s); GET 1 GiB: {get_time:?} ({:.0} MiB/s)",
        mib_s(put_time),
        mib_s(get_time)
    );
    let mut over = Vec::new();
    for p in g.procs() {
        let hwm = p.vm_hwm_kib();
        let name = p
            .log_path()
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        println!("{name} (pid {}): VmHWM {} MiB", p.pid(), hwm / 1024);
        if hwm >= LIMIT_KIB {
            over.push(format!("{name}: {} MiB", hwm / 1024));
        }
    }
    assert_eq!(
        g.procs().len(),
        2,
        "expected one edge and one worker process"
    );
    assert!(over.is_empty(), "peak RSS at or above 256 MiB: {over:?}");
}
