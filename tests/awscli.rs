//! The aws CLI (`aws s3 …` and `aws s3api …`) against a real gateway.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    md5_hex, random_bytes, shared, GatewayOptions, Shared, ACCESS_KEY, REGION, SECRET_KEY,
};
use serde_json::Value;

fn gw() -> &'static Shared {
    shared(GatewayOptions::default())
}

/// Runs `aws --endpoint-url <gw> <args>`; returns (success, stdout, stderr).
fn aws(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("aws")
        .arg("--endpoint-url")
        .arg(&gw().endpoint)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_PAGER", "")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run aws (is the aws CLI installed? run scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), stdout, stderr)
}

/// `aws …` that must succeed; returns stdout.
fn aws_ok(args: &[&str]) -> String {
    let (ok, out, err) = aws(args);
    assert!(ok, "aws {} failed:\n{out}\n{err}", args.join(" "));
    out
}

fn aws_json(args: &[&str]) -> Value {
    let out = aws_ok(args);
    if out.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("aws {}: not JSON ({e}): {out}", args.join(" ")))
}

fn file_md5(p: &Path) -> String {
    md5_hex(&std::fs::read(p).expect("read file"))
}

#[test]
fn s3_mb_cp_ls_rm() {
    let b = common::unique_bucket("cli");
    let s3b = format!("s3://{b}");
    aws_ok(&["s3", "mb", &s3b]);
    let ls = aws_ok(&["s3", "ls"]);
    assert!(
        ls.lines().any(|l| l.ends_with(&format!(" {b}"))),
        "bucket not in `aws s3 ls`:\n{ls}"
    );

    let dir = common::temp_dir("awscli-");
    // Multi-MB, below the CLI's 8 MB multipart threshold (multipart is a later issue).
    let size = 7 * 1024 * 1024 + 321;
    let src = dir.path().join("upload.bin");
    let md5 = common::write_random_file(&src, size, 42);
    aws_ok(&[
        "s3",
        "cp",
        src.to_str().expect("path"),
        &format!("{s3b}/dir/upload.bin"),
    ]);
    let down = dir.path().join("download.bin");
    aws_ok(&[
        "s3",
        "cp",
        &format!("{s3b}/dir/upload.bin"),
        down.to_str().expect("path"),
    ]);
    assert_eq!(std::fs::metadata(&down).expect("downloaded").len(), size);
    assert_eq!(file_md5(&down), md5, "downloaded bytes differ");

    let small = dir.path().join("small file.txt");
    std::fs::write(&small, b"hello from the aws cli").expect("write");
    aws_ok(&[
        "s3",
        "cp",
        small.to_str().expect("path"),
        &format!("{s3b}/dir/sub/with space+plus.txt"),
    ]);

    let ls = aws_ok(&["s3", "ls", &format!("{s3b}/dir/")]);
    assert!(ls.contains("PRE sub/"), "{ls}");
    assert!(
        ls.lines()
            .any(|l| l.ends_with(" upload.bin") && l.contains(&size.to_string())),
        "{ls}"
    );
    let ls = aws_ok(&["s3", "ls", "--recursive", &s3b]);
    assert_eq!(
        ls.lines().filter(|l| !l.trim().is_empty()).count(),
        2,
        "{ls}"
    );
    assert!(ls.contains("dir/sub/with space+plus.txt"), "{ls}");

    let (ok, _, err) = aws(&["s3", "rb", &s3b]);
    assert!(!ok, "rb of a non-empty bucket succeeded");
    assert!(err.contains("BucketNotEmpty"), "{err}");

    aws_ok(&["s3", "rm", &format!("{s3b}/dir/upload.bin")]);
    let ls = aws_ok(&["s3", "ls", "--recursive", &s3b]);
    assert!(!ls.contains("upload.bin"), "{ls}");
    aws_ok(&["s3", "rm", "--recursive", &s3b]);
    assert_eq!(aws_ok(&["s3", "ls", "--recursive", &s3b]).trim(), "");
    aws_ok(&["s3", "rb", &s3b]);
    let ls = aws_ok(&["s3", "ls"]);
    assert!(!ls.contains(&b), "{ls}");
}

