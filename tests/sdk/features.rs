//! Object tagging, additional checksums on GET/HEAD, GetObjectAttributes and the
//! versioning probes, through the Rust SDK with its default checksum validation.

use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    ObjectAttributes, Tag, Tagging, TaggingDirective,
};
use base64::Engine as _;
use sha2::Digest as _;

use super::*;

fn tagging(pairs: &[(&str, &str)]) -> Tagging {
    let tags: Vec<Tag> = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("tag"))
        .collect();
    Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .expect("tagging")
}

async fn tags_of(c: &Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    let out = c
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get tagging {key}: {e:?}"));
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn tagging_round_trip_keeps_the_object() {
    let c = gw().client();
    let b = gw().bucket("tags").await;
    let data = random_bytes(3000, 31);
    c.put_object()
        .bucket(&b)
        .key("t.bin")
        .body(ByteStream::from(data.clone()))
        .tagging("project=blue%20sky&a%26b=c%3Dd")
        .send()
        .await
        .expect("put with tagging");
    assert_eq!(
        tags_of(&c, &b, "t.bin").await,
        pairs(&[("project", "blue sky"), ("a&b", "c=d")])
    );
    let got = c
        .get_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.tag_count(), Some(2));
    let before = (
        got.e_tag().map(str::to_string),
        got.last_modified().cloned(),
    );
    let raw = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(raw.as_ref(), data.as_slice());

    c.put_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .tagging(tagging(&[("k1", "v1"), ("empty", ""), ("ünï", "ç ö/+")]))
        .send()
        .await
        .expect("put tagging");
    assert_eq!(
        tags_of(&c, &b, "t.bin").await,
        pairs(&[("k1", "v1"), ("empty", ""), ("ünï", "ç ö/+")])
    );
    // Only the metadata changed: same bytes, ETag and Last-Modified.
    let got = c
        .get_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.tag_count(), Some(3));
    assert_eq!(
        (
            got.e_tag().map(str::to_string),
            got.last_modified().cloned()
        ),
        before
    );
    assert_eq!(get_bytes(&c, &b, "t.bin").await, data);
    // Tags are not plain headers.
    let head = c
        .head_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("head");
    assert!(head.metadata().is_none_or(|m| m.is_empty()));

    // versionId=null is the only version an unversioned bucket has.
    let out = c
        .get_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .version_id("null")
        .send()
        .await
        .expect("tagging with versionId=null");
    assert_eq!(out.tag_set().len(), 3);

    c.delete_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("delete tagging");
    assert!(tags_of(&c, &b, "t.bin").await.is_empty());
    let got = c
        .get_object()
        .bucket(&b)
        .key("t.bin")
        .send()
        .await
        .expect("get");
    assert_eq!(got.tag_count(), None);

    // A new PUT replaces the tags with its own (none).
    c.put_object_tagging()
        .bucket(&b)
        .key("t.bin")
        .tagging(tagging(&[("x", "1")]))
        .send()
        .await
        .expect("put tagging");
    put(&c, &b, "t.bin", b"new").await;
    assert!(tags_of(&c, &b, "t.bin").await.is_empty());
}

