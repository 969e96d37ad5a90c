//! s3cmd (SigV4, its default; its SigV2 mode is in tests/signatures/sigv2.rs) as a user
//! runs it against a real gateway: `mb`, `sync` of a tree with odd names up, again (a
//! no-op), down and with `--delete-removed`, `info` of a bucket and an object (the
//! sub-resources it asks for answer as AWS does for a bucket with nothing configured),
//! `setacl` (private accepted; public and grants refused with 501 NotImplemented and
//! nothing changed), `cp`, `mv`, `ls -r`, `du`, `del --recursive`, `rb`. Every result is
//! checked with the Rust SDK, not only s3cmd's exit status.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    md5_hex, random_bytes, require_tool, shared, temp_dir, GatewayOptions, Shared, ACCESS_KEY,
    SECRET_KEY,
};

fn gw() -> &'static Shared {
    shared(GatewayOptions::default())
}

struct S3cmd {
    bin: PathBuf,
    cfg: PathBuf,
}

impl S3cmd {
    fn new(bin: PathBuf, dir: &Path) -> S3cmd {
        let addr = gw().endpoint.trim_start_matches("http://").to_string();
        let cfg = dir.join("s3cfg");
        std::fs::write(
            &cfg,
            format!(
                "[default]\naccess_key = {ACCESS_KEY}\nsecret_key = {SECRET_KEY}\n\
                 host_base = {addr}\nhost_bucket = {addr}\nuse_https = False\n\
                 bucket_location = {}\n",
                common::REGION
            ),
        )
        .expect("write s3cmd config");
        S3cmd { bin, cfg }
    }

    /// Runs s3cmd; (success, stdout, stderr).
    fn try_run(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.cfg)
            .args(args)
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .output()
            .expect("run s3cmd");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    fn run(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.try_run(args);
        assert!(ok, "s3cmd {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }
}

async fn keys(c: &aws_sdk_s3::Client, b: &str) -> Vec<(String, i64)> {
    let out = c.list_objects_v2().bucket(b).send().await.expect("list");
    out.contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap_or_default().to_string(),
                o.size().unwrap_or(-1),
            )
        })
        .collect()
}

async fn body(c: &aws_sdk_s3::Client, b: &str, k: &str) -> Vec<u8> {
    c.get_object()
        .bucket(b)
        .key(k)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {k}: {e:?}"))
        .body
        .collect()
        .await
        .expect("body")
        .to_vec()
}

