//! GetObjectAttributes of a single-part object through the Rust SDK.

use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumType, ObjectAttributes};

use super::*;

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
    let want = super::checksums::expected_checksum(&ChecksumAlgorithm::Crc32C, &data);
    assert_eq!(sum.checksum_crc32_c(), Some(want.as_str()));
    assert_eq!(sum.checksum_type(), Some(&ChecksumType::FullObject));
    assert!(attrs.object_parts().is_none());
    let r = c
        .get_object_attributes()
        .bucket(&b)
        .key("missing")
        .object_attributes(ObjectAttributes::Etag)
        .send()
        .await;
    let (status, code, _) = fail(r);
    assert_eq!((status, code.as_str()), (404, "NoSuchKey"));
}
