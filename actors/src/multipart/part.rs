//! UploadPart: verify the body as it streams and write it either straight into the
//! final object's chunk subject (when it is this part's turn: the cursor expects it and
//! nobody holds the append lease) or onto a staging subject.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Notify;

use jetgate_protocol::messages::Principal;
use jetgate_protocol::multipart::{UploadPart, UploadPartReply, MAX_PART_NUMBER};
use jetgate_protocol::{S3Error, S3ErrorCode};

use super::read_ahead::{wait_reading_ahead, ReadAhead};
use super::reader::delete_after;
use super::sha::Sha256State;
use super::state::{
    no_such_upload, now_ms, CasError, Cursor, Lease, Location, PartRecord, Phase, UploadRecord,
    Uploads, LEASE,
};
use crate::body::RequestBody;
use crate::body::{SigChecks, SIG_BATCH};
use crate::incoming::Incoming;
use crate::object::RangeReader;
use crate::payload::md5x::Md5Stream;
use crate::payload::{Digests, PayloadVerifier};
use crate::store::ChunkWriter;
use crate::store::{chunk_subject, stream_name};
use crate::worker::Worker;

/// A part further than this ahead of the cursor is staged at once instead of waiting.
const MAX_LOOKAHEAD: u32 = 64;
/// How often a waiting part re-reads the cursor (other processes do not notify us).
const POLL: Duration = Duration::from_millis(500);
/// How long a part ahead of the cursor waits while nobody appends: when no lease is held
/// and the cursor has not moved for this long, no earlier part is on its way (a client
/// uploading parts out of order, one at a time, or leaving gaps), so waiting longer
/// would only stall the client. In-order concurrent uploads hand the lease from part to
/// part within milliseconds and never come near it.
const IDLE_CURSOR: Duration = Duration::from_secs(1);
/// How often an appending writer extends its lease.
const REFRESH: Duration = Duration::from_secs(10);

pub async fn upload_part(worker: &Worker, inc: &Incoming) -> Result<(), S3Error> {
    let env = inc.call::<UploadPart>()?;
    let call = env.msg;
    let op = &call.op;
    if !(1..=MAX_PART_NUMBER).contains(&op.part_number) {
        return Err(S3Error::new(
            S3ErrorCode::InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive",
        ));
    }
    crate::object::target(&op.bucket, &op.key)?;
    let principal = worker.authenticate(inc, &call.signed, &call.op).await?;
    let uploads = super::uploads(worker).await?;
    let (upload, _) =
        super::upload_for(worker, uploads, &op.upload_id, &op.bucket, &op.key).await?;
    if upload.phase != Phase::Active {
        return Err(no_such_upload());
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
    let reply = UploadPartReply {
        etag: rec.etag,
        checksum: rec.checksum,
    };
    inc.reply(&reply, &[]).await
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
        Source::Copy(_) => wait_turn(worker, uploads, upload, n, None).await?,
    };
    match turn {
        Some(turn) => append(worker, src, uploads, upload, n, turn).await,
        None => stage(worker, src, uploads, upload, n).await,
    }
}

/// Part `n`'s turn to be appended: the cursor it starts from and the lease it holds.
pub(super) struct Turn {
    cursor: Cursor,
    rev: u64,
    pub(super) token: String,
}

