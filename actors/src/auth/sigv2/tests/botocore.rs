//! botocore 1.43 output (HmacV1QueryAuth / HmacV1Auth, fixtures in the parent module),
//! s3cmd's `x-amz-date` form, and the encoding variants clients produce.

use super::*;

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

/// A SigV2 URL valid for more than 7 days is refused, like SigV4's `X-Amz-Expires`.
#[test]
fn presigned_expiry_is_bounded() {
    let req = from_url("GET", BOTO_GET, &[]);
    let week = 7 * 24 * 3600;
    check(&req, BOTO_SECRET, unix(BOTO_EXPIRES - week), None).expect("exactly 7 days");
    let err = check(&req, BOTO_SECRET, unix(BOTO_EXPIRES - week - 1), None)
        .expect_err("more than 7 days");
    assert_eq!(err.code, S3ErrorCode::AccessDenied);
}
