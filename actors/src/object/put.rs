//! PutObject: stream the verified body into chunks, then publish the metadata. The object
//! becomes visible only with that last publish; any failure before it purges the chunks.

use jetgate_protocol::messages::{Principal, PutReply};
use jetgate_protocol::rpc;
use jetgate_protocol::write_condition::WriteCondition;
use jetgate_protocol::S3Error;

use crate::body::{RequestBody, SigChecks, SIG_BATCH};
use crate::incoming::Incoming;
use crate::payload::{Digests, PayloadVerifier};
use crate::store::ChunkWriter;
use crate::worker::Worker;

pub async fn put(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::PutObject>()?;
    let call = env.msg;
    let op = &call.op;
    let nats_bucket = super::target(&op.bucket, &op.key)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let verifier = PayloadVerifier::new(&call.signed)?;
    let tags = super::tagging::header_tags(&call.signed)?;
    let condition = WriteCondition::of_write(&call.signed)?;
    let (existing, expected) =
        super::current_for_write(worker, &nats_bucket, &op.key, &condition).await?;
    let mut body = RequestBody::new(worker, call.body.clone(), env.body);
    let mut writer = ChunkWriter::new(worker.store().clone(), &nats_bucket);
    let written = match receive(worker, inc, &principal, verifier, &mut body, &mut writer).await {
        Ok(d) => d,
        Err(e) => {
            body.abort("upload failed");
            writer.abort().await;
            return Err(e);
        }
    };
    let (digests, written) = written;
    let etag = super::md5_etag(&digests);
    let sha256 = digests
        .sha256
        .ok_or_else(|| S3Error::internal("PUT body hashed without SHA-256"))?;
    let mut meta = super::new_meta(&nats_bucket, &op.key, (&written).into(), &sha256, &etag);
    meta.set_object_headers(&op.headers);
    super::tagging::set_tags(&mut meta, &tags);
    if let Some((algo, value)) = &digests.checksum {
        super::attributes::set_checksum(&mut meta, *algo, value);
    }
    if let Err(e) = worker
        .store()
        .put_meta_if(&nats_bucket, &meta, expected)
        .await
    {
        writer.abort().await;
        return Err(e.into());
    }
    if let Some(old) = existing {
        let subject = crate::store::chunk_subject(&nats_bucket, &old.nuid);
        if let Err(e) = worker.store().purge_subject(&nats_bucket, &subject).await {
            tracing::warn!(error = %e, "could not purge replaced chunks; the janitor will");
        }
    }
    inc.usage.add_in(written.size);
    tracing::debug!(
        size = written.size,
        chunks = written.chunks,
        "object stored"
    );
    let reply = PutReply {
        etag,
        checksum: digests
            .checksum
            .map(|(a, v)| (a.header_name().to_string(), v)),
    };
    inc.reply::<rpc::PutObject>(&reply, &[]).await
}

/// Receives, verifies and writes the body; returns its digests and what was written.
async fn receive(
    worker: &Worker,
    inc: &Incoming,
    principal: &Principal,
    mut verifier: PayloadVerifier,
    body: &mut RequestBody,
    writer: &mut ChunkWriter,
) -> Result<(Digests, crate::store::Written), S3Error> {
    let mut checks = SigChecks::new(worker, inc, principal, verifier.mode().is_signed_chunked())?;
    while let Some(raw) = body.next().await? {
        for piece in verifier.push(raw)? {
            writer.write_bytes(piece).await.map_err(S3Error::from)?;
        }
        verifier.hash_ready().await;
        if verifier.pending_chunk_sigs() >= SIG_BATCH {
            checks.submit(verifier.take_chunk_sigs(), None);
        }
        checks.poll_failed()?;
    }
    let mut digests = verifier.finish().await?;
    let rest = std::mem::take(&mut digests.chunk_sigs);
    let trailer = digests.trailer_sig.take();
    if !rest.is_empty() || trailer.is_some() {
        checks.submit(rest, trailer);
    }
    checks.wait().await?;
    let written = writer.finish().await.map_err(S3Error::from)?;
    Ok((digests, written))
}
