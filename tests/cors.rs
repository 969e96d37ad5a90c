//! Bucket CORS: Put/Get/DeleteBucketCors through the Rust SDK, and the unsigned browser
//! preflight (`OPTIONS`) plus CORS headers on actual responses, over raw HTTP.

mod common;

use std::time::Duration;

use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use common::{raw_http, shared, GatewayOptions};

fn addr() -> String {
    shared(GatewayOptions::default())
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

fn rule(
    origins: &[&str],
    methods: &[&str],
    headers: &[&str],
) -> aws_sdk_s3::types::builders::CorsRuleBuilder {
    let mut b = CorsRule::builder();
    for o in origins {
        b = b.allowed_origins(*o);
    }
    for m in methods {
        b = b.allowed_methods(*m);
    }
    for h in headers {
        b = b.allowed_headers(*h);
    }
    b
}

/// The configuration the preflight matrix runs against.
fn app_config() -> CorsConfiguration {
    CorsConfiguration::builder()
        .cors_rules(
            rule(
                &["http://app.test"],
                &["PUT", "GET"],
                &["content-type", "x-amz-*"],
            )
            .id("app")
            .expose_headers("ETag")
            .max_age_seconds(600)
            .build()
            .expect("rule"),
        )
        .cors_rules(
            rule(&["http://*.any.test"], &["GET"], &[])
                .build()
                .expect("rule"),
        )
        .build()
        .expect("config")
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn options(path: &str, extra: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
    let addr = addr();
    let mut req = format!("OPTIONS {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (n, v) in extra {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    let (status, headers, body) = raw_http(&addr, req.as_bytes()).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn put_get_delete_bucket_cors_with_the_sdk() {
    let s = shared(GatewayOptions::default());
    let c = s.client();
    let b = s.bucket("cors-sdk").await;

    let err = c
        .get_bucket_cors()
        .bucket(&b)
        .send()
        .await
        .expect_err("no config yet");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("NoSuchCORSConfiguration")
    );

    c.put_bucket_cors()
        .bucket(&b)
        .cors_configuration(app_config())
        .send()
        .await
        .expect("put bucket cors");
    let got = c
        .get_bucket_cors()
        .bucket(&b)
        .send()
        .await
        .expect("get bucket cors");
    let rules = got.cors_rules();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].id(), Some("app"));
    assert_eq!(rules[0].allowed_origins(), ["http://app.test"]);
    assert_eq!(rules[0].allowed_methods(), ["PUT", "GET"]);
    assert_eq!(rules[0].allowed_headers(), ["content-type", "x-amz-*"]);
    assert_eq!(rules[0].expose_headers(), ["ETag"]);
    assert_eq!(rules[0].max_age_seconds(), Some(600));
    assert_eq!(rules[1].allowed_origins(), ["http://*.any.test"]);

    // S3's validation: unknown method, two wildcards.
    for bad in [
        rule(&["*"], &["PATCH"], &[]).build().expect("rule"),
        rule(&["http://*.*.test"], &["GET"], &[])
            .build()
            .expect("rule"),
    ] {
        let err = c
            .put_bucket_cors()
            .bucket(&b)
            .cors_configuration(
                CorsConfiguration::builder()
                    .cors_rules(bad)
                    .build()
                    .expect("cfg"),
            )
            .send()
            .await
            .expect_err("invalid rule refused");
        assert_eq!(
            err.as_service_error().and_then(|e| e.meta().code()),
            Some("InvalidRequest")
        );
    }
    // The refused configurations left the stored one alone.
    let got = c
        .get_bucket_cors()
        .bucket(&b)
        .send()
        .await
        .expect("get bucket cors");
    assert_eq!(got.cors_rules().len(), 2);

    c.delete_bucket_cors()
        .bucket(&b)
        .send()
        .await
        .expect("delete bucket cors");
    let err = c
        .get_bucket_cors()
        .bucket(&b)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("NoSuchCORSConfiguration")
    );
    let err = c
        .get_bucket_cors()
        .bucket("no-such-bucket-cors")
        .send()
        .await
        .expect_err("no bucket");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("NoSuchBucket")
    );
}

#[tokio::test]
async fn malformed_cors_xml_is_refused() {
    let s = shared(GatewayOptions::default());
    let b = s.bucket("cors-xml").await;
    // An empty rule list is the invalid document the SDK can still express.
    let err = s
        .client()
        .put_bucket_cors()
        .bucket(&b)
        .cors_configuration(
            CorsConfiguration::builder()
                .set_cors_rules(Some(vec![]))
                .build()
                .expect("cfg"),
        )
        .send()
        .await
        .expect_err("empty configuration refused");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("MalformedXML")
    );
}

