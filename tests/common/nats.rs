//! The `nats-server` every test runs against, and what tests read from its streams.

use super::{temp_dir, which, Proc, STARTUP_TIMEOUT};

/// A `nats-server -js` on a free port with its store in a temp dir.
pub struct NatsServer {
    proc: Proc,
    url: String,
    /// `host:port` of the HTTP monitoring endpoint.
    monitor: String,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let dir = temp_dir("nats-");
        let store = dir.path().join("store");
        let bin = which("nats-server").expect("nats-server must be on PATH (run scripts/setup.sh)");
        let args = vec![
            "-js".to_string(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            "-1".into(),
            // A monitoring port of its own (`-1`: any free one) for /connz.
            "-m".into(),
            "-1".into(),
            "--store_dir".into(),
            store.display().to_string(),
        ];
        let proc = Proc::spawn(
            "nats-server",
            &bin,
            &args,
            &[],
            dir.path().join("nats-server.log"),
        );
        let monitor = proc
            .wait_matching(STARTUP_TIMEOUT, |l| {
                l.split_once("Starting http monitor on ")
                    .map(|(_, rest)| rest.trim().to_string())
            })
            .unwrap_or_else(|e| panic!("nats-server monitor: {e}\n{}", proc.log_tail(40)));
        let hostport = proc
            .wait_matching(STARTUP_TIMEOUT, |l| {
                l.split_once("Listening for client connections on ")
                    .map(|(_, rest)| rest.trim().to_string())
            })
            .unwrap_or_else(|e| panic!("nats-server did not start: {e}\n{}", proc.log_tail(40)));
        proc.wait_matching(STARTUP_TIMEOUT, |l| {
            l.contains("Server is ready").then(String::new)
        })
        .unwrap_or_else(|e| panic!("nats-server not ready: {e}\n{}", proc.log_tail(40)));
        NatsServer {
            url: format!("nats://{hostport}"),
            monitor,
            proc,
            _dir: dir,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(&self.url)
            .await
            .expect("connect to nats-server")
    }

    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.client().await)
    }

    /// The server's `/connz` (connections with their byte counters), as JSON.
    pub async fn connz(&self) -> serde_json::Value {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&self.monitor)
            .await
            .expect("connect to the monitoring port");
        let req = format!("GET /connz HTTP/1.0\r\nHost: {}\r\n\r\n", self.monitor);
        s.write_all(req.as_bytes()).await.expect("send /connz");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read /connz");
        let text = String::from_utf8_lossy(&raw);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("/connz is not JSON: {e}: {body}"))
    }

    /// Bytes nats-server delivered to the connections named `name` so far.
    pub async fn bytes_delivered_to(&self, name: &str) -> u64 {
        let connz = self.connz().await;
        connz["connections"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter(|c| c["name"] == name)
                    .filter_map(|c| c["out_bytes"].as_u64())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// Number of chunk messages (`$O.<bucket>.C.>`) in a NATS object store's stream.
pub async fn chunk_messages(js: &async_nats::jetstream::Context, nats_bucket: &str) -> u64 {
    let mut stream = js
        .get_stream(format!("OBJ_{nats_bucket}"))
        .await
        .expect("object store stream");
    let info = stream.info().await.expect("stream info");
    if info.state.messages == 0 {
        return 0;
    }
    use futures::TryStreamExt;
    let subjects: Vec<(String, usize)> = stream
        .info_with_subjects(format!("$O.{nats_bucket}.C.>"))
        .await
        .expect("stream subjects")
        .try_collect()
        .await
        .expect("stream subjects");
    subjects.iter().map(|(_, n)| *n as u64).sum()
}

/// The last sequence of a NATS object store's stream: how many messages were ever
/// published to it (purges do not lower it), to count what one request wrote.
pub async fn last_sequence(js: &async_nats::jetstream::Context, nats_bucket: &str) -> u64 {
    let mut stream = js
        .get_stream(format!("OBJ_{nats_bucket}"))
        .await
        .expect("object store stream");
    stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence
}
