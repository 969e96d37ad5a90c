use http::HeaderValue;
use jetgate_protocol::messages::ByteRange;

use super::*;
use crate::test_support::{code, headers};
use jetgate_protocol::S3ErrorCode;

#[test]
fn query_pairs_decode_like_s3() {
    let q = query_pairs("uploads&prefix=a%2Fb+c&delimiter=%2F&&x=%2B&bad=%FF");
    let want = [
        ("uploads", ""),
        ("prefix", "a/b c"),
        ("delimiter", "/"),
        ("x", "+"),
        ("bad", "\u{FFFD}"),
    ];
    let got: Vec<(&str, &str)> = q.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(got, want);
    assert_eq!(query_value(&q, "prefix"), Some("a/b c"));
    assert!(query_pairs("").is_empty());
}

#[test]
fn object_headers_are_read() {
    let h = headers(&[
        ("content-type", "text/plain"),
        ("content-encoding", "aws-chunked,gzip"),
        ("content-disposition", "attachment; filename=\"a.txt\""),
        ("content-language", "mi, en"),
        ("cache-control", "no-cache"),
        ("expires", "Thu, 01 Dec 1994 16:00:00 GMT"),
        ("x-amz-meta-Color", "blue"),
        ("x-amz-meta-tag", "a"),
        ("x-amz-meta-tag", "b"),
        ("x-amz-date", "20130524T000000Z"),
    ]);
    let o = object_headers(&h).unwrap();
    assert_eq!(o.content_type.as_deref(), Some("text/plain"));
    assert_eq!(o.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        o.content_disposition.as_deref(),
        Some("attachment; filename=\"a.txt\"")
    );
    assert_eq!(o.content_language.as_deref(), Some("mi, en"));
    assert_eq!(o.cache_control.as_deref(), Some("no-cache"));
    assert_eq!(o.expires.as_deref(), Some("Thu, 01 Dec 1994 16:00:00 GMT"));
    let user: Vec<(&str, &str)> = o
        .user
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(user, [("color", "blue"), ("tag", "a,b")]);
}

#[test]
fn aws_chunked_is_not_stored() {
    for (sent, want) in [
        ("aws-chunked", None),
        ("aws-chunked, gzip", Some("gzip")),
        ("gzip,aws-chunked", Some("gzip")),
        ("AWS-CHUNKED", None),
        ("gzip, br", Some("gzip,br")),
    ] {
        let o = object_headers(&headers(&[("content-encoding", sent)])).unwrap();
        assert_eq!(o.content_encoding.as_deref(), want, "{sent}");
    }
}

#[test]
fn metadata_limit_and_odd_bytes() {
    let big = "v".repeat(MAX_USER_METADATA);
    let h = headers(&[("x-amz-meta-k", &big)]);
    assert_eq!(code(object_headers(&h)), S3ErrorCode::MetadataTooLarge);
    let fits = "v".repeat(MAX_USER_METADATA - 1);
    assert!(object_headers(&headers(&[("x-amz-meta-k", &fits)])).is_ok());
    let mut h = HeaderMap::new();
    h.insert(
        "x-amz-meta-utf8",
        HeaderValue::from_bytes("grüße".as_bytes()).unwrap(),
    );
    h.insert(
        "x-amz-meta-latin1",
        HeaderValue::from_bytes(b"gr\xfc\xdfe").unwrap(),
    );
    let o = object_headers(&h).unwrap();
    assert_eq!(o.user[0], ("utf8".to_string(), "grüße".to_string()));
    assert_eq!(o.user[1].1, "gr\u{FFFD}\u{FFFD}e");
}

