//! The uploads in progress, by bucket and key, held in memory by each multipart worker
//! so ListMultipartUploads reads a bucket's uploads instead of every upload record of
//! every bucket (one KV get each).
//!
//! A KV watch over the upload records (`u.<id>`, last per key, then every change)
//! keeps it current. Before answering, a listing waits until the watch has applied
//! every record change up to the KV stream's last sequence read after the request
//! arrived (the same catch-up as the object listing index, `Store::caught_up`), so an
//! upload created (or completed, or aborted) before the listing started is (or is not)
//! in it. When it cannot catch up in time the caller reads the records instead.
//!
//! It is small: one entry per upload in progress (the stale-upload sweep bounds how
//! many), so every worker holds all of them and nothing is evicted.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv::Operation;
use futures::StreamExt;
use tokio::sync::watch;

use super::state::{UploadRecord, Uploads, UPLOADS_BUCKET};

/// How long a listing waits for the index to apply the changes before it.
const CATCH_UP: Duration = Duration::from_secs(2);

/// Sort order of ListMultipartUploads: key, then initiation time, then id.
type Slot = (String, i64, String);

#[derive(Default)]
struct Entries {
    by_bucket: HashMap<String, BTreeMap<Slot, UploadRecord>>,
    /// Where each upload id sits, for changes that carry only the id (deletes).
    slots: HashMap<String, (String, Slot)>,
}

impl Entries {
    fn put(&mut self, rec: UploadRecord) {
        self.remove(&rec.upload_id);
        let slot = (rec.key.clone(), rec.created_ms, rec.upload_id.clone());
        self.slots
            .insert(rec.upload_id.clone(), (rec.bucket.clone(), slot.clone()));
        self.by_bucket
            .entry(rec.bucket.clone())
            .or_default()
            .insert(slot, rec);
    }

    fn remove(&mut self, id: &str) {
        let Some((bucket, slot)) = self.slots.remove(id) else {
            return;
        };
        if let Some(b) = self.by_bucket.get_mut(&bucket) {
            b.remove(&slot);
            if b.is_empty() {
                self.by_bucket.remove(&bucket);
            }
        }
    }

    /// The bucket's uploads whose key starts with `prefix`, from key `from` on, in
    /// listing order.
    fn range<'a>(
        &'a self,
        bucket: &str,
        prefix: &'a str,
        from: &str,
    ) -> impl Iterator<Item = &'a UploadRecord> + 'a {
        let start = (from.max(prefix).to_string(), i64::MIN, String::new());
        self.by_bucket
            .get(bucket)
            .into_iter()
            .flat_map(move |b| b.range((Bound::Included(start.clone()), Bound::Unbounded)))
            .take_while(move |((key, _, _), _)| key.starts_with(prefix))
            .map(|(_, rec)| rec)
    }
}

/// One worker's index of the uploads in progress.
pub struct UploadIndex {
    entries: Arc<RwLock<Entries>>,
    /// KV stream sequence of the last record change applied; closed when the watch ends.
    applied: watch::Receiver<u64>,
    task: tokio::task::AbortHandle,
}

impl Drop for UploadIndex {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UploadIndex {
    /// Starts following the upload records.
    pub fn start(uploads: &Uploads) -> Self {
        let entries = Arc::new(RwLock::new(Entries::default()));
        let (tx, rx) = watch::channel(0u64);
        let task = tokio::spawn(follow(uploads.clone(), entries.clone(), tx));
        UploadIndex {
            entries,
            applied: rx,
            task: task.abort_handle(),
        }
    }

    /// False once the watch has ended (the caller starts another).
    pub fn running(&self) -> bool {
        self.applied.has_changed().is_ok()
    }

    /// Calls `page` with the bucket's uploads (prefix, from `from` on, listing order),
    /// once the index holds every change acknowledged before this call; `None` when
    /// it cannot get there in time.
    pub async fn read<T>(
        &self,
        store: &crate::store::Store,
        uploads: &Uploads,
        bucket: &str,
        prefix: &str,
        from: &str,
        page: impl FnOnce(&mut dyn Iterator<Item = &UploadRecord>) -> T,
    ) -> Result<Option<T>, jetgate_protocol::S3Error> {
        let last = uploads.last_sequence().await?;
        let stream = format!("KV_{UPLOADS_BUCKET}");
        let filter = format!("$KV.{UPLOADS_BUCKET}.u.*");
        let mut applied = self.applied.clone();
        if let Err(reason) = store
            .caught_up(&stream, &filter, &mut applied, last, CATCH_UP)
            .await?
        {
            metrics::counter!("jetgate_upload_index_fallback_total", "reason" => reason)
                .increment(1);
            return Ok(None);
        }
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let answer = page(&mut entries.range(bucket, prefix, from));
        Ok(Some(answer))
    }
}

async fn follow(uploads: Uploads, entries: Arc<RwLock<Entries>>, applied: watch::Sender<u64>) {
    let mut changes = match uploads.watch_records().await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "upload index: watch not started");
            return;
        }
    };
    while let Some(change) = changes.next().await {
        let change = match change {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(error = %e, "upload index: watch ended");
                return;
            }
        };
        let Some(id) = change.key.strip_prefix("u.") else {
            continue;
        };
        {
            let mut entries = entries.write().unwrap_or_else(|p| p.into_inner());
            match change.operation {
                Operation::Put => match UploadRecord::read(&change.key, &change.value) {
                    Some(rec) => entries.put(rec),
                    None => entries.remove(id),
                },
                Operation::Delete | Operation::Purge => entries.remove(id),
            }
        }
        applied.send_replace(change.revision);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::state::test_record as rec;

    fn ids(e: &Entries, bucket: &str, prefix: &str, from: &str) -> Vec<String> {
        e.range(bucket, prefix, from)
            .map(|r| r.upload_id.clone())
            .collect()
    }

    #[test]
    fn ranges_are_per_bucket_sorted_and_prefixed() {
        let mut e = Entries::default();
        e.put(rec("b", "x/2", 5, "i1"));
        e.put(rec("b", "x/1", 9, "i2"));
        e.put(rec("b", "x/1", 3, "i3"));
        e.put(rec("b", "y", 1, "i4"));
        e.put(rec("c", "x/1", 1, "i5"));
        assert_eq!(ids(&e, "b", "", ""), ["i3", "i2", "i1", "i4"]);
        assert_eq!(ids(&e, "b", "x/", ""), ["i3", "i2", "i1"]);
        assert_eq!(ids(&e, "b", "x/", "x/2"), ["i1"]);
        assert_eq!(ids(&e, "b", "", "x/3"), ["i4"]);
        assert_eq!(ids(&e, "c", "", ""), ["i5"]);
        assert!(ids(&e, "d", "", "").is_empty());
    }

    #[test]
    fn updates_move_and_deletes_remove() {
        let mut e = Entries::default();
        e.put(rec("b", "k", 1, "i1"));
        // A record rewritten (phase change) replaces the old one, not beside it.
        e.put(rec("b", "k", 1, "i1"));
        assert_eq!(ids(&e, "b", "", ""), ["i1"]);
        e.remove("i1");
        assert!(ids(&e, "b", "", "").is_empty());
        assert!(e.by_bucket.is_empty() && e.slots.is_empty());
        e.remove("unknown");
    }
}