#[tokio::test]
async fn s3cmd_user_session() {
    let Some(bin) = require_tool("s3cmd.rs::s3cmd_user_session", &["s3cmd"]) else {
        return;
    };
    let dir = temp_dir("s3cmd-");
    let s3cmd = S3cmd::new(bin, dir.path());
    let c = gw().client();
    let b = common::unique_bucket("s3cmd");
    let url = |k: &str| format!("s3://{b}/{k}");
    s3cmd.run(&["mb", &url("")]);

    // A tree with names that need encoding, synced up, then again: nothing to do.
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("sub dir")).expect("mkdir");
    let odd = random_bytes(300_000, 7);
    std::fs::write(src.join("a.txt"), b"a\n").expect("write");
    std::fs::write(src.join("sub dir/b+c.txt"), b"bb\n").expect("write");
    std::fs::write(src.join("odd name &=%.bin"), &odd).expect("write");
    let src_arg = format!("{}/", src.display());
    s3cmd.run(&["sync", &src_arg, &url("tree/")]);
    assert_eq!(
        keys(&c, &b).await,
        [
            ("tree/a.txt".to_string(), 2),
            ("tree/odd name &=%.bin".to_string(), 300_000),
            ("tree/sub dir/b+c.txt".to_string(), 3),
        ]
    );
    assert_eq!(
        md5_hex(&body(&c, &b, "tree/odd name &=%.bin").await),
        md5_hex(&odd)
    );
    let again = s3cmd.run(&["sync", &src_arg, &url("tree/")]);
    assert!(
        !again.contains("upload:"),
        "a second sync uploaded again:\n{again}"
    );

    // Down again, byte for byte.
    let back = dir.path().join("back");
    s3cmd.run(&["sync", &url("tree/"), &format!("{}/", back.display())]);
    for name in ["a.txt", "sub dir/b+c.txt", "odd name &=%.bin"] {
        assert_eq!(
            std::fs::read(back.join(name)).expect("synced down"),
            std::fs::read(src.join(name)).expect("source"),
            "{name}"
        );
    }

    // `info`: the bucket's unconfigured sub-resources, the object's MD5 and size.
    let info = s3cmd.run(&["info", &url("")]);
    for line in [
        "Location:",
        "Payer:     BucketOwner",
        "Policy:    none",
        "CORS:      none",
        "FULL_CONTROL",
    ] {
        assert!(info.contains(line), "bucket info lacks {line:?}:\n{info}");
    }
    let info = s3cmd.run(&["info", &url("tree/odd name &=%.bin")]);
    assert!(info.contains("File size: 300000"), "{info}");
    assert!(
        info.contains(&format!("MD5 sum:   {}", md5_hex(&odd))),
        "{info}"
    );

    // `setacl`: private is what jetgate has; anything public or granted is refused.
    s3cmd.run(&["setacl", "--acl-private", &url("tree/a.txt")]);
    for args in [
        vec!["setacl", "--acl-public", "tree/a.txt"],
        vec!["setacl", "--acl-grant=read:someone", "tree/a.txt"],
        vec!["setacl", "--acl-public", ""],
    ] {
        let target = url(args[2]);
        let (ok, stdout, stderr) = s3cmd.try_run(&[args[0], args[1], &target]);
        assert!(!ok, "s3cmd {args:?} succeeded:\n{stdout}");
        assert!(
            stderr.contains("501 (NotImplemented)"),
            "s3cmd {args:?}:\n{stderr}"
        );
    }
    let acl = c
        .get_object_acl()
        .bucket(&b)
        .key("tree/a.txt")
        .send()
        .await
        .expect("get object acl");
    let grants: Vec<_> = acl
        .grants()
        .iter()
        .map(|g| g.permission().map(|p| p.as_str().to_string()))
        .collect();
    assert_eq!(
        grants,
        [Some("FULL_CONTROL".to_string())],
        "the ACL changed"
    );
    assert_eq!(body(&c, &b, "tree/a.txt").await, b"a\n");

    // A file removed locally goes with --delete-removed; the others stay.
    std::fs::remove_file(src.join("a.txt")).expect("rm");
    s3cmd.run(&["sync", "--delete-removed", &src_arg, &url("tree/")]);
    let left: Vec<String> = keys(&c, &b).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(left, ["tree/odd name &=%.bin", "tree/sub dir/b+c.txt"]);

    // cp and mv between keys; ls -r and du agree with the SDK.
    s3cmd.run(&["cp", &url("tree/sub dir/b+c.txt"), &url("copy.txt")]);
    s3cmd.run(&["mv", &url("copy.txt"), &url("moved.txt")]);
    let left: Vec<String> = keys(&c, &b).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        left,
        ["moved.txt", "tree/odd name &=%.bin", "tree/sub dir/b+c.txt"]
    );
    assert_eq!(body(&c, &b, "moved.txt").await, b"bb\n");
    let ls = s3cmd.run(&["ls", "-r", &url("")]);
    assert_eq!(ls.lines().count(), 3, "{ls}");
    assert!(ls.contains(&url("tree/odd name &=%.bin")), "{ls}");
    let du = s3cmd.run(&["du", &url("")]);
    assert!(du.contains("300006") && du.contains("3 objects"), "{du}");

    // Emptied and removed.
    s3cmd.run(&["del", "--recursive", "--force", &url("")]);
    assert!(keys(&c, &b).await.is_empty());
    s3cmd.run(&["rb", &url("")]);
    let gone = c.head_bucket().bucket(&b).send().await;
    assert!(gone.is_err(), "the bucket is still there");
}
