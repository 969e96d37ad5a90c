//! Reads and removes messages of one subject by stream sequence (direct get): the
//! chunks of a staged part, an appended part's range, or strays after the good prefix.

use async_nats::{Client, StatusCode};
use bytes::Bytes;
use jetgate_protocol::S3Error;

use super::state::delete_seq;

/// The first message of `subject` at or after `from_seq`: `(seq, payload)`.
pub async fn next_msg(
    client: &Client,
    stream: &str,
    subject: &str,
    from_seq: u64,
) -> Result<Option<(u64, Bytes)>, S3Error> {
    let body = serde_json::json!({ "seq": from_seq.max(1), "next_by_subj": subject });
    let req = async_nats::Request::new()
        .payload(Bytes::from(body.to_string()))
        .timeout(Some(std::time::Duration::from_secs(5)));
    let msg = client
        .send_request(format!("$JS.API.DIRECT.GET.{stream}"), req)
        .await
        .map_err(S3Error::internal)?;
    match msg.status {
        None | Some(StatusCode::OK) => {}
        Some(StatusCode::NOT_FOUND) => return Ok(None),
        Some(s) => {
            return Err(S3Error::internal(format!(
                "direct get {subject}: {s} {:?}",
                msg.description
            )))
        }
    }
    let seq = msg
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Sequence"))
        .and_then(|v| v.as_str().parse::<u64>().ok())
        .ok_or_else(|| S3Error::internal("direct get without a sequence"))?;
    Ok(Some((seq, msg.payload)))
}

/// Chunks of `subject` with sequences in `first..=last`, in order.
pub struct SeqReader {
    client: Client,
    stream: String,
    subject: String,
    next: u64,
    last: u64,
}

impl SeqReader {
    pub fn new(client: &Client, stream: &str, subject: &str, first: u64, last: u64) -> Self {
        SeqReader {
            client: client.clone(),
            stream: stream.to_string(),
            subject: subject.to_string(),
            next: first.max(1),
            last,
        }
    }

    pub async fn next(&mut self) -> Result<Option<Bytes>, S3Error> {
        if self.next > self.last {
            return Ok(None);
        }
        match next_msg(&self.client, &self.stream, &self.subject, self.next).await? {
            Some((seq, data)) if seq <= self.last => {
                self.next = seq + 1;
                Ok(Some(data))
            }
            _ => {
                self.next = u64::MAX;
                Ok(None)
            }
        }
    }
}

/// Deletes every message of `subject` after `after_seq`; returns how many.
pub async fn delete_after(
    js: &async_nats::jetstream::Context,
    client: &Client,
    stream: &str,
    subject: &str,
    after_seq: u64,
) -> Result<u64, S3Error> {
    let mut from = after_seq + 1;
    let mut n = 0;
    while let Some((seq, _)) = next_msg(client, stream, subject, from).await? {
        delete_seq(js, stream, seq).await?;
        n += 1;
        from = seq + 1;
    }
    Ok(n)
}