#[tokio::test]
async fn preflight_matrix() {
    let s = shared(GatewayOptions::default());
    let c = s.client();
    let b = s.bucket("cors-pre").await;
    let bare = s.bucket("cors-none").await;
    c.put_bucket_cors()
        .bucket(&b)
        .cors_configuration(app_config())
        .send()
        .await
        .expect("put bucket cors");
    let key_path = format!("/{b}/dir/file.txt");

    // Allowed: origin, method and every requested header match rule 1.
    let (status, h, body) = options(
        &key_path,
        &[
            ("Origin", "http://app.test"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "Content-Type, X-Amz-Date"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://app.test")
    );
    assert_eq!(header(&h, "access-control-allow-methods"), Some("PUT, GET"));
    assert_eq!(
        header(&h, "access-control-allow-headers"),
        Some("content-type, x-amz-date")
    );
    assert_eq!(header(&h, "access-control-expose-headers"), Some("ETag"));
    assert_eq!(header(&h, "access-control-max-age"), Some("600"));
    assert_eq!(header(&h, "access-control-allow-credentials"), Some("true"));
    assert!(header(&h, "vary").is_some_and(|v| v.contains("Origin")));

    // Rule 2 by wildcard origin; the bucket itself as the target.
    let (status, h, _) = options(
        &format!("/{b}"),
        &[
            ("Origin", "http://x.any.test"),
            ("Access-Control-Request-Method", "GET"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://x.any.test")
    );
    assert_eq!(header(&h, "access-control-allow-methods"), Some("GET"));

    // Refused: wrong method for the origin, unlisted header, unknown origin.
    for extra in [
        vec![
            ("Origin", "http://x.any.test"),
            ("Access-Control-Request-Method", "PUT"),
        ],
        vec![
            ("Origin", "http://app.test"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "x-custom"),
        ],
        vec![
            ("Origin", "http://evil.test"),
            ("Access-Control-Request-Method", "GET"),
        ],
    ] {
        let (status, h, body) = options(&key_path, &extra).await;
        assert_eq!(status, 403, "{extra:?}: {body}");
        assert!(body.contains("<Code>AccessForbidden</Code>"), "{body}");
        assert!(
            body.contains("CORSResponse: This CORS request is not allowed"),
            "{body}"
        );
        assert_eq!(header(&h, "access-control-allow-origin"), None);
    }

    // Malformed preflights: 400.
    let (status, _, body) = options(&key_path, &[("Access-Control-Request-Method", "PUT")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Origin request header needed"), "{body}");
    let (status, _, body) = options(&key_path, &[("Origin", "http://app.test")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("Invalid Access-Control-Request-Method"),
        "{body}"
    );
    let (status, _, _) = options(
        &key_path,
        &[
            ("Origin", "http://app.test"),
            ("Access-Control-Request-Method", "PATCH"),
        ],
    )
    .await;
    assert_eq!(status, 400);

    // A bucket without CORS configuration.
    let (status, _, body) = options(
        &format!("/{bare}/k"),
        &[
            ("Origin", "http://app.test"),
            ("Access-Control-Request-Method", "GET"),
        ],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("CORS is not enabled for this bucket"),
        "{body}"
    );

    // Actual requests: CORS headers only with a matching Origin, on errors too (this
    // unsigned GET is AccessDenied, and a browser still needs the headers to read it).
    let addr = addr();
    let get = |origin: Option<&str>| {
        let mut req = format!("GET {key_path} HTTP/1.1\r\nHost: {addr}\r\n");
        if let Some(o) = origin {
            req.push_str(&format!("Origin: {o}\r\n"));
        }
        req.push_str("Connection: close\r\n\r\n");
        req
    };
    let (status, h, _) = raw_http(&addr, get(Some("http://app.test")).as_bytes()).await;
    assert_eq!(status, 403);
    assert_eq!(
        header(&h, "access-control-allow-origin"),
        Some("http://app.test")
    );
    assert_eq!(header(&h, "access-control-expose-headers"), Some("ETag"));
    let (_, h, _) = raw_http(&addr, get(None).as_bytes()).await;
    assert_eq!(header(&h, "access-control-allow-origin"), None);
    let (_, h, _) = raw_http(&addr, get(Some("http://evil.test")).as_bytes()).await;
    assert_eq!(header(&h, "access-control-allow-origin"), None);

    // Deleting the configuration takes effect within the workers' short cache TTL.
    c.delete_bucket_cors()
        .bucket(&b)
        .send()
        .await
        .expect("delete bucket cors");
    let started = std::time::Instant::now();
    loop {
        let (status, _, _) = options(
            &key_path,
            &[
                ("Origin", "http://app.test"),
                ("Access-Control-Request-Method", "PUT"),
            ],
        )
        .await;
        if status == 403 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "preflight still allowed after DeleteBucketCors"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
