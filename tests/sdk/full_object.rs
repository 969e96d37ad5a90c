//! FULL_OBJECT multipart checksums (`x-amz-checksum-type: FULL_OBJECT`, CRCs only):
//! the whole object's CRC, combined from the part CRCs, on Complete, HEAD, GET and
//! GetObjectAttributes; a part listed with another checksum than its own is
//! `InvalidPart`, a wrong whole-object value on Complete is `BadDigest`, and both leave
//! the upload completable; types S3 refuses are `InvalidRequest`.

use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    ObjectAttributes,
};

use super::checksums::expected_checksum;
use super::*;

/// The value of `algo`'s checksum field in a response with the SDK's accessors.
macro_rules! checksum_of {
    ($out:expr, $algo:expr) => {
        match $algo {
            ChecksumAlgorithm::Crc32 => $out.checksum_crc32(),
            ChecksumAlgorithm::Crc32C => $out.checksum_crc32_c(),
            ChecksumAlgorithm::Crc64Nvme => $out.checksum_crc64_nvme(),
            _ => None,
        }
        .map(str::to_string)
    };
}

fn completed_part(
    algo: &ChecksumAlgorithm,
    n: i32,
    etag: Option<&str>,
    sum: String,
) -> CompletedPart {
    let b = CompletedPart::builder()
        .part_number(n)
        .set_e_tag(etag.map(str::to_string));
    match algo {
        ChecksumAlgorithm::Crc32 => b.checksum_crc32(sum),
        ChecksumAlgorithm::Crc32C => b.checksum_crc32_c(sum),
        _ => b.checksum_crc64_nvme(sum),
    }
    .build()
}

#[tokio::test]
async fn full_object_multipart_checksums() {
    let c = gw().client();
    let b = gw().bucket("fullobj").await;
    let parts = [
        random_bytes(5 * 1024 * 1024, 61),
        random_bytes(5 * 1024 * 1024 + 3, 62),
        random_bytes(777, 63),
    ];
    let whole: Vec<u8> = parts.concat();
    for algo in [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32C,
        ChecksumAlgorithm::Crc64Nvme,
    ] {
        let key = format!("full-{}", algo.as_str());
        let up = c
            .create_multipart_upload()
            .bucket(&b)
            .key(&key)
            .checksum_algorithm(algo.clone())
            .checksum_type(ChecksumType::FullObject)
            .send()
            .await
            .expect("create");
        assert_eq!(up.checksum_type(), Some(&ChecksumType::FullObject));
        let id = up.upload_id().expect("upload id").to_string();
        let mut done = Vec::new();
        for (i, data) in parts.iter().enumerate() {
            let n = i as i32 + 1;
            let out = c
                .upload_part()
                .bucket(&b)
                .key(&key)
                .upload_id(&id)
                .part_number(n)
                .checksum_algorithm(algo.clone())
                .body(ByteStream::from(data.clone()))
                .send()
                .await
                .expect("part");
            let sum = checksum_of!(out, &algo).expect("part checksum");
            assert_eq!(sum, expected_checksum(&algo, data), "{algo:?} part {n}");
            done.push(completed_part(&algo, n, out.e_tag(), sum));
        }
        let want = expected_checksum(&algo, &whole);
        let complete = |value: &str| {
            let r = c
                .complete_multipart_upload()
                .bucket(&b)
                .key(&key)
                .upload_id(&id)
                .checksum_type(ChecksumType::FullObject)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(done.clone()))
                        .build(),
                );
            match algo {
                ChecksumAlgorithm::Crc32 => r.checksum_crc32(value),
                ChecksumAlgorithm::Crc32C => r.checksum_crc32_c(value),
                _ => r.checksum_crc64_nvme(value),
            }
            .send()
        };
        // A part listed with another checksum than the one it was stored with.
        let mut altered = done.clone();
        altered[1] = completed_part(
            &algo,
            2,
            done[1].e_tag(),
            expected_checksum(&algo, b"another part"),
        );
        let (status, code, _) = fail(
            c.complete_multipart_upload()
                .bucket(&b)
                .key(&key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(altered))
                        .build(),
                )
                .send()
                .await,
        );
        assert_eq!((status, code.as_str()), (400, "InvalidPart"), "{algo:?}");
        assert!(
            !exists(&c, &b, &key).await,
            "{algo:?}: stored after InvalidPart"
        );
        // The checksum type must be the upload's.
        let (status, code, _) = fail(
            c.complete_multipart_upload()
                .bucket(&b)
                .key(&key)
                .upload_id(&id)
                .checksum_type(ChecksumType::Composite)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(done.clone()))
                        .build(),
                )
                .send()
                .await,
        );
        assert_eq!((status, code.as_str()), (400, "InvalidRequest"), "{algo:?}");
        // A whole-object value that is not the object's: refused, nothing stored.
        let wrong = expected_checksum(&algo, b"not the object");
        let (status, code, _) = fail(complete(&wrong).await);
        assert_eq!((status, code.as_str()), (400, "BadDigest"), "{algo:?}");
        assert!(
            !exists(&c, &b, &key).await,
            "{algo:?}: stored after BadDigest"
        );
        let out = complete(&want).await.expect("complete");
        assert_eq!(checksum_of!(out, &algo).as_deref(), Some(want.as_str()));
        assert_eq!(out.checksum_type(), Some(&ChecksumType::FullObject));

        let head = c
            .head_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("head");
        assert_eq!(checksum_of!(head, &algo).as_deref(), Some(want.as_str()));
        assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
        // The SDK validates a FULL_OBJECT checksum against the bytes it reads.
        let got = c
            .get_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
        let body = got
            .body
            .collect()
            .await
            .expect("body (validated)")
            .into_bytes();
        assert_eq!(body.as_ref(), whole.as_slice());
        let attrs = c
            .get_object_attributes()
            .bucket(&b)
            .key(&key)
            .object_attributes(ObjectAttributes::Checksum)
            .send()
            .await
            .expect("attributes");
        let sum = attrs.checksum().expect("checksum");
        assert_eq!(sum.checksum_type(), Some(&ChecksumType::FullObject));
        assert_eq!(checksum_of!(sum, &algo).as_deref(), Some(want.as_str()));
    }
}

