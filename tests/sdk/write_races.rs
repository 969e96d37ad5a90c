//! Concurrent conditional writers of one key (`If-None-Match: *` on PutObject and
//! CompleteMultipartUpload, `If-Match` on PutObject): exactly one wins, every other gets
//! 412, and the stream holds the winner's object and nothing of the losers.

use std::sync::Arc;

use common::{chunk_messages, create_upload_with, get_nats, multipart_etag, nats_bucket, put_part};
use tokio::sync::Barrier;

use super::*;

/// Writers racing for the key, each with its own client (own connections).
const RACERS: usize = 16;
const MIB: usize = 1 << 20;

/// A racer's outcome: its ETag, or HTTP status, S3 code and the error's text.
type Outcome = Result<String, (u16, String, String)>;

fn outcome<T, E>(
    r: Result<T, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    etag: impl FnOnce(&T) -> Option<&str>,
) -> Outcome
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    match r {
        Ok(out) => Ok(etag(&out).expect("ETag of the winner").to_string()),
        Err(e) => Err((
            e.raw_response().map_or(0, |r| r.status().as_u16()),
            e.code().unwrap_or_default().to_string(),
            format!("{e:?}"),
        )),
    }
}

/// Distinct bodies of distinct lengths, two or three chunks each: long enough that
/// every racer is past the gateway's early existence check before any of them commits.
fn bodies() -> Vec<Vec<u8>> {
    (0..RACERS)
        .map(|i| random_bytes(2 * MIB + 4099 * i, 800 + i as u64))
        .collect()
}

/// The one winner's index and ETag; panics unless every other racer got exactly 412
/// PreconditionFailed.
fn one_winner(outcomes: &[Outcome]) -> (usize, String) {
    let mut winners = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        match o {
            Ok(etag) => winners.push((i, etag.clone())),
            Err((status, code, e)) => assert_eq!(
                (*status, code.as_str()),
                (412, "PreconditionFailed"),
                "racer {i} lost otherwise than with 412: {e}"
            ),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "racers that got 200 (racer, ETag): {winners:?}"
    );
    winners.remove(0)
}

/// Every racer's outcome, in racer order.
async fn finished(racers: Vec<tokio::task::JoinHandle<Outcome>>) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for r in racers {
        outcomes.push(r.await.expect("racer panicked"));
    }
    outcomes
}

/// Messages in the bucket's stream: chunks plus one metadata message per object.
async fn stream_messages(js: &async_nats::jetstream::Context, nb: &str) -> u64 {
    js.get_stream(format!("OBJ_{nb}"))
        .await
        .expect("object store stream")
        .info()
        .await
        .expect("stream info")
        .state
        .messages
}

/// The key holds `body` with `etag`, through S3 and through async-nats, and the stream
/// holds exactly its chunks and its one metadata message.
async fn only_object(b: &str, key: &str, body: &[u8], etag: &str) {
    let c = gw().client();
    let js = gw().jetstream().await;
    let nb = nats_bucket(b);
    assert!(
        get_bytes(&c, b, key).await == body,
        "stored bytes are not the winner's"
    );
    let head = c
        .head_object()
        .bucket(b)
        .key(key)
        .send()
        .await
        .expect("head");
    assert_eq!(head.e_tag(), Some(etag), "stored ETag");
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert!(
        get_nats(&js, b, key).await == body,
        "bytes read with async-nats"
    );
    let chunks = body.len().div_ceil(MIB) as u64;
    assert_eq!(
        chunk_messages(&js, &nb).await,
        chunks,
        "chunk messages: the winner's {chunks} and nothing of the losers"
    );
    assert_eq!(
        stream_messages(&js, &nb).await,
        chunks + 1,
        "stream messages: the winner's chunks and one metadata message"
    );
    assert_eq!(list_keys(&c, b).await, [key]);
}