/// Waits until the cursor expects part `n` and the lease is free, then takes the lease.
/// `None`: stage the part instead (re-upload, behind the cursor, too far ahead, the
/// cursor idle for [`IDLE_CURSOR`], the wait ran out, or `give_up` was notified).
pub(super) async fn wait_turn(
    worker: &Worker,
    uploads: &Uploads,
    upload: &UploadRecord,
    n: u32,
    give_up: Option<&Notify>,
) -> Result<Option<Turn>, S3Error> {
    let deadline = Instant::now() + worker.cfg().part_append_wait;
    let token = nuid::next().to_string();
    let notify = super::notifier(&upload.upload_id);
    let mut watch = None;
    // The cursor as last seen (next part, lease holder) and since when.
    let mut seen: Option<(u32, Option<String>)> = None;
    let mut idle_since = Instant::now();
    loop {
        let notified = notify.notified();
        let (cur, rev) = uploads.cursor(&upload.upload_id).await?;
        if n < cur.next_part || n > cur.next_part.saturating_add(MAX_LOOKAHEAD) {
            return Ok(None);
        }
        let now = now_ms();
        let free = cur.lease.as_ref().is_none_or(|l| l.expires_ms < now);
        let state = (cur.next_part, cur.lease.as_ref().map(|l| l.token.clone()));
        if seen.as_ref() != Some(&state) {
            seen = Some(state);
            idle_since = Instant::now();
        }
        if n == cur.next_part && free {
            let stale = cur.lease.is_some();
            let mut next = cur.clone();
            next.lease = Some(Lease {
                part: n,
                token: token.clone(),
                expires_ms: now + LEASE.as_millis() as i64,
            });
            match uploads.set_cursor(&upload.upload_id, &next, rev).await {
                Ok(rev) => {
                    if stale {
                        // A writer died mid-part: drop whatever it appended.
                        let stream = stream_name(&upload.nats_bucket);
                        let subject = chunk_subject(&upload.nats_bucket, &upload.nuid);
                        let store = worker.store();
                        let n =
                            delete_after(&store.js, &store.client, &stream, &subject, cur.last_seq)
                                .await?;
                        tracing::info!(upload_id = %upload.upload_id, removed = n, "took over an expired append lease");
                    }
                    return Ok(Some(Turn {
                        cursor: next,
                        rev,
                        token,
                    }));
                }
                Err(CasError::Conflict) => continue,
                Err(CasError::Failed(e)) => return Err(e),
            }
        }
        if Instant::now() >= deadline {
            tracing::debug!(upload_id = %upload.upload_id, part = n, next = cur.next_part, "waited too long; staging");
            return Ok(None);
        }
        if free && idle_since.elapsed() >= IDLE_CURSOR {
            tracing::debug!(upload_id = %upload.upload_id, part = n, next = cur.next_part, "nobody appends; staging");
            return Ok(None);
        }
        // Wake in time to notice an idle cursor, whatever the poll interval.
        let nap = if free {
            POLL.min(IDLE_CURSOR.saturating_sub(idle_since.elapsed()))
        } else {
            POLL
        };
        // Woken by a writer in this process at once, by JetStream for writers in
        // others; the poll is only a safety net.
        if watch.is_none() {
            watch = uploads.watch_cursor(&upload.upload_id).await.ok();
        }
        let pushed = async {
            match watch.as_mut() {
                Some(w) => {
                    let _ = w.next().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let gave_up = async {
            match give_up {
                Some(g) => g.notified().await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = notified => {}
            _ = pushed => {}
            _ = gave_up => return Ok(None),
            _ = tokio::time::sleep(nap) => {}
        }
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
    /// `None`: an empty source object.
    Copy(Option<Box<RangeReader>>),
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
        Source::Copy(mut reader) => {
            let mut md5 = Md5Stream::new();
            while let Some(piece) = match reader.as_mut() {
                Some(r) => r.next().await?,
                None => None,
            } {
                md5.update(piece.clone());
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
                checksum: None,
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
            l.expires_ms = now_ms() + LEASE.as_millis() as i64;
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
    S3Error::new(
        S3ErrorCode::ServiceUnavailable,
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
    Err(S3Error::new(
        S3ErrorCode::InvalidRequest,
        format!(
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            expected.to_ascii_lowercase(),
            actual.map_or("null".to_string(), |a| a.as_str().to_ascii_lowercase())
        ),
    ))
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
        last_modified_ms: now_ms(),
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
            super::cursor_moved(&upload.upload_id);
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

/// Gives the lease back without moving the cursor (the part failed).
pub(super) async fn release(uploads: &Uploads, upload_id: &str, token: &str) {
    for _ in 0..10 {
        let Ok((mut cur, rev)) = uploads.cursor(upload_id).await else {
            return;
        };
        if cur.lease.as_ref().is_none_or(|l| l.token != token) {
            return;
        }
        cur.lease = None;
        match uploads.set_cursor(upload_id, &cur, rev).await {
            Ok(_) => {
                super::cursor_moved(upload_id);
                return;
            }
            Err(CasError::Conflict) => continue,
            Err(CasError::Failed(e)) => {
                tracing::warn!(error = %e, "could not release an append lease; it will expire");
                return;
            }
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
        last_modified_ms: now_ms(),
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
