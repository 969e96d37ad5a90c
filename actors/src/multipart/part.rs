//! UploadPart: verify the body as it streams and write it either straight into the
//! final object's chunk subject (when it is this part's turn: the cursor expects it and
//! nobody holds the append lease) or onto a staging subject.

use crate::store::unix_ms;
use jetgate_protocol::rpc;
use std::time::{Duration, Instant};

use jetgate_protocol::messages::Principal;
use jetgate_protocol::multipart::{UploadPartReply, MAX_PART_NUMBER};
use jetgate_protocol::S3Error;

use super::read_ahead::{wait_reading_ahead, ReadAhead};
use super::sha::Sha256State;
use super::state::{CasError, Cursor, Location, PartRecord, Phase, UploadRecord, Uploads, LEASE};
use super::turn::{release, wait_turn, Turn};
use crate::body::RequestBody;
use crate::body::{SigChecks, SIG_BATCH};
use crate::incoming::Incoming;
use crate::object::RangeReader;
use crate::payload::md5x::Md5Stream;
use crate::payload::{ChecksumAlgorithm, Digests, PayloadVerifier};
use crate::store::chunk_subject;
use crate::store::ChunkWriter;
use crate::worker::Worker;

/// How often an appending writer extends its lease.
const REFRESH: Duration = Duration::from_secs(10);

pub async fn upload_part(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<rpc::UploadPart>()?;
    let call = env.msg;
    let op = &call.op;
    if !(1..=MAX_PART_NUMBER).contains(&op.part_number) {
        return Err(S3Error::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        ));
    }
    crate::object::target(&op.bucket, &op.key)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let uploads = &super::uploads(worker).await?;
    let (upload, _) =
        super::upload_for(worker, uploads, &op.upload_id, &op.bucket, &op.key).await?;
    if upload.phase != Phase::Active {
        return Err(S3Error::no_such_upload());
    }
    let verifier = PayloadVerifier::new(&call.signed)?.without_sha256();
    check_checksum_type(&upload, &verifier)?;
    let mut body = RequestBody::new(worker, call.body.clone(), env.body);
    let src = Source::Body {
        inc,
        principal: &principal,
        verifier: Box::new(verifier),
        body: &mut body,
        early: ReadAhead::default(),
    };
    let rec = match write_part(worker, uploads, &upload, op.part_number, src).await {
        Ok(r) => r,
        Err(e) => {
            body.abort("part failed");
            return Err(e);
        }
    };
    inc.usage.add_in(rec.size);
    let reply = UploadPartReply {
        etag: rec.etag,
        checksum: rec.checksum,
    };
    inc.reply::<rpc::UploadPart>(&reply, &[]).await
}

/// Writes part `n` in place when it is its turn, else staged.
pub(super) async fn write_part(
    worker: &Worker,
    uploads: &Uploads,
    upload: &UploadRecord,
    n: u32,
    mut src: Source<'_>,
) -> Result<PartRecord, S3Error> {
    let turn = match &mut src {
        Source::Body {
            verifier,
            body,
            early,
            ..
        } => wait_reading_ahead(worker, uploads, upload, n, verifier, body, early).await?,
        Source::Copy(..) => wait_turn(worker, uploads, upload, n, None).await?,
    };
    match turn {
        Some(turn) => append(worker, src, uploads, upload, n, turn).await,
        None => stage(worker, src, uploads, upload, n).await,
    }
}

/// Where a part's bytes come from: the request body (verified as it streams), or a
/// range of an existing object (UploadPartCopy).
pub(super) enum Source<'a> {
    Body {
        inc: &'a Incoming,
        principal: &'a Principal,
        verifier: Box<PayloadVerifier>,
        body: &'a mut RequestBody,
        /// What was read before the part's turn: written first.
        early: ReadAhead,
    },
    /// A range of an existing object (`None`: an empty one), hashed with the upload's
    /// checksum algorithm if it has one, as S3 does for copied parts: Complete needs
    /// every part's checksum.
    Copy(Option<Box<RangeReader>>, Option<ChecksumAlgorithm>),
}

/// What a written part hashed to.
pub(super) struct Received {
    md5: [u8; 16],
    checksum: Option<(String, String)>,
}