/// A conditional PUT with the header pair `(name, value)`, as sent by every racer.
type Condition = (&'static str, String);

/// RACERS clients PUT distinct bodies to `b/race` at once under `condition`; exactly one
/// wins and the key then holds its object and nothing of the losers.
async fn put_racers(b: &str, condition: Condition) {
    let bodies = bodies();
    let start = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = bodies
        .iter()
        .map(|body| {
            let (c, b, body, start) = (gw().client(), b.to_string(), body.clone(), start.clone());
            let (name, value) = condition.clone();
            tokio::spawn(async move {
                start.wait().await;
                let put = c.put_object().bucket(&b).key("race");
                let put = match name {
                    "if-match" => put.if_match(value),
                    _ => put.if_none_match(value),
                };
                let r = put.body(ByteStream::from(body)).send().await;
                outcome(r, |o| o.e_tag())
            })
        })
        .collect();
    let (w, etag) = one_winner(&finished(racers).await);
    assert_eq!(etag, quoted(&md5_hex(&bodies[w])), "winner's ETag");
    only_object(b, "race", &bodies[w], &etag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_none_match_star_racers() {
    let b = gw().bucket("inm-put").await;
    put_racers(&b, ("if-none-match", "*".into())).await;
}

/// Racers that all read the same object and replace it only if it is still what they
/// read: one replaces it, the rest find it changed (the compare-and-swap S3 users build
/// on `If-Match`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_match_racers() {
    let b = gw().bucket("im-put").await;
    let first = put(&gw().client(), &b, "race", b"the version every racer read").await;
    put_racers(&b, ("if-match", first)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_if_none_match_star_racers() {
    let c = gw().client();
    let b = gw().bucket("inm-mpu").await;
    let bodies = bodies();
    // One upload per racer, each of one part (the last part may be any size).
    let mut uploads = Vec::new();
    for body in &bodies {
        let id = create_upload_with(&c, &b, "race", |r| r).await;
        let part = put_part(&c, &b, "race", &id, 1, body).await;
        assert_eq!(part, quoted(&md5_hex(body)));
        uploads.push((id, part));
    }
    let start = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = uploads
        .iter()
        .map(|(id, part)| {
            let (c, b, start) = (gw().client(), b.clone(), start.clone());
            let (id, done) = (id.clone(), common::completed(&[(1, part)]));
            tokio::spawn(async move {
                start.wait().await;
                let r = c
                    .complete_multipart_upload()
                    .bucket(&b)
                    .key("race")
                    .upload_id(id)
                    .if_none_match("*")
                    .multipart_upload(done)
                    .send()
                    .await;
                outcome(r, |o| o.e_tag())
            })
        })
        .collect();
    let (w, etag) = one_winner(&finished(racers).await);
    assert_eq!(etag, multipart_etag(&[&bodies[w]]), "winner's ETag");
    // Whatever S3 does with a loser's upload, it must not leave chunks behind: abort
    // every upload still listed (never the winner's), then only the object remains.
    let listed = c
        .list_multipart_uploads()
        .bucket(&b)
        .send()
        .await
        .expect("list uploads");
    for u in listed.uploads() {
        let id = u.upload_id().expect("upload id");
        assert_ne!(id, uploads[w].0, "the winner's upload is still in progress");
        assert!(
            uploads.iter().any(|(known, _)| known == id),
            "unknown upload {id}"
        );
        c.abort_multipart_upload()
            .bucket(&b)
            .key("race")
            .upload_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("abort loser {id}: {e:?}"));
    }
    only_object(&b, "race", &bodies[w], &etag).await;
}

/// Trials of DeleteBucket racing PUTs into a new bucket, and PUTs per trial.
const DELETE_TRIALS: usize = 30;
const DELETE_PUTTERS: usize = 6;

/// DeleteBucket racing PUTs: it deletes only a bucket that no acknowledged PUT wrote
/// to. Before the bucket's stream was closed to writers between the emptiness check and
/// the delete, a PUT acknowledged in between was deleted with the bucket. Each trial
/// starts PUTs (spread over a few milliseconds) and a DeleteBucket loop at once; either
/// the bucket is gone and no PUT was acknowledged, or it answered BucketNotEmpty and
/// every acknowledged object reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_bucket_never_drops_an_acknowledged_put() {
    let (mut deleted, mut kept) = (0, 0);
    let js = gw().jetstream().await;
    for trial in 0..DELETE_TRIALS {
        let b = gw().bucket("del-race").await;
        let start = Arc::new(Barrier::new(DELETE_PUTTERS + 1));
        let putters: Vec<_> = (0..DELETE_PUTTERS)
            .map(|i| {
                let (c, b, start) = (gw().client(), b.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    tokio::time::sleep(Duration::from_micros(700 * i as u64)).await;
                    let body = format!("trial {trial} putter {i}").into_bytes();
                    let r = c
                        .put_object()
                        .bucket(&b)
                        .key(format!("k{i}"))
                        .body(ByteStream::from(body.clone()))
                        .send()
                        .await;
                    r.is_ok().then_some((format!("k{i}"), body))
                })
            })
            .collect();
        let c = gw().client();
        start.wait().await;
        let gone = loop {
            match c.delete_bucket().bucket(&b).send().await {
                Ok(_) => break true,
                Err(e) if e.code() == Some("BucketNotEmpty") => break false,
                // Closed by another attempt, or throttled: try again.
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() >= 409) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(e) => panic!("trial {trial}: DeleteBucket: {e:?}"),
            }
        };
        let mut acked = Vec::new();
        for p in putters {
            acked.extend(p.await.expect("putter panicked"));
        }
        if gone {
            deleted += 1;
            assert!(
                acked.is_empty(),
                "trial {trial}: DeleteBucket succeeded, and PUTs of {:?} were acknowledged",
                acked.iter().map(|(k, _)| k).collect::<Vec<_>>()
            );
            let (status, _, _) = fail(c.head_bucket().bucket(&b).send().await);
            assert_eq!(status, 404, "trial {trial}: deleted bucket still answers");
        } else {
            kept += 1;
            assert!(
                !acked.is_empty(),
                "trial {trial}: BucketNotEmpty with nothing stored"
            );
            for (key, body) in &acked {
                assert_eq!(&get_bytes(&c, &b, key).await, body, "trial {trial}: {key}");
            }
            let config = js
                .get_stream(format!("OBJ_{}", nats_bucket(&b)))
                .await
                .expect("bucket stream")
                .cached_info()
                .config
                .clone();
            assert!(
                !config.metadata.contains_key("jetgate.closing") && config.subjects.len() == 2,
                "trial {trial}: bucket left closed: {:?}",
                config.subjects
            );
        }
    }
    eprintln!("delete race: deleted {deleted}, kept {kept}");
    // Both endings seen, so the PUTs really raced the delete.
    assert!(deleted > 0 && kept > 0, "deleted {deleted}, kept {kept}");
}
