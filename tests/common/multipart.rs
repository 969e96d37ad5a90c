//! Multipart-upload steps with aws-sdk-s3 that tests/multipart.rs,
//! tests/multipart_faults.rs and tests/multipart_complete_faults.rs share, reading an
//! object back with async-nats, and the checks the fault tests make after a worker died.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::create_multipart_upload::builders::CreateMultipartUploadFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use md5::{Digest, Md5};
use tokio::io::AsyncReadExt;

use std::time::{Duration, Instant};

use super::{chunk_messages, md5_hex, nats_bucket, Gateway};

/// The S3 multipart ETag of an object made of `parts`: MD5 of the part MD5s, `-<count>`.
pub fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(Md5::digest(p));
    }
    format!("\"{}-{}\"", hex::encode(h.finalize()), parts.len())
}

/// CreateMultipartUpload with `f` adding headers to the request; returns the upload id.
pub async fn create_upload_with(
    s3: &Client,
    b: &str,
    k: &str,
    f: impl FnOnce(CreateMultipartUploadFluentBuilder) -> CreateMultipartUploadFluentBuilder,
) -> String {
    f(s3.create_multipart_upload().bucket(b).key(k))
        .send()
        .await
        .expect("create multipart upload")
        .upload_id()
        .expect("upload id")
        .to_string()
}

/// UploadPart; returns the part's ETag.
pub async fn put_part(s3: &Client, b: &str, k: &str, id: &str, n: i32, data: &[u8]) -> String {
    s3.upload_part()
        .bucket(b)
        .key(k)
        .upload_id(id)
        .part_number(n)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("upload part {n}: {e:?}"))
        .e_tag()
        .expect("part etag")
        .to_string()
}

/// The CompleteMultipartUpload body for `(part number, ETag)` pairs.
pub fn completed<S: AsRef<str>>(parts: &[(i32, S)]) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, e)| {
                    CompletedPart::builder()
                        .part_number(*n)
                        .e_tag(e.as_ref())
                        .build()
                })
                .collect(),
        ))
        .build()
}

/// Complete; Ok(ETag) or Err((code, HTTP status, debug text)).
pub async fn complete<S: AsRef<str>>(
    s3: &Client,
    b: &str,
    k: &str,
    id: &str,
    parts: &[(i32, S)],
) -> Result<String, (String, Option<u16>, String)> {
    s3.complete_multipart_upload()
        .bucket(b)
        .key(k)
        .upload_id(id)
        .multipart_upload(completed(parts))
        .send()
        .await
        .map(|r| r.e_tag().unwrap_or_default().to_string())
        .map_err(|e| {
            (
                e.code().unwrap_or_default().to_string(),
                e.raw_response().map(|r| r.status().as_u16()),
                format!("{e:?}"),
            )
        })
}

/// Reads the object with async-nats: chunks in stream order, SHA-256 digest checked.
pub async fn get_nats(js: &async_nats::jetstream::Context, b: &str, k: &str) -> Vec<u8> {
    let store = js
        .get_object_store(nats_bucket(b))
        .await
        .expect("object store");
    // The point: an ordinary NATS client reads the assembled object, digest checked.
    #[allow(clippy::disallowed_methods)]
    let mut obj = store.get(k).await.expect("nats object get");
    let mut data = Vec::new();
    obj.read_to_end(&mut data)
        .await
        .expect("read nats object (digest must match)");
    data
}

/// The keys an upload still has a value for in the uploads KV (`u.<id>`, `c.<id>`,
/// `p.<id>.<n>`), from the stream: what is left of its state. (A finished upload's
/// record leaves a purge marker, which is no state: see [`record_marker`].)
pub async fn upload_kv_keys(js: &async_nats::jetstream::Context, id: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let stream = js
        .get_stream("KV_jetgate-uploads")
        .await
        .expect("uploads KV stream");
    let subjects: Vec<(String, usize)> = stream
        .info_with_subjects("$KV.jetgate-uploads.>")
        .await
        .expect("KV subjects")
        .try_collect()
        .await
        .expect("KV subjects");
    let mut keys = Vec::new();
    for (subject, _) in subjects {
        let Some(k) = subject.strip_prefix("$KV.jetgate-uploads.") else {
            continue;
        };
        let mine =
            k == format!("u.{id}") || k == format!("c.{id}") || k.starts_with(&format!("p.{id}."));
        if mine && kv_operation(&stream, &subject).await.is_none() {
            keys.push(k.to_string());
        }
    }
    keys.sort();
    keys
}

