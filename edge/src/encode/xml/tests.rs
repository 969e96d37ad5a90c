use jetgate_protocol::messages::{BucketEntry, DeleteError, ObjectEntry};

use super::*;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn owner() -> Owner {
    Owner {
        id: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a".into(),
        display_name: "webfile".into(),
    }
}

fn entry(key: &str, owner: Option<Owner>) -> ObjectEntry {
    ObjectEntry {
        key: key.into(),
        last_modified_ms: 1_570_902_630_000,
        etag: "599bab3ed2c697f1d26842727561fd94".into(),
        size: 857,
        owner,
    }
}

fn listing(v2: bool) -> ListObjectsReply {
    ListObjectsReply {
        v2,
        bucket: "bucket".into(),
        prefix: String::new(),
        delimiter: None,
        max_keys: 1000,
        is_truncated: false,
        contents: vec![],
        common_prefixes: vec![],
        marker: None,
        next_marker: None,
        continuation_token: None,
        next_continuation_token: None,
        start_after: None,
    }
}

#[test]
fn list_buckets_result() {
    let reply = ListBucketsReply {
        owner: owner(),
        buckets: vec![
            BucketEntry {
                name: "examplebucket".into(),
                created_ms: 1_570_902_630_000,
            },
            BucketEntry {
                name: "my.other.bucket".into(),
                created_ms: 1_570_902_630_123,
            },
        ],
        region: "us-east-1".into(),
        prefix: None,
        continuation_token: None,
    };
    let want = format!("{HEAD}<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><Buckets><Bucket><Name>examplebucket</Name><CreationDate>2019-10-12T17:50:30.000Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket><Bucket><Name>my.other.bucket</Name><CreationDate>2019-10-12T17:50:30.123Z</CreationDate><BucketRegion>us-east-1</BucketRegion></Bucket></Buckets></ListAllMyBucketsResult>");
    assert_eq!(list_buckets(&reply), want);
    let paged = ListBucketsReply {
        buckets: Vec::new(),
        prefix: Some("a&b".into()),
        continuation_token: Some("Yg".into()),
        ..reply
    };
    assert!(list_buckets(&paged).ends_with("</Buckets><ContinuationToken>Yg</ContinuationToken><Prefix>a&amp;b</Prefix></ListAllMyBucketsResult>"));
}

#[test]
fn list_objects_v1() {
    let mut reply = listing(false);
    reply.contents = vec![entry("my-image.jpg", Some(owner()))];
    let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>my-image.jpg</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>");
    assert_eq!(list_objects(&reply, false, false), want);
}

#[test]
fn list_objects_v1_with_delimiter() {
    let mut reply = listing(false);
    reply.prefix = "photos/2006/".into();
    reply.marker = Some("Ned".into());
    reply.delimiter = Some("/".into());
    reply.max_keys = 2;
    reply.is_truncated = true;
    reply.next_marker = Some("photos/2006/March/".into());
    reply.contents = vec![entry("photos/2006/a.jpg", None)];
    reply.common_prefixes = vec!["photos/2006/February/".into(), "photos/2006/March/".into()];
    let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>photos/2006/</Prefix><Marker>Ned</Marker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><NextMarker>photos/2006/March/</NextMarker><Contents><Key>photos/2006/a.jpg</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>photos/2006/February/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>photos/2006/March/</Prefix></CommonPrefixes></ListBucketResult>");
    assert_eq!(list_objects(&reply, false, false), want);
    // Without a delimiter S3 leaves NextMarker out.
    reply.delimiter = None;
    reply.common_prefixes.clear();
    assert!(!list_objects(&reply, false, false).contains("NextMarker"));
}

