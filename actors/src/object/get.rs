//! GetObject and HeadObject: conditions, a single range, and the body inline when small
//! or, when not, delivered by JetStream straight to the edge in batches this worker
//! requests as the edge asks for them (`jetgate_protocol::direct`).

use bytes::{Bytes, BytesMut};
use jetgate_protocol::direct::{DirectBody, DirectSender};
use jetgate_protocol::messages::{BodyOut, ObjectReply};
use jetgate_protocol::query::query_pairs;
use jetgate_protocol::rpc;
use jetgate_protocol::shape;
use jetgate_protocol::S3Error;

use super::conditions::{evaluate, resolve_range, Evaluation};
use crate::incoming::Incoming;
use crate::store::{ChunkReader, ObjectMeta};
use crate::worker::Worker;

pub async fn get(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::GetObject>()?;
    let call = env.msg;
    let nats_bucket = super::target(&call.op.bucket, &call.op.key)?;
    worker.authenticate(inc, &call.signed, &call.op).await?;
    // Range, conditions, part number and response overrides as the signed request
    // has them (a presigned URL signs its `response-*` query): the edge's are a hint.
    let op = &shape::get_object(
        &call.op.bucket,
        &call.op.key,
        call.signed.method == "HEAD",
        &call.signed,
        &query_pairs(&call.signed.query),
    )?;
    let meta = worker
        .store()
        .lookup(&nats_bucket, &op.key)
        .await?
        .ok_or_else(S3Error::no_such_key)?;
    let attrs = meta.attrs();
    // `partNumber=N`: a multipart object keeps its part sizes in its metadata.
    let sizes = meta
        .metadata
        .get(crate::multipart::plan::KEY_PARTS)
        .and_then(|t| crate::multipart::plan::decode_sizes(t));
    let part = match (op.part_number, &sizes) {
        (None, _) | (Some(1), None) => None,
        (Some(n), Some(sizes)) if (n as usize) <= sizes.len() => {
            let start: u64 = sizes[..n as usize - 1].iter().sum();
            Some((start, sizes[n as usize - 1], sizes.len()))
        }
        (Some(_), _) => return Err(S3Error::invalid_part_number()),
    };
    // Tag count, and the stored checksum when `x-amz-checksum-mode: ENABLED` asks.
    let checksum_mode = call
        .signed
        .header("x-amz-checksum-mode")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("ENABLED"));
    let whole = op.range.is_none() && part.is_none();
    let mut overrides = super::attributes::get_headers(&meta, checksum_mode, whole);
    overrides.extend(op.overrides.iter().cloned());
    let mut reply = ObjectReply {
        status: 200,
        content_range: None,
        content_length: meta.size,
        body: BodyOut::None,
        overrides,
        attrs,
    };
    match evaluate(
        &op.conditions,
        &reply.attrs.etag,
        reply.attrs.last_modified_ms / 1000,
    ) {
        Evaluation::Proceed => {}
        Evaluation::NotModified => {
            reply.status = 304;
            inc.usage.status(304);
            reply.content_length = 0;
            // No body to check: botocore would try to validate one and fail on a 304.
            reply
                .overrides
                .retain(|(n, _)| !n.to_ascii_lowercase().starts_with("x-amz-checksum"));
            return inc.reply::<rpc::GetObject>(&reply, &[]).await;
        }
        Evaluation::PreconditionFailed => return Err(S3Error::precondition_failed()),
    }
    let (first, last) = match (op.range, part) {
        (_, Some((start, len, count))) => {
            reply.status = 206;
            reply.content_length = len;
            let last = (start + len).saturating_sub(1);
            if len > 0 {
                reply.content_range = Some((start, last, meta.size));
            }
            reply
                .overrides
                .push(("x-amz-mp-parts-count".into(), count.to_string()));
            (start, last)
        }
        (Some(r), None) => {
            let (a, b) = resolve_range(r, meta.size)?;
            reply.status = 206;
            reply.content_range = Some((a, b, meta.size));
            reply.content_length = b - a + 1;
            (a, b)
        }
        (None, None) => (0, meta.size.saturating_sub(1)),
    };
    inc.usage.status(reply.status);
    if op.head || reply.content_length == 0 {
        return inc.reply::<rpc::GetObject>(&reply, &[]).await;
    }
    let mut reader = RangeReader::new(worker, &nats_bucket, &meta, first, last);
    if reply.content_length <= worker.cfg().inline_limit {
        let mut buf = BytesMut::with_capacity(reply.content_length as usize);
        while let Some(piece) = reader.next().await? {
            buf.extend_from_slice(&piece);
        }
        reply.body = BodyOut::Inline;
        return inc.reply::<rpc::GetObject>(&reply, &buf).await;
    }
    let Some(download) = call.data_subject.clone() else {
        return Err(S3Error::internal("large GET without a download subject"));
    };
    let (stream, subject, from_seq, skip) = reader.start().await?;
    let route = worker.mux().open();
    let plan = DirectBody {
        stream,
        subject,
        from_seq,
        skip,
        length: reply.content_length,
        chunk_size: meta.size.div_ceil(meta.chunks.max(1)),
        control: route.subject("c"),
    };
    let idle = worker.cfg().stream.idle_timeout;
    let mut sender = DirectSender::new(
        route,
        worker.store().api_prefix(),
        &plan,
        download,
        meta.chunks,
        idle,
    );
    reply.body = BodyOut::Direct(plan);
    inc.reply::<rpc::GetObject>(&reply, &[]).await?;
    // The status line is gone; a failure from here on can only cut the body short.
    match sender.serve().await {
        Ok(total) => inc.usage.add_out(total.min(reply.content_length)),
        Err(e) => tracing::info!(error = %e, "download stopped"),
    }
    Ok(())
}

