//! Clients for the gateway: aws-sdk-s3 with test credentials, and raw HTTP/1.1 for
//! requests no SDK will send.

use aws_sdk_s3::config::{Credentials, Region};

use super::REGION;

/// An aws-sdk-s3 client for `endpoint` (path style) with a hook to adjust the config.
pub fn s3_client(
    endpoint: &str,
    access: &str,
    secret: &str,
    f: impl FnOnce(aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder,
) -> aws_sdk_s3::Client {
    let b = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            access,
            secret,
            None,
            None,
            "jetgate-tests",
        ))
        .force_path_style(true);
    aws_sdk_s3::Client::from_conf(f(b).build())
}

/// A raw HTTP/1.1 exchange (for requests no SDK will send). Returns status, headers
/// (lower-cased names) and body. The request must carry `Connection: close`.
pub async fn raw_http(addr: &str, request: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write request");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read response");
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of response head");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body)
}
