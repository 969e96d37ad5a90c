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

/// What a response header must be.
#[derive(Debug, Clone, Copy)]
enum Want {
    Is(&'static str),
    Has(&'static str),
    Absent,
}
use Want::{Absent, Has, Is};

fn expect_headers(headers: &[(String, String)], want: &[(&str, Want)], what: &str) {
    for &(name, w) in want {
        let got = header(headers, name);
        match w {
            Is(v) => assert_eq!(got, Some(v), "{what}: {name}"),
            Has(v) => assert!(got.is_some_and(|g| g.contains(v)), "{what}: {name} {got:?}"),
            Absent => assert_eq!(got, None, "{what}: {name}"),
        }
    }
}

/// One preflight of the matrix: request headers and what the answer must carry.
struct Preflight {
    path: String,
    request: &'static [(&'static str, &'static str)],
    status: u16,
    headers: &'static [(&'static str, Want)],
    /// Texts the response body must contain.
    body: &'static [&'static str],
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
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
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
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
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

    const ORIGIN: &str = "Origin";
    const METHOD: &str = "Access-Control-Request-Method";
    const HEADERS: &str = "Access-Control-Request-Headers";
    const ALLOW_ORIGIN: &str = "access-control-allow-origin";
    const NOT_ALLOWED: &[&str] = &[
        "<Code>AccessForbidden</Code>",
        "CORSResponse: This CORS request is not allowed",
    ];
    let rows: Vec<Preflight> = vec![
        // Allowed: origin, method and every requested header match rule 1.
        Preflight {
            path: key_path.clone(),
            request: &[
                (ORIGIN, "http://app.test"),
                (METHOD, "PUT"),
                (HEADERS, "Content-Type, X-Amz-Date"),
            ],
            status: 200,
            headers: &[
                (ALLOW_ORIGIN, Is("http://app.test")),
                ("access-control-allow-methods", Is("PUT, GET")),
                (
                    "access-control-allow-headers",
                    Is("content-type, x-amz-date"),
                ),
                ("access-control-expose-headers", Is("ETag")),
                ("access-control-max-age", Is("600")),
                ("access-control-allow-credentials", Is("true")),
                ("vary", Has("Origin")),
            ],
            body: &[],
        },
        // Rule 2 by wildcard origin; the bucket itself as the target.
        Preflight {
            path: format!("/{b}"),
            request: &[(ORIGIN, "http://x.any.test"), (METHOD, "GET")],
            status: 200,
            headers: &[
                (ALLOW_ORIGIN, Is("http://x.any.test")),
                ("access-control-allow-methods", Is("GET")),
            ],
            body: &[],
        },
        // Refused: wrong method for the origin, unlisted header, unknown origin.
        Preflight {
            path: key_path.clone(),
            request: &[(ORIGIN, "http://x.any.test"), (METHOD, "PUT")],
            status: 403,
            headers: &[(ALLOW_ORIGIN, Absent)],
            body: NOT_ALLOWED,
        },
        Preflight {
            path: key_path.clone(),
            request: &[
                (ORIGIN, "http://app.test"),
                (METHOD, "PUT"),
                (HEADERS, "x-custom"),
            ],
            status: 403,
            headers: &[(ALLOW_ORIGIN, Absent)],
            body: NOT_ALLOWED,
        },
        Preflight {
            path: key_path.clone(),
            request: &[(ORIGIN, "http://evil.test"), (METHOD, "GET")],
            status: 403,
            headers: &[(ALLOW_ORIGIN, Absent)],
            body: NOT_ALLOWED,
        },
        // Malformed preflights: 400.
        Preflight {
            path: key_path.clone(),
            request: &[(METHOD, "PUT")],
            status: 400,
            headers: &[],
            body: &["Origin request header needed"],
        },
        Preflight {
            path: key_path.clone(),
            request: &[(ORIGIN, "http://app.test")],
            status: 400,
            headers: &[],
            body: &["Invalid Access-Control-Request-Method"],
        },
        Preflight {
            path: key_path.clone(),
            request: &[(ORIGIN, "http://app.test"), (METHOD, "PATCH")],
            status: 400,
            headers: &[],
            body: &[],
        },
        // A bucket without CORS configuration.
        Preflight {
            path: format!("/{bare}/k"),
            request: &[(ORIGIN, "http://app.test"), (METHOD, "GET")],
            status: 403,
            headers: &[],
            body: &["CORS is not enabled for this bucket"],
        },
    ];
    for row in &rows {
        let (status, h, body) = options(&row.path, row.request).await;
        let what = format!("OPTIONS {} {:?}", row.path, row.request);
        assert_eq!(status, row.status, "{what}: {body}");
        expect_headers(&h, row.headers, &what);
        for text in row.body {
            assert!(body.contains(text), "{what}: {text:?} not in {body}");
        }
    }

    // Actual requests: CORS headers only with a matching Origin, on errors too (this
    // unsigned GET is AccessDenied, and a browser still needs the headers to read it).
    let addr = addr();
    let app_headers: &[(&str, Want)] = &[
        (ALLOW_ORIGIN, Is("http://app.test")),
        ("access-control-expose-headers", Is("ETag")),
    ];
    for (origin, want) in [
        (Some("http://app.test"), app_headers),
        (None, &[(ALLOW_ORIGIN, Absent)]),
        (Some("http://evil.test"), &[(ALLOW_ORIGIN, Absent)]),
    ] {
        let mut req = format!("GET {key_path} HTTP/1.1\r\nHost: {addr}\r\n");
        if let Some(o) = origin {
            req.push_str(&format!("Origin: {o}\r\n"));
        }
        req.push_str("Connection: close\r\n\r\n");
        let (status, h, _) = raw_http(&addr, req.as_bytes()).await;
        let what = format!("GET {key_path} with Origin {origin:?}");
        assert_eq!(status, 403, "{what}");
        expect_headers(&h, want, &what);
    }

    // Deleting the configuration takes effect once the workers' short cache (1.5 s)
    // expires; polled with a deadline far past it, as a busy runner may be slow.
    c.delete_bucket_cors()
        .bucket(&b)
        .send()
        .await
        .expect("delete bucket cors");
    common::poll(
        "preflight refused after DeleteBucketCors",
        Duration::from_secs(30),
        || {
            let key_path = key_path.clone();
            async move {
                let (status, _, _) = options(
                    &key_path,
                    &[
                        ("Origin", "http://app.test"),
                        ("Access-Control-Request-Method", "PUT"),
                    ],
                )
                .await;
                (status == 403).then_some(())
            }
        },
    )
    .await;
}
