//! Rejections (each with the S3 error code a client expects) and canonicalisation rules.

use jetgate_protocol::error::{S3Error, S3ErrorCode};
use jetgate_protocol::messages::SignedRequest;
use time::Duration;

use super::tests_golden::*;
use super::*;

fn code(result: Result<impl std::fmt::Debug, S3Error>) -> S3ErrorCode {
    result.expect_err("must be rejected").code
}

fn with_header(mut req: SignedRequest, name: &str, value: &str) -> SignedRequest {
    req.headers.retain(|(n, _)| n != name);
    req.headers.push((name.to_string(), value.to_string()));
    req
}

fn with_authorization(value: &str) -> SignedRequest {
    with_header(get_object_request(GET_OBJECT_SIG), "authorization", value)
}

#[test]
fn tampered_signature_or_request() {
    let mut sig = GET_OBJECT_SIG.to_string();
    sig.replace_range(0..1, "0");
    assert_eq!(
        code(verify_now(&get_object_request(&sig))),
        S3ErrorCode::SignatureDoesNotMatch
    );
    let tampered = with_header(get_object_request(GET_OBJECT_SIG), "range", "bytes=0-99");
    assert_eq!(
        code(verify_now(&tampered)),
        S3ErrorCode::SignatureDoesNotMatch
    );
    let mut other_key = get_object_request(GET_OBJECT_SIG);
    other_key.path = "/test.txt2".to_string();
    assert_eq!(
        code(verify_now(&other_key)),
        S3ErrorCode::SignatureDoesNotMatch
    );
    // Wrong secret.
    let req = get_object_request(GET_OBJECT_SIG);
    let auth = parse(&req).expect("parse");
    let err = verify(
        &req,
        &auth,
        "not-the-secret",
        now(),
        &VerifyConfig::default(),
    );
    assert_eq!(code(err), S3ErrorCode::SignatureDoesNotMatch);
    // Upper-case hex is the same signature.
    verify_now(&get_object_request(&GET_OBJECT_SIG.to_ascii_uppercase())).expect("hex case");
}

#[test]
fn wrong_region_and_service() {
    let req = get_object_request(GET_OBJECT_SIG);
    let auth = parse(&req).expect("parse");
    let cfg = VerifyConfig {
        region: "eu-west-1".into(),
        ..VerifyConfig::default()
    };
    let err = verify(&req, &auth, SECRET, now(), &cfg).expect_err("wrong region");
    assert_eq!(err.code, S3ErrorCode::AuthorizationHeaderMalformed);
    assert_eq!(
        err.message,
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
    );
    // An empty configured region accepts whatever the client signed for.
    let any = VerifyConfig {
        region: String::new(),
        ..VerifyConfig::default()
    };
    verify(&req, &auth, SECRET, now(), &any).expect("any region");

    let ec2 = with_authorization(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/ec2/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=00",
    );
    assert_eq!(
        code(verify_now(&ec2)),
        S3ErrorCode::AuthorizationHeaderMalformed
    );

    let presigned = presigned_request(PRESIGNED_QUERY);
    let auth = parse(&presigned).expect("parse");
    let err = verify(&presigned, &auth, SECRET, now(), &cfg);
    assert_eq!(code(err), S3ErrorCode::AuthorizationQueryParametersError);
}

#[test]
fn clock_skew_header_auth() {
    let req = get_object_request(GET_OBJECT_SIG);
    let minutes = |m| now() + Duration::minutes(m);
    verify_at(&req, minutes(14)).expect("within 15 minutes after");
    verify_at(&req, minutes(-14)).expect("within 15 minutes before");
    assert_eq!(
        code(verify_at(&req, minutes(16))),
        S3ErrorCode::RequestTimeTooSkewed
    );
    assert_eq!(
        code(verify_at(&req, minutes(-16))),
        S3ErrorCode::RequestTimeTooSkewed
    );
}

