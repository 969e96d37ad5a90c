//! Multipart upload through jetgate: the Rust `aws-sdk-s3` and the aws CLI against a
//! real gateway. The result must be an ordinary NATS object: every test reads it back
//! through S3 and through async-nats' object store (which checks the SHA-256 digest).

mod common;
// UploadPartCopy: ranges, their errors.
#[path = "multipart/copy.rs"]
mod copy;
// ListMultipartUploads from the workers' upload index.
#[path = "multipart/upload_listing.rs"]
mod upload_listing;

use std::process::Command;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use common::{
    complete, completed, create_upload_with, get_nats, md5_hex, multipart_etag, nats_bucket,
    put_part, random_bytes, shared, GatewayOptions, Shared,
};

const MIB: usize = 1024 * 1024;

fn gw() -> &'static Shared {
    shared(GatewayOptions::default())
}

async fn create(s3: &Client, b: &str, k: &str) -> String {
    create_upload_with(s3, b, k, |r| {
        r.content_type("application/x-test")
            .metadata("color", "blue")
    })
    .await
}

async fn get_s3(s3: &Client, b: &str, k: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(b)
        .key(k)
        .send()
        .await
        .expect("get object")
        .body
        .collect()
        .await
        .expect("read body")
        .to_vec()
}

async fn assert_object(s3: &Client, b: &str, k: &str, want: &[u8]) {
    let via_s3 = get_s3(s3, b, k).await;
    assert_eq!(via_s3.len(), want.len(), "length via S3");
    assert_eq!(md5_hex(&via_s3), md5_hex(want), "bytes via S3");
    let via_nats = get_nats(&gw().jetstream().await, b, k).await;
    assert_eq!(via_nats.len(), want.len(), "length via async-nats");
    assert_eq!(md5_hex(&via_nats), md5_hex(want), "bytes via async-nats");
}

