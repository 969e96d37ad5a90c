//! S3 driver: SigV4 (as the AWS SDKs sign, `UNSIGNED-PAYLOAD` bodies) over a pooled
//! keep-alive hyper client. Bodies are streamed from the content generator and GET
//! bodies are verified frame by frame.

use crate::content::{Generator, Verifier};
use crate::op_error::OpError;
use anyhow::{bail, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

/// S3 URI encoding: everything but unreserved characters and `/`.
const KEY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');
pub(crate) const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Request body streamed from the content generator, or a small fixed document.
pub struct GenBody {
    gen: Option<Generator>,
    fixed: Option<Bytes>,
}

impl GenBody {
    pub(crate) fn empty() -> Self {
        GenBody {
            gen: None,
            fixed: None,
        }
    }

    /// Bytes `start..end` of the object `key` of `size` bytes.
    pub(crate) fn range(key: &str, size: u64, start: u64, end: u64) -> Self {
        GenBody {
            gen: Some(Generator::range(key, size, start, end, FRAME)),
            fixed: None,
        }
    }

    pub(crate) fn fixed(doc: Bytes) -> Self {
        GenBody {
            gen: None,
            fixed: Some(doc),
        }
    }
}

/// Body frame size, as a streaming SDK client writes.
const FRAME: usize = 256 * 1024;

impl Body for GenBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(doc) = self.fixed.take() {
            return Poll::Ready(Some(Ok(Frame::data(doc))));
        }
        Poll::Ready(
            self.gen
                .as_mut()
                .and_then(|g| g.next_frame())
                .map(|b| Ok(Frame::data(b))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.fixed.is_none() && self.gen.as_ref().is_none_or(|g| g.remaining() == 0)
    }

    fn size_hint(&self) -> SizeHint {
        let fixed = self.fixed.as_ref().map_or(0, |d| d.len() as u64);
        SizeHint::with_exact(fixed + self.gen.as_ref().map_or(0, |g| g.remaining()))
    }
}

/// The aws CLI's multipart defaults: 8 MiB parts, 10 in flight.
pub const DEFAULT_PART_SIZE: u64 = 8 << 20;
pub const DEFAULT_PART_CONCURRENCY: usize = 10;

pub struct S3Driver {
    client: Client<HttpConnector, GenBody>,
    base: String,
    bucket: String,
    identity: Identity,
    region: String,
    /// Multipart uploads: part size and parts in flight per upload.
    pub(crate) part_size: u64,
    pub(crate) part_concurrency: usize,
}

impl S3Driver {
    pub fn new(
        endpoint: &str,
        access_key: &str,
        secret_key: &str,
        region: &str,
        bucket: &str,
        pool: usize,
    ) -> Result<Self> {
        let base = endpoint.trim_end_matches('/').to_string();
        if !base.starts_with("http://") {
            bail!("endpoint {endpoint:?} must be http:// (this client does not speak TLS)");
        }
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool.max(1))
            .build(conn);
        let identity: Identity =
            Credentials::new(access_key, secret_key, None, None, "jetgate-loadtest").into();
        Ok(S3Driver {
            client,
            base,
            bucket: bucket.to_string(),
            identity,
            region: region.to_string(),
            part_size: DEFAULT_PART_SIZE,
            part_concurrency: DEFAULT_PART_CONCURRENCY,
        })
    }

    /// Multipart settings (the aws CLI's defaults unless changed).
    pub fn with_parts(mut self, part_size: u64, concurrency: usize) -> Self {
        self.part_size = part_size.max(5 << 20);
        self.part_concurrency = concurrency.max(1);
        self
    }

    pub(crate) fn url(&self, key: Option<&str>, query: &str) -> String {
        let mut u = format!("{}/{}", self.base, self.bucket);
        if let Some(k) = key {
            u.push('/');
            u.push_str(&utf8_percent_encode(k, KEY_SET).to_string());
        }
        if !query.is_empty() {
            u.push('?');
            u.push_str(query);
        }
        u
    }

    pub(crate) fn signed(
        &self,
        method: Method,
        url: &str,
        body: GenBody,
        len: u64,
    ) -> Result<Request<GenBody>, OpError> {
        let mut builder = Request::builder().method(method.clone()).uri(url);
        if method == Method::PUT || len > 0 {
            builder = builder.header(http::header::CONTENT_LENGTH, len);
        }
        let mut req = builder.body(body).map_err(|e| OpError::new("request", e))?;
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| OpError::new("sign", e))?
            .into();
        let headers: Vec<(&str, String)> = if len > 0 {
            vec![("content-length", len.to_string())]
        } else {
            Vec::new()
        };
        let signable = SignableRequest::new(
            method.as_str(),
            url,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| OpError::new("sign", e))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| OpError::new("sign", e))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut req);
        Ok(req)
    }

    pub(crate) async fn send(
        &self,
        req: Request<GenBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, OpError> {
        self.client.request(req).await.map_err(|e| {
            let kind = if e.is_connect() { "connect" } else { "http_io" };
            OpError::new(kind, e)
        })
    }

    /// Create the bucket if it does not exist.
    pub async fn ensure_bucket(&self) -> Result<()> {
        let url = self.url(None, "");
        let req = self
            .signed(Method::PUT, &url, GenBody::empty(), 0)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let resp = self.send(req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let status = resp.status();
        let body = read_small(resp.into_body(), 4096).await.unwrap_or_default();
        if status.is_success() || status == StatusCode::CONFLICT {
            return Ok(());
        }
        bail!(
            "create bucket {} answered {status}: {}",
            self.bucket,
            String::from_utf8_lossy(&body)
        )
    }

    pub async fn put(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let url = self.url(Some(key), "");
        let body = GenBody::range(key, size, 0, size);
        let req = self.signed(Method::PUT, &url, body, size)?;
        let resp = self.send(req).await?;
        check_status(resp).await?;
        Ok(size)
    }

    pub async fn get(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let url = self.url(Some(key), "");
        let req = self.signed(Method::GET, &url, GenBody::empty(), 0)?;
        let resp = self.send(req).await?;
        let resp = check_status(resp).await?;
        if let Some(len) = content_length(&resp) {
            if len != size {
                return Err(OpError::msg(
                    "bad_length",
                    format!("content-length {len}, want {size}"),
                ));
            }
        }
        let mut body = resp.into_body();
        let mut verifier = Verifier::new(key, size);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| OpError::new("body_io", e))?;
            if let Some(data) = frame.data_ref() {
                verifier
                    .feed(data)
                    .map_err(|m| OpError::msg(m.kind(), format!("{key}: {m}")))?;
            }
        }
        verifier
            .finish()
            .map_err(|m| OpError::msg(m.kind(), format!("{key}: {m}")))?;
        Ok(size)
    }

    pub async fn head(&self, key: &str, size: u64) -> Result<u64, OpError> {
        let url = self.url(Some(key), "");
        let req = self.signed(Method::HEAD, &url, GenBody::empty(), 0)?;
        let resp = self.send(req).await?;
        let resp = check_status(resp).await?;
        match content_length(&resp) {
            Some(len) if len == size => Ok(0),
            other => Err(OpError::msg(
                "bad_length",
                format!("content-length {other:?}, want {size}"),
            )),
        }
    }

    pub async fn list(&self, prefix: &str) -> Result<u64, OpError> {
        let q = format!(
            "list-type=2&max-keys=100&prefix={}",
            utf8_percent_encode(prefix, QUERY_SET)
        );
        self.list_xml(&q).await?;
        Ok(0)
    }

    /// A signed GET of the bucket with `query` (already encoded): the text of its
    /// `ListBucketResult` answer, or an error when the answer is not one.
    pub(crate) async fn list_xml(&self, query: &str) -> Result<String, OpError> {
        let url = self.url(None, query);
        let req = self.signed(Method::GET, &url, GenBody::empty(), 0)?;
        let resp = self.send(req).await?;
        let resp = check_status(resp).await?;
        let body = read_small(resp.into_body(), 4 << 20)
            .await
            .map_err(|e| OpError::new("body_io", e))?;
        let text = String::from_utf8(body).map_err(|e| OpError::new("bad_list", e))?;
        if !text.contains("ListBucketResult") {
            return Err(OpError::msg(
                "bad_list",
                "no ListBucketResult in the answer",
            ));
        }
        Ok(text)
    }

    /// The server's `/metrics` text (jetgate answers it unsigned on its S3 port unless
    /// it has a separate metrics listener).
    pub(crate) async fn metrics(&self) -> Result<String, OpError> {
        let req = Request::get(format!("{}/metrics", self.base))
            .body(GenBody::empty())
            .map_err(|e| OpError::new("request", e))?;
        let resp = check_status(self.send(req).await?).await?;
        let body = read_small(resp.into_body(), 16 << 20)
            .await
            .map_err(|e| OpError::new("body_io", e))?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn delete(&self, key: &str) -> Result<u64, OpError> {
        let url = self.url(Some(key), "");
        let req = self.signed(Method::DELETE, &url, GenBody::empty(), 0)?;
        let resp = self.send(req).await?;
        check_status(resp).await?;
        Ok(0)
    }
}