#[test]
fn list_objects_v2() {
    let mut reply = listing(true);
    reply.prefix = "E".into();
    reply.max_keys = 1;
    reply.is_truncated = true;
    reply.continuation_token = Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=".into());
    reply.next_continuation_token =
        Some("1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI/EyIJg==".into());
    reply.start_after = Some("ExampleGuide.pdf".into());
    // Without fetch-owner, v2 leaves Owner out even when the worker sent one.
    reply.contents = vec![entry("ExampleObject.txt", Some(owner()))];
    let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>E</Prefix><ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken><NextContinuationToken>1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI/EyIJg==</NextContinuationToken><KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><StartAfter>ExampleGuide.pdf</StartAfter><Contents><Key>ExampleObject.txt</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>");
    assert_eq!(list_objects(&reply, false, false), want);
}

#[test]
fn list_objects_v2_url_encoded() {
    let mut reply = listing(true);
    reply.prefix = "a b/".into();
    reply.delimiter = Some("/".into());
    reply.start_after = Some("a b/ü".into());
    reply.contents = vec![entry("a b/c+d&e~f*g.txt", Some(owner()))];
    reply.common_prefixes = vec!["a b/sub dir/".into()];
    reply.next_continuation_token = Some("tok+en/=".into());
    let want = format!("{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name><Prefix>a+b/</Prefix><NextContinuationToken>tok+en/=</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated><StartAfter>a+b/%C3%BC</StartAfter><EncodingType>url</EncodingType><Contents><Key>a+b/c%2Bd%26e%7Ef*g.txt</Key><LastModified>2019-10-12T17:50:30.000Z</LastModified><ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>857</Size><Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>a+b/sub+dir/</Prefix></CommonPrefixes></ListBucketResult>");
    assert_eq!(list_objects(&reply, true, true), want);
}

#[test]
fn keys_are_escaped() {
    let mut reply = listing(false);
    reply.contents = vec![entry("<a&b>'\"\r\u{1}.txt", None)];
    let xml = list_objects(&reply, false, false);
    assert!(
        xml.contains("<Key>&lt;a&amp;b&gt;&apos;&quot;&#xD;&#x1;.txt</Key>"),
        "{xml}"
    );
}

#[test]
fn copy_object_result() {
    let reply = CopyReply {
        etag: "9b2cf535f27731c974343645a3985328".into(),
        last_modified_ms: 1_256_769_120_000,
        checksum: None,
    };
    let want = format!("{HEAD}<CopyObjectResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>2009-10-28T22:32:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>");
    assert_eq!(copy_object(&reply), want);
    let reply = CopyReply {
        checksum: Some(("CRC32".into(), "DUoRhQ==".into())),
        ..reply
    };
    assert!(copy_object(&reply).ends_with(
        "</ETag><ChecksumCRC32>DUoRhQ==</ChecksumCRC32><ChecksumType>FULL_OBJECT</ChecksumType></CopyObjectResult>"
    ));
}

#[test]
fn delete_result() {
    let mut reply = DeleteObjectsReply {
        quiet: false,
        deleted: vec!["sample1.txt".into()],
        errors: vec![DeleteError {
            key: "sample2.txt".into(),
            code: "AccessDenied".into(),
            message: "Access Denied".into(),
        }],
    };
    let want = format!("{HEAD}<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Deleted><Key>sample1.txt</Key></Deleted><Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>");
    assert_eq!(delete_objects(&reply), want);
    reply.quiet = true;
    let want = format!("{HEAD}<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>");
    assert_eq!(delete_objects(&reply), want);
}

#[test]
fn location_constraint() {
    let want = format!("{HEAD}<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>");
    assert_eq!(
        location(&LocationReply {
            location: "eu-west-1".into()
        }),
        want
    );
    let want =
        format!("{HEAD}<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
    assert_eq!(
        location(&LocationReply {
            location: String::new()
        }),
        want
    );
}

#[test]
fn url_encoding_like_s3() {
    assert_eq!(url_encode("a b/c+d~e*f-_.g%"), "a+b/c%2Bd%7Ee*f-_.g%25");
    assert_eq!(url_encode("é"), "%C3%A9");
}