#[tokio::test]
async fn concurrent_out_of_order_parts_assemble_in_place() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpc").await;
    let k = "big/object.bin";
    let id = create(&s3, &b, k).await;
    let parts: Vec<Vec<u8>> = vec![
        random_bytes(5 * MIB, 1),
        random_bytes(5 * MIB + 3, 2),
        random_bytes(5 * MIB, 3),
        random_bytes(MIB + 7, 4),
    ];
    // All at once, started in reverse order.
    let mut tasks = Vec::new();
    for n in (1..=parts.len()).rev() {
        let (s3, b, id, data) = (s3.clone(), b.clone(), id.clone(), parts[n - 1].clone());
        tasks.push(tokio::spawn(async move {
            (n, put_part(&s3, &b, k, &id, n as i32, &data).await)
        }));
    }
    let mut etags = vec![String::new(); parts.len()];
    for t in tasks {
        let (n, e) = t.await.expect("part task");
        assert_eq!(e, format!("\"{}\"", md5_hex(&parts[n - 1])));
        etags[n - 1] = e;
    }
    let list: Vec<(i32, &str)> = etags
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i32 + 1, e.as_str()))
        .collect();
    let js = g.jetstream().await;
    let before = common::last_sequence(&js, &nats_bucket(&b)).await;
    let etag = complete(&s3, &b, k, &id, &list).await.expect("complete");
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    assert_eq!(etag, multipart_etag(&refs));
    // The parts went straight into the object's chunks: Complete publishes the
    // metadata message and nothing else (a copy would publish every chunk again).
    assert_eq!(
        common::last_sequence(&js, &nats_bucket(&b)).await - before,
        1,
        "Complete wrote more than the metadata message"
    );
    let whole = parts.concat();
    assert_object(&s3, &b, k, &whole).await;

    let head = s3
        .head_object()
        .bucket(&b)
        .key(k)
        .send()
        .await
        .expect("head");
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.content_type(), Some("application/x-test"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("color"))
            .map(String::as_str),
        Some("blue")
    );
    // partNumber=N answers that part's bytes.
    let p2 = s3
        .get_object()
        .bucket(&b)
        .key(k)
        .part_number(2)
        .send()
        .await
        .expect("get part 2");
    assert_eq!(p2.parts_count(), Some(4));
    assert_eq!(p2.content_length(), Some(parts[1].len() as i64));
    let body = p2.body.collect().await.expect("part body").to_vec();
    assert_eq!(md5_hex(&body), md5_hex(&parts[1]));
    let h4 = s3
        .head_object()
        .bucket(&b)
        .key(k)
        .part_number(4)
        .send()
        .await
        .expect("head part 4");
    assert_eq!(h4.content_length(), Some(parts[3].len() as i64));
    let e = s3
        .get_object()
        .bucket(&b)
        .key(k)
        .part_number(5)
        .send()
        .await
        .expect_err("part 5 does not exist");
    assert_eq!(e.code(), Some("InvalidPartNumber"));
    // Ranges deep into the object jump to their part: at a part's start (parts 3 and 4),
    // inside a part (2, whose last chunk holds 3 bytes), across parts.
    let p3 = 10 * MIB + 3;
    for (first, last) in [
        (p3, p3 + 100),
        (7 * MIB + 5, 12 * MIB),
        (p3 + 5 * MIB, whole.len() - 1),
        (p3 + 5 * MIB + 100, whole.len() - 2),
    ] {
        let got = s3
            .get_object()
            .bucket(&b)
            .key(k)
            .range(format!("bytes={first}-{last}"))
            .send()
            .await
            .expect("ranged get")
            .body
            .collect()
            .await
            .expect("range body")
            .to_vec();
        assert_eq!(got.len(), last + 1 - first, "bytes={first}-{last}");
        assert_eq!(
            md5_hex(&got),
            md5_hex(&whole[first..=last]),
            "bytes={first}-{last}"
        );
    }
    // The upload is gone, and no staging chunks are left behind.
    let e = s3
        .list_parts()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .send()
        .await
        .expect_err("upload completed");
    assert_eq!(e.code(), Some("NoSuchUpload"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let js = g.jetstream().await;
    let chunks = common::chunk_messages(&js, &nats_bucket(&b)).await;
    assert_eq!(chunks, 5 + 6 + 5 + 2, "chunk messages in the bucket");
}

#[tokio::test]
async fn reuploaded_part_and_subset_complete() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mps").await;
    // Re-uploading part 2 replaces it.
    let k = "reupload";
    let id = create(&s3, &b, k).await;
    let p1 = random_bytes(5 * MIB, 10);
    let p2a = random_bytes(5 * MIB, 11);
    let p2b = random_bytes(5 * MIB + 100, 12);
    let p3 = random_bytes(1000, 13);
    let e1 = put_part(&s3, &b, k, &id, 1, &p1).await;
    let _e2a = put_part(&s3, &b, k, &id, 2, &p2a).await;
    let e3 = put_part(&s3, &b, k, &id, 3, &p3).await;
    let e2b = put_part(&s3, &b, k, &id, 2, &p2b).await;
    let etag = complete(&s3, &b, k, &id, &[(1, &e1), (2, &e2b), (3, &e3)])
        .await
        .expect("complete");
    assert_eq!(etag, multipart_etag(&[&p1, &p2b, &p3]));
    assert_object(&s3, &b, k, &[p1.clone(), p2b.clone(), p3.clone()].concat()).await;

    // A subset with a hole (part 2 left out).
    let k = "subset";
    let id = create(&s3, &b, k).await;
    let e1 = put_part(&s3, &b, k, &id, 1, &p1).await;
    let _ = put_part(&s3, &b, k, &id, 2, &p2a).await;
    let e3 = put_part(&s3, &b, k, &id, 3, &p3).await;
    let etag = complete(&s3, &b, k, &id, &[(1, &e1), (3, &e3)])
        .await
        .expect("complete subset");
    assert_eq!(etag, multipart_etag(&[&p1, &p3]));
    assert_object(&s3, &b, k, &[p1.clone(), p3.clone()].concat()).await;

    // A prefix subset (part 3 left out) commits in place.
    let k = "prefix";
    let id = create(&s3, &b, k).await;
    let e1 = put_part(&s3, &b, k, &id, 1, &p1).await;
    let e2 = put_part(&s3, &b, k, &id, 2, &p2a).await;
    let _ = put_part(&s3, &b, k, &id, 3, &p3).await;
    complete(&s3, &b, k, &id, &[(1, &e1), (2, &e2)])
        .await
        .expect("complete prefix");
    assert_object(&s3, &b, k, &[p1.clone(), p2a.clone()].concat()).await;

    // A part far ahead of the cursor is staged at once and copied in at Complete.
    let k = "ahead";
    let id = create(&s3, &b, k).await;
    let e2 = put_part(&s3, &b, k, &id, 100, &p3).await;
    let e1 = put_part(&s3, &b, k, &id, 1, &p1).await;
    complete(&s3, &b, k, &id, &[(1, &e1), (100, &e2)])
        .await
        .expect("complete with a staged part");
    assert_object(&s3, &b, k, &[p1.clone(), p3.clone()].concat()).await;
}

