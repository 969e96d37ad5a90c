//! No secret key, signing key, signature, credential or Authorization header ever
//! reaches an exported span, for header-signed, presigned and refused requests alike.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

use super::common::{self, Gateway, GatewayOptions};
use super::receiver::Receiver;

/// The `Authorization` header of every request an SDK client sends.
#[derive(Debug, Default, Clone)]
struct SentAuthorization(Arc<Mutex<Vec<String>>>);

impl aws_sdk_s3::config::Intercept for SentAuthorization {
    fn name(&self) -> &'static str {
        "SentAuthorization"
    }
    fn read_before_transmit(
        &self,
        ctx: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        if let Some(v) = ctx.request().headers().get("authorization") {
            self.0.lock().expect("lock").push(v.to_string());
        }
        Ok(())
    }
}

/// HMAC-SHA256, for the SigV4 signing key.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// What must never reach a trace, each with a name for the failure message.
#[derive(Default)]
struct Secrets(Vec<(String, Vec<u8>)>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: impl AsRef<[u8]>) {
        let value = value.as_ref().to_vec();
        assert!(value.len() >= 16, "too short to search for: {value:?}");
        self.0.push((what.into(), value));
    }

    /// A secret key and the SigV4 signing key it gives on `date` (raw, hex, base64).
    fn secret_key(&mut self, secret: &str, date: &str) {
        use base64::Engine;
        self.add(format!("secret key {secret}"), secret);
        let mut k = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        for part in [common::REGION, "s3", "aws4_request"] {
            k = hmac_sha256(&k, part.as_bytes());
        }
        self.add("signing key (hex)", hex::encode(&k));
        self.add(
            "signing key (base64)",
            base64::engine::general_purpose::STANDARD.encode(&k),
        );
        self.add("signing key (raw)", k);
    }

    /// An `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    fn authorization(&mut self, header: &str) {
        self.add("an Authorization header", header);
        for part in header.split([' ', ',']) {
            if let Some(sig) = part.strip_prefix("Signature=") {
                self.add("a header signature", sig);
            }
            if let Some(cred) = part.strip_prefix("Credential=") {
                self.add("a header credential", cred);
            }
        }
    }

    /// The query auth of a presigned URL, as sent and decoded.
    fn presigned(&mut self, url: &str) {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name == "X-Amz-Signature" || name == "X-Amz-Credential" {
                self.add(format!("{name} (as sent)"), value);
                self.add(format!("{name} (decoded)"), value.replace("%2F", "/"));
            }
        }
    }

    /// The first secret found in `haystack`, with some context around it.
    fn find_in(&self, haystack: &[u8]) -> Option<String> {
        self.0.iter().find_map(|(what, v)| {
            let at = haystack.windows(v.len()).position(|w| w == v.as_slice())?;
            let ctx = &haystack[at.saturating_sub(120)..(at + v.len() + 120).min(haystack.len())];
            Some(format!(
                "{what} in an export: …{}…",
                String::from_utf8_lossy(ctx)
            ))
        })
    }
}

