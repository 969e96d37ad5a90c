//! HTTP/1.1 on the wire: a client for crafted requests that keeps reading while it sends
//! (the gateway may refuse a body half way), and a TCP proxy that records what real
//! clients send so a test can assert which signature form they used.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request to send as is. `headers` must not hold `Connection` or
/// `Transfer-Encoding`: [`send`] adds them.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Frame the body with `Transfer-Encoding: chunked` (no `Content-Length`).
    pub http_chunked: bool,
}

#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `<Code>` of an S3 error body ("" if none).
    pub fn code(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map(|(code, _)| code.to_string())
            .unwrap_or_default()
    }

    /// Status and S3 error code, for one `assert_eq!`.
    pub fn status_code(&self) -> (u16, String) {
        (self.status, self.code())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Bytes written per write call (and per HTTP chunk when chunked).
const PIECE: usize = 64 * 1024;

/// Sends `req` on a new connection (`Connection: close`) and reads the whole answer.
/// Writing goes on in a task while the answer is read: when the gateway answers early
/// and stops reading, the failed write is ignored and the answer still counts.
pub async fn send(addr: &str, req: &RawRequest) -> RawResponse {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (n, v) in &req.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if req.http_chunked {
        head.push_str("transfer-encoding: chunked\r\n");
    }
    head.push_str("connection: close\r\n\r\n");
    let body = req.body.clone();
    let chunked = req.http_chunked;
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        for piece in body.chunks(PIECE) {
            if chunked {
                wr.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                    .await?;
                wr.write_all(piece).await?;
                wr.write_all(b"\r\n").await?;
            } else {
                wr.write_all(piece).await?;
            }
        }
        if chunked {
            wr.write_all(b"0\r\n\r\n").await?;
        }
        wr.flush().await?;
        // Keep the write half open: dropping it would half-close the connection.
        Ok::<_, std::io::Error>(wr)
    });
    let mut buf = Vec::new();
    let mut tmp = vec![0u8; 64 * 1024];
    loop {
        match rd.read(&mut tmp).await {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            // A reset after an early answer (the gateway did not read the whole body).
            Err(_) if !buf.is_empty() => break,
            Err(e) => panic!("read response: {e}"),
        }
    }
    writer.abort();
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> RawResponse {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let rest = &buf[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        let len = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(rest.len());
        rest[..len.min(rest.len())].to_vec()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[(size + 2).min(rest.len())..];
    }
    out
}

/// A TCP proxy in front of the gateway that keeps every byte clients send through it,
/// per connection (so two connections' requests never interleave).
pub struct RecordingProxy {
    pub addr: String,
    conns: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    pub async fn start(upstream: &str) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let conns: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let upstream = upstream.to_string();
        let rec = conns.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let rec = rec.clone();
                let id = {
                    let mut all = rec.lock().expect("proxy record");
                    all.push(Vec::new());
                    all.len() - 1
                };
                let (mut crd, mut cwr) = client.into_split();
                let (mut srd, mut swr) = server.into_split();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match crd.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                rec.lock().expect("proxy record")[id].extend_from_slice(&buf[..n]);
                                if swr.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = swr.shutdown().await;
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut srd, &mut cwr).await;
                    let _ = cwr.shutdown().await;
                });
            }
        });
        RecordingProxy { addr, conns, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything sent so far, connection after connection.
    pub fn sent(&self) -> Vec<u8> {
        self.conns.lock().expect("proxy record").concat()
    }

    /// Values of request header `name` (case-insensitive) in everything sent, in order.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        header_values(&self.sent(), name)
    }

    /// How often `needle` occurs in everything sent.
    pub fn count(&self, needle: &str) -> usize {
        let sent = self.sent();
        sent.windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Values of header lines `name: value` (case-insensitive name) found in `bytes`.
pub fn header_values(bytes: &[u8], name: &str) -> Vec<String> {
    let needle = format!("\r\n{}:", name.to_ascii_lowercase());
    let lower = bytes.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..]
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
    {
        let start = from + pos + needle.len();
        let end = bytes[start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(bytes.len(), |e| start + e);
        out.push(
            String::from_utf8_lossy(&bytes[start..end])
                .trim()
                .to_string(),
        );
        from = end;
    }
    out
}