#[test]
fn presigned_expiry_and_limits() {
    let req = presigned_request(PRESIGNED_QUERY);
    let err = verify_at(&req, now() + Duration::seconds(86_401)).expect_err("expired");
    assert_eq!(err.code, S3ErrorCode::AccessDenied);
    assert_eq!(err.message, "Request has expired");
    // Signed in the future beyond the skew window: not valid yet.
    assert_eq!(
        code(verify_at(&req, now() - Duration::minutes(16))),
        S3ErrorCode::AccessDenied
    );
    verify_at(&req, now() - Duration::minutes(14)).expect("small future skew is fine");

    for bad in ["604801", "0", "-1", "soon", ""] {
        let query = PRESIGNED_QUERY.replace("X-Amz-Expires=86400", &format!("X-Amz-Expires={bad}"));
        assert_eq!(
            code(parse(&presigned_request(&query))),
            S3ErrorCode::AuthorizationQueryParametersError,
            "X-Amz-Expires={bad}"
        );
    }
    // A ParsedAuth built by hand is held to the same limit by verify().
    let mut auth = parse(&req).expect("parse");
    auth.kind = AuthKind::Presigned {
        expires_secs: 604_801,
    };
    let err = verify(&req, &auth, SECRET, now(), &VerifyConfig::default());
    assert_eq!(code(err), S3ErrorCode::AuthorizationQueryParametersError);

    for missing in [
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Expires",
    ] {
        let query: Vec<&str> = PRESIGNED_QUERY
            .split('&')
            .filter(|p| !p.starts_with(missing))
            .collect();
        let req = presigned_request(&query.join("&"));
        assert_eq!(
            code(parse(&req)),
            S3ErrorCode::AuthorizationQueryParametersError,
            "{missing}"
        );
    }
    let sha1 = PRESIGNED_QUERY.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1");
    assert_eq!(
        code(parse(&presigned_request(&sha1))),
        S3ErrorCode::AuthorizationQueryParametersError
    );
    // Tampering with any signed parameter breaks the signature.
    let longer = PRESIGNED_QUERY.replace("X-Amz-Expires=86400", "X-Amz-Expires=86401");
    assert_eq!(
        code(verify_now(&presigned_request(&longer))),
        S3ErrorCode::SignatureDoesNotMatch
    );
    let extra = format!("{PRESIGNED_QUERY}&versionId=1");
    assert_eq!(
        code(verify_now(&presigned_request(&extra))),
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn malformed_authorization_header() {
    let scope = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";
    let sh = "host;range;x-amz-content-sha256;x-amz-date";
    let cases = [
        format!("AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={sh}"),
        format!("AWS4-HMAC-SHA256 Credential={scope}, Signature=00"),
        format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3, SignedHeaders={sh}, Signature=00"),
        format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/2013-05-24/us-east-1/s3/aws4_request, SignedHeaders={sh}, Signature=00"),
        format!("AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=range;x-amz-date, Signature=00"),
        format!("AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={sh}, Signature="),
        format!("AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={sh}, Signature=00, Signature=11"),
        format!("AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={sh}, Sig=00"),
        format!("AWS4-HMAC-SHA256Credential={scope}, SignedHeaders={sh}, Signature=00"),
        format!("AWS4-HMAC-SHA256 Credential={scope} SignedHeaders={sh} Signature=00"),
        // Credential date must be the date of x-amz-date.
        format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/aws4_request, SignedHeaders={sh}, Signature=00"),
    ];
    for case in cases {
        assert_eq!(
            code(parse(&with_authorization(&case))),
            S3ErrorCode::AuthorizationHeaderMalformed,
            "{case}"
        );
    }
    // Spacing after commas does not matter.
    let spaced = format!(
        "AWS4-HMAC-SHA256  Credential={scope},   SignedHeaders={sh} ,Signature={GET_OBJECT_SIG}"
    );
    verify_now(&with_authorization(&spaced)).expect("spacing tolerated");

    let v2 = with_authorization("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
    assert_eq!(code(parse(&v2)), S3ErrorCode::InvalidRequest);
    assert_eq!(
        code(parse(&with_authorization("Bearer abc"))),
        S3ErrorCode::InvalidArgument
    );
}

#[test]
fn missing_or_conflicting_auth() {
    let anonymous = request("GET", "/test.txt", "", &[("host", HOST)]);
    assert_eq!(code(parse(&anonymous)), S3ErrorCode::AccessDenied);
    let v2_query = request(
        "GET",
        "/test.txt",
        "AWSAccessKeyId=AK&Expires=1&Signature=x",
        &[("host", HOST)],
    );
    assert_eq!(code(parse(&v2_query)), S3ErrorCode::InvalidRequest);
    let mut both = get_object_request(GET_OBJECT_SIG);
    both.query = PRESIGNED_QUERY.to_string();
    assert_eq!(code(parse(&both)), S3ErrorCode::InvalidArgument);

    let mut no_hash = get_object_request(GET_OBJECT_SIG);
    no_hash.headers.retain(|(n, _)| n != "x-amz-content-sha256");
    let err = parse(&no_hash).expect_err("hash required");
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(
        err.message,
        "Missing required header for this request: x-amz-content-sha256"
    );
    let bad_hash = with_header(
        get_object_request(GET_OBJECT_SIG),
        "x-amz-content-sha256",
        "abc",
    );
    assert_eq!(code(parse(&bad_hash)), S3ErrorCode::InvalidArgument);

    let mut no_date = get_object_request(GET_OBJECT_SIG);
    no_date.headers.retain(|(n, _)| n != "x-amz-date");
    assert_eq!(code(parse(&no_date)), S3ErrorCode::AccessDenied);
    let bad_date = with_header(
        get_object_request(GET_OBJECT_SIG),
        "x-amz-date",
        "20130524T000000",
    );
    assert_eq!(code(parse(&bad_date)), S3ErrorCode::AccessDenied);
}

#[test]
fn signed_header_missing_and_unsigned_amz_header() {
    let mut missing = get_object_request(GET_OBJECT_SIG);
    missing.headers.retain(|(n, _)| n != "range");
    assert_eq!(
        code(verify_now(&missing)),
        S3ErrorCode::SignatureDoesNotMatch
    );

    let added = with_header(
        get_object_request(GET_OBJECT_SIG),
        "x-amz-copy-source",
        "/other/key",
    );
    assert_eq!(code(verify_now(&added)), S3ErrorCode::AccessDenied);
    let relaxed = VerifyConfig {
        reject_unsigned_amz_headers: false,
        ..VerifyConfig::default()
    };
    let auth = parse(&added).expect("parse");
    verify(&added, &auth, SECRET, now(), &relaxed).expect("check can be disabled");
    // SDKs leave x-amz-user-agent unsigned on purpose.
    let ua = with_header(
        get_object_request(GET_OBJECT_SIG),
        "x-amz-user-agent",
        "aws-sdk-rust",
    );
    verify_now(&ua).expect("x-amz-user-agent may be unsigned");
    // Headers that are not signed and not x-amz-* do not matter.
    let other = with_header(get_object_request(GET_OBJECT_SIG), "user-agent", "curl");
    verify_now(&other).expect("user-agent may be unsigned");
}

#[test]
fn chunk_batch_rejections() {
    let key = signing_key(SECRET, "20130524", "us-east-1", "s3");
    let good = trailer_batch();
    verify_chunk_batch(&key, &good).expect("baseline");

    let mut tampered = good.clone();
    tampered.chunks[1].sha256 = tampered.chunks[0].sha256.clone();
    assert_eq!(
        code(verify_chunk_batch(&key, &tampered)),
        S3ErrorCode::SignatureDoesNotMatch
    );

    let mut reordered = good.clone();
    reordered.chunks.swap(0, 1);
    assert_eq!(
        code(verify_chunk_batch(&key, &reordered)),
        S3ErrorCode::SignatureDoesNotMatch
    );

    let mut wrong_seed = good.clone();
    wrong_seed.prev_signature = TRAILER_CHUNK_SIGS[0].to_string();
    assert_eq!(
        code(verify_chunk_batch(&key, &wrong_seed)),
        S3ErrorCode::SignatureDoesNotMatch
    );

    let mut bad_trailer = good.clone();
    if let Some(t) = bad_trailer.trailer.as_mut() {
        t.sha256 = "1e376db7e1a34a8ef1c4bcee131a2d60a1cb62503747488624e10995f448d775".into();
    }
    assert_eq!(
        code(verify_chunk_batch(&key, &bad_trailer)),
        S3ErrorCode::SignatureDoesNotMatch
    );

    let other_key = signing_key(SECRET, "20130525", "us-east-1", "s3");
    assert_eq!(
        code(verify_chunk_batch(&other_key, &good)),
        S3ErrorCode::SignatureDoesNotMatch
    );
    assert_eq!(
        code(signing_key_for_scope(SECRET, "20130524/us-east-1/s3")),
        S3ErrorCode::InvalidRequest
    );
}

#[test]
fn canonical_uri_rules() {
    let cases = [
        ("", "/"),
        ("/", "/"),
        ("/bucket/a b", "/bucket/a%20b"),
        ("/bucket/a%20b", "/bucket/a%20b"),
        ("/bucket/a+b", "/bucket/a%2Bb"),
        ("/bucket/a%2Bb", "/bucket/a%2Bb"),
        ("/bucket/a%2bb", "/bucket/a%2Bb"),
        ("/bucket/k=v&x", "/bucket/k%3Dv%26x"),
        ("/bucket/100%25", "/bucket/100%25"),
        ("/bucket/100%", "/bucket/100%25"),
        ("/bucket/caf\u{e9}", "/bucket/caf%C3%A9"),
        ("/bucket/caf%C3%A9", "/bucket/caf%C3%A9"),
        ("/bucket/a//b/../c/./d", "/bucket/a//b/../c/./d"),
        ("/bucket/~_-.", "/bucket/~_-."),
        ("/bucket/a%2Fb", "/bucket/a/b"),
    ];
    for (raw, want) in cases {
        assert_eq!(canonical_uri(raw), want, "{raw}");
    }
}

#[test]
fn canonical_query_rules() {
    let cases = [
        ("", ""),
        ("lifecycle", "lifecycle="),
        ("uploads=", "uploads="),
        ("prefix=a+b", "prefix=a%20b"),
        ("prefix=a%2Bb", "prefix=a%2Bb"),
        ("prefix=a%20b", "prefix=a%20b"),
        ("prefix=caf%c3%a9", "prefix=caf%C3%A9"),
        ("prefix=a/b~c", "prefix=a%2Fb~c"),
        ("b=2&a=1&a=0", "a=0&a=1&b=2"),
        ("a=1&&b", "a=1&b="),
        ("x=a=b", "x=a%3Db"),
        ("B=1&a=1", "B=1&a=1"),
    ];
    for (raw, want) in cases {
        assert_eq!(canonical_query(raw, false), want, "{raw}");
    }
    assert_eq!(canonical_query("a=1&X-Amz-Signature=ff", true), "a=1");
    assert_eq!(
        canonical_query("a=1&X-Amz-Signature=ff", false),
        "X-Amz-Signature=ff&a=1"
    );
}

#[test]
fn header_values_trimmed_and_joined() {
    let req = request(
        "GET",
        "/",
        "",
        &[
            ("host", HOST),
            ("x-amz-meta-a", "  one   two  "),
            ("x-amz-meta-a", "three"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", TS),
            ("authorization", &authorization("host;x-amz-meta-a", "00")),
        ],
    );
    let auth = parse(&req).expect("parse");
    let creq = canonical_request(&req, &auth).expect("canonical request");
    assert!(creq.contains("\nx-amz-meta-a:one two,three\n"), "{creq}");
}