#[tokio::test]
async fn s3_rules_are_enforced() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpe").await;
    let k = "rules";
    let id = create(&s3, &b, k).await;
    let small = random_bytes(MIB, 20);
    let e1 = put_part(&s3, &b, k, &id, 1, &small).await;
    let e2 = put_part(&s3, &b, k, &id, 2, &small).await;
    let (code, _, _) = complete(&s3, &b, k, &id, &[(1, &e1), (2, &e2)])
        .await
        .expect_err("too small");
    assert_eq!(code, "EntityTooSmall");
    let wrong = format!("\"{}\"", md5_hex(b"nope"));
    let (code, _, _) = complete(&s3, &b, k, &id, &[(1, &wrong)])
        .await
        .expect_err("wrong etag");
    assert_eq!(code, "InvalidPart");
    let (code, _, _) = complete(&s3, &b, k, &id, &[(2, &e2), (1, &e1)])
        .await
        .expect_err("order");
    assert_eq!(code, "InvalidPartOrder");
    let (code, _, _) = complete(&s3, &b, k, &id, &[(3, &e1)])
        .await
        .expect_err("missing part");
    assert_eq!(code, "InvalidPart");
    let e = s3
        .upload_part()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .part_number(10_001)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("part number");
    assert_eq!(e.code(), Some("InvalidArgument"));
    let e = s3
        .upload_part()
        .bucket(&b)
        .key(k)
        .upload_id("NoSuchUploadId123")
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("unknown upload");
    assert_eq!(e.code(), Some("NoSuchUpload"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    // A bad Content-MD5 fails the part and leaves the upload usable.
    let e = s3
        .upload_part()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .part_number(3)
        .content_md5("1B2M2Y8AsgTpgAmY7PhCfg==")
        .body(ByteStream::from(small.clone()))
        .send()
        .await
        .expect_err("bad md5");
    assert_eq!(e.code(), Some("BadDigest"));
    // The single (last) part may be small; after the failures above it still completes.
    let etag = complete(&s3, &b, k, &id, &[(1, &e1)])
        .await
        .expect("complete");
    assert_eq!(etag, multipart_etag(&[&small]));
    assert_object(&s3, &b, k, &small).await;
    // If-None-Match: * on Complete refuses an existing key.
    let id = create(&s3, &b, k).await;
    let e1 = put_part(&s3, &b, k, &id, 1, &small).await;
    let e = s3
        .complete_multipart_upload()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .if_none_match("*")
        .multipart_upload(completed(&[(1, &e1)]))
        .send()
        .await
        .expect_err("key exists");
    assert_eq!(e.code(), Some("PreconditionFailed"));
}

#[tokio::test]
async fn abort_and_listings() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpl").await;
    let ids = [
        create(&s3, &b, "a/1").await,
        create(&s3, &b, "a/2").await,
        create(&s3, &b, "b").await,
    ];
    for n in 1..=3 {
        put_part(
            &s3,
            &b,
            "b",
            &ids[2],
            n,
            &random_bytes(1000 + n as usize, 30),
        )
        .await;
    }
    // ListParts paging.
    let page = s3
        .list_parts()
        .bucket(&b)
        .key("b")
        .upload_id(&ids[2])
        .max_parts(2)
        .send()
        .await
        .expect("list parts");
    let nums: Vec<i32> = page
        .parts()
        .iter()
        .filter_map(|p| p.part_number())
        .collect();
    assert_eq!(nums, vec![1, 2]);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_part_number_marker(), Some("2"));
    assert_eq!(page.parts()[1].size(), Some(1002));
    let page = s3
        .list_parts()
        .bucket(&b)
        .key("b")
        .upload_id(&ids[2])
        .part_number_marker("2")
        .send()
        .await
        .expect("list parts 2");
    let nums: Vec<i32> = page
        .parts()
        .iter()
        .filter_map(|p| p.part_number())
        .collect();
    assert_eq!(nums, vec![3]);
    assert_eq!(page.is_truncated(), Some(false));
    // ListMultipartUploads: prefix, delimiter, paging.
    let all = s3
        .list_multipart_uploads()
        .bucket(&b)
        .send()
        .await
        .expect("list uploads");
    let keys: Vec<&str> = all.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, vec!["a/1", "a/2", "b"]);
    let pre = s3
        .list_multipart_uploads()
        .bucket(&b)
        .prefix("a/")
        .send()
        .await
        .expect("prefix");
    assert_eq!(pre.uploads().len(), 2);
    let del = s3
        .list_multipart_uploads()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .expect("delimiter");
    let prefixes: Vec<&str> = del
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["a/"]);
    assert_eq!(del.uploads().len(), 1);
    let first = s3
        .list_multipart_uploads()
        .bucket(&b)
        .max_uploads(1)
        .send()
        .await
        .expect("page 1");
    assert_eq!(first.is_truncated(), Some(true));
    let next = s3
        .list_multipart_uploads()
        .bucket(&b)
        .max_uploads(2)
        .key_marker(first.next_key_marker().unwrap_or_default())
        .upload_id_marker(first.next_upload_id_marker().unwrap_or_default())
        .send()
        .await
        .expect("page 2");
    let keys: Vec<&str> = next.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, vec!["a/2", "b"]);
    // Abort removes the upload and its chunks.
    for (k, id) in [("a/1", &ids[0]), ("a/2", &ids[1]), ("b", &ids[2])] {
        s3.abort_multipart_upload()
            .bucket(&b)
            .key(k)
            .upload_id(id)
            .send()
            .await
            .expect("abort");
    }
    let e = s3
        .abort_multipart_upload()
        .bucket(&b)
        .key("b")
        .upload_id(&ids[2])
        .send()
        .await
        .expect_err("aborted twice");
    assert_eq!(e.code(), Some("NoSuchUpload"));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
    let left = s3
        .list_multipart_uploads()
        .bucket(&b)
        .send()
        .await
        .expect("list after abort");
    assert!(left.uploads().is_empty());
    let js = g.jetstream().await;
    assert_eq!(common::chunk_messages(&js, &nats_bucket(&b)).await, 0);
}

