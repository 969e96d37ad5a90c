//! Multipart assembler role.
//!
//! The final object's chunks go to ONE subject, `$O.<bucket>.C.<nuid>`, read in stream
//! order, so parts are appended to it in part-number order as they arrive: the upload's
//! cursor (KV, compare-and-set) says which part is next and who holds the append lease.
//! A part that arrives early waits for its turn, its body read and hashed ahead into
//! memory under `--part-read-ahead` (past that budget its bytes stay in the edge's and
//! the client's buffers under credit); one that waits too long, a re-upload, or a part
//! behind the cursor is staged on `$O.<bucket>.C.<nuid>.s<N>-<id>` and copied in at
//! Complete. In the common case (parts roughly in order) every byte is written once and
//! Complete only publishes the metadata, the SHA-256 coming from the running state.

mod abort;
mod claim;
mod complete;
mod copy;
mod create;
mod list;
mod part;
pub mod plan;
mod read_ahead;
mod reader;
pub mod sha;
pub mod state;
pub mod sweep;
mod turn;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jetgate_protocol::S3Error;
use tokio::sync::{Notify, OnceCell};

pub use abort::abort;
pub use complete::complete;
pub use copy::upload_part_copy;
pub use create::create;
pub use list::{list_parts, list_uploads};
pub use part::upload_part;
pub use state::Uploads;

use crate::worker::Worker;

static UPLOADS: OnceCell<Uploads> = OnceCell::const_new();

/// The uploads KV of this process (opened, or created, once).
/// The upload for this bucket and key. When there is none, a bucket that does not
/// exist is `NoSuchBucket`, as S3 answers every multipart call on one; otherwise
/// `NoSuchUpload`. (The bucket is asked only on that error path.)
pub(crate) async fn upload_for(
    worker: &Worker,
    uploads: &Uploads,
    id: &str,
    bucket: &str,
    key: &str,
) -> Result<(state::UploadRecord, u64), S3Error> {
    match uploads.upload_for(id, bucket, key).await {
        Err(e) if e.code == jetgate_protocol::S3ErrorCode::NoSuchUpload => {
            let nats_bucket = jetgate_protocol::names::bucket_to_nats(bucket);
            worker.store().require_bucket(&nats_bucket).await?;
            Err(e)
        }
        found => found,
    }
}

pub(crate) async fn uploads(worker: &Worker) -> Result<&'static Uploads, S3Error> {
    UPLOADS
        .get_or_try_init(|| Uploads::open(&worker.store().js, worker.cfg().replicas))
        .await
}

/// Wakes waiters in this process when an upload's cursor moves (waiters in other
/// processes poll).
fn notifier(upload_id: &str) -> Arc<Notify> {
    static MAP: Mutex<Option<HashMap<String, Arc<Notify>>>> = Mutex::new(None);
    let mut g = MAP.lock().unwrap_or_else(|p| p.into_inner());
    let map = g.get_or_insert_with(HashMap::new);
    if map.len() > 4096 {
        map.retain(|_, n| Arc::strong_count(n) > 1);
    }
    map.entry(upload_id.to_string())
        .or_insert_with(|| Arc::new(Notify::new()))
        .clone()
}

pub(crate) fn cursor_moved(upload_id: &str) {
    notifier(upload_id).notify_waiters();
}
