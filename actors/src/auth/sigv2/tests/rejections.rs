//! Rejections: tampered, malformed and badly dated requests; what SigV2 does not sign.

use super::*;

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
            crate::auth::sigv4::parse(req).expect_err("not v4").code,
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