#[test]
fn s3api_object_operations() {
    let b = common::unique_bucket("cliapi");
    aws_ok(&["s3api", "create-bucket", "--bucket", &b]);
    aws_ok(&["s3api", "head-bucket", "--bucket", &b]);
    let dir = common::temp_dir("awscli-api-");
    let data = random_bytes(300_000, 9);
    let src = dir.path().join("body.bin");
    std::fs::write(&src, &data).expect("write");
    let key = "api/ü ber+x=y.bin";

    let put = aws_json(&[
        "s3api",
        "put-object",
        "--bucket",
        &b,
        "--key",
        key,
        "--body",
        src.to_str().expect("path"),
        "--content-type",
        "application/x-test",
        "--cache-control",
        "max-age=5",
        "--metadata",
        "owner=cli,purpose=test",
    ]);
    let etag = format!("\"{}\"", md5_hex(&data));
    assert_eq!(put["ETag"], etag.as_str(), "{put}");

    let head = aws_json(&["s3api", "head-object", "--bucket", &b, "--key", key]);
    assert_eq!(head["ContentLength"], data.len() as u64);
    assert_eq!(head["ETag"], etag.as_str());
    assert_eq!(head["ContentType"], "application/x-test");
    assert_eq!(head["CacheControl"], "max-age=5");
    assert_eq!(head["Metadata"]["owner"], "cli");
    assert_eq!(head["Metadata"]["purpose"], "test");

    let out_path = dir.path().join("got.bin");
    let get = aws_json(&[
        "s3api",
        "get-object",
        "--bucket",
        &b,
        "--key",
        key,
        out_path.to_str().expect("path"),
    ]);
    assert_eq!(get["ETag"], etag.as_str());
    assert_eq!(std::fs::read(&out_path).expect("read"), data);

    let ranged = dir.path().join("range.bin");
    let get = aws_json(&[
        "s3api",
        "get-object",
        "--bucket",
        &b,
        "--key",
        key,
        "--range",
        "bytes=10-19",
        ranged.to_str().expect("path"),
    ]);
    assert_eq!(
        get["ContentRange"],
        format!("bytes 10-19/{}", data.len()).as_str()
    );
    assert_eq!(std::fs::read(&ranged).expect("read"), &data[10..20]);

    let copy = aws_json(&[
        "s3api",
        "copy-object",
        "--bucket",
        &b,
        "--key",
        "api/copy",
        "--copy-source",
        // botocore URL-encodes a string CopySource itself.
        &format!("{b}/{key}"),
    ]);
    assert_eq!(copy["CopyObjectResult"]["ETag"], etag.as_str(), "{copy}");
    let head = aws_json(&["s3api", "head-object", "--bucket", &b, "--key", "api/copy"]);
    assert_eq!(head["Metadata"]["owner"], "cli", "COPY keeps metadata");

    for k in ["api/deep/x/y/z", "api/plain", "other"] {
        aws_ok(&["s3api", "put-object", "--bucket", &b, "--key", k]);
    }
    let list = aws_json(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        &b,
        "--prefix",
        "api/",
        "--delimiter",
        "/",
        "--no-paginate",
    ]);
    let keys: Vec<&str> = list["Contents"]
        .as_array()
        .expect("Contents")
        .iter()
        .filter_map(|o| o["Key"].as_str())
        .collect();
    assert_eq!(
        keys,
        vec!["api/copy", "api/plain", "api/ü ber+x=y.bin"],
        "{list}"
    );
    assert_eq!(list["CommonPrefixes"][0]["Prefix"], "api/deep/");
    assert_eq!(list["KeyCount"], 4);

    // The CLI paginates by itself with --page-size and still returns every key.
    let list = aws_json(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        &b,
        "--page-size",
        "2",
    ]);
    let keys: Vec<&str> = list["Contents"]
        .as_array()
        .expect("Contents")
        .iter()
        .filter_map(|o| o["Key"].as_str())
        .collect();
    assert_eq!(
        keys,
        vec![
            "api/copy",
            "api/deep/x/y/z",
            "api/plain",
            "api/ü ber+x=y.bin",
            "other"
        ]
    );

    let del = serde_json::json!({
        "Objects": [{"Key": key}, {"Key": "api/copy"}, {"Key": "never"}],
        "Quiet": false
    });
    let out = aws_json(&[
        "s3api",
        "delete-objects",
        "--bucket",
        &b,
        "--delete",
        &del.to_string(),
    ]);
    let mut deleted: Vec<&str> = out["Deleted"]
        .as_array()
        .expect("Deleted")
        .iter()
        .filter_map(|d| d["Key"].as_str())
        .collect();
    deleted.sort();
    assert_eq!(deleted, vec!["api/copy", "api/ü ber+x=y.bin", "never"]);
    let (ok, _, err) = aws(&["s3api", "head-object", "--bucket", &b, "--key", key]);
    assert!(!ok && err.contains("404"), "{err}");

    let (ok, out, err) = aws(&["s3api", "get-bucket-acl", "--bucket", &b]);
    assert!(ok && out.contains("FULL_CONTROL"), "{out}{err}");
    let (ok, _, err) = aws(&[
        "s3api",
        "put-bucket-acl",
        "--bucket",
        &b,
        "--acl",
        "public-read",
    ]);
    assert!(!ok && err.contains("NotImplemented"), "{err}");
    let (ok, _, err) = aws(&[
        "s3api",
        "get-object",
        "--bucket",
        &b,
        "--key",
        "missing",
        "/dev/null",
    ]);
    assert!(!ok && err.contains("NoSuchKey"), "{err}");
    let (ok, _, err) = aws(&["s3api", "create-bucket", "--bucket", "Invalid_Name"]);
    assert!(!ok && err.contains("InvalidBucketName"), "{err}");
}