#[tokio::test]
async fn tagging_limits_and_errors() {
    let c = gw().client();
    let b = gw().bucket("tag-limits").await;
    put(&c, &b, "k", b"x").await;
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    let eleven: Vec<(&str, &str)> = eleven
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(257);
    let bad: [&[(&str, &str)]; 4] = [
        &eleven,
        &[("a", "1"), ("a", "2")],
        &[(long_key.as_str(), "v")],
        &[("k", long_value.as_str())],
    ];
    for set in bad {
        let r = c
            .put_object_tagging()
            .bucket(&b)
            .key("k")
            .tagging(tagging(set))
            .send()
            .await;
        let (status, code, _) = fail(r);
        assert_eq!(
            (status, code.as_str()),
            (400, "InvalidTag"),
            "{} tags",
            set.len()
        );
    }
    // The limits are inclusive.
    let ok_key = "k".repeat(128);
    let ok_value = "v".repeat(256);
    let ten: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    let mut ten: Vec<(&str, &str)> = ten.iter().map(|k| (k.as_str(), "")).collect();
    ten[0] = (ok_key.as_str(), ok_value.as_str());
    c.put_object_tagging()
        .bucket(&b)
        .key("k")
        .tagging(tagging(&ten))
        .send()
        .await
        .expect("10 tags at the limits");
    assert_eq!(tags_of(&c, &b, "k").await.len(), 10);

    // x-amz-tagging on PUT is checked before anything is stored.
    let header: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    let r = c
        .put_object()
        .bucket(&b)
        .key("not-stored")
        .body(ByteStream::from_static(b"data"))
        .tagging(header.join("&"))
        .send()
        .await;
    assert_eq!(fail(r).1, "InvalidTag");
    assert!(!exists(&c, &b, "not-stored").await);

    let r = c
        .get_object_tagging()
        .bucket(&b)
        .key("missing")
        .send()
        .await;
    let (status, code, _) = fail(r);
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
    let r = c
        .put_object_tagging()
        .bucket(&b)
        .key("missing")
        .tagging(tagging(&[("a", "b")]))
        .send()
        .await;
    assert_eq!(fail(r).1, "NoSuchKey");
    let r = c
        .delete_object_tagging()
        .bucket(&b)
        .key("missing")
        .send()
        .await;
    assert_eq!(fail(r).1, "NoSuchKey");
}

#[tokio::test]
async fn tagging_on_copy_and_multipart() {
    let c = gw().client();
    let b = gw().bucket("tag-copy").await;
    c.put_object()
        .bucket(&b)
        .key("src")
        .body(ByteStream::from_static(b"source"))
        .tagging("origin=src")
        .send()
        .await
        .expect("put");
    let copy = |dst: &'static str| {
        c.copy_object()
            .bucket(&b)
            .key(dst)
            .copy_source(format!("{b}/src"))
    };
    copy("copied").send().await.expect("copy");
    assert_eq!(tags_of(&c, &b, "copied").await, pairs(&[("origin", "src")]));
    copy("replaced")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("new=1&other=2")
        .send()
        .await
        .expect("copy REPLACE");
    assert_eq!(
        tags_of(&c, &b, "replaced").await,
        pairs(&[("new", "1"), ("other", "2")])
    );
    copy("untagged")
        .tagging_directive(TaggingDirective::Replace)
        .send()
        .await
        .expect("copy REPLACE without tags");
    assert!(tags_of(&c, &b, "untagged").await.is_empty());

    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .tagging("kind=multipart")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("upload id");
    let part = c
        .upload_part()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"only part"))
        .send()
        .await
        .expect("part");
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("complete");
    assert_eq!(tags_of(&c, &b, "mp").await, pairs(&[("kind", "multipart")]));
    let r = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp2")
        .tagging("a=1&a=2")
        .send()
        .await;
    assert_eq!(fail(r).1, "InvalidTag");
}

#[tokio::test]
async fn checksums_on_get_and_head() {
    let c = gw().client();
    let b = gw().bucket("sums").await;
    let data = random_bytes(200_000, 32);
    let algos = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
        ChecksumAlgorithm::Crc64Nvme,
    ];
    for algo in algos {
        let key = format!("obj-{}", algo.as_str());
        let out = c
            .put_object()
            .bucket(&b)
            .key(&key)
            .body(ByteStream::from(data.clone()))
            .checksum_algorithm(algo.clone())
            .send()
            .await
            .expect("put");
        let sent = [
            out.checksum_crc32(),
            out.checksum_crc32_c(),
            out.checksum_sha1(),
            out.checksum_sha256(),
            out.checksum_crc64_nvme(),
        ];
        let sent: Vec<&str> = sent.into_iter().flatten().collect();
        assert_eq!(sent.len(), 1, "{algo:?}: one checksum echoed");
        // GET: the SDK validates the body against the returned checksum.
        let got = c
            .get_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
        let returned = [
            got.checksum_crc32(),
            got.checksum_crc32_c(),
            got.checksum_sha1(),
            got.checksum_sha256(),
            got.checksum_crc64_nvme(),
        ];
        let returned: Vec<&str> = returned.into_iter().flatten().collect();
        assert_eq!(returned, sent, "{algo:?}");
        assert_eq!(got.checksum_type(), Some(&ChecksumType::FullObject));
        let body = got
            .body
            .collect()
            .await
            .expect("validated body")
            .into_bytes();
        assert_eq!(body.len(), data.len());
        let head = c
            .head_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("head");
        let on_head = [
            head.checksum_crc32(),
            head.checksum_crc32_c(),
            head.checksum_sha1(),
            head.checksum_sha256(),
            head.checksum_crc64_nvme(),
        ];
        assert_eq!(on_head.into_iter().flatten().collect::<Vec<_>>(), sent);
        // Without checksum mode, no checksum; a range has none either.
        let head = c
            .head_object()
            .bucket(&b)
            .key(&key)
            .send()
            .await
            .expect("head");
        assert!(head.checksum_crc32().is_none() && head.checksum_sha256().is_none());
        let ranged = c
            .get_object()
            .bucket(&b)
            .key(&key)
            .range("bytes=0-9")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("range");
        assert!(ranged.checksum_crc32().is_none() && ranged.checksum_sha256().is_none());
        assert_eq!(
            ranged
                .body
                .collect()
                .await
                .expect("range body")
                .into_bytes()
                .len(),
            10
        );
    }
}

