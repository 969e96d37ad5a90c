//! The request body as a worker sees it: the inline bytes of the call, then (only when
//! asked for) the rest streamed from the edge under credit.

use bytes::{Bytes, BytesMut};
use jetgate_protocol::messages::{BodyIn, Call, ChunkBatch, ChunkSig, Principal};
use jetgate_protocol::stream::{BodyReceiver, StreamError};
use jetgate_protocol::Envelope;
use jetgate_protocol::S3Error;
use tokio::task::JoinSet;

use crate::incoming::Incoming;
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
                control,
                self.inline_len,
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
                return Err(S3Error::max_message_length_exceeded());
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

/// Chunk signatures sent to the auth verifier per call.
pub(crate) const SIG_BATCH: usize = 256;

/// A small request body (an XML document) read whole and verified before anything
/// parses it: aws-chunked decoded, then lengths, SHA-256, Content-MD5, any additional
/// checksum ([`PayloadVerifier`]) and every chunk and trailer signature (by the auth
/// verifier: a forged chunk must never be acted on). Larger than `limit` is an error.
pub async fn read_small_verified<Op>(
    worker: &Worker,
    inc: &Incoming,
    principal: &Principal,
    env: &Envelope<Call<Op>>,
    limit: usize,
) -> Result<Vec<u8>, S3Error> {
    read_document(
        worker,
        inc,
        principal,
        env,
        limit,
        PayloadVerifier::new(&env.msg.signed)?,
    )
    .await
}

/// [`read_small_verified`] for CompleteMultipartUpload, whose `x-amz-checksum-*` headers
/// are the whole object's checksum (checked by Complete), not the document's.
pub async fn read_complete_document<Op>(
    worker: &Worker,
    inc: &Incoming,
    principal: &Principal,
    env: &Envelope<Call<Op>>,
    limit: usize,
) -> Result<Vec<u8>, S3Error> {
    let verifier = PayloadVerifier::new(&env.msg.signed)?.without_header_checksum();
    read_document(worker, inc, principal, env, limit, verifier).await
}

async fn read_document<Op>(
    worker: &Worker,
    inc: &Incoming,
    principal: &Principal,
    env: &Envelope<Call<Op>>,
    limit: usize,
    mut verifier: PayloadVerifier,
) -> Result<Vec<u8>, S3Error> {
    let (spec, inline) = (env.msg.body.clone(), env.body.clone());
    let mut checks = SigChecks::new(worker, inc, principal, verifier.mode().is_signed_chunked())?;
    let mut body = RequestBody::new(worker, spec, inline);
    let raw = body.read_small(limit).await?;
    let mut doc = Vec::with_capacity(raw.len());
    for piece in verifier.push(raw)? {
        doc.extend_from_slice(&piece);
    }
    let mut digests = verifier.finish().await?;
    let chunks = std::mem::take(&mut digests.chunk_sigs);
    let mut trailer = digests.trailer_sig.take();
    let mut batches = chunks.chunks(SIG_BATCH).peekable();
    while let Some(batch) = batches.next() {
        let last = batches.peek().is_none();
        checks.submit(batch.to_vec(), if last { trailer.take() } else { None });
    }
    if trailer.is_some() {
        checks.submit(Vec::new(), trailer);
    }
    checks.wait().await?;
    inc.usage.add_in(doc.len() as u64);
    Ok(doc)
}

/// How a broken body stream looks to the S3 client.
fn stream_error(e: StreamError) -> S3Error {
    match e {
        StreamError::Timeout(_) => S3Error::request_timeout(),
        StreamError::Aborted(reason) => {
            S3Error::incomplete_body_with(format!("The request body ended early ({reason})."))
        }
        other => S3Error::internal(other),
    }
}

/// Chunk-signature batches checked by the auth verifier while the body still flows.
pub(crate) struct SigChecks {
    worker: Worker,
    ctx: jetgate_protocol::headers::RequestContext,
    access_key: String,
    context: Option<jetgate_protocol::messages::ChunkContext>,
    prev: String,
    tasks: JoinSet<Result<(), S3Error>>,
}

impl SigChecks {
    pub(crate) fn new(
        worker: &Worker,
        inc: &Incoming,
        principal: &Principal,
        signed: bool,
    ) -> Result<Self, S3Error> {
        let context = principal.chunk_context.clone();
        if signed && context.is_none() {
            return Err(S3Error::invalid_request(
                "Signed chunked payload without a signed seed",
            ));
        }
        Ok(SigChecks {
            worker: worker.clone(),
            ctx: inc.ctx.clone(),
            access_key: principal.access_key.clone(),
            prev: context
                .as_ref()
                .map(|c| c.seed_signature.clone())
                .unwrap_or_default(),
            context,
            tasks: JoinSet::new(),
        })
    }

    pub(crate) fn submit(&mut self, chunks: Vec<ChunkSig>, trailer: Option<ChunkSig>) {
        let Some(context) = self.context.clone() else {
            return;
        };
        let next = chunks.last().map(|c| c.signature.clone());
        let prev = match next {
            Some(n) => std::mem::replace(&mut self.prev, n),
            None => self.prev.clone(),
        };
        let batch = ChunkBatch {
            access_key: self.access_key.clone(),
            context,
            prev_signature: prev,
            chunks,
            trailer,
        };
        let worker = self.worker.clone();
        let ctx = self.ctx.clone();
        self.tasks
            .spawn(async move { worker.verify_chunks(&ctx, &batch).await });
    }

    /// Fails fast if a finished check already rejected a chunk.
    pub(crate) fn poll_failed(&mut self) -> Result<(), S3Error> {
        while let Some(done) = self.tasks.try_join_next() {
            done.map_err(S3Error::internal)??;
        }
        Ok(())
    }

    pub(crate) async fn wait(&mut self) -> Result<(), S3Error> {
        while let Some(done) = self.tasks.join_next().await {
            done.map_err(S3Error::internal)??;
        }
        Ok(())
    }
}
