//! Whose turn it is to append: parts go into the final object's chunk subject in order,
//! one writer at a time, under a lease on the upload's cursor. A part waits here for its
//! turn, or is told to stage instead.

use crate::store::unix_ms;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Notify;

use jetgate_protocol::S3Error;

use super::reader::delete_after;
use super::state::{CasError, Cursor, Lease, UploadRecord, Uploads, LEASE};
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

/// Part `n`'s turn to be appended: the cursor it starts from and the lease it holds.
pub(super) struct Turn {
    pub(super) cursor: Cursor,
    pub(super) rev: u64,
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
    let notify = uploads.notifier(&upload.upload_id);
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
        let now = unix_ms();
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
                uploads.cursor_moved(upload_id);
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
