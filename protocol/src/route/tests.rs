use super::*;
use crate::bucket_config::{BucketConfig, ConfigVerb};
use crate::S3ErrorCode;
use MultipartAction as M;
use Operation as O;

fn parse(method: &str, uri: &str, host: Option<&str>, copy: bool) -> Result<Routed, S3Error> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut h = HeaderMap::new();
    if let Some(host) = host {
        h.insert(http::header::HOST, host.parse().unwrap());
    }
    if copy {
        h.insert("x-amz-copy-source", "/src/key".parse().unwrap());
    }
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    route(&method, path, query, &h, Some("s3.local"))
}

/// Request examples from the S3 API reference, path style on bucket `examplebucket`;
/// each also runs virtual-hosted style and must route the same way.
#[test]
fn aws_doc_examples() {
    let ok: &[(&str, &str, Operation)] = &[
        ("DELETE", "/example-object?uploadId=VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZ", O::Multipart(M::AbortMultipartUpload)),
        ("DELETE", "/Key+?uploadId=UploadId", O::Multipart(M::AbortMultipartUpload)),
        ("POST", "/example-object?uploadId=AAAsb2FkIElEIGZvciBlbHZpbmcncyWeeS1tb3ZpZS5tMnRzIRRwbG9hZA", O::Multipart(M::CompleteMultipartUpload)),
        ("PUT", "/", O::CreateBucket),
        ("POST", "/example-object?uploads", O::Multipart(M::CreateMultipartUpload)),
        ("DELETE", "/", O::DeleteBucket),
        ("DELETE", "/my-second-image.jpg", O::DeleteObject),
        ("DELETE", "/my-third-image.jpg?versionId=null", O::DeleteObject),
        ("POST", "/?delete", O::DeleteObjects),
        ("GET", "/?location", O::GetBucketLocation),
        ("GET", "/my-image.jpg", O::GetObject),
        ("GET", "/Junk3.txt?response-cache-control=No-cache&response-content-disposition=attachment%3B%20filename%3Dtesting.txt&response-content-encoding=x-gzip&response-content-language=mi%2C%20en&response-expires=Thu%2C%2001%20Dec%201994%2016:00:00%20GMT", O::GetObject),
        ("GET", "/Key+?partNumber=1&response-content-type=ResponseContentType", O::GetObject),
        ("GET", "/my-image.jpg?x-id=GetObject", O::GetObject),
        ("GET", "/my-image.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", O::GetObject),
        ("HEAD", "/", O::HeadBucket),
        ("HEAD", "/my-image.jpg", O::HeadObject),
        ("HEAD", "/Key+?partNumber=3", O::HeadObject),
        ("GET", "/?uploads&max-uploads=3", O::Multipart(M::ListMultipartUploads)),
        ("GET", "/?uploads&delimiter=/&prefix=photos/2006/", O::Multipart(M::ListMultipartUploads)),
        ("GET", "/?uploads&delimiter=D&encoding-type=url&key-marker=KeyMarker&max-uploads=1&prefix=Prefix&upload-id-marker=UploadIdMarker", O::Multipart(M::ListMultipartUploads)),
        ("GET", "/", O::ListObjects { v2: false }),
        ("GET", "/?prefix=N&marker=Ned&max-keys=40", O::ListObjects { v2: false }),
        ("GET", "/?prefix=photos/2006/&delimiter=/", O::ListObjects { v2: false }),
        ("GET", "/?delimiter=D&encoding-type=url&marker=Marker&max-keys=1&prefix=Prefix", O::ListObjects { v2: false }),
        ("GET", "/?list-type=2", O::ListObjects { v2: true }),
        ("GET", "/?list-type=2&max-keys=3&prefix=E&start-after=ExampleGuide.pdf", O::ListObjects { v2: true }),
        ("GET", "/?list-type=2&continuation-token=1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", O::ListObjects { v2: true }),
        ("GET", "/?list-type=2&continuation-token=ContinuationToken&delimiter=D&encoding-type=url&fetch-owner=true&max-keys=1&prefix=Prefix&start-after=StartAfter", O::ListObjects { v2: true }),
        ("GET", "/example-object?uploadId=XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA&max-parts=2&part-number-marker=1", O::Multipart(M::ListParts)),
        ("PUT", "/my-image.jpg", O::PutObject),
        ("PUT", "/my-image.jpg?x-id=PutObject", O::PutObject),
        ("PUT", "/dir/", O::PutObject),
        ("PUT", "/my-movie.m2ts?partNumber=1&uploadId=VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR", O::Multipart(M::UploadPart)),
    ];
    for (method, uri, want) in ok {
        let path = format!("/examplebucket{uri}");
        let got = parse(method, &path, Some("s3.local:9000"), false);
        assert_eq!(got.map(|r| r.op), Ok(*want), "{method} {path}");
        let got = parse(method, uri, Some("examplebucket.s3.local:9000"), false);
        assert_eq!(got.map(|r| r.op), Ok(*want), "virtual host: {method} {uri}");
    }
}

