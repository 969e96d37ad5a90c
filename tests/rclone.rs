//! rclone (`copy`, `check`, `sync`, `lsf`, `delete`, `purge`) against a real gateway,
//! configured only through environment variables (remote `jg:`), with a tree of awkward
//! names and a multipart upload.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{md5_hex, random_bytes, shared, GatewayOptions, Shared, ACCESS_KEY, SECRET_KEY};

const MIB: usize = 1024 * 1024;

fn gw() -> &'static Shared {
    shared(GatewayOptions::default())
}

/// Runs `rclone <args>` against remote `jg:`; returns (success, stdout, stderr).
fn rclone(conf: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("rclone")
        .args(args)
        // An empty config file of our own: nothing from the user's rclone config leaks in.
        .env("RCLONE_CONFIG", conf)
        .env("RCLONE_CONFIG_JG_TYPE", "s3")
        .env("RCLONE_CONFIG_JG_PROVIDER", "Other")
        .env("RCLONE_CONFIG_JG_ENDPOINT", &gw().endpoint)
        .env("RCLONE_CONFIG_JG_ACCESS_KEY_ID", ACCESS_KEY)
        .env("RCLONE_CONFIG_JG_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("RCLONE_CONFIG_JG_REGION", common::REGION)
        .env("RCLONE_CONFIG_JG_FORCE_PATH_STYLE", "true")
        // Multipart for anything over 5 MiB, in 5 MiB parts.
        .env("RCLONE_S3_UPLOAD_CUTOFF", "5M")
        .env("RCLONE_S3_CHUNK_SIZE", "5M")
        .env("RCLONE_RETRIES", "1")
        .env("RCLONE_LOW_LEVEL_RETRIES", "1")
        .env_remove("RCLONE_CONFIG_PASS")
        .output()
        .expect("run rclone (is it installed? run scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), stdout, stderr)
}

fn rclone_ok(conf: &Path, args: &[&str]) -> String {
    let (ok, out, err) = rclone(conf, args);
    assert!(ok, "rclone {} failed:\n{out}\n{err}", args.join(" "));
    out
}

/// `rclone check` (sizes and MD5 hashes) must find no difference and check every hash.
fn check_same(conf: &Path, local: &Path, remote: &str, files: usize) {
    let (ok, out, err) = rclone(
        conf,
        &["check", local.to_str().expect("path"), remote, "--one-way"],
    );
    assert!(ok, "rclone check found differences:\n{out}\n{err}");
    assert!(err.contains("0 differences found"), "{err}");
    assert!(
        err.contains(&format!("{files} matching files")),
        "expected {files} matching files:\n{err}"
    );
    // Every MD5 was compared, the multipart object's included (rclone keeps its MD5 in
    // x-amz-meta-md5chksum, which must survive CreateMultipartUpload).
    assert!(!err.contains("hashes could not be checked"), "{err}");
}

/// Every file under `root` as relative path → bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                out.insert(
                    rel.to_str().expect("utf-8 path").to_string(),
                    std::fs::read(&p).expect("read file"),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn write(root: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, data).expect("write");
    p
}

#[test]
fn rclone_copy_check_sync_purge() {
    let g = gw();
    let work = common::temp_dir("rclone-");
    let conf = work.path().join("rclone.conf");
    std::fs::write(&conf, "").expect("empty rclone config");
    let src = work.path().join("src");
    let big = random_bytes(20 * MIB + 4321, 7);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("top.txt", b"top level\n".to_vec()),
        ("empty.bin", Vec::new()),
        ("dir one/with space.txt", b"spaces in names".to_vec()),
        ("dir one/ünïcødé ✓.txt", "unicode ✓".as_bytes().to_vec()),
        ("a+b/c%20d+e.txt", b"plus and percent".to_vec()),
        ("deep/x/y/z/leaf.bin", random_bytes(300_000, 8)),
        ("big/twenty.bin", big.clone()),
    ];
    for (rel, data) in &files {
        write(&src, rel, data);
    }
    let b = common::unique_bucket("rcl");
    let remote = format!("jg:{b}/tree");
    rclone_ok(&conf, &["mkdir", &format!("jg:{b}")]);
    rclone_ok(&conf, &["copy", src.to_str().expect("path"), &remote]);
    check_same(&conf, &src, &remote, files.len());

    // The 20 MiB file went up in 5 MiB parts: its ETag is a multipart ETag.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let head = rt
        .block_on(
            g.client()
                .head_object()
                .bucket(&b)
                .key("tree/big/twenty.bin")
                .send(),
        )
        .expect("head the multipart object");
    let pieces: Vec<&[u8]> = big.chunks(5 * MIB).collect();
    assert_eq!(pieces.len(), 5);
    assert_eq!(
        head.e_tag(),
        Some(common::multipart_etag(&pieces).as_str()),
        "expected the 5-part ETag of the file"
    );
    assert_eq!(head.content_length(), Some(big.len() as i64));

    let lsf = rclone_ok(&conf, &["lsf", "-R", &remote]);
    let mut listed: Vec<&str> = lsf.lines().collect();
    listed.sort_unstable();
    let mut want: Vec<String> = files.iter().map(|(r, _)| r.to_string()).collect();
    want.extend(
        [
            "a+b/",
            "big/",
            "deep/",
            "deep/x/",
            "deep/x/y/",
            "deep/x/y/z/",
            "dir one/",
        ]
        .map(String::from),
    );
    want.sort_unstable();
    assert_eq!(listed, want, "rclone lsf -R");

    // Change the tree: modify two files (one to a new size), delete one, add one.
    write(&src, "top.txt", b"top level, changed\n");
    write(&src, "dir one/with space.txt", b"SPACES IN NAMES");
    std::fs::remove_file(src.join("deep/x/y/z/leaf.bin")).expect("rm");
    write(&src, "new/added file.txt", b"added later");
    let (ok, out, err) = rclone(&conf, &["check", src.to_str().expect("path"), &remote]);
    assert!(!ok, "check must see the changes:\n{out}\n{err}");
    assert!(err.contains("4 differences found"), "{err}");
    rclone_ok(&conf, &["sync", src.to_str().expect("path"), &remote]);
    check_same(&conf, &src, &remote, files.len());
    // Two-way too: nothing extra is left on the remote.
    let (ok, _, err) = rclone(&conf, &["check", src.to_str().expect("path"), &remote]);
    assert!(ok && err.contains("0 differences found"), "{err}");

    // Down again, byte for byte.
    let down = work.path().join("down");
    rclone_ok(&conf, &["copy", &remote, down.to_str().expect("path")]);
    let (got, want) = (tree(&down), tree(&src));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert_eq!(md5_hex(&got[k]), md5_hex(v), "{k} differs after copy down");
    }

    // delete removes the files (and leaves the bucket), purge the bucket itself.
    rclone_ok(&conf, &["delete", &format!("{remote}/dir one")]);
    let lsf = rclone_ok(&conf, &["lsf", "-R", &remote]);
    assert!(!lsf.contains("dir one"), "{lsf}");
    assert!(lsf.contains("big/twenty.bin"), "{lsf}");
    rclone_ok(&conf, &["purge", &format!("jg:{b}")]);
    let buckets = rclone_ok(&conf, &["lsd", "jg:"]);
    assert!(!buckets.contains(&b), "bucket survived purge:\n{buckets}");
    let e = rt
        .block_on(g.client().head_bucket().bucket(&b).send())
        .expect_err("bucket gone");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
}