/// A SHA-256 composite multipart upload: `base64(sha256(part sums))-N` on HEAD/GET,
/// parts and checksums in GetObjectAttributes, and the SDK's default GET still passes.
#[tokio::test]
async fn composite_multipart_checksum_and_attributes() {
    let c = gw().client();
    let b = gw().bucket("composite").await;
    let parts = [random_bytes(5 * 1024 * 1024, 33), random_bytes(1234, 34)];
    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("upload id").to_string();
    let mut done = Vec::new();
    let mut raw_sums = Vec::new();
    for (i, data) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out = c
            .upload_part()
            .bucket(&b)
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .expect("part");
        let sum = out.checksum_sha256().expect("part checksum").to_string();
        let want = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(data));
        assert_eq!(sum, want, "part {n}");
        raw_sums.extend(sha2::Sha256::digest(data));
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_string))
                .checksum_sha256(sum)
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let bare = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&raw_sums));
    let composite = format!("{bare}-2");
    let head = c
        .head_object()
        .bucket(&b)
        .key("mp")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_sha256(), Some(composite.as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::Composite));
    // The default client asks for checksums and must accept a composite one.
    let got = c
        .get_object()
        .bucket(&b)
        .key("mp")
        .send()
        .await
        .expect("get");
    assert_eq!(got.checksum_sha256(), Some(composite.as_str()));
    let body = got.body.collect().await.expect("body").into_bytes();
    assert_eq!(body.len(), parts[0].len() + parts[1].len());

    let attrs = c
        .get_object_attributes()
        .bucket(&b)
        .key("mp")
        .object_attributes(ObjectAttributes::Etag)
        .object_attributes(ObjectAttributes::Checksum)
        .object_attributes(ObjectAttributes::ObjectParts)
        .object_attributes(ObjectAttributes::ObjectSize)
        .object_attributes(ObjectAttributes::StorageClass)
        .max_parts(1)
        .send()
        .await
        .expect("attributes");
    assert!(attrs
        .e_tag()
        .is_some_and(|e| e.ends_with("-2") && !e.contains('"')));
    assert_eq!(attrs.object_size(), Some(body.len() as i64));
    assert_eq!(attrs.storage_class().map(|s| s.as_str()), Some("STANDARD"));
    let sum = attrs.checksum().expect("checksum");
    assert_eq!(sum.checksum_sha256(), Some(bare.as_str()));
    assert_eq!(sum.checksum_type(), Some(&ChecksumType::Composite));
    let op = attrs.object_parts().expect("parts");
    assert_eq!(op.total_parts_count(), Some(2));
    assert_eq!(op.is_truncated(), Some(true));
    assert_eq!(op.next_part_number_marker(), Some("1"));
    let p = &op.parts()[0];
    assert_eq!(
        (p.part_number(), p.size()),
        (Some(1), Some(5 * 1024 * 1024))
    );
    let next = c
        .get_object_attributes()
        .bucket(&b)
        .key("mp")
        .object_attributes(ObjectAttributes::ObjectParts)
        .part_number_marker("1")
        .send()
        .await
        .expect("attributes page 2");
    let op = next.object_parts().expect("parts");
    assert_eq!(op.is_truncated(), Some(false));
    assert_eq!(op.parts().len(), 1);
    assert_eq!(op.parts()[0].size(), Some(1234));
    assert!(next.e_tag().is_none() && next.object_size().is_none());
}

