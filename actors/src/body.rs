//! The request body as a worker sees it: the inline bytes of the call, then (only when
//! asked for) the rest streamed from the edge under credit.

use bytes::{Bytes, BytesMut};
use jetgate_protocol::messages::{BodyIn, SignedRequest};
use jetgate_protocol::stream::{BodyReceiver, StreamError};
use jetgate_protocol::{S3Error, S3ErrorCode};

use crate::payload::PayloadVerifier;
use crate::worker::Worker;

pub struct RequestBody {
    worker: Worker,
    inline: Option<Bytes>,
    spec: Option<BodyIn>,
    inline_len: u64,
    receiver: Option<BodyReceiver>,
}

impl RequestBody {
    pub fn new(worker: &Worker, spec: Option<BodyIn>, inline: Bytes) -> Self {
        RequestBody {
            worker: worker.clone(),
            inline_len: inline.len() as u64,
            inline: (!inline.is_empty()).then_some(inline),
            spec,
            receiver: None,
        }
    }

    /// Next piece of the body; `None` at its end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, S3Error> {
        if let Some(b) = self.inline.take() {
            return Ok(Some(b));
        }
        if self.receiver.is_none() {
            let Some(spec) = self.spec.as_ref() else {
                return Ok(None);
            };
            if spec.complete {
                return Ok(None);
            }
            let Some(control) = spec.control.clone() else {
                return Err(S3Error::internal("streamed body without a control subject"));
            };
            let route = self.worker.mux().open();
            let mut rx = BodyReceiver::new(
                route,
                Some(control),
                self.inline_len,
                0,
                self.worker.cfg().stream.clone(),
            );
            rx.open().await.map_err(stream_error)?;
            self.receiver = Some(rx);
        }
        match self.receiver.as_mut() {
            Some(rx) => rx.next().await.map_err(stream_error),
            None => Ok(None),
        }
    }

    /// Reads a small body (an XML document) whole; larger than `limit` is an error.
    pub async fn read_small(&mut self, limit: usize) -> Result<Bytes, S3Error> {
        let mut out = BytesMut::new();
        while let Some(b) = self.next().await? {
            if out.len() + b.len() > limit {
                if let Some(rx) = self.receiver.as_mut() {
                    rx.abort("body too large");
                }
                return Err(S3Error::new(
                    S3ErrorCode::MaxMessageLengthExceeded,
                    "Your request was too big.",
                ));
            }
            out.extend_from_slice(&b);
        }
        Ok(out.freeze())
    }

    /// Tells the edge to stop sending (the request failed).
    pub fn abort(&mut self, reason: &str) {
        if let Some(rx) = self.receiver.as_mut() {
            rx.abort(reason);
        }
    }
}

/// A small request body (an XML document) read whole and verified before anything
/// parses it: aws-chunked decoded, then lengths, SHA-256, Content-MD5 and any additional
/// checksum checked ([`PayloadVerifier`]). Larger than `limit` is an error.
pub async fn read_small_verified(
    worker: &Worker,
    signed: &SignedRequest,
    spec: Option<BodyIn>,
    inline: Bytes,
    limit: usize,
) -> Result<Vec<u8>, S3Error> {
    let mut verifier = PayloadVerifier::new(signed)?;
    let mut body = RequestBody::new(worker, spec, inline);
    let raw = body.read_small(limit).await?;
    let mut doc = Vec::with_capacity(raw.len());
    for piece in verifier.push(raw)? {
        doc.extend_from_slice(&piece);
    }
    verifier.finish().await?;
    Ok(doc)
}

/// How a broken body stream looks to the S3 client.
pub fn stream_error(e: StreamError) -> S3Error {
    match e {
        StreamError::Timeout(_) => S3Error::new(
            S3ErrorCode::RequestTimeout,
            "Your socket connection to the server was not read from or written to within the timeout period.",
        ),
        StreamError::Aborted(reason) => S3Error::new(
            S3ErrorCode::IncompleteBody,
            format!("The request body ended early ({reason})."),
        ),
        other => S3Error::internal(other),
    }
}
