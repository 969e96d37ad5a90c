//! Protocol replies → HTTP: S3 error responses, XML bodies and object headers. Pure,
//! so every byte clients see is pinned by an exact-string test.

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName, HeaderValue};
use http::StatusCode;
use jetgate_protocol::messages::ObjectAttrs;
use jetgate_protocol::S3Error;

mod time;
pub mod xml;

pub use time::{http_date, iso8601};

/// Header carrying the request id on every S3 response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");

const XML_TYPE: HeaderValue = HeaderValue::from_static("application/xml");

/// The S3 error response: status from the code, XML body (none for HEAD or 304),
/// `x-amz-request-id`. `resource` is the request path, e.g. `/bucket/key`.
pub fn error_response(err: &S3Error, resource: &str, request_id: &str, head: bool) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // A 304 never has a body; HEAD answers carry only the status.
    let body = if head || status == StatusCode::NOT_MODIFIED {
        Body::empty()
    } else {
        Body::from(xml::error(
            err.code.as_str(),
            &err.message,
            resource,
            request_id,
        ))
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if status != StatusCode::NOT_MODIFIED {
        h.insert(header::CONTENT_TYPE, XML_TYPE);
    }
    if let Ok(id) = HeaderValue::from_str(request_id) {
        h.insert(REQUEST_ID, id);
    }
    resp
}

/// A 200 response with an XML body and the request id.
pub fn xml_response(body: String, request_id: &str) -> Response {
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, XML_TYPE);
    if let Ok(id) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert(REQUEST_ID, id);
    }
    resp
}

/// Object headers of a GET/HEAD answer: ETag, Last-Modified, the stored content
/// headers (Content-Type defaults to `binary/octet-stream` like S3), `x-amz-meta-*`,
/// `Accept-Ranges`, then the `response-*` overrides (header name → value), which win.
/// Values that cannot be header values are skipped, never a panic.
pub fn object_headers_out(
    attrs: &ObjectAttrs,
    overrides: &[(String, String)],
) -> Vec<(HeaderName, HeaderValue)> {
    let stored = &attrs.headers;
    let mut out = Vec::new();
    let mut push = |name: HeaderName, value: &str| {
        // from_bytes keeps UTF-8 metadata (obs-text) and rejects control characters.
        if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
            out.push((name, v));
        }
    };
    push(header::ETAG, &format!("\"{}\"", attrs.etag));
    push(header::LAST_MODIFIED, &http_date(attrs.last_modified_ms));
    let content_type = stored
        .content_type
        .as_deref()
        .unwrap_or("binary/octet-stream");
    push(header::CONTENT_TYPE, content_type);
    let optional = [
        (header::CONTENT_ENCODING, &stored.content_encoding),
        (header::CONTENT_DISPOSITION, &stored.content_disposition),
        (header::CONTENT_LANGUAGE, &stored.content_language),
        (header::CACHE_CONTROL, &stored.cache_control),
        (header::EXPIRES, &stored.expires),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            push(name, v);
        }
    }
    for (name, value) in &stored.user {
        if let Ok(n) = HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes()) {
            push(n, value);
        }
    }
    push(header::ACCEPT_RANGES, "bytes");
    for (name, value) in overrides {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            continue;
        };
        out.retain(|(existing, _)| *existing != n);
        out.push((n, v));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may panic on what they set up
mod tests {
    use axum::body::to_bytes;
    use jetgate_protocol::messages::ObjectHeaders;
    use jetgate_protocol::S3ErrorCode;

    use super::*;

    // A test reading a small, known response whole is what the rule is not about.
    #[allow(clippy::disallowed_methods)]
    async fn body(resp: Response) -> String {
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn error_response_is_s3_xml() {
        let err = S3Error::no_such_key();
        let resp = error_response(&err, "/my-bucket/a&b<c>", "4442587FB7D0A2F9", false);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.headers()["content-type"], "application/xml");
        assert_eq!(resp.headers()["x-amz-request-id"], "4442587FB7D0A2F9");
        let want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Resource>/my-bucket/a&amp;b&lt;c&gt;</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>";
        assert_eq!(rt().block_on(body(resp)), want);
    }

    #[test]
    fn head_and_not_modified_have_no_body() {
        let err = S3Error::no_such_bucket();
        let resp = error_response(&err, "/b", "id", true);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(rt().block_on(body(resp)), "");
        let err = S3Error::new(S3ErrorCode::NotModified, "Not Modified");
        let resp = error_response(&err, "/b/k", "id", false);
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert!(resp.headers().get("content-type").is_none());
        assert_eq!(rt().block_on(body(resp)), "");
    }

    #[test]
    fn odd_codes_and_ids_do_not_panic() {
        let err = S3Error::new(S3ErrorCode::Other("Weird".into(), 42), "m");
        let resp = error_response(&err, "/", "bad\nid", false);
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.headers().get("x-amz-request-id").is_none());
    }

    #[test]
    fn object_headers_like_s3() {
        let attrs = ObjectAttrs {
            etag: "fba9dede5f27731c9771645a39863328".into(),
            size: 434_234,
            last_modified_ms: 1_570_902_630_000,
            headers: ObjectHeaders {
                content_encoding: Some("gzip".into()),
                cache_control: Some("no-cache".into()),
                user: vec![
                    ("family".into(), "Müller".into()),
                    ("bad".into(), "line\nbreak".into()),
                    ("bad name".into(), "x".into()),
                ],
                ..Default::default()
            },
        };
        let overrides = [
            ("cache-control".to_string(), "max-age=60".to_string()),
            (
                "content-disposition".to_string(),
                "attachment; filename=a.txt".to_string(),
            ),
        ];
        let got: Vec<(String, Vec<u8>)> = object_headers_out(&attrs, &overrides)
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        let want: Vec<(String, Vec<u8>)> = [
            ("etag", "\"fba9dede5f27731c9771645a39863328\""),
            ("last-modified", "Sat, 12 Oct 2019 17:50:30 GMT"),
            ("content-type", "binary/octet-stream"),
            ("content-encoding", "gzip"),
            ("x-amz-meta-family", "Müller"),
            ("accept-ranges", "bytes"),
            ("cache-control", "max-age=60"),
            ("content-disposition", "attachment; filename=a.txt"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn xml_response_headers() {
        let resp = xml_response("<x/>".into(), "rid");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/xml");
        assert_eq!(resp.headers()["x-amz-request-id"], "rid");
    }
}