#[tokio::test]
async fn concurrent_complete_and_abort_one_wins() {
    let g = gw();
    let s3 = g.client();
    let b = g.bucket("mpr").await;
    let k = "race";
    let id = create(&s3, &b, k).await;
    let data = random_bytes(3 * MIB, 40);
    let e1 = put_part(&s3, &b, k, &id, 1, &data).await;
    let c = {
        let (s3, b, id, e1) = (s3.clone(), b.clone(), id.clone(), e1.clone());
        tokio::spawn(async move { complete(&s3, &b, k, &id, &[(1, &e1)]).await })
    };
    let a = s3
        .abort_multipart_upload()
        .bucket(&b)
        .key(k)
        .upload_id(&id)
        .send()
        .await;
    let c = c.await.expect("complete task");
    match (&c, &a) {
        (Ok(_), Err(e)) => {
            assert_eq!(e.code(), Some("NoSuchUpload"));
            assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
            assert_object(&s3, &b, k, &data).await;
        }
        (Err((code, status, _)), Ok(_)) => {
            assert_eq!((code.as_str(), *status), ("NoSuchUpload", Some(404)));
            let e = s3
                .head_object()
                .bucket(&b)
                .key(k)
                .send()
                .await
                .expect_err("no object after the abort won");
            assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));
        }
        other => panic!("exactly one must win: {other:?}"),
    }
}

#[test]
fn aws_cli_cp_40_mib_up_and_down() {
    let g = gw();
    let b = common::unique_bucket("mpcli");
    let dir = common::temp_dir("mpcli-");
    let src = dir.path().join("src.bin");
    let back = dir.path().join("back.bin");
    let md5 = common::write_random_file(&src, 40 * MIB as u64 + 12_345, 77);
    let aws = |args: &[&str]| {
        let out = Command::new("aws")
            .arg("--endpoint-url")
            .arg(&g.endpoint)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", common::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", common::SECRET_KEY)
            .env("AWS_DEFAULT_REGION", common::REGION)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run aws");
        assert!(
            out.status.success(),
            "aws {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    aws(&["s3", "mb", &format!("s3://{b}")]);
    let url = format!("s3://{b}/dir/file.bin");
    aws(&["s3", "cp", &src.display().to_string(), &url]);
    aws(&["s3", "cp", &url, &back.display().to_string()]);
    let got = std::fs::read(&back).expect("read back");
    assert_eq!(got.len(), 40 * MIB + 12_345);
    assert_eq!(md5_hex(&got), md5, "bytes after aws s3 cp up and down");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let js = rt.block_on(gw().jetstream());
    let via_nats = rt.block_on(get_nats(&js, &b, "dir/file.bin"));
    assert_eq!(md5_hex(&via_nats), md5, "bytes via async-nats");
    // S3 to S3: the aws CLI copies large objects with UploadPartCopy.
    let copy = format!("s3://{b}/dir/copy.bin");
    aws(&["s3", "cp", &url, &copy]);
    let via_nats = rt.block_on(get_nats(&js, &b, "dir/copy.bin"));
    assert_eq!(md5_hex(&via_nats), md5, "copied bytes via async-nats");
}
