//! The AWS documentation examples ("Signing and authenticating REST requests").

use super::*;

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
