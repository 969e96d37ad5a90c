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
mod index;
mod list;
mod part;
pub mod plan;
mod read_ahead;
mod reader;
pub mod sha;
pub mod state;
pub mod sweep;
mod turn;

use jetgate_protocol::S3Error;
use tokio::sync::OnceCell;

pub use abort::abort;
pub use complete::complete;
pub use copy::upload_part_copy;
pub use create::create;
pub use list::{list_parts, list_uploads};
pub use part::upload_part;
pub use state::Uploads;

use crate::worker::Worker;

/// The multipart role's state in a worker: the uploads bucket, opened (or created)
/// once, and the index of the uploads in progress (started on the first listing).
#[derive(Default)]
struct MultipartState {
    uploads: OnceCell<Uploads>,
    index: std::sync::Mutex<Option<std::sync::Arc<index::UploadIndex>>>,
}

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

/// The upload index of this worker, started again if its watch ended.
pub(crate) fn upload_index(
    worker: &Worker,
    uploads: &Uploads,
) -> std::sync::Arc<index::UploadIndex> {
    let state = worker.role_state::<MultipartState>();
    let mut slot = state.index.lock().unwrap_or_else(|p| p.into_inner());
    match slot.as_ref() {
        Some(index) if index.running() => index.clone(),
        _ => {
            let index = std::sync::Arc::new(index::UploadIndex::start(uploads));
            *slot = Some(index.clone());
            index
        }
    }
}

/// The uploads bucket of this worker (opened, or created, once).
pub(crate) async fn uploads(worker: &Worker) -> Result<Uploads, S3Error> {
    worker
        .role_state::<MultipartState>()
        .uploads
        .get_or_try_init(|| Uploads::open(&worker.store().js, worker.cfg().replicas))
        .await
        .cloned()
}