fn content_length<B>(resp: &http::Response<B>) -> Option<u64> {
    resp.headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// A non-2xx answer becomes an error of kind `http_<status>_<S3 Code>`.
pub(crate) async fn check_status(
    resp: http::Response<hyper::body::Incoming>,
) -> Result<http::Response<hyper::body::Incoming>, OpError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = read_small(resp.into_body(), 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let code = s3_code(&text);
    let kind = match code {
        Some(c) => format!("http_{}_{c}", status.as_u16()),
        None => format!("http_{}", status.as_u16()),
    };
    Err(OpError::msg(
        kind,
        text.chars().take(300).collect::<String>(),
    ))
}

/// Read at most `limit` bytes of a small answer body, frame by frame.
pub(crate) async fn read_small(
    mut body: hyper::body::Incoming,
    limit: usize,
) -> Result<Vec<u8>, hyper::Error> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(out)
}

pub(crate) fn s3_code(xml: &str) -> Option<&str> {
    xml_text(xml, "Code")
}

/// The text of the first `<tag>` element (no nesting or entities needed here).
pub(crate) fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    xml_all(xml, tag).next()
}

/// The texts of every `<tag>` element, in document order (same limits as [`xml_text`]).
pub(crate) fn xml_all<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let end = rest[start..].find(&close)? + start;
        let text = &rest[start..end];
        rest = &rest[end + close.len()..];
        Some(text)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn code_from_error_xml() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>x</Message></Error>";
        assert_eq!(s3_code(xml), Some("SlowDown"));
        assert_eq!(s3_code("nope"), None);
    }

    #[test]
    fn every_element_in_order() {
        let xml = "<R><Contents><Key>a</Key></Contents><Contents><Key>b/c</Key></Contents>\
                   <CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes></R>";
        assert_eq!(xml_all(xml, "Key").collect::<Vec<_>>(), ["a", "b/c"]);
        assert_eq!(xml_text(xml, "Key"), Some("a"));
        let prefixes: Vec<_> = xml_all(xml, "CommonPrefixes")
            .filter_map(|p| xml_text(p, "Prefix"))
            .collect();
        assert_eq!(prefixes, ["d/"]);
        assert_eq!(xml_all("<Key>unclosed", "Key").count(), 0);
    }

    #[test]
    fn urls_are_path_style_and_encoded() {
        let d = S3Driver::new("http://127.0.0.1:9000/", "k", "s", "us-east-1", "b", 4).unwrap();
        assert_eq!(
            d.url(Some("a b/c+d"), ""),
            "http://127.0.0.1:9000/b/a%20b/c%2Bd"
        );
        assert_eq!(
            d.url(None, "list-type=2"),
            "http://127.0.0.1:9000/b?list-type=2"
        );
        assert!(S3Driver::new("https://x", "k", "s", "r", "b", 1).is_err());
    }

    #[test]
    fn signed_request_has_sdk_headers() {
        let d = S3Driver::new(
            "http://127.0.0.1:9000",
            "AKID",
            "SECRET",
            "us-east-1",
            "b",
            4,
        )
        .unwrap();
        let req = d
            .signed(Method::PUT, &d.url(Some("k"), ""), GenBody::empty(), 5)
            .unwrap();
        let h = req.headers();
        assert_eq!(h.get("x-amz-content-sha256").unwrap(), "UNSIGNED-PAYLOAD");
        let auth = h.get("authorization").unwrap().to_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"),
            "{auth}"
        );
        assert!(auth.contains("/us-east-1/s3/aws4_request"), "{auth}");
        assert!(auth.contains("host;"), "{auth}");
        assert!(h.get("x-amz-date").is_some());
    }
}