#[tokio::test]
async fn attributes_of_a_single_part_object() {
    let c = gw().client();
    let b = gw().bucket("attrs").await;
    let data = random_bytes(4321, 35);
    c.put_object()
        .bucket(&b)
        .key("one")
        .body(ByteStream::from(data.clone()))
        .checksum_algorithm(ChecksumAlgorithm::Crc32C)
        .send()
        .await
        .expect("put");
    let attrs = c
        .get_object_attributes()
        .bucket(&b)
        .key("one")
        .object_attributes(ObjectAttributes::Etag)
        .object_attributes(ObjectAttributes::Checksum)
        .object_attributes(ObjectAttributes::ObjectParts)
        .object_attributes(ObjectAttributes::ObjectSize)
        .send()
        .await
        .expect("attributes");
    assert_eq!(attrs.e_tag(), Some(md5_hex(&data).as_str()));
    assert_eq!(attrs.object_size(), Some(4321));
    assert!(attrs.last_modified().is_some());
    let sum = attrs.checksum().expect("checksum");
    assert!(sum.checksum_crc32_c().is_some());
    assert_eq!(sum.checksum_type(), Some(&ChecksumType::FullObject));
    assert!(attrs.object_parts().is_none());
    let r = c
        .get_object_attributes()
        .bucket(&b)
        .key("missing")
        .object_attributes(ObjectAttributes::Etag)
        .send()
        .await;
    assert_eq!(fail(r).0, 404);
}

#[tokio::test]
async fn versioning_probes() {
    let c = gw().client();
    let b = gw().bucket("versions").await;
    let v = c
        .get_bucket_versioning()
        .bucket(&b)
        .send()
        .await
        .expect("versioning");
    assert!(v.status().is_none() && v.mfa_delete().is_none());
    let r = c.get_object_lock_configuration().bucket(&b).send().await;
    let (status, code, _) = fail(r);
    assert_eq!(
        (status, code.as_str()),
        (404, "ObjectLockConfigurationNotFoundError")
    );
    let r = c
        .get_bucket_versioning()
        .bucket("no-such-bucket-h2")
        .send()
        .await;
    assert_eq!(fail(r).1, "NoSuchBucket");

    let keys = ["a", "b/1", "b/2", "c", "d/x/1", "e"];
    for k in keys {
        put(&c, &b, k, k.as_bytes()).await;
    }
    let all = c
        .list_object_versions()
        .bucket(&b)
        .send()
        .await
        .expect("versions");
    let listed: Vec<&str> = all.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(listed, keys);
    for v in all.versions() {
        assert_eq!(v.version_id(), Some("null"));
        assert_eq!(v.is_latest(), Some(true));
        assert_eq!(v.size(), Some(v.key().unwrap_or_default().len() as i64));
        assert_eq!(
            v.e_tag().map(str::to_string),
            Some(quoted(&md5_hex(v.key().unwrap_or_default().as_bytes())))
        );
    }
    assert!(all.delete_markers().is_empty());
    assert_eq!(all.is_truncated(), Some(false));

    let grouped = c
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .expect("versions with delimiter");
    let listed: Vec<&str> = grouped.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(listed, ["a", "c", "e"]);
    let prefixes: Vec<&str> = grouped
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["b/", "d/"]);

    // Paging with key-marker / version-id-marker, two entries a page.
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    for _ in 0..10 {
        let page = c
            .list_object_versions()
            .bucket(&b)
            .max_keys(2)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .expect("page");
        assert!(page.versions().len() <= 2);
        seen.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.key().map(str::to_string)),
        );
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
        assert_eq!(version_marker.as_deref(), Some("null"));
    }
    assert_eq!(seen, keys);
    let prefixed = c
        .list_object_versions()
        .bucket(&b)
        .prefix("b/")
        .key_marker("b/1")
        .send()
        .await
        .expect("prefix and marker");
    let listed: Vec<&str> = prefixed.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(listed, ["b/2"]);
    let r = c
        .list_object_versions()
        .bucket(&b)
        .key_marker("a")
        .version_id_marker("not-a-version")
        .send()
        .await;
    assert_eq!(fail(r).1, "InvalidArgument");
}
