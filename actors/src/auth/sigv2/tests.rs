//! SigV2 golden vectors (AWS documentation examples, botocore output) and rejections.

use std::time::Duration;

use jetgate_protocol::error::{S3Error, S3ErrorCode};
use jetgate_protocol::messages::SignedRequest;
use time::OffsetDateTime;

use super::*;

/// The AWS documentation's example credentials.
const DOC_AK: &str = "AKIAIOSFODNN7EXAMPLE";
const DOC_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// Credentials the botocore fixtures below were produced with.
const BOTO_AK: &str = "JETGATEV2TESTKEY";
const BOTO_SECRET: &str = "jetgate/v2+test/secret0123456789abcdefXY";
const SKEW: Duration = Duration::from_secs(15 * 60);

fn request(method: &str, path: &str, query: &str, headers: &[(&str, &str)]) -> SignedRequest {
    SignedRequest {
        virtual_host_bucket: None,
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    }
}

fn at(date: &str) -> OffsetDateTime {
    parse_request_time(date).expect("test date parses")
}

fn unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).expect("valid timestamp")
}

fn code<T: std::fmt::Debug>(result: Result<T, S3Error>) -> S3ErrorCode {
    result.expect_err("must be rejected").code
}

/// Parses and verifies a request the way the auth role will.
fn check(
    req: &SignedRequest,
    secret: &str,
    now: OffsetDateTime,
    bucket: Option<&str>,
) -> Result<ParsedV2, S3Error> {
    assert!(is_sigv2(req), "is_sigv2 must recognise {req:?}");
    let parsed = parse(req)?;
    verify_for(req, &parsed, secret, now, SKEW, bucket)?;
    Ok(parsed)
}

fn with_header(mut req: SignedRequest, name: &str, value: &str) -> SignedRequest {
    req.headers.retain(|(n, _)| n != name);
    req.headers.push((name.to_string(), value.to_string()));
    req
}

// --- AWS documentation examples ("Signing and authenticating REST requests") ---------

fn doc_object_get() -> SignedRequest {
    request(
        "GET",
        "/photos/puppy.jpg",
        "",
        &[
            ("host", "johnsmith.s3.amazonaws.com"),
            ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
            ),
        ],
    )
}

#[test]
fn aws_doc_object_get_virtual_host() {
    let req = doc_object_get();
    let now = at("Tue, 27 Mar 2007 19:36:42 +0000");
    assert_eq!(
        string_to_sign_for(&req, &V2Kind::Header, Some("johnsmith")).expect("sts"),
        "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"
    );
    let parsed = check(&req, DOC_SECRET, now, Some("johnsmith")).expect("verifies");
    assert_eq!(
        parsed,
        ParsedV2 {
            access_key: DOC_AK.to_string(),
            signature: "bWq2s1WEIj+Ydj0vQ697zp+IXMU=".to_string(),
            kind: V2Kind::Header,
        }
    );
    // Without the bucket the resource is `/photos/puppy.jpg`: a different signature.
    assert_eq!(
        code(check(&req, DOC_SECRET, now, None)),
        S3ErrorCode::SignatureDoesNotMatch
    );
    // The same request path style verifies with plain `verify`.
    let path_style = SignedRequest {
        path: "/johnsmith/photos/puppy.jpg".to_string(),
        ..req
    };
    let parsed = parse(&path_style).expect("parses");
    verify(&path_style, &parsed, DOC_SECRET, now, SKEW).expect("verifies path style");
}

#[test]
fn aws_doc_object_put() {
    let req = request(
        "PUT",
        "/photos/puppy.jpg",
        "",
        &[
            ("content-type", "image/jpeg"),
            ("content-length", "94328"),
            ("host", "johnsmith.s3.amazonaws.com"),
            ("date", "Tue, 27 Mar 2007 21:15:45 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg=",
            ),
        ],
    );
    assert_eq!(
        string_to_sign_for(&req, &V2Kind::Header, Some("johnsmith")).expect("sts"),
        "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg"
    );
    check(
        &req,
        DOC_SECRET,
        at("Tue, 27 Mar 2007 21:20:00 +0000"),
        Some("johnsmith"),
    )
    .expect("verifies");
}

