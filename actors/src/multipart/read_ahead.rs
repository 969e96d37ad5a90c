//! Reading a part ahead of its turn. Parts are appended in order, so without this the
//! parts behind the one being appended sit unread, and one upload hashes one part at a
//! time. While a part waits, its body is received, verified and MD5-hashed into memory
//! under a process-wide budget: the parts of an upload then hash together (the
//! multi-buffer MD5 takes them as lanes) and a part's turn costs only its JetStream writes.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use jetgate_protocol::S3Error;

use super::state::{UploadRecord, Uploads};
use super::turn::{release, wait_turn, Turn};
use crate::body::RequestBody;
use crate::payload::PayloadVerifier;
use crate::worker::Worker;

/// Verified pieces of a part's body read before its turn, and the budget they hold.
#[derive(Default)]
pub(super) struct ReadAhead {
    pieces: Vec<Bytes>,
    permits: Option<OwnedSemaphorePermit>,
}

impl ReadAhead {
    /// The pieces, in order; the budget is released when `self` is dropped.
    pub(super) fn pieces(&mut self) -> std::vec::Drain<'_, Bytes> {
        self.pieces.drain(..)
    }

    fn hold(&mut self, permit: OwnedSemaphorePermit) {
        match self.permits.as_mut() {
            Some(p) => p.merge(permit),
            None => self.permits = Some(permit),
        }
    }
}

/// Waits for part `n`'s turn (as `wait_turn`) while reading its body ahead into `out`.
pub(super) async fn wait_reading_ahead(
    worker: &Worker,
    uploads: &Uploads,
    upload: &UploadRecord,
    n: u32,
    verifier: &mut PayloadVerifier,
    body: &mut RequestBody,
    out: &mut ReadAhead,
) -> Result<Option<Turn>, S3Error> {
    let turn_came = Notify::new();
    let read_failed = Notify::new();
    let frame_kib = (worker.cfg().stream.frame_size / 1024).max(1) as u32;
    // Neither future is ever dropped half-way: a body read cut short would lose a frame,
    // and a turn wait cut short could leave a lease taken. Each tells the other to stop.
    let turn = async {
        let t = wait_turn(worker, uploads, upload, n, Some(&read_failed)).await;
        turn_came.notify_one();
        t
    };
    let read = async {
        let r = read(
            worker.read_ahead(),
            frame_kib,
            verifier,
            body,
            out,
            &turn_came,
        )
        .await;
        if r.is_err() {
            read_failed.notify_one();
        }
        r
    };
    let (turn, read) = tokio::join!(turn, read);
    if !out.pieces.is_empty() {
        let bytes: usize = out.pieces.iter().map(Bytes::len).sum();
        tracing::debug!(upload_id = %upload.upload_id, part = n, bytes, "part read ahead of its turn");
    }
    match (turn, read) {
        (Ok(turn), Ok(())) => Ok(turn),
        (Ok(Some(turn)), Err(e)) => {
            release(uploads, &upload.upload_id, &turn.token).await;
            Err(e)
        }
        (Ok(None), Err(e)) | (Err(_), Err(e)) | (Err(e), Ok(())) => Err(e),
    }
}

/// Reads and verifies body frames into `out` while budget allows, until `stop`.
async fn read(
    budget: &Arc<Semaphore>,
    frame_kib: u32,
    verifier: &mut PayloadVerifier,
    body: &mut RequestBody,
    out: &mut ReadAhead,
    stop: &Notify,
) -> Result<(), S3Error> {
    loop {
        let mut permit = tokio::select! {
            biased;
            _ = stop.notified() => return Ok(()),
            p = budget.clone().acquire_many_owned(frame_kib) => match p {
                Ok(p) => p,
                Err(_) => return Ok(()),
            },
        };
        let Some(raw) = body.next().await? else {
            return Ok(());
        };
        let kib = raw.len().div_ceil(1024) as u32;
        if kib < frame_kib {
            // Give back what this (short) frame did not use.
            if let Some(used) = permit.split(kib as usize) {
                drop(std::mem::replace(&mut permit, used));
            }
        } else if kib > frame_kib {
            // A frame larger than ours: take the rest if it is there, else run over by
            // at most this one frame rather than stall a part that has its bytes.
            if let Ok(more) = budget.clone().try_acquire_many_owned(kib - frame_kib) {
                permit.merge(more);
            }
        }
        out.hold(permit);
        out.pieces.extend(verifier.push(raw)?);
        verifier.hash_ready().await;
    }
}