/// Writes the part's bytes; `sha` (if any) is extended with them.
async fn receive(
    worker: &Worker,
    src: Source<'_>,
    writer: &mut ChunkWriter,
    mut sha: Option<&mut Sha256State>,
    mut lease: Option<&mut LeaseKeeper<'_>>,
) -> Result<Received, S3Error> {
    let (inc, principal, mut verifier, body, mut early) = match src {
        Source::Body {
            inc,
            principal,
            verifier,
            body,
            early,
        } => (inc, principal, *verifier, body, early),
        Source::Copy(mut reader, algorithm) => {
            let mut md5 = Md5Stream::new();
            let mut hasher = algorithm.map(ChecksumAlgorithm::hasher);
            while let Some(piece) = match reader.as_mut() {
                Some(r) => r.next().await?,
                None => None,
            } {
                md5.update(piece.clone());
                if let Some(h) = hasher.as_mut() {
                    h.update(&piece);
                }
                if let Some(s) = sha.as_deref_mut() {
                    s.update(&piece);
                }
                writer.write_bytes(piece).await.map_err(S3Error::from)?;
                md5.ready().await;
                if let Some(l) = lease.as_deref_mut() {
                    l.refresh_if_due().await?;
                }
            }
            writer.finish().await.map_err(S3Error::from)?;
            return Ok(Received {
                md5: md5.finalize().await,
                checksum: hasher
                    .map(|h| (h.algorithm().header_name().to_string(), h.finalize_base64())),
            });
        }
    };
    let mut checks = SigChecks::new(worker, inc, principal, verifier.mode().is_signed_chunked())?;
    for piece in early.pieces() {
        if let Some(s) = sha.as_deref_mut() {
            s.update(&piece);
        }
        writer.write_bytes(piece).await.map_err(S3Error::from)?;
    }
    drop(early);
    while let Some(raw) = body.next().await? {
        for piece in verifier.push(raw)? {
            if let Some(s) = sha.as_deref_mut() {
                s.update(&piece);
            }
            writer.write_bytes(piece).await.map_err(S3Error::from)?;
        }
        verifier.hash_ready().await;
        if verifier.pending_chunk_sigs() >= SIG_BATCH {
            checks.submit(verifier.take_chunk_sigs(), None);
        }
        checks.poll_failed()?;
        if let Some(l) = lease.as_deref_mut() {
            l.refresh_if_due().await?;
        }
    }
    let mut digests = verifier.finish().await?;
    let rest = std::mem::take(&mut digests.chunk_sigs);
    let trailer = digests.trailer_sig.take();
    if !rest.is_empty() || trailer.is_some() {
        checks.submit(rest, trailer);
    }
    checks.wait().await?;
    writer.finish().await.map_err(S3Error::from)?;
    Ok(Received {
        md5: digests.md5,
        checksum: checksum_of(&digests),
    })
}

/// Keeps the append lease alive during a long part.
struct LeaseKeeper<'a> {
    uploads: &'a Uploads,
    upload_id: &'a str,
    cursor: Cursor,
    rev: u64,
    last: Instant,
}

impl LeaseKeeper<'_> {
    async fn refresh_if_due(&mut self) -> Result<(), S3Error> {
        if self.last.elapsed() < REFRESH {
            return Ok(());
        }
        if let Some(l) = self.cursor.lease.as_mut() {
            l.expires_ms = unix_ms() + LEASE.as_millis() as i64;
        }
        self.rev = self
            .uploads
            .set_cursor(self.upload_id, &self.cursor, self.rev)
            .await
            .map_err(|e| match e {
                CasError::Conflict => lost_lease(),
                CasError::Failed(e) => e,
            })?;
        self.last = Instant::now();
        Ok(())
    }
}

fn lost_lease() -> S3Error {
    S3Error::service_unavailable_with(
        "The upload changed while this part was written; please retry the part.",
    )
}

/// An upload created with a checksum algorithm takes only parts that carry that
/// checksum, as S3 does: without them the composite checksum could not be built.
fn check_checksum_type(upload: &UploadRecord, verifier: &PayloadVerifier) -> Result<(), S3Error> {
    let Some(expected) = upload.checksum_algorithm.as_deref() else {
        return Ok(());
    };
    let actual = verifier.checksum_algorithm();
    if actual.is_some_and(|a| a.as_str().eq_ignore_ascii_case(expected)) {
        return Ok(());
    }
    Err(S3Error::invalid_request(format!(
        "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
        expected.to_ascii_lowercase(),
        actual.map_or("null".to_string(), |a| a.as_str().to_ascii_lowercase())
    )))
}

fn checksum_of(d: &Digests) -> Option<(String, String)> {
    d.checksum
        .as_ref()
        .map(|(a, v)| (a.header_name().to_string(), v.clone()))
}