#[test]
fn aws_doc_list_ignores_non_subresource_params() {
    let req = request(
        "GET",
        "/",
        "prefix=photos&max-keys=50&marker=puppy",
        &[
            ("user-agent", "Mozilla/5.0"),
            ("host", "johnsmith.s3.amazonaws.com"),
            ("date", "Tue, 27 Mar 2007 19:42:41 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:htDYFYduRNen8P9ZfE/s9SuKy0U=",
            ),
        ],
    );
    assert_eq!(
        string_to_sign_for(&req, &V2Kind::Header, Some("johnsmith")).expect("sts"),
        "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/"
    );
    check(
        &req,
        DOC_SECRET,
        at("Tue, 27 Mar 2007 19:42:41 +0000"),
        Some("johnsmith"),
    )
    .expect("verifies");
}

#[test]
fn aws_doc_fetch_acl() {
    let req = request(
        "GET",
        "/",
        "acl",
        &[
            ("host", "johnsmith.s3.amazonaws.com"),
            ("date", "Tue, 27 Mar 2007 19:44:46 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:c2WLPFtWHVgbEmeEG93a4cG37dM=",
            ),
        ],
    );
    assert_eq!(
        string_to_sign_for(&req, &V2Kind::Header, Some("johnsmith")).expect("sts"),
        "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl"
    );
    check(
        &req,
        DOC_SECRET,
        at("Tue, 27 Mar 2007 19:44:46 +0000"),
        Some("johnsmith"),
    )
    .expect("verifies");
}

/// The documentation's DELETE example puts the `x-amz-date` value on the Date line and
/// does not repeat it as an amz header (contrary to its own rule); accepted too.
#[test]
fn aws_doc_delete_with_x_amz_date() {
    let req = request(
        "DELETE",
        "/johnsmith/photos/puppy.jpg",
        "",
        &[
            ("user-agent", "dotnet"),
            ("host", "s3.amazonaws.com"),
            ("date", "Tue, 27 Mar 2007 21:20:27 +0000"),
            ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:lx3byBScXR6KzyMaifNkardMwNk=",
            ),
        ],
    );
    // The documented rule: empty Date line, x-amz-date among the amz headers.
    assert_eq!(
        string_to_sign(&req, &V2Kind::Header).expect("sts"),
        "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg"
    );
    check(
        &req,
        DOC_SECRET,
        at("Tue, 27 Mar 2007 21:20:26 +0000"),
        None,
    )
    .expect("verifies");
}