/// No secret key, signing key, signature, credential or Authorization header reaches
/// the exported spans (attributes, events, resources), whether the request is signed
/// in a header or presigned, and whether it passes or fails authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_keys_or_secrets_are_recorded_in_traces() {
    use aws_sdk_s3::operation::RequestId;
    use aws_sdk_s3::presigning::PresigningConfig;

    let receiver = Receiver::start().await;
    // As in the first test: auth and the object role in different processes, so the
    // signed request also crosses NATS to the auth role.
    let mut g = Gateway::start(GatewayOptions {
        split: true,
        env: vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), receiver.url.clone()),
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()),
            ("JETGATE_ROLES".into(), "auth,listing".into()),
        ],
        ..Default::default()
    })
    .await;
    g.start_worker_with_env(&[("JETGATE_ROLES", "multipart,object")]);
    let bucket = g.bucket("secrets").await;
    // "worker ready" can come before the object role's subscriptions reach the server
    // (reported): wait until the role answers, as the requests below are not retried.
    let probe = g.client_with(common::ACCESS_KEY, common::SECRET_KEY, |c| {
        c.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
    });
    common::poll("the object role to answer", Duration::from_secs(30), || {
        let (probe, bucket) = (probe.clone(), bucket.clone());
        async move {
            let r = probe.head_object().bucket(&bucket).key("k").send().await;
            let status = r.err()?.raw_response().map(|r| r.status().as_u16());
            (status == Some(404)).then_some(())
        }
    })
    .await;
    let sent = SentAuthorization::default();
    let no_retry = |c: aws_sdk_s3::config::Builder| {
        c.retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .interceptor(sent.clone())
    };
    let c = g.client_with(common::ACCESS_KEY, common::SECRET_KEY, no_retry);
    let wrong_secret = "wrongSecretKey/0123456789abcdefghij";
    let wrong = g.client_with(common::ACCESS_KEY, wrong_secret, no_retry);
    let unknown_secret = "unknownSecretKey/0123456789abcdefgh";
    let unknown = g.client_with("JGUNKNOWNKEY0000", unknown_secret, no_retry);
    // Request ids of everything sent, each to be found in the exported spans.
    let mut ids: Vec<String> = Vec::new();
    let id_of_err = |e: &dyn std::fmt::Debug,
                     raw: Option<&aws_sdk_s3::config::http::HttpResponse>| {
        raw.and_then(|r| r.headers().get("x-amz-request-id"))
            .unwrap_or_else(|| panic!("no request id: {e:?}"))
            .to_string()
    };

    // Signed in the Authorization header: a PUT, a GET, a multipart upload.
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"secret-free body"))
        .send()
        .await
        .expect("put");
    ids.extend(put.request_id().map(str::to_string));
    let got = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .send()
        .await
        .expect("get");
    ids.extend(got.request_id().map(str::to_string));
    let up = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("mp")
        .send()
        .await
        .expect("create upload");
    ids.extend(up.request_id().map(str::to_string));
    let upload_id = up.upload_id().expect("upload id");
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key("mp")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"one part"))
        .send()
        .await
        .expect("upload part");
    ids.extend(part.request_id().map(str::to_string));
    let done = common::complete(
        &c,
        &bucket,
        "mp",
        upload_id,
        &[(1, part.e_tag().expect("etag"))],
    )
    .await
    .expect("complete");
    assert_eq!(done, common::multipart_etag(&[&b"one part"[..]]));
    // Refused: a wrong secret, and an access key that does not exist.
    let e = wrong
        .put_object()
        .bucket(&bucket)
        .key("refused")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("wrong secret");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
        Some("SignatureDoesNotMatch")
    );
    ids.push(id_of_err(&e, e.raw_response()));
    let e = unknown
        .list_buckets()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(
        aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
        Some("InvalidAccessKeyId")
    );
    ids.push(id_of_err(&e, e.raw_response()));

    // Presigned: a GET and a PUT sent by hand, and a GET whose signature was altered.
    let presign =
        || PresigningConfig::expires_in(Duration::from_secs(600)).expect("presign config");
    let get_url = c
        .get_object()
        .bucket(&bucket)
        .key("k")
        .presigned(presign())
        .await
        .expect("presign get")
        .uri()
        .to_string();
    let put_url = c
        .put_object()
        .bucket(&bucket)
        .key("presigned")
        .presigned(presign())
        .await
        .expect("presign put")
        .uri()
        .to_string();
    assert!(
        get_url
            .rsplit('&')
            .next()
            .is_some_and(|p| p.starts_with("X-Amz-Signature=")),
        "the signature is not the URL's last parameter: {get_url}"
    );
    let last = get_url.chars().last().expect("signature digit");
    let tampered = format!(
        "{}{}",
        &get_url[..get_url.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let send = |method: &str, url: &str, body: &[u8]| {
        let path = url
            .strip_prefix(&g.endpoint)
            .expect("URL on the endpoint")
            .to_string();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            g.addr(),
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        req
    };
    for (method, url, body, want) in [
        ("GET", &get_url, &b""[..], 200),
        ("PUT", &put_url, &b"presigned body"[..], 200),
        ("GET", &tampered, &b""[..], 403),
    ] {
        let (status, h, resp) = common::raw_http(&g.addr(), &send(method, url, body)).await;
        assert_eq!(
            status,
            want,
            "{method} {url}: {}",
            String::from_utf8_lossy(&resp)
        );
        ids.push(
            h.iter()
                .find(|(k, _)| k == "x-amz-request-id")
                .map(|(_, v)| v.clone())
                .expect("x-amz-request-id"),
        );
    }

    // Everything secret that went over the wire, and the keys behind it.
    let mut secrets = Secrets::default();
    let auths = sent.0.lock().expect("lock").clone();
    assert!(auths.len() >= 7, "Authorization headers seen: {auths:?}");
    let date = auths[0]
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(1))
        .expect("date in the credential scope")
        .to_string();
    for s in [common::SECRET_KEY, wrong_secret, unknown_secret] {
        secrets.secret_key(s, &date);
    }
    for a in &auths {
        secrets.authorization(a);
    }
    for url in [&get_url, &put_url, &tampered] {
        secrets.presigned(url);
    }

    // Wait until every request's edge span and a worker span of its trace are in.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        let missing: Vec<&String> = ids
            .iter()
            .filter(|id| {
                let Some(edge) = spans
                    .iter()
                    .find(|s| s.name == "s3.request" && s.attrs.get("request_id") == Some(*id))
                else {
                    return true;
                };
                !spans
                    .iter()
                    .any(|s| s.service == "jetgate-worker" && s.trace_id == edge.trace_id)
            })
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no complete trace for requests {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let raw = receiver.raw.lock().expect("lock").clone();
    // The exports are searchable as bytes: the bucket name, an attribute, is found.
    assert!(
        raw.windows(bucket.len()).any(|w| w == bucket.as_bytes()),
        "the bucket name is not in the raw exports"
    );
    if let Some(found) = secrets.find_in(&raw) {
        panic!("{found}");
    }
    println!(
        "{} secrets absent from {} bytes of exports ({} spans)",
        secrets.0.len(),
        raw.len(),
        receiver.spans().len()
    );
}