async fn append(
    worker: &Worker,
    src: Source<'_>,
    uploads: &Uploads,
    upload: &UploadRecord,
    n: u32,
    turn: Turn,
) -> Result<PartRecord, S3Error> {
    let Turn { cursor, rev, token } = turn;
    let mut writer = ChunkWriter::with_subject(
        worker.store().clone(),
        &upload.nats_bucket,
        upload.nuid.clone(),
        chunk_subject(&upload.nats_bucket, &upload.nuid),
    );
    let mut sha = cursor.sha.clone();
    let mut keeper = LeaseKeeper {
        uploads,
        upload_id: &upload.upload_id,
        cursor,
        rev,
        last: Instant::now(),
    };
    let received = receive(worker, src, &mut writer, Some(&mut sha), Some(&mut keeper)).await;
    let (cursor, rev) = (keeper.cursor, keeper.rev);
    let digests = match received {
        Ok(d) => d,
        Err(e) => {
            writer.remove().await;
            release(uploads, &upload.upload_id, &token).await;
            return Err(e);
        }
    };
    let written = writer.finish().await.map_err(S3Error::from)?;
    let (first, last) = (written.first_seq, written.last_seq);
    let rec = PartRecord {
        part_number: n,
        etag: hex::encode(digests.md5),
        size: writer.size(),
        chunks: writer.chunks(),
        last_modified_ms: unix_ms(),
        checksum: digests.checksum.clone(),
        location: Location::Appended {
            first_seq: first,
            last_seq: last,
            sha_after: sha.clone(),
        },
    };
    if let Err(e) = uploads.put_part(&upload.upload_id, &rec).await {
        writer.remove().await;
        release(uploads, &upload.upload_id, &token).await;
        return Err(e);
    }
    let next = Cursor {
        next_part: n + 1,
        last_seq: if writer.chunks() > 0 {
            last
        } else {
            cursor.last_seq
        },
        sha,
        size: cursor.size + writer.size(),
        chunks: cursor.chunks + writer.chunks(),
        lease: None,
    };
    match uploads.set_cursor(&upload.upload_id, &next, rev).await {
        Ok(_) => {
            uploads.cursor_moved(&upload.upload_id);
            Ok(rec)
        }
        Err(e) => {
            // Our lease was taken over (or the upload aborted): the part is not in.
            writer.remove().await;
            Err(match e {
                CasError::Conflict => lost_lease(),
                CasError::Failed(e) => e,
            })
        }
    }
}

async fn stage(
    worker: &Worker,
    src: Source<'_>,
    uploads: &Uploads,
    upload: &UploadRecord,
    n: u32,
) -> Result<PartRecord, S3Error> {
    let subject = format!(
        "{}.s{n}-{}",
        chunk_subject(&upload.nats_bucket, &upload.nuid),
        nuid::next()
    );
    let mut writer = ChunkWriter::with_subject(
        worker.store().clone(),
        &upload.nats_bucket,
        upload.nuid.clone(),
        subject.clone(),
    );
    let digests = match receive(worker, src, &mut writer, None, None).await {
        Ok(d) => d,
        Err(e) => {
            writer.remove().await;
            return Err(e);
        }
    };
    let previous = uploads.part(&upload.upload_id, n).await?;
    let etag = hex::encode(digests.md5);
    if let Some(prev) = previous
        .as_ref()
        .filter(|p| p.etag == etag && p.size == writer.size())
        .filter(|p| matches!(p.location, Location::Appended { .. }))
    {
        // A retry of a part that is already in place (the client missed our answer):
        // keep the appended copy so Complete stays in place.
        let kept = prev.clone();
        if let Err(e) = worker
            .store()
            .purge_subject(&upload.nats_bucket, &subject)
            .await
        {
            tracing::warn!(error = %e, "could not purge a duplicate staged part");
        }
        return Ok(PartRecord {
            checksum: digests.checksum.clone(),
            ..kept
        });
    }
    let rec = PartRecord {
        part_number: n,
        etag,
        size: writer.size(),
        chunks: writer.chunks(),
        last_modified_ms: unix_ms(),
        checksum: digests.checksum.clone(),
        location: Location::Staged {
            subject: subject.clone(),
        },
    };
    if let Err(e) = uploads.put_part(&upload.upload_id, &rec).await {
        writer.remove().await;
        return Err(e);
    }
    if let Some(PartRecord {
        location: Location::Staged { subject: old },
        ..
    }) = previous
    {
        if let Err(e) = worker
            .store()
            .purge_subject(&upload.nats_bucket, &old)
            .await
        {
            tracing::warn!(error = %e, "could not purge a replaced staged part");
        }
    }
    tracing::debug!(upload_id = %upload.upload_id, part = n, "part staged");
    Ok(rec)
}