#[test]
fn conditions_for_get_and_copy() {
    let h = headers(&[
        ("if-match", "\"abc\""),
        ("if-none-match", "*"),
        ("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("if-unmodified-since", "not a date"),
        ("x-amz-copy-source-if-match", "\"def\""),
        (
            "x-amz-copy-source-if-modified-since",
            "Sunday, 06-Nov-94 08:49:37 GMT",
        ),
        (
            "x-amz-copy-source-if-unmodified-since",
            "Sun Nov  6 08:49:37 1994",
        ),
    ]);
    let c = conditions(&Http(&h), "");
    assert_eq!(c.if_match.as_deref(), Some("\"abc\""));
    assert_eq!(c.if_none_match.as_deref(), Some("*"));
    assert_eq!(c.if_modified_since, Some(784111777));
    assert_eq!(c.if_unmodified_since, None, "unparsable dates are ignored");
    let c = conditions(&Http(&h), "x-amz-copy-source-");
    assert_eq!(c.if_match.as_deref(), Some("\"def\""));
    assert_eq!(c.if_none_match, None);
    assert_eq!(c.if_modified_since, Some(784111777));
    assert_eq!(c.if_unmodified_since, Some(784111777));
}

#[test]
fn ranges() {
    let r = |v: &str| range(&Http(&headers(&[("range", v)])));
    assert_eq!(r("bytes=0-9"), Some(ByteRange::FromTo(0, 9)));
    assert_eq!(r("bytes=5-5"), Some(ByteRange::FromTo(5, 5)));
    assert_eq!(r("bytes=100-"), Some(ByteRange::From(100)));
    assert_eq!(r("bytes=-500"), Some(ByteRange::Suffix(500)));
    assert_eq!(r("bytes= 1 - 2 "), Some(ByteRange::FromTo(1, 2)));
    // Ignored, as S3 ignores them: the whole object is answered with 200.
    for bad in [
        "bytes=5-2",
        "bytes=0-1,4-5",
        "bytes=-",
        "bytes=a-b",
        "bytes=+1-2",
        "items=0-1",
        "bytes=0-99999999999999999999999",
        "invalid",
    ] {
        assert_eq!(r(bad), None, "{bad}");
    }
    assert_eq!(range(&Http(&HeaderMap::new())), None);
}

#[test]
fn copy_source_ranges() {
    let r = |v: &str| copy_source_range(&Http(&headers(&[("x-amz-copy-source-range", v)])));
    assert_eq!(r("bytes=0-9").unwrap(), Some((0, 9)));
    for bad in ["bytes=5-", "bytes=-5", "bytes=9-0", "0-9"] {
        assert_eq!(code(r(bad)), S3ErrorCode::InvalidArgument, "{bad}");
    }
    assert_eq!(copy_source_range(&Http(&HeaderMap::new())).unwrap(), None);
}

#[test]
fn copy_sources() {
    let ok = |v: &str| copy_source(v).unwrap();
    let pair = |b: &str, k: &str| (b.to_string(), k.to_string());
    assert_eq!(
        ok("awsexamplebucket/reports/january.pdf"),
        pair("awsexamplebucket", "reports/january.pdf")
    );
    assert_eq!(
        ok("/awsexamplebucket/reports/january.pdf"),
        pair("awsexamplebucket", "reports/january.pdf")
    );
    assert_eq!(ok("/b-1/a%20b%2Bc%3F.txt"), pair("b-1", "a b+c?.txt"));
    assert_eq!(ok("b-1/a+b"), pair("b-1", "a+b"));
    assert_eq!(ok("b-1/k?versionId=null"), pair("b-1", "k"));
    assert_eq!(ok("b-1/dir/"), pair("b-1", "dir/"));
    for bad in [
        "b-1",
        "/b-1/",
        "Bad_Bucket/k",
        "b-1/k?versionId=QUpfdndhfd8438MNFDN93jdnJFkdmqnh893",
        "b-1/k?acl",
        "b-1/%FF",
        "arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point/object/reports/january.pdf",
    ] {
        assert_eq!(
            code(copy_source(bad)),
            S3ErrorCode::InvalidArgument,
            "{bad}"
        );
    }
}

#[test]
fn get_object_request() {
    let q = query_pairs("response-content-type=text%2Fhtml&response-content-disposition=attachment%3B%20filename%3Dtesting.txt&x-id=GetObject");
    let h = headers(&[("range", "bytes=0-9"), ("if-none-match", "\"x\"")]);
    let g = get_object("b-1", "k", false, &Http(&h), &q).unwrap();
    assert_eq!(
        (g.bucket.as_str(), g.key.as_str(), g.head),
        ("b-1", "k", false)
    );
    assert_eq!(g.range, Some(ByteRange::FromTo(0, 9)));
    assert_eq!(g.conditions.if_none_match.as_deref(), Some("\"x\""));
    let o: Vec<(&str, &str)> = g
        .overrides
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        o,
        [
            ("content-type", "text/html"),
            ("content-disposition", "attachment; filename=testing.txt")
        ]
    );
    assert_eq!(g.part_number, None);

    let g = get_object(
        "b-1",
        "k",
        true,
        &Http(&HeaderMap::new()),
        &query_pairs("partNumber=3"),
    )
    .unwrap();
    assert_eq!((g.head, g.part_number), (true, Some(3)));
    for bad in ["partNumber=0", "partNumber=10001", "partNumber=x"] {
        let r = get_object(
            "b-1",
            "k",
            false,
            &Http(&HeaderMap::new()),
            &query_pairs(bad),
        );
        assert_eq!(code(r), S3ErrorCode::InvalidArgument, "{bad}");
    }
    let r = get_object("b-1", "k", false, &Http(&h), &query_pairs("partNumber=1"));
    assert_eq!(code(r), S3ErrorCode::InvalidRequest);
}

#[test]
fn path_components() {
    assert_eq!(percent_decode("a+b%2B", true).unwrap(), "a b+");
    assert_eq!(percent_decode("a+b", false).unwrap(), "a+b");
    assert_eq!(percent_decode("%", true).unwrap(), "%");
    assert_eq!(
        code(percent_decode("%C3%28", true)),
        S3ErrorCode::InvalidURI
    );
}
