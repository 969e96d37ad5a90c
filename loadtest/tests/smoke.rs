//! CI smoke of the load generator: starts `jetgate dev` through `bench`, runs ~1 s of
//! 4 KiB PUT then GET against raw NATS and jetgate, and asserts that operations ran and
//! that none failed. Every GET is verified byte for byte by the tool, which exits
//! non-zero on any error (a wrong byte is error kind `corrupt`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn target_profile_dir() -> PathBuf {
    let me = PathBuf::from(env!("CARGO_BIN_EXE_jetgate-loadtest"));
    me.parent().expect("binary has a folder").to_path_buf()
}

/// `target/<profile>/jetgate`, built by `cargo test --workspace`; if it is missing
/// (e.g. `cargo test -p jetgate-loadtest`), build it in a separate target dir so the
/// outer cargo's lock is not in the way.
fn jetgate_bin() -> PathBuf {
    let dir = target_profile_dir();
    let bin = dir.join("jetgate");
    if bin.exists() {
        return bin;
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let side = dir.parent().expect("target dir").join("loadtest-smoke");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "-p",
        "jetgate",
        "--bin",
        "jetgate",
        "--manifest-path",
    ])
    .arg(&manifest)
    .env("CARGO_TARGET_DIR", &side);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build for jetgate");
    assert!(status.success(), "building jetgate failed");
    side.join(if release { "release" } else { "debug" })
        .join("jetgate")
}

#[test]
fn bench_put_then_get_verifies_bytes_without_errors() {
    if Command::new("nats-server")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("nats-server is not on PATH (scripts/setup.sh installs it)");
    }
    let bin = jetgate_bin();
    let out = target_profile_dir()
        .join("tmp")
        .join(format!("loadtest-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let output = Command::new(env!("CARGO_BIN_EXE_jetgate-loadtest"))
        .args(["bench", "--quiet", "--duration", "1s", "--warmup", "0s"])
        .args(["--scenarios", "put-4KiB-c16,get-4KiB-c16"])
        .arg("--jetgate-bin")
        .arg(&bin)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run jetgate-loadtest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("| put-4KiB-c16 |"), "{stdout}");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bench.json")).unwrap()).unwrap();
    let pairs = json["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 2, "{json}");
    for pair in pairs {
        for target in ["raw", "gateway"] {
            let r = &pair[target];
            let name = format!("{} {target}", pair["scenario"]);
            assert!(
                r["ops"].as_u64().unwrap() > 0,
                "{name}: no operations\n{stderr}"
            );
            assert_eq!(
                r["errors"].as_object().unwrap().len(),
                0,
                "{name}: errors {}",
                r["errors"]
            );
            assert!(r["ops_per_s"].as_f64().unwrap() > 0.0, "{name}");
        }
    }
    let get = &pairs[1]["gateway"];
    assert_eq!(get["op"], "get");
    assert!(get["bytes"].as_u64().unwrap() >= 4096 * get["ops"].as_u64().unwrap());
    let svg = std::fs::read_to_string(out.join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    let _ = std::fs::remove_dir_all(&out);
}

/// Ends `jetgate dev` when the test ends, however it ends: SIGTERM first, so it stops
/// its nats-server (SIGKILL left that orphaned, one per run), SIGKILL if it lingers.
struct Dev(std::process::Child);

impl Drop for Dev {
    // A plain test thread, no async runtime to block.
    #[allow(clippy::disallowed_methods)]
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn multipart_uploads_then_verified_gets() {
    use std::io::{BufRead, BufReader};
    let data = target_profile_dir()
        .join("tmp")
        .join(format!("loadtest-mpu-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(jetgate_bin())
        .args(["dev", "--listen", "127.0.0.1:0"])
        .args(["--access-key", "smokekey", "--secret-key", "smokesecret"])
        .arg("--data-dir")
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start jetgate dev");
    let stdout = child.stdout.take().unwrap();
    let dev = Dev(child);
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let endpoint = lines
        .find_map(|l| {
            l.trim()
                .strip_prefix("endpoint:")
                .map(|e| e.trim().to_string())
        })
        .expect("jetgate dev printed its endpoint");
    // Keep reading: with its stdout closed, jetgate dev's next line would fail.
    std::thread::spawn(move || lines.for_each(drop));
    let json = data.join("mpu.json");
    // 2 objects of 11 MiB in 5 MiB parts (3 parts, the last short) preloaded by
    // multipart, then multipart uploads and GETs that verify every byte.
    let output = Command::new(env!("CARGO_BIN_EXE_jetgate-loadtest"))
        .args(["s3", "--endpoint", &endpoint, "--quiet"])
        .args(["--access-key", "smokekey", "--secret-key", "smokesecret"])
        .args([
            "--bucket",
            "smoke-mpu",
            "--op",
            "mix",
            "--mix",
            "multipart:1,get:2",
        ])
        .args([
            "--size",
            "11MiB",
            "--part-size",
            "5MiB",
            "--part-concurrency",
            "3",
        ])
        .args([
            "--objects",
            "2",
            "--concurrency",
            "2",
            "--ops",
            "6",
            "--warmup",
            "0s",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run jetgate-loadtest s3");
    drop(dev);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    let _ = std::fs::remove_dir_all(&data);
    assert!(output.status.success(), "errors: {}", report["errors"]);
    assert_eq!(report["ops"].as_u64(), Some(6), "{report}");
    assert_eq!(report["errors"].as_object().unwrap().len(), 0, "{report}");
    assert_eq!(
        report["bytes"].as_u64(),
        Some(6 * 11 * 1024 * 1024),
        "{report}"
    );
}