/// Tagging, attributes and the versioning probes (S3 API reference examples).
#[test]
fn feature_examples() {
    use FeatureAction as F;
    let ok: &[(&str, &str, Operation)] = &[
        (
            "GET",
            "/example-object?tagging",
            O::Feature(F::GetObjectTagging),
        ),
        (
            "GET",
            "/example-object?tagging&versionId=null",
            O::Feature(F::GetObjectTagging),
        ),
        (
            "PUT",
            "/object-key?tagging",
            O::Feature(F::PutObjectTagging),
        ),
        (
            "DELETE",
            "/exampleobject?tagging",
            O::Feature(F::DeleteObjectTagging),
        ),
        (
            "GET",
            "/Key+?attributes",
            O::Feature(F::GetObjectAttributes),
        ),
        ("GET", "/?versioning", O::Feature(F::GetBucketVersioning)),
        ("GET", "/?versions", O::Feature(F::ListObjectVersions)),
        (
            "GET",
            "/?versions&key-marker=key2&version-id-marker=null&max-keys=2",
            O::Feature(F::ListObjectVersions),
        ),
        (
            "GET",
            "/?object-lock",
            O::BucketConfig(BucketConfig::ObjectLock, ConfigVerb::Get),
        ),
        (
            "GET",
            "/?policy",
            O::BucketConfig(BucketConfig::Policy, ConfigVerb::Get),
        ),
        (
            "PUT",
            "/?lifecycle",
            O::BucketConfig(BucketConfig::Lifecycle, ConfigVerb::Put),
        ),
        (
            "DELETE",
            "/?publicAccessBlock",
            O::BucketConfig(BucketConfig::PublicAccessBlock, ConfigVerb::Delete),
        ),
        (
            "GET",
            "/?requestPayment",
            O::BucketConfig(BucketConfig::RequestPayment, ConfigVerb::Get),
        ),
        (
            "GET",
            "/?acl",
            O::Acl {
                object: false,
                put: false,
            },
        ),
        (
            "PUT",
            "/?acl",
            O::Acl {
                object: false,
                put: true,
            },
        ),
        (
            "GET",
            "/my-image.jpg?versionId=null&acl",
            O::Acl {
                object: true,
                put: false,
            },
        ),
        (
            "PUT",
            "/my-image.jpg?acl",
            O::Acl {
                object: true,
                put: true,
            },
        ),
    ];
    for (method, uri, want) in ok {
        let path = format!("/examplebucket{uri}");
        let got = parse(method, &path, None, false).map(|r| r.op);
        assert_eq!(got, Ok(*want), "{method} {path}");
    }
    assert_eq!(
        O::Feature(F::ListObjectVersions).name(),
        "ListObjectVersions"
    );
}

#[test]
fn copy_source_header_selects_copies() {
    let got = parse("PUT", "/b-1/Key+", None, true).map(|r| r.op);
    assert_eq!(got, Ok(O::CopyObject));
    let got = parse(
        "PUT",
        "/b-1/Key+?partNumber=2&uploadId=UploadId",
        None,
        true,
    );
    assert_eq!(got.map(|r| r.op), Ok(O::Multipart(M::UploadPartCopy)));
}