#[test]
fn aws_doc_upload_with_amz_headers() {
    let req = request(
        "PUT",
        "/db-backup.dat.gz",
        "",
        &[
            ("user-agent", "curl/7.15.5"),
            ("host", "static.johnsmith.net:8080"),
            ("date", "Tue, 27 Mar 2007 21:06:08 +0000"),
            ("x-amz-acl", "public-read"),
            ("content-type", "application/x-download"),
            ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
            ("x-amz-meta-reviewedby", "joe@johnsmith.net"),
            ("x-amz-meta-reviewedby", "jane@johnsmith.net"),
            ("x-amz-meta-filechecksum", "0x02661779"),
            ("x-amz-meta-checksumalgorithm", "crc32"),
            ("content-disposition", "attachment; filename=database.dat"),
            ("content-encoding", "gzip"),
            ("content-length", "5913339"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:ilyl83RwaSoYIEdixDQcA4OnAnc=",
            ),
        ],
    );
    assert_eq!(
        string_to_sign_for(&req, &V2Kind::Header, Some("static.johnsmith.net")).expect("sts"),
        "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n\
         x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n\
         x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz"
    );
    let now = at("Tue, 27 Mar 2007 21:06:08 +0000");
    check(&req, DOC_SECRET, now, Some("static.johnsmith.net")).expect("verifies");
    // Reordering the repeated header changes the signed value.
    let mut swapped = req.clone();
    swapped.headers.swap(6, 7);
    assert_eq!(
        code(check(
            &swapped,
            DOC_SECRET,
            now,
            Some("static.johnsmith.net")
        )),
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn aws_doc_list_all_buckets() {
    let req = request(
        "GET",
        "/",
        "",
        &[
            ("host", "s3.amazonaws.com"),
            ("date", "Wed, 28 Mar 2007 01:29:59 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:qGdzdERIC03wnaRNKh6OqZehG9s=",
            ),
        ],
    );
    check(
        &req,
        DOC_SECRET,
        at("Wed, 28 Mar 2007 01:29:59 +0000"),
        None,
    )
    .expect("verifies");
}

/// The resource is the path as sent, escapes and their case included.
#[test]
fn aws_doc_unicode_keys_signed_as_sent() {
    let req = request(
        "GET",
        "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
        "",
        &[
            ("host", "s3.amazonaws.com"),
            ("date", "Wed, 28 Mar 2007 01:49:49 +0000"),
            (
                "authorization",
                "AWS AKIAIOSFODNN7EXAMPLE:DNEZGsoieTZ92F3bUfSPQcbGmlM=",
            ),
        ],
    );
    assert_eq!(
        string_to_sign(&req, &V2Kind::Header).expect("sts"),
        "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re"
    );
    check(
        &req,
        DOC_SECRET,
        at("Wed, 28 Mar 2007 01:49:49 +0000"),
        None,
    )
    .expect("verifies");
}

fn doc_query(signature: &str) -> SignedRequest {
    request(
        "GET",
        "/photos/puppy.jpg",
        &format!("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature={signature}"),
        &[("host", "johnsmith.s3.amazonaws.com")],
    )
}

#[test]
fn aws_doc_query_string_auth() {
    let req = doc_query("NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D");
    let kind = V2Kind::Query {
        expires: 1_175_139_620,
    };
    assert_eq!(
        string_to_sign_for(&req, &kind, Some("johnsmith")).expect("sts"),
        "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg"
    );
    let parsed = check(&req, DOC_SECRET, unix(1_175_139_000), Some("johnsmith")).expect("ok");
    assert_eq!(
        parsed,
        ParsedV2 {
            access_key: DOC_AK.to_string(),
            signature: "NpgCjnDzrM+WFzoENXmpNDUsSn8=".to_string(),
            kind,
        }
    );
    // Valid up to and including the Expires second.
    check(&req, DOC_SECRET, unix(1_175_139_620), Some("johnsmith")).expect("last second");
    let err = check(&req, DOC_SECRET, unix(1_175_139_621), Some("johnsmith")).expect_err("expired");
    assert_eq!(err.code, S3ErrorCode::AccessDenied);
    assert_eq!(err.message, "Request has expired");
}

/// A signature whose `+` was not percent-encoded, whose `+` became a space, or whose
/// padding was dropped, is the same signature.
#[test]
fn query_signature_encodings() {
    let now = unix(1_175_139_000);
    for sig in [
        "NpgCjnDzrM+WFzoENXmpNDUsSn8=",
        "NpgCjnDzrM%2bWFzoENXmpNDUsSn8%3d",
        "NpgCjnDzrM%20WFzoENXmpNDUsSn8%3D",
        "NpgCjnDzrM%2BWFzoENXmpNDUsSn8",
    ] {
        check(&doc_query(sig), DOC_SECRET, now, Some("johnsmith"))
            .unwrap_or_else(|e| panic!("{sig}: {e}"));
    }
}

// --- botocore 1.43 output (HmacV1QueryAuth / HmacV1Auth), recorded once ---------------
//
// Produced with:
//   s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000",
//       aws_access_key_id=BOTO_AK, aws_secret_access_key=BOTO_SECRET,
//       region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
//   s3.generate_presigned_url(..., ExpiresIn=2_000_000_000)
// so they stay valid until 2090 and are checked against the real clock.

/// `get_object(Bucket="photos", Key="dir/puppy dog+ü.jpg")`
const BOTO_GET: &str = "http://127.0.0.1:9000/photos/dir/puppy%20dog%2B%C3%BC.jpg?AWSAccessKeyId=JETGATEV2TESTKEY&Signature=fhlQfSwtqhYnErb7WExLso9oI8U%3D&Expires=3795356457";
/// `get_object(.., Key="a.txt", ResponseContentType=.., ResponseContentDisposition=..)`
const BOTO_GET_RESPONSE_OVERRIDES: &str = "http://127.0.0.1:9000/photos/a.txt?response-content-type=text%2Fplain%3B%20charset%3Dutf-8&response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22&AWSAccessKeyId=JETGATEV2TESTKEY&Signature=r%2BHnI3T7EUJeoP5r9qRRrTlgZG8%3D&Expires=3795356457";
/// `put_object(.., Key="up.bin", ContentType="application/octet-stream", Metadata={"Owner": "me"})`
const BOTO_PUT: &str = "http://127.0.0.1:9000/photos/up.bin?AWSAccessKeyId=JETGATEV2TESTKEY&Signature=4Js29qqvvlsnTkpKfftl%2F3119Eg%3D&content-type=application%2Foctet-stream&x-amz-meta-owner=me&Expires=3795356457";
/// `get_object(.., Key="v.txt", VersionId="3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")`
const BOTO_GET_VERSION: &str = "http://127.0.0.1:9000/photos/v.txt?versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY&AWSAccessKeyId=JETGATEV2TESTKEY&Signature=n23vrxD9HVHysC3AmEMQ%2BfcMWe0%3D&Expires=3795356457";
/// Virtual-hosted client (`addressing_style="virtual"`, endpoint `http://s3.local.test:9000`):
/// `get_object(Bucket="photos", Key="x.jpg")`
const BOTO_GET_VIRTUAL: &str = "http://photos.s3.local.test:9000/x.jpg?AWSAccessKeyId=JETGATEV2TESTKEY&Signature=%2FKwTwRssQ%2FnCdUnIbhKSPRCQmic%3D&Expires=3795356457";
const BOTO_EXPIRES: i64 = 3_795_356_457;

/// A GET of a presigned URL, as the edge would hand it over.
fn from_url(method: &str, url: &str, headers: &[(&str, &str)]) -> SignedRequest {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, path_query) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut req = request(method, path, query, headers);
    req.headers.push(("host".to_string(), host.to_string()));
    req
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[test]
fn botocore_presigned_urls_verify() {
    for (method, url, bucket) in [
        ("GET", BOTO_GET, None),
        ("GET", BOTO_GET_RESPONSE_OVERRIDES, None),
        ("PUT", BOTO_PUT, None),
        ("GET", BOTO_GET_VERSION, None),
        ("GET", BOTO_GET_VIRTUAL, Some("photos")),
    ] {
        let req = from_url(method, url, &[]);
        let parsed =
            check(&req, BOTO_SECRET, now(), bucket).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(parsed.access_key, BOTO_AK);
        assert_eq!(
            parsed.kind,
            V2Kind::Query {
                expires: BOTO_EXPIRES
            }
        );
        // After expiry it is refused before the signature is looked at.
        let err = check(&req, BOTO_SECRET, unix(BOTO_EXPIRES + 1), bucket).expect_err("expired");
        assert_eq!(
            (err.code, err.message.as_str()),
            (S3ErrorCode::AccessDenied, "Request has expired")
        );
    }
}

#[test]
fn botocore_presigned_string_to_sign() {
    let kind = V2Kind::Query {
        expires: BOTO_EXPIRES,
    };
    let sts = |method, url| string_to_sign(&from_url(method, url, &[]), &kind).expect("sts");
    assert_eq!(
        sts("GET", BOTO_GET),
        "GET\n\n\n3795356457\n/photos/dir/puppy%20dog%2B%C3%BC.jpg"
    );
    assert_eq!(
        sts("GET", BOTO_GET_RESPONSE_OVERRIDES),
        "GET\n\n\n3795356457\n/photos/a.txt?response-content-disposition=attachment; filename=\"a b.txt\"&response-content-type=text/plain; charset=utf-8"
    );
    assert_eq!(
        sts("PUT", BOTO_PUT),
        "PUT\n\napplication/octet-stream\n3795356457\nx-amz-meta-owner:me\n/photos/up.bin"
    );
    assert_eq!(
        sts("GET", BOTO_GET_VERSION),
        "GET\n\n\n3795356457\n/photos/v.txt?versionId=3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    );
}

/// botocore moves Content-Type and `x-amz-*` into the presigned query. Sending them
/// again as equal headers is fine; a header that differs from the signed value is not.
#[test]
fn botocore_presigned_put_headers() {
    let same = from_url(
        "PUT",
        BOTO_PUT,
        &[
            ("content-type", "application/octet-stream"),
            ("x-amz-meta-owner", "me"),
        ],
    );
    check(&same, BOTO_SECRET, now(), None).expect("equal headers verify");
    for (name, value) in [
        ("x-amz-meta-owner", "mallory"),
        ("content-type", "text/html"),
        ("x-amz-acl", "public-read"),
    ] {
        let req = from_url("PUT", BOTO_PUT, &[(name, value)]);
        assert_eq!(
            code(check(&req, BOTO_SECRET, now(), None)),
            S3ErrorCode::SignatureDoesNotMatch,
            "{name}: {value}"
        );
    }
}

/// `HmacV1Auth` (header auth) for an UploadPart with sub-resources, a percent-encoded
/// key, Content-MD5, Content-Type and `x-amz-*` headers.
fn botocore_header_request() -> SignedRequest {
    request(
        "PUT",
        "/photos/dir/a%20b%2Bc.bin",
        "partNumber=2&uploadId=abc%2Fdef",
        &[
            ("host", "127.0.0.1:9000"),
            ("content-type", "application/octet-stream"),
            ("content-md5", "XUFAKrxLKna5cZ2REBfFkg=="),
            ("x-amz-meta-color", " blue "),
            ("x-amz-storage-class", "STANDARD"),
            ("user-agent", "x"),
            ("date", "Sun, 22 Nov 2026 14:07:42 GMT"),
            (
                "authorization",
                "AWS JETGATEV2TESTKEY:zoHPB/lhUPhNbd/qmrgluopo5UM=",
            ),
        ],
    )
}

#[test]
fn botocore_header_auth() {
    let req = botocore_header_request();
    let signed_at = at("Sun, 22 Nov 2026 14:07:42 GMT");
    assert_eq!(
        string_to_sign(&req, &V2Kind::Header).expect("sts"),
        "PUT\nXUFAKrxLKna5cZ2REBfFkg==\napplication/octet-stream\nSun, 22 Nov 2026 14:07:42 GMT\n\
         x-amz-meta-color:blue\nx-amz-storage-class:STANDARD\n/photos/dir/a%20b%2Bc.bin?partNumber=2&uploadId=abc/def"
    );
    check(&req, BOTO_SECRET, signed_at, None).expect("verifies");
    check(
        &req,
        BOTO_SECRET,
        signed_at + time::Duration::minutes(14),
        None,
    )
    .expect("within skew");
    for now in [
        signed_at + time::Duration::minutes(16),
        signed_at - time::Duration::minutes(16),
    ] {
        assert_eq!(
            code(check(&req, BOTO_SECRET, now, None)),
            S3ErrorCode::RequestTimeTooSkewed
        );
    }
}

/// s3cmd signs with `x-amz-date` in RFC 2822 form (`+0000`) and no Date header: empty
/// Date line, `x-amz-date` among the amz headers. (Signature computed independently
/// with Python's hmac.)
#[test]
fn s3cmd_style_x_amz_date() {
    let req = request(
        "PUT",
        "/photos/notes.txt",
        "tagging",
        &[
            ("host", "127.0.0.1:9000"),
            ("content-type", "text/plain"),
            ("x-amz-date", "Sun, 22 Nov 2026 14:00:00 +0000"),
            ("x-amz-meta-s3cmd-attrs", "uid:0/gid:0"),
            (
                "authorization",
                "AWS JETGATEV2TESTKEY:44rib+s0pjo7Lx05+utTZxii0d4=",
            ),
        ],
    );
    let signed_at = at("Sun, 22 Nov 2026 14:00:00 GMT");
    check(&req, BOTO_SECRET, signed_at, None).expect("verifies");
    // The clock check uses x-amz-date.
    assert_eq!(
        code(check(
            &req,
            BOTO_SECRET,
            signed_at + time::Duration::hours(1),
            None
        )),
        S3ErrorCode::RequestTimeTooSkewed
    );
}

/// `?uploads=` is signed as `uploads=` by botocore and as `uploads` by others.
#[test]
fn empty_subresource_value_both_forms() {
    let base = request(
        "POST",
        "/photos/big.bin",
        "uploads=",
        &[("date", "Sun, 22 Nov 2026 14:00:00 GMT")],
    );
    let now = at("Sun, 22 Nov 2026 14:00:00 GMT");
    let eq_form = with_header(
        base.clone(),
        "authorization",
        "AWS JETGATEV2TESTKEY:R7m8q4G+Aqml2QqvB9n/ik5qaaU=",
    );
    check(&eq_form, BOTO_SECRET, now, None).expect("uploads= form");
    let bare_sig = sign(
        BOTO_SECRET,
        "POST\n\n\nSun, 22 Nov 2026 14:00:00 GMT\n/photos/big.bin?uploads",
    );
    let bare_form = with_header(
        base,
        "authorization",
        &format!("AWS JETGATEV2TESTKEY:{bare_sig}"),
    );
    check(&bare_form, BOTO_SECRET, now, None).expect("bare uploads form");
}

/// A client whose HTTP library re-encodes the path after signing (`!` sent as `%21`)
/// still verifies against the S3 normalised path.
#[test]
fn normalised_path_fallback() {
    let date = "Sun, 22 Nov 2026 14:00:00 GMT";
    let sig = sign(BOTO_SECRET, &format!("GET\n\n\n{date}\n/photos/a%21b"));
    let req = request(
        "GET",
        "/photos/a!b",
        "",
        &[
            ("date", date),
            ("authorization", &format!("AWS {BOTO_AK}:{sig}")),
        ],
    );
    check(&req, BOTO_SECRET, at(date), None).expect("verifies");
}

// --- rejections --------------------------------------------------------------------

#[test]
fn tampered_requests_do_not_match() {
    let now = at("Sun, 22 Nov 2026 14:07:42 GMT");
    let good = botocore_header_request();
    let mut cases: Vec<(&str, SignedRequest)> = vec![
        (
            "signature",
            with_header(
                good.clone(),
                "authorization",
                "AWS JETGATEV2TESTKEY:zoHPB/lhUPhNbd/qmrgluopo5UN=",
            ),
        ),
        (
            "not base64",
            with_header(good.clone(), "authorization", "AWS JETGATEV2TESTKEY:!!!!"),
        ),
        (
            "content-md5",
            with_header(good.clone(), "content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
        ),
        (
            "amz header added",
            with_header(good.clone(), "x-amz-acl", "public-read"),
        ),
        (
            "amz header changed",
            with_header(good.clone(), "x-amz-storage-class", "GLACIER"),
        ),
        (
            "date",
            with_header(good.clone(), "date", "Sun, 22 Nov 2026 14:07:43 GMT"),
        ),
    ];
    let mut method = good.clone();
    method.method = "POST".to_string();
    cases.push(("method", method));
    let mut path = good.clone();
    path.path = "/photos/dir/a%20b%2Bd.bin".to_string();
    cases.push(("path", path));
    let mut part = good.clone();
    part.query = "partNumber=3&uploadId=abc%2Fdef".to_string();
    cases.push(("sub-resource value", part));
    let mut added = good.clone();
    added.query.push_str("&acl");
    cases.push(("sub-resource added", added));
    for (what, req) in cases {
        assert_eq!(
            code(check(&req, BOTO_SECRET, now, None)),
            S3ErrorCode::SignatureDoesNotMatch,
            "{what}"
        );
    }
    assert_eq!(
        code(check(&good, "wrong-secret", now, None)),
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn tampered_presigned_urls_do_not_match() {
    let cases = [
        BOTO_GET.replace("fhlQ", "fhlR"),
        BOTO_GET.replace("puppy", "kitty"),
        BOTO_GET.replace("Expires=3795356457", "Expires=3795356458"),
        BOTO_GET_VERSION.replace("versionId=3", "versionId=4"),
        format!("{BOTO_GET}&uploadId=1"),
        format!("{BOTO_GET}&x-amz-acl=public-read"),
    ];
    for url in &cases {
        assert_eq!(
            code(check(&from_url("GET", url, &[]), BOTO_SECRET, now(), None)),
            S3ErrorCode::SignatureDoesNotMatch,
            "{url}"
        );
    }
    // A presigned GET is not a DELETE.
    assert_eq!(
        code(check(
            &from_url("DELETE", BOTO_GET, &[]),
            BOTO_SECRET,
            now(),
            None
        )),
        S3ErrorCode::SignatureDoesNotMatch
    );
    // Virtual-hosted URL checked as path style (bucket missing) does not match.
    assert_eq!(
        code(check(
            &from_url("GET", BOTO_GET_VIRTUAL, &[]),
            BOTO_SECRET,
            now(),
            None
        )),
        S3ErrorCode::SignatureDoesNotMatch
    );
}

/// SigV2 signs only the listed sub-resources: other query parameters can be added to
/// a signed request (documented SigV2 behaviour, worth knowing).
#[test]
fn non_subresource_params_are_not_signed() {
    let req = from_url("GET", &format!("{BOTO_GET}&foo=bar&max-keys=1"), &[]);
    check(&req, BOTO_SECRET, now(), None).expect("verifies");
}

#[test]
fn malformed_authorization_header() {
    for value in [
        "AWS AKIAIOSFODNN7EXAMPLE",
        "AWS :bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
        "AWS AKIAIOSFODNN7EXAMPLE:",
        "AWS AKIA IOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
        "AWS ",
    ] {
        let req = with_header(doc_object_get(), "authorization", value);
        assert_eq!(code(parse(&req)), S3ErrorCode::InvalidArgument, "{value:?}");
    }
    let req = with_header(doc_object_get(), "authorization", "Bearer x");
    assert!(!is_sigv2(&req));
    assert_eq!(code(parse(&req)), S3ErrorCode::InvalidArgument);
}

#[test]
fn malformed_query_auth() {
    let expect = |query: &str, want: S3ErrorCode| {
        let req = request("GET", "/photos/puppy.jpg", query, &[]);
        assert_eq!(code(parse(&req)), want, "{query}");
    };
    let sig = "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D";
    let ak = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE";
    expect(&format!("{ak}&{sig}"), S3ErrorCode::AccessDenied);
    expect(
        &format!("{ak}&Expires=1175139620"),
        S3ErrorCode::AccessDenied,
    );
    expect(
        &format!("{sig}&Expires=1175139620"),
        S3ErrorCode::AccessDenied,
    );
    expect(
        &format!("AWSAccessKeyId=&{sig}&Expires=1175139620"),
        S3ErrorCode::AccessDenied,
    );
    expect(
        &format!("{ak}&Signature=&Expires=1175139620"),
        S3ErrorCode::AccessDenied,
    );
    for expires in [
        "",
        "soon",
        "-1",
        "%2B1175139620",
        "1e9",
        "99999999999999999999",
    ] {
        expect(
            &format!("{ak}&{sig}&Expires={expires}"),
            S3ErrorCode::AccessDenied,
        );
    }
    expect(
        &format!("{ak}&{sig}&{sig}&Expires=1175139620"),
        S3ErrorCode::InvalidArgument,
    );
    expect("", S3ErrorCode::AccessDenied);
    // Header and query auth together.
    let both = with_header(
        doc_query("NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"),
        "authorization",
        "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
    );
    assert_eq!(code(parse(&both)), S3ErrorCode::InvalidArgument);
}

#[test]
fn header_auth_needs_a_valid_date() {
    let now = at("Tue, 27 Mar 2007 19:36:42 +0000");
    let mut no_date = doc_object_get();
    no_date.headers.retain(|(n, _)| n != "date");
    assert_eq!(
        code(string_to_sign(&no_date, &V2Kind::Header)),
        S3ErrorCode::AccessDenied
    );
    assert_eq!(
        code(check(&no_date, DOC_SECRET, now, Some("johnsmith"))),
        S3ErrorCode::AccessDenied
    );
    let bad_date = with_header(doc_object_get(), "date", "yesterday");
    assert_eq!(
        code(check(&bad_date, DOC_SECRET, now, Some("johnsmith"))),
        S3ErrorCode::AccessDenied
    );
    // A huge configured skew is not an overflow.
    let parsed = parse(&doc_object_get()).expect("parses");
    verify_for(
        &doc_object_get(),
        &parsed,
        DOC_SECRET,
        OffsetDateTime::now_utc(),
        Duration::MAX,
        Some("johnsmith"),
    )
    .expect("any time is within Duration::MAX");
}

#[test]
fn request_time_formats() {
    let want = unix(1_795_356_000);
    for value in [
        "Sun, 22 Nov 2026 14:00:00 GMT",
        "Sun, 22 Nov 2026 14:00:00 +0000",
        "Sun, 22 Nov 2026 15:00:00 +0100",
        "Sunday, 22-Nov-26 14:00:00 GMT",
        "Sun Nov 22 14:00:00 2026",
        "20261122T140000Z",
    ] {
        assert_eq!(parse_request_time(value), Some(want), "{value}");
    }
    assert_eq!(parse_request_time("2026-11-22"), None);
}

#[test]
fn recognises_sigv2_only() {
    let v2_header = doc_object_get();
    assert!(is_sigv2(&v2_header));
    assert!(is_sigv2(&doc_query("x")));
    let v4_header = with_header(
        doc_object_get(),
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
    );
    assert!(!is_sigv2(&v4_header));
    let v4_query = request(
        "GET",
        "/b/k",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00",
        &[],
    );
    assert!(!is_sigv2(&v4_query));
    assert!(!is_sigv2(&request("GET", "/b/k", "AWSAccessKeyId=AK", &[])));
    assert!(!is_sigv2(&request("GET", "/b/k", "", &[])));
    // SigV4's parser sends exactly these requests our way.
    for req in [&v2_header, &doc_query("x")] {
        assert_eq!(
            super::super::sigv4::parse(req).expect_err("not v4").code,
            S3ErrorCode::InvalidRequest
        );
    }
}

#[test]
fn subresource_list_is_sorted_for_binary_search() {
    assert!(SUB_RESOURCES.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn sign_matches_documentation() {
    assert_eq!(
        sign(
            DOC_SECRET,
            "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"
        ),
        "bWq2s1WEIj+Ydj0vQ697zp+IXMU="
    );
}
