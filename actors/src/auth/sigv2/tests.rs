//! SigV2 golden vectors (AWS documentation examples, botocore output) and rejections,
//! with the fixtures they share.

mod aws_doc;
mod botocore;
mod rejections;

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

// --- Requests several test modules use -----------------------------------------------

/// The AWS documentation's GET example (virtual-hosted `johnsmith`).
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

fn doc_query(signature: &str) -> SignedRequest {
    request(
        "GET",
        "/photos/puppy.jpg",
        &format!("AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature={signature}"),
        &[("host", "johnsmith.s3.amazonaws.com")],
    )
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

/// An hour before the botocore URLs above expire: within the 7 days a presigned URL
/// may run.
fn now() -> OffsetDateTime {
    unix(BOTO_EXPIRES - 3600)
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