/// SHA-256 hex of a file, read in 8 MiB pieces.
/// The multipart ETag of a file uploaded in `part`-byte parts: MD5 of the part MD5s.
fn file_multipart_etag(p: &Path, part: u64) -> String {
    use md5::{Digest, Md5};
    use std::io::Read;
    let mut f = std::fs::File::open(p).expect("open file");
    let (mut all, mut n) = (Md5::new(), 0);
    let mut buf = Vec::with_capacity(part as usize);
    loop {
        buf.clear();
        (&mut f)
            .take(part)
            .read_to_end(&mut buf)
            .expect("read file");
        if buf.is_empty() {
            break;
        }
        all.update(Md5::digest(&buf));
        n += 1;
    }
    format!("\"{}-{n}\"", hex::encode(all.finalize()))
}

fn file_sha256(p: &Path) -> String {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(p).expect("open file");
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 8 << 20];
    loop {
        let n = f.read(&mut buf).expect("read file");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex::encode(h.finalize())
}

/// Every file under `root` as relative path → MD5.
fn tree_md5(root: &Path) -> std::collections::BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                out.insert(rel.to_str().expect("utf-8").to_string(), file_md5(&p));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// `aws s3 sync` output lines starting with `what:` (`upload`, `delete`, `download`).
fn actions<'a>(out: &'a str, what: &str) -> Vec<&'a str> {
    let prefix = format!("{what}: ");
    out.lines().filter(|l| l.starts_with(&prefix)).collect()
}

