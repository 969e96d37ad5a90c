//! s5cmd (aws-sdk-go v1, 256 workers by default, its own wildcard expansion over
//! ListObjectsV2) against a real gateway: many small files with wildcards, a multipart
//! file, `ls`, `du`, `sync` and a wildcard `rm`; every result checked with the Rust SDK.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    md5_hex, random_bytes, require_tool, shared, temp_dir, GatewayOptions, Shared, ACCESS_KEY,
    SECRET_KEY,
};

const MIB: usize = 1024 * 1024;

fn gw() -> &'static Shared {
    shared(GatewayOptions::default())
}

/// Runs `s5cmd <args>` against the gateway; panics with its output on failure.
fn s5cmd(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("--endpoint-url")
        .arg(&gw().endpoint)
        .args(["--retry-count", "1", "--numworkers", "32"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", common::REGION)
        .env_remove("AWS_PROFILE")
        .env_remove("S3_ENDPOINT_URL")
        .output()
        .expect("run s5cmd");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "s5cmd {} failed:\n{stdout}\n{stderr}",
        args.join(" ")
    );
    stdout
}

async fn keys(c: &aws_sdk_s3::Client, b: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pages = c
        .list_objects_v2()
        .bucket(b)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("list");
        out.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    out
}

async fn md5_of(c: &aws_sdk_s3::Client, b: &str, k: &str) -> String {
    let got = c.get_object().bucket(b).key(k).send().await.expect("get");
    md5_hex(&got.body.collect().await.expect("body").into_bytes())
}

#[tokio::test]
async fn s5cmd_wildcards_multipart_ls_du_sync_rm() {
    let test = "s5cmd.rs::s5cmd_wildcards_multipart_ls_du_sync_rm";
    let Some(bin) = require_tool(test, &["s5cmd"]) else {
        return;
    };
    let g = gw();
    let c = g.client();
    let b = g.bucket("s5cmd").await;
    let dir = temp_dir("s5cmd-");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub dir")).expect("mkdir");
    let mut files = Vec::new();
    for i in 0..60 {
        let name = match i % 3 {
            0 => format!("f{i:02}.txt"),
            1 => format!("f{i:02}.log"),
            _ => format!("sub dir/ü {i:02}+x.txt"),
        };
        let data = random_bytes(100 + i * 37, i as u64);
        std::fs::write(src.join(&name), &data).expect("write");
        files.push((name, data));
    }
    // Larger than s5cmd's 5 MiB part size with --part-size 5: a concurrent multipart.
    let big = random_bytes(17 * MIB + 11, 99);
    std::fs::write(dir.path().join("big.bin"), &big).expect("write big");

    let src_glob = format!("{}/*", src.display());
    s5cmd(&bin, &["cp", &src_glob, &format!("s3://{b}/up/")]);
    s5cmd(
        &bin,
        &[
            "cp",
            "--part-size",
            "5",
            "--concurrency",
            "4",
            dir.path().join("big.bin").to_str().expect("path"),
            &format!("s3://{b}/big.bin"),
        ],
    );
    let mut want: Vec<String> = files.iter().map(|(n, _)| format!("up/{n}")).collect();
    want.sort();
    assert_eq!(keys(&c, &b, "up/").await, want);
    for (name, data) in &files {
        assert_eq!(
            md5_of(&c, &b, &format!("up/{name}")).await,
            md5_hex(data),
            "{name}"
        );
    }
    let head = c
        .head_object()
        .bucket(&b)
        .key("big.bin")
        .send()
        .await
        .expect("head");
    assert!(
        head.e_tag().is_some_and(|e| e.ends_with("-4\"")),
        "multipart ETag: {:?}",
        head.e_tag()
    );
    assert_eq!(md5_of(&c, &b, "big.bin").await, md5_hex(&big));

    // ls with a wildcard, and du over everything.
    let listed = s5cmd(&bin, &["ls", &format!("s3://{b}/up/*.log")]);
    let logs = listed.lines().filter(|l| l.ends_with(".log")).count();
    assert_eq!(logs, 20, "{listed}");
    let du = s5cmd(&bin, &["du", &format!("s3://{b}/*")]);
    let total: usize = files.iter().map(|(_, d)| d.len()).sum::<usize>() + big.len();
    assert!(
        du.contains(&format!("{total} bytes in 61 objects")),
        "du: {du} (want {total} bytes in 61 objects)"
    );

    // sync: only the changed and the new file go up, nothing is deleted without --delete.
    std::fs::write(src.join("f00.txt"), b"changed").expect("rewrite");
    std::fs::write(src.join("new.txt"), b"new").expect("new");
    s5cmd(&bin, &["sync", &src_glob, &format!("s3://{b}/up/")]);
    assert_eq!(md5_of(&c, &b, "up/f00.txt").await, md5_hex(b"changed"));
    assert_eq!(md5_of(&c, &b, "up/new.txt").await, md5_hex(b"new"));
    assert_eq!(keys(&c, &b, "up/").await.len(), 61);

    // Wildcard rm: s5cmd's `*` spans `/`, so every .txt goes (the sub dir's too) and
    // exactly the .log files stay.
    s5cmd(&bin, &["rm", &format!("s3://{b}/up/*.txt")]);
    let left = keys(&c, &b, "up/").await;
    let mut logs: Vec<String> = files
        .iter()
        .filter(|(n, _)| n.ends_with(".log"))
        .map(|(n, _)| format!("up/{n}"))
        .collect();
    logs.sort();
    assert_eq!(left, logs);
}