/// CRC64NVME is full-object by default; SHA algorithms cannot be, CRC64NVME cannot be
/// composite.
#[tokio::test]
async fn checksum_types_s3_refuses() {
    let c = gw().client();
    let b = gw().bucket("fulltypes").await;
    let up = c
        .create_multipart_upload()
        .bucket(&b)
        .key("k")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .send()
        .await
        .expect("create");
    assert_eq!(up.checksum_type(), Some(&ChecksumType::FullObject));
    for (algo, kind) in [
        (ChecksumAlgorithm::Sha256, ChecksumType::FullObject),
        (ChecksumAlgorithm::Crc64Nvme, ChecksumType::Composite),
    ] {
        let (status, code, _) = fail(
            c.create_multipart_upload()
                .bucket(&b)
                .key("k")
                .checksum_algorithm(algo.clone())
                .checksum_type(kind.clone())
                .send()
                .await,
        );
        assert_eq!(
            (status, code.as_str()),
            (400, "InvalidRequest"),
            "{algo:?} {kind:?}"
        );
    }
}

/// A part made by UploadPartCopy carries the upload's checksum, as S3 computes it for
/// copied parts: its CopyPartResult shows it, Complete accepts it (with the whole
/// object's CRC for FULL_OBJECT), and the object reads back with the right checksum.
#[tokio::test]
async fn copied_parts_carry_the_uploads_checksum() {
    let c = gw().client();
    let b = gw().bucket("fullcopy").await;
    let source = random_bytes(6 * 1024 * 1024, 64);
    put(&c, &b, "source", &source).await;
    let first = &source[..5 * 1024 * 1024];
    let tail = random_bytes(1234, 65);
    let whole: Vec<u8> = [first, &tail[..]].concat();
    for (algo, kind) in [
        (ChecksumAlgorithm::Crc32, ChecksumType::FullObject),
        (ChecksumAlgorithm::Crc64Nvme, ChecksumType::FullObject),
        (ChecksumAlgorithm::Crc32C, ChecksumType::Composite),
    ] {
        let key = format!("copied-{}-{}", algo.as_str(), kind.as_str());
        let id = c
            .create_multipart_upload()
            .bucket(&b)
            .key(&key)
            .checksum_algorithm(algo.clone())
            .checksum_type(kind.clone())
            .send()
            .await
            .expect("create")
            .upload_id()
            .expect("upload id")
            .to_string();
        let copied = c
            .upload_part_copy()
            .bucket(&b)
            .key(&key)
            .upload_id(&id)
            .part_number(1)
            .copy_source(format!("{b}/source"))
            .copy_source_range(format!("bytes=0-{}", first.len() - 1))
            .send()
            .await
            .expect("upload part copy");
        let result = copied.copy_part_result().expect("CopyPartResult");
        let sum = checksum_of!(result, &algo).expect("the copied part's checksum");
        assert_eq!(sum, expected_checksum(&algo, first), "{key}: copied part");
        let uploaded = c
            .upload_part()
            .bucket(&b)
            .key(&key)
            .upload_id(&id)
            .part_number(2)
            .checksum_algorithm(algo.clone())
            .body(ByteStream::from(tail.clone()))
            .send()
            .await
            .expect("part 2");
        let parts = vec![
            completed_part(&algo, 1, result.e_tag(), sum),
            completed_part(
                &algo,
                2,
                uploaded.e_tag(),
                checksum_of!(uploaded, &algo).expect("part 2 checksum"),
            ),
        ];
        let mut complete = c
            .complete_multipart_upload()
            .bucket(&b)
            .key(&key)
            .upload_id(&id)
            .checksum_type(kind.clone())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        let want = expected_checksum(&algo, &whole);
        if kind == ChecksumType::FullObject {
            complete = match algo {
                ChecksumAlgorithm::Crc32 => complete.checksum_crc32(&want),
                _ => complete.checksum_crc64_nvme(&want),
            };
        }
        complete
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: complete: {e:?}"));
        let got = c
            .get_object()
            .bucket(&b)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .expect("get");
        if kind == ChecksumType::FullObject {
            assert_eq!(
                checksum_of!(got, &algo).as_deref(),
                Some(want.as_str()),
                "{key}"
            );
        }
        let body = got.body.collect().await.expect("body").into_bytes();
        assert_eq!(md5_hex(&body), md5_hex(&whole), "{key}: bytes");
    }
}