/// The `KV-Operation` header of the last message on `subject` (`None` for a value).
async fn kv_operation(
    stream: &async_nats::jetstream::stream::Stream,
    subject: &str,
) -> Option<String> {
    let msg = stream
        .get_last_raw_message_by_subject(subject)
        .await
        .expect("last message of a KV key");
    msg.headers
        .get("KV-Operation")
        .map(|v| v.as_str().to_string())
}

/// The marker an upload's record left when it finished: its `KV-Operation` and its
/// `Nats-TTL` headers (`None` when the record is still there or gone without a trace).
pub async fn record_marker(
    js: &async_nats::jetstream::Context,
    id: &str,
) -> Option<(String, Option<String>)> {
    let stream = js
        .get_stream("KV_jetgate-uploads")
        .await
        .expect("uploads KV stream");
    let msg = stream
        .get_last_raw_message_by_subject(&format!("$KV.jetgate-uploads.u.{id}"))
        .await
        .ok()?;
    let op = msg.headers.get("KV-Operation")?.as_str().to_string();
    Some((
        op,
        msg.headers.get("Nats-TTL").map(|v| v.as_str().to_string()),
    ))
}

// What the fault tests (tests/multipart_faults.rs, tests/multipart_complete_faults.rs)
// check after a worker died or stalled.

/// Orphan grace of the workers that replace a killed one: their janitor runs every this
/// often. Long enough that a Complete copying parts (which writes chunks continuously)
/// is never mistaken for a dead one on this busy 2-core machine.
pub const ORPHAN_GRACE_SECS: &str = "10";

/// `want` with ETag `etag` at `b/k`, read through S3 and through async-nats.
pub async fn assert_stored_object(g: &Gateway, b: &str, k: &str, want: &[u8], etag: &str) {
    let got = g
        .client()
        .get_object()
        .bucket(b)
        .key(k)
        .send()
        .await
        .expect("get object");
    assert_eq!(got.e_tag(), Some(etag), "ETag via S3");
    let body = got.body.collect().await.expect("read body").to_vec();
    assert_eq!(body.len(), want.len(), "length via S3");
    assert_eq!(md5_hex(&body), md5_hex(want), "bytes via S3");
    let via_nats = get_nats(&g.nats.jetstream().await, b, k).await;
    assert_eq!(md5_hex(&via_nats), md5_hex(want), "bytes via async-nats");
}

/// No upload keys of `id` are left in the uploads KV.
pub async fn assert_no_upload_keys(g: &Gateway, id: &str) {
    let left = upload_kv_keys(&g.nats.jetstream().await, id).await;
    assert!(left.is_empty(), "upload keys left: {left:?}");
}

/// Waits (90 s at most) until the bucket's stream holds `want` chunk messages.
pub async fn wait_chunks(g: &Gateway, b: &str, want: u64) {
    let js = g.nats.jetstream().await;
    let nb = nats_bucket(b);
    let t = Instant::now();
    super::poll(
        &format!("{want} chunk messages in {b}"),
        Duration::from_secs(90),
        || {
            let (js, nb) = (js.clone(), nb.clone());
            async move { (chunk_messages(&js, &nb).await == want).then_some(()) }
        },
    )
    .await;
    println!(
        "{want} chunks left, {:?} after the check started",
        t.elapsed()
    );
}

/// SIGKILLs the gateway's worker process and waits for it to exit.
pub fn kill_worker(g: &Gateway) {
    let w = g.worker();
    println!("kill -9 worker pid {}", w.pid());
    w.signal("KILL");
    w.wait_exit(Duration::from_secs(10))
        .expect("worker exits after SIGKILL");
}
