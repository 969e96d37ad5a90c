//! A real browser against jetgate: headless Chromium loads a page served by this test on
//! another port (so every request is cross-origin), and its JavaScript does a presigned
//! PUT with `fetch` and a form upload (FormData) with a presigned POST policy. The page
//! writes the outcome into the DOM, which `--dump-dom` hands back. A bucket without a
//! matching CORS rule must be refused by the browser itself.

mod common;

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use common::{require_tool, Gateway, GatewayOptions, ACCESS_KEY, SECRET_KEY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `html` for every request on the listener (a different origin from jetgate).
fn serve_page(listener: tokio::net::TcpListener, html: String) {
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = s.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
}

/// boto3's generate_presigned_post (SigV4) as JSON `{"url": ..., "fields": {...}}`.
async fn presigned_post(endpoint: &str, bucket: &str, key: &str) -> String {
    let script = r#"
import json, sys, boto3
from botocore.config import Config
endpoint, bucket, key, access, secret = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access,
                  aws_secret_access_key=secret, region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
post = s3.generate_presigned_post(bucket, key, Fields={"Content-Type": "text/plain"},
                                  Conditions=[{"Content-Type": "text/plain"},
                                              ["content-length-range", 1, 1000]],
                                  ExpiresIn=600)
print(json.dumps(post))
"#;
    let out = tokio::process::Command::new("python3")
        .args(["-c", script, endpoint, bucket, key, ACCESS_KEY, SECRET_KEY])
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .await
        .expect("run python3 with boto3 (run scripts/setup.sh)");
    assert!(
        out.status.success(),
        "generate_presigned_post failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

async fn presigned_put(c: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).expect("config"))
        .await
        .expect("presign PUT")
        .uri()
        .to_string()
}

async fn read(c: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<(Vec<u8>, String)> {
    let got = c.get_object().bucket(bucket).key(key).send().await.ok()?;
    let ct = got.content_type().unwrap_or_default().to_string();
    let body = got.body.collect().await.ok()?.into_bytes().to_vec();
    Some((body, ct))
}

#[tokio::test]
async fn chromium_presigned_put_and_form_post() {
    let test = "browser.rs::chromium_presigned_put_and_form_post";
    let Some(chromium) = require_tool(test, &["chromium", "chromium-browser"]) else {
        return;
    };
    let g = Gateway::start(GatewayOptions::default()).await;
    let c = g.client();
    let allowed = g.bucket("browser-ok").await;
    let refused = g.bucket("browser-no").await;

    // The page's origin must be known before the CORS rule: bind first, serve later.
    let page = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let page_port = page.local_addr().expect("addr").port();
    let origin = format!("http://127.0.0.1:{page_port}");
    let rule = CorsRule::builder()
        .allowed_origins(&origin)
        .allowed_methods("PUT")
        .allowed_methods("POST")
        .allowed_methods("GET")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(60)
        .build()
        .expect("rule");
    c.put_bucket_cors()
        .bucket(&allowed)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(rule)
                .build()
                .expect("cfg"),
        )
        .send()
        .await
        .expect("put bucket cors");
    // The other bucket allows only some other origin.
    let other = CorsRule::builder()
        .allowed_origins("http://elsewhere.test")
        .allowed_methods("PUT")
        .build()
        .expect("rule");
    c.put_bucket_cors()
        .bucket(&refused)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(other)
                .build()
                .expect("cfg"),
        )
        .send()
        .await
        .expect("put bucket cors");

    let put_url = presigned_put(&c, &allowed, "from-browser/put.txt").await;
    let neg_url = presigned_put(&c, &refused, "from-browser/neg.txt").await;
    let post = presigned_post(&g.endpoint, &allowed, "from-browser/${filename}").await;
    let html = format!(
        r#"<!doctype html><html><body><pre id="result">pending</pre><script>
const PUT_URL = {put};
const NEG_URL = {neg};
const POST = {post};
async function run() {{
  const out = {{}};
  try {{
    const r = await fetch(PUT_URL, {{ method: "PUT", body: "hello from chromium" }});
    out.put = r.status;
    out.put_etag = r.headers.get("ETag");
  }} catch (e) {{ out.put = "blocked: " + e; }}
  try {{
    const fd = new FormData();
    for (const [k, v] of Object.entries(POST.fields)) fd.append(k, v);
    fd.append("file", new Blob(["posted from chromium"], {{ type: "text/plain" }}), "form.txt");
    const r = await fetch(POST.url, {{ method: "POST", body: fd }});
    out.post = r.status;
  }} catch (e) {{ out.post = "blocked: " + e; }}
  try {{
    const r = await fetch(NEG_URL, {{ method: "PUT", body: "must not arrive" }});
    out.neg = r.status;
  }} catch (e) {{ out.neg = "blocked"; }}
  document.getElementById("result").textContent = "RESULT " + JSON.stringify(out) + " END";
}}
run();
</script></body></html>"#,
        put = serde_json::to_string(&put_url).expect("json"),
        neg = serde_json::to_string(&neg_url).expect("json"),
        post = post,
    );
    serve_page(page, html);
    let port = page_port;
    let profile = common::temp_dir("chromium-");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--virtual-time-budget=20000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(format!("http://127.0.0.1:{port}/"))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium finished within 120 s")
    .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout).to_string();
    let result = dom
        .split_once("RESULT ")
        .and_then(|(_, r)| r.split_once(" END"))
        .map(|(r, _)| r.to_string())
        .unwrap_or_else(|| {
            panic!(
                "page did not finish; DOM:\n{dom}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    println!("browser result: {result}");
    let v: serde_json::Value = serde_json::from_str(&result).expect("result JSON");
    assert_eq!(v["put"], 200, "presigned PUT from the page: {result}");
    let etag = format!("\"{}\"", common::md5_hex(b"hello from chromium"));
    assert_eq!(
        v["put_etag"].as_str(),
        Some(etag.as_str()),
        "ETag exposed to the page: {result}"
    );
    assert_eq!(v["post"], 204, "form POST from the page: {result}");
    assert_eq!(
        v["neg"], "blocked",
        "no CORS rule: the browser must refuse: {result}"
    );

    let (body, _) = read(&c, &allowed, "from-browser/put.txt")
        .await
        .expect("PUT object");
    assert_eq!(body, b"hello from chromium");
    let (body, ct) = read(&c, &allowed, "from-browser/form.txt")
        .await
        .expect("POST object");
    assert_eq!(body, b"posted from chromium");
    assert_eq!(ct, "text/plain");
    assert!(
        read(&c, &refused, "from-browser/neg.txt").await.is_none(),
        "refused upload must not be stored"
    );
}