#[test]
fn list_buckets_has_no_bucket() {
    let got = parse("GET", "/", Some("s3.local"), false).unwrap();
    assert_eq!((got.op, got.bucket, got.key), (O::ListBuckets, None, None));
    let got = parse("GET", "/?x-id=ListBuckets", None, false).unwrap();
    assert_eq!(got.op, O::ListBuckets);
    let paged = "/?bucket-region=us-east-1&continuation-token=YQ&max-buckets=2&prefix=a";
    assert_eq!(parse("GET", paged, None, false).unwrap().op, O::ListBuckets);
}

#[test]
fn cors_and_post_object_routes() {
    let ok: &[(&str, &str, Operation)] = &[
        ("GET", "/?cors", O::Cors(CorsAction::GetBucketCors)),
        ("PUT", "/?cors", O::Cors(CorsAction::PutBucketCors)),
        ("DELETE", "/?cors", O::Cors(CorsAction::DeleteBucketCors)),
        ("OPTIONS", "/", O::Cors(CorsAction::Preflight)),
        ("OPTIONS", "/key", O::Cors(CorsAction::Preflight)),
        (
            "OPTIONS",
            "/key?X-Amz-Signature=abc",
            O::Cors(CorsAction::Preflight),
        ),
        ("POST", "/", O::PostObject),
    ];
    for (method, uri, want) in ok {
        let path = format!("/examplebucket{uri}");
        let got = parse(method, &path, None, false).map(|r| r.op);
        assert_eq!(got, Ok(*want), "{method} {path}");
    }
    // STS (boto3's `sts` client at the gateway's endpoint): POST / without a bucket.
    assert_eq!(
        parse("POST", "/", None, false).map(|r| r.op),
        Ok(O::AssumeRoleWithWebIdentity)
    );
    for (method, uri) in [("GET", "/b/key?cors"), ("OPTIONS", "/"), ("POST", "/?cors")] {
        let got = parse(method, uri, None, false).map(|r| r.op);
        assert!(got.is_err(), "{method} {uri}");
    }
}

/// The unsupported examples of the same reference: none may become another operation.
#[test]
fn unsupported_sub_resources_are_not_implemented() {
    let cases = [
        ("DELETE", "/?analytics&id=list1"),
        ("POST", "/?tagging"),
        ("GET", "/?intelligent-tiering&id=Id"),
        ("GET", "/?inventory&id=list1"),
        ("GET", "/?metrics&id=Documents"),
        ("GET", "/?policyStatus"),
        ("GET", "/Key+?legal-hold"),
        ("GET", "/Key+?retention"),
        ("GET", "/quotes/Nelson?torrent"),
        ("PUT", "/?versioning"),
        ("POST", "/key?tagging"),
        ("GET", "/key?tagging&attributes"),
        ("PUT", "/key?attributes"),
        ("GET", "/key?versions"),
        ("POST", "/object-one.csv?restore"),
        ("POST", "/Key+?select&select-type=2"),
        ("PUT", "/?location"),
        ("GET", "/key?delete"),
        ("POST", "/key?uploads&uploadId=x"),
        ("PATCH", "/key"),
        ("HEAD", "/key?uploadId=x"),
        // Bucket configurations are bucket sub-resources, one at a time, GET/PUT/DELETE.
        ("GET", "/key?policy"),
        ("GET", "/?policy&lifecycle"),
        ("POST", "/?policy"),
        ("DELETE", "/?acl"),
        ("GET", "/?acl&policy"),
        ("HEAD", "/?encryption"),
        // A multi-byte name must not be sliced mid-character.
        ("GET", "/key?x-amz%C3%A9"),
    ];
    for (method, uri) in cases {
        let path = format!("/examplebucket{uri}");
        let got = parse(method, &path, None, false).map(|r| r.op);
        assert_eq!(
            got.map_err(|e| e.code),
            Err(S3ErrorCode::NotImplemented),
            "{method} {path}"
        );
    }
    let got = parse("GET", "/", None, false).map(|r| r.op);
    assert_eq!(got, Ok(O::ListBuckets));
    for (method, action) in [
        ("GET", FeatureAction::GetBucketTagging),
        ("PUT", FeatureAction::PutBucketTagging),
        ("DELETE", FeatureAction::DeleteBucketTagging),
    ] {
        let got = parse(method, "/examplebucket?tagging", None, false).map(|r| r.op);
        assert_eq!(got, Ok(O::Feature(action)), "{method} ?tagging");
    }
    let got = parse("GET", "/?acl", None, false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::NotImplemented));
}

