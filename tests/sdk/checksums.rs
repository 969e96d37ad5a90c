//! Additional checksums on GET/HEAD and composite multipart checksums, through the
//! Rust SDK with its default checksum validation.

use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    ObjectAttributes,
};
use base64::Engine as _;
use sha2::Digest as _;

use super::*;

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
        let want = expected_checksum(&algo, &data);
        assert_eq!(sent, vec![want.as_str()], "{algo:?}: the PUT's echo");
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
        assert_eq!(returned, vec![want.as_str()], "{algo:?}: GET");
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
        assert_eq!(
            on_head.into_iter().flatten().collect::<Vec<_>>(),
            vec![want.as_str()],
            "{algo:?}: HEAD"
        );
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

/// The base64 checksum S3 gives `data` under `algo`, computed here from the bytes (CRCs
/// as big-endian integers), never taken from a response.
pub(crate) fn expected_checksum(algo: &ChecksumAlgorithm, data: &[u8]) -> String {
    let raw: Vec<u8> = match algo {
        ChecksumAlgorithm::Crc32 => crc32fast::hash(data).to_be_bytes().to_vec(),
        ChecksumAlgorithm::Crc32C => crc32c::crc32c(data).to_be_bytes().to_vec(),
        ChecksumAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        ChecksumAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        ChecksumAlgorithm::Crc64Nvme => {
            let mut d = crc64fast_nvme::Digest::new();
            d.write(data);
            d.sum64().to_be_bytes().to_vec()
        }
        other => panic!("no expected checksum for {other:?}"),
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
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
    let etag = common::multipart_etag(&[parts[0].as_slice(), parts[1].as_slice()]);
    assert_eq!(attrs.e_tag(), Some(etag.trim_matches('"')));
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