/// Ranges starting this deep skip chunks by listing them instead of reading them.
const SKIP_FROM: u64 = 2 * crate::store::CHUNK_SIZE as u64;

/// Yields the bytes `first..=last` of an object, chunk by chunk.
pub(crate) struct RangeReader {
    chunks: ChunkReader,
    pos: u64,
    first: u64,
    last: u64,
}

impl RangeReader {
    pub(crate) fn new(
        worker: &Worker,
        nats_bucket: &str,
        meta: &ObjectMeta,
        first: u64,
        last: u64,
    ) -> Self {
        let mut chunks = ChunkReader::new(worker.store().clone(), nats_bucket, meta);
        // Only a deep range skips; other reads need not parse the part index.
        if first >= SKIP_FROM {
            chunks = chunks.with_seek_points(crate::multipart::plan::seek_points(&meta.metadata));
        }
        RangeReader {
            chunks,
            pos: 0,
            first,
            last,
        }
    }

    /// Far into the object: finds the chunk without fetching the ones before it.
    async fn seek(&mut self) -> Result<(), S3Error> {
        if self.pos == 0 && self.first >= SKIP_FROM {
            self.pos = self
                .chunks
                .skip_to(self.first)
                .await
                .map_err(S3Error::from)?;
        }
        Ok(())
    }

    /// Where a direct read starts: `(stream, chunk subject, first sequence, bytes of the
    /// first chunk before the range)`.
    pub(crate) async fn start(&mut self) -> Result<(String, String, u64, u64), S3Error> {
        self.seek().await?;
        let (stream, subject, seq) = self.chunks.position();
        Ok((
            stream.to_string(),
            subject.to_string(),
            seq,
            self.first - self.pos,
        ))
    }

    pub(crate) async fn next(&mut self) -> Result<Option<Bytes>, S3Error> {
        self.seek().await?;
        while self.pos <= self.last {
            let Some(chunk) = self.chunks.next().await.map_err(S3Error::from)? else {
                return Err(S3Error::internal("object shorter than its metadata says"));
            };
            let start = self.pos;
            let end = start + chunk.len() as u64;
            self.pos = end;
            if end <= self.first {
                continue;
            }
            let from = self.first.saturating_sub(start) as usize;
            let to = ((self.last + 1).min(end) - start) as usize;
            if from < to {
                return Ok(Some(chunk.slice(from..to)));
            }
        }
        Ok(None)
    }
}