#[test]
fn keys_are_percent_decoded() {
    let got = parse(
        "GET",
        "/my-bucket/%26%2B%3F%25%C3%A9/something",
        None,
        false,
    );
    assert_eq!(got.unwrap().key.as_deref(), Some("&+?%é/something"));
    // S3 reads a raw `+` in the path as a space.
    let got = parse("GET", "/my-bucket/a+b%20c", None, false);
    assert_eq!(got.unwrap().key.as_deref(), Some("a b c"));
    let got = parse("GET", "/my-bucket/dir/", None, false).unwrap();
    assert_eq!(got.key.as_deref(), Some("dir/"));
    let got = parse("GET", "/my-bucket//lead", None, false).unwrap();
    assert_eq!(got.key.as_deref(), Some("/lead"));
    let got = parse("GET", "/my-bucket/%FF", None, false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::InvalidURI));
    let got = parse("GET", "my-bucket/key", None, false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::InvalidURI));
}

#[test]
fn bucket_level_paths() {
    for p in ["/my-bucket", "/my-bucket/"] {
        let got = parse("GET", p, None, false).unwrap();
        assert_eq!(
            (got.bucket.as_deref(), got.key),
            (Some("my-bucket"), None),
            "{p}"
        );
    }
    let got = parse("GET", "/", Some("My-Bucket.S3.Local"), false).unwrap();
    assert_eq!(got.bucket.as_deref(), Some("my-bucket"));
}

#[test]
fn host_decides_the_style() {
    // Host equal to the domain, an IP or another name: path style.
    for host in [
        "s3.local",
        "s3.local:9000",
        "127.0.0.1:9000",
        "[::1]:9000",
        "example.com",
    ] {
        let got = parse("GET", "/my-bucket/k", Some(host), false).unwrap();
        assert_eq!(got.bucket.as_deref(), Some("my-bucket"), "{host}");
        assert_eq!(got.key.as_deref(), Some("k"), "{host}");
    }
    let got = parse("GET", "/my-bucket/k", Some("data.s3.local"), false).unwrap();
    assert_eq!(got.bucket.as_deref(), Some("data"));
    assert_eq!(got.key.as_deref(), Some("my-bucket/k"));
    let got = parse("GET", "/k", Some("my.dotted.bucket.s3.local"), false).unwrap();
    assert_eq!(got.bucket.as_deref(), Some("my.dotted.bucket"));
    // Without a domain every request is path style.
    let mut h = HeaderMap::new();
    h.insert(http::header::HOST, "data.s3.local".parse().unwrap());
    let got = route(&Method::GET, "/b-1/k", "", &h, None).unwrap();
    assert_eq!(got.bucket.as_deref(), Some("b-1"));
}

#[test]
fn names_are_validated() {
    let got = parse("GET", "/Bad_Bucket/k", None, false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::InvalidBucketName));
    let got = parse("GET", "/", Some("ab.s3.local"), false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::InvalidBucketName));
    let long = format!("/my-bucket/{}", "k".repeat(1025));
    let got = parse("PUT", &long, None, false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::KeyTooLongError));
}

#[test]
fn version_ids_and_list_types() {
    let got = parse(
        "GET",
        "/b-1/k?versionId=3HL4kqCxf3vjVBH40Nrjfkd",
        None,
        false,
    );
    assert_eq!(got.map_err(|e| e.code), Err(S3ErrorCode::InvalidArgument));
    let got = parse("GET", "/b-1?list-type=1", None, false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::InvalidArgument));
    let got = parse("PUT", "/b-1/k?uploadId=x", None, false).map_err(|e| e.code);
    assert_eq!(got, Err(S3ErrorCode::InvalidArgument));
}

#[test]
fn operation_names() {
    assert_eq!(O::ListObjects { v2: true }.name(), "ListObjectsV2");
    assert_eq!(O::Multipart(M::UploadPartCopy).name(), "UploadPartCopy");
    let r = Routed {
        op: O::GetObject,
        bucket: Some("b".into()),
        key: Some("k/x".into()),
        source: None,
        prefix: None,
    };
    assert_eq!(r.resource(), "/b/k/x");
}