#[test]
fn s3_sync_tree_up_delete_and_down() {
    let b = common::unique_bucket("clisync");
    let s3b = format!("s3://{b}");
    aws_ok(&["s3", "mb", &s3b]);
    let dir = common::temp_dir("awscli-sync-");
    let src = dir.path().join("src");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("a.txt", b"alpha".to_vec()),
        ("name with space.txt", b"spaces".to_vec()),
        ("sub/b.txt", b"bravo".to_vec()),
        ("sub/deeper/c.bin", random_bytes(300_000, 3)),
        ("ü/ö+x.txt", "unicode".as_bytes().to_vec()),
        ("empty", Vec::new()),
    ];
    for (rel, data) in &files {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, data).expect("write");
    }
    // Above the CLI's 8 MiB threshold: uploaded (and later downloaded) in parts.
    common::write_random_file(&src.join("sub/big.bin"), 17 * 1024 * 1024 + 5, 4);
    let n = files.len() + 1;
    let dest = format!("{s3b}/tree/");
    let srcs = src.to_str().expect("path");

    let out = aws_ok(&["s3", "sync", "--no-progress", srcs, &dest]);
    assert_eq!(actions(&out, "upload").len(), n, "first sync:\n{out}");
    let ls = aws_ok(&["s3", "ls", "--recursive", &s3b]);
    assert_eq!(
        ls.lines().filter(|l| !l.trim().is_empty()).count(),
        n,
        "{ls}"
    );
    // Nothing changed: the second sync (sizes and LastModified from the listing) is a no-op.
    let out = aws_ok(&["s3", "sync", "--no-progress", srcs, &dest]);
    assert!(
        actions(&out, "upload").is_empty(),
        "second sync uploaded:\n{out}"
    );

    // One file modified (new size), one deleted.
    std::fs::write(src.join("sub/b.txt"), b"bravo, longer now").expect("modify");
    std::fs::remove_file(src.join("a.txt")).expect("delete");
    let out = aws_ok(&["s3", "sync", "--no-progress", "--delete", srcs, &dest]);
    let up = actions(&out, "upload");
    let del = actions(&out, "delete");
    assert_eq!(up.len(), 1, "{out}");
    assert!(up[0].ends_with("tree/sub/b.txt"), "{out}");
    assert_eq!(del.len(), 1, "{out}");
    assert!(del[0].contains("tree/a.txt"), "{out}");

    // Down into an empty directory: the same tree, byte for byte.
    let down = dir.path().join("down");
    let out = aws_ok(&[
        "s3",
        "sync",
        "--no-progress",
        &dest,
        down.to_str().expect("path"),
    ]);
    assert_eq!(actions(&out, "download").len(), n - 1, "{out}");
    assert_eq!(tree_md5(&down), tree_md5(&src), "tree after sync down");
    let out = aws_ok(&[
        "s3",
        "sync",
        "--no-progress",
        &dest,
        down.to_str().expect("path"),
    ]);
    assert!(actions(&out, "download").is_empty(), "{out}");

    aws_ok(&["s3", "rb", "--force", &s3b]);
}

#[test]
fn s3_cp_1_gib_up_and_down() {
    const SIZE: u64 = 1 << 30;
    let b = common::unique_bucket("cligib");
    let s3b = format!("s3://{b}");
    aws_ok(&["s3", "mb", &s3b]);
    let dir = common::temp_dir("awscli-gib-");
    let src = dir.path().join("gib.bin");
    common::write_random_file(&src, SIZE, 1234);
    let want = file_sha256(&src);
    let url = format!("{s3b}/big/gib.bin");

    let t = std::time::Instant::now();
    aws_ok(&[
        "s3",
        "cp",
        "--no-progress",
        src.to_str().expect("path"),
        &url,
    ]);
    let up = t.elapsed();
    let head = aws_json(&[
        "s3api",
        "head-object",
        "--bucket",
        &b,
        "--key",
        "big/gib.bin",
    ]);
    assert_eq!(head["ContentLength"], SIZE, "{head}");
    // 8 MiB parts (the CLI's default chunk size): the 128-part ETag of the file.
    let etag = file_multipart_etag(&src, 8 << 20);
    assert!(etag.ends_with("-128\""), "{etag}");
    assert_eq!(head["ETag"].as_str(), Some(etag.as_str()), "{head}");
    std::fs::remove_file(&src).expect("remove source");

    let back = dir.path().join("back.bin");
    let t = std::time::Instant::now();
    aws_ok(&[
        "s3",
        "cp",
        "--no-progress",
        &url,
        back.to_str().expect("path"),
    ]);
    let down = t.elapsed();
    assert_eq!(std::fs::metadata(&back).expect("downloaded").len(), SIZE);
    assert_eq!(file_sha256(&back), want, "SHA-256 after the round trip");
    println!("aws s3 cp 1 GiB: up {up:.1?}, down {down:.1?}");
    aws_ok(&["s3", "rb", "--force", &s3b]);
}
