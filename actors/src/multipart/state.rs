//! Upload state in the KV bucket `jetgate-uploads`:
//! - `u.<uploadId>`: the [`UploadRecord`] (bucket, key, final nuid, headers, owner, phase);
//! - `c.<uploadId>`: the append [`Cursor`] (next part expected, last appended chunk
//!   sequence, running SHA-256, writer lease);
//! - `p.<uploadId>.<N>`: one [`PartRecord`] per uploaded part.
//!
//! Every change that races (cursor moves, phase changes) is a compare-and-set on the KV
//! revision, so any worker of the queue group can serve any request of any upload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use jetgate_protocol::messages::{ObjectHeaders, Owner};
use jetgate_protocol::S3Error;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::sync::Notify;

use super::sha::Sha256State;

pub const UPLOADS_BUCKET: &str = "jetgate-uploads";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Active,
    /// A Complete owns the upload until `until_ms` (then another Complete may take over).
    Completing {
        until_ms: i64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadRecord {
    pub upload_id: String,
    /// S3 bucket name.
    pub bucket: String,
    pub nats_bucket: String,
    pub key: String,
    /// Chunk subject of the final object: `$O.<bucket>.C.<nuid>`.
    pub nuid: String,
    pub created_ms: i64,
    pub headers: ObjectHeaders,
    pub checksum_algorithm: Option<String>,
    /// `x-amz-checksum-type: FULL_OBJECT` (CRCs only): Complete combines the part CRCs
    /// into the whole object's instead of checksumming the part checksums.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full_object: bool,
    pub owner: Owner,
    pub phase: Phase,
    /// `x-amz-tagging` of CreateMultipartUpload, stored with the object at Complete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<jetgate_protocol::tagging::Tag>,
}

impl UploadRecord {
    /// The record stored under KV key `key` (`u.<id>`); `None`, with a warning, when it
    /// does not parse or names another upload than its key: such a record (a native KV
    /// writer's) is no upload, and must not stop the listings and the sweep that read
    /// every record.
    pub(crate) fn read(key: &str, value: &[u8]) -> Option<UploadRecord> {
        let id = key.strip_prefix("u.")?;
        match serde_json::from_slice::<UploadRecord>(value) {
            Ok(rec) if rec.upload_id == id => Some(rec),
            _ => {
                tracing::warn!(key = %key, "skipping an unreadable upload record");
                None
            }
        }
    }
}

/// An upload record for unit tests: bucket, key, creation time and id as given.
#[cfg(test)]
pub(crate) fn test_record(bucket: &str, key: &str, created_ms: i64, id: &str) -> UploadRecord {
    UploadRecord {
        upload_id: id.into(),
        bucket: bucket.into(),
        nats_bucket: bucket.into(),
        key: key.into(),
        nuid: "n".into(),
        created_ms,
        headers: ObjectHeaders::default(),
        checksum_algorithm: None,
        full_object: false,
        owner: Owner {
            id: "o".into(),
            display_name: "o".into(),
        },
        phase: Phase::Active,
        tags: Vec::new(),
    }
}

/// Who is appending right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub part: u32,
    pub token: String,
    pub expires_ms: i64,
}

/// The appended prefix of the final subject.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cursor {
    /// Part number the next append must carry.
    pub next_part: u32,
    /// Stream sequence of the last chunk of the last good append (0: none).
    pub last_seq: u64,
    pub sha: Sha256State,
    pub size: u64,
    pub chunks: u64,
    pub lease: Option<Lease>,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor {
            next_part: 1,
            last_seq: 0,
            sha: Sha256State::default(),
            size: 0,
            chunks: 0,
            lease: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Location {
    /// In the final subject, part `N` of the appended prefix.
    Appended {
        first_seq: u64,
        last_seq: u64,
        /// Running SHA-256 of parts 1..=N.
        sha_after: Sha256State,
    },
    /// On its own subject, to be copied in at Complete.
    Staged { subject: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartRecord {
    pub part_number: u32,
    /// MD5 hex.
    pub etag: String,
    pub size: u64,
    pub chunks: u64,
    pub last_modified_ms: i64,
    pub checksum: Option<(String, String)>,
    pub location: Location,
}

/// A CAS lost to another writer.
#[derive(Debug)]
pub struct Conflict;

fn internal(e: impl std::fmt::Display) -> S3Error {
    S3Error::internal(e.to_string())
}

/// Upload ids are nuids: refuse anything else before it reaches a KV key.
pub fn valid_upload_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[derive(Clone)]
pub struct Uploads {
    kv: kv::Store,
    js: jetstream::Context,
    /// Wakes this process's waiters when an upload's cursor moves (waiters in other
    /// processes poll).
    notifiers: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl Uploads {
    /// What a part waiting for its turn waits on.
    pub(crate) fn notifier(&self, upload_id: &str) -> Arc<Notify> {
        let mut map = self.notifiers.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 4096 {
            map.retain(|_, n| Arc::strong_count(n) > 1);
        }
        map.entry(upload_id.to_string())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }

    /// Wakes the parts of this process waiting on the upload's cursor.
    pub(crate) fn cursor_moved(&self, upload_id: &str) {
        self.notifier(upload_id).notify_waiters();
    }

    /// Opens (creating on first use) the uploads bucket.
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, S3Error> {
        let kv = match js.get_key_value(UPLOADS_BUCKET).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: UPLOADS_BUCKET.into(),
                    description: "jetgate multipart uploads in progress".into(),
                    history: 1,
                    num_replicas: replicas.max(1),
                    // Per-message TTLs, for the markers of finished uploads (`forget`).
                    limit_markers: Some(MARKER_TTL),
                    ..Default::default()
                })
                .await
                .map_err(internal)?,
        };
        Ok(Uploads {
            kv,
            js: js.clone(),
            notifiers: Arc::default(),
        })
    }

    /// Opens the uploads bucket if it exists (`None`: no upload was ever started).
    pub async fn open_existing(js: &jetstream::Context) -> Result<Option<Self>, S3Error> {
        use async_nats::jetstream::context::GetStreamErrorKind;
        match js.get_stream(format!("KV_{UPLOADS_BUCKET}")).await {
            Ok(_) => {}
            Err(e) => match e.kind() {
                GetStreamErrorKind::JetStream(j)
                    if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    return Ok(None)
                }
                _ => return Err(internal(e)),
            },
        }
        let kv = js.get_key_value(UPLOADS_BUCKET).await.map_err(internal)?;
        Ok(Some(Uploads {
            kv,
            js: js.clone(),
            notifiers: Arc::default(),
        }))
    }

    async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<(T, u64)>, S3Error> {
        let Some(entry) = self.kv.entry(key).await.map_err(internal)? else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let v = serde_json::from_slice(&entry.value).map_err(internal)?;
        Ok(Some((v, entry.revision)))
    }

    fn encode<T: Serialize>(v: &T) -> Result<Bytes, S3Error> {
        serde_json::to_vec(v).map(Bytes::from).map_err(internal)
    }

    async fn cas<T: Serialize>(&self, key: &str, v: &T, rev: u64) -> Result<u64, CasError> {
        let res = if rev == 0 {
            self.kv
                .create(key, Self::encode(v).map_err(CasError::Failed)?)
                .await
                .map_err(|e| match e.kind() {
                    kv::CreateErrorKind::AlreadyExists => CasError::Conflict,
                    _ => CasError::Failed(internal(e)),
                })
        } else {
            self.kv
                .update(key, Self::encode(v).map_err(CasError::Failed)?, rev)
                .await
                .map_err(|e| match e.kind() {
                    kv::UpdateErrorKind::WrongLastRevision => CasError::Conflict,
                    _ => CasError::Failed(internal(e)),
                })
        };
        res
    }

    pub async fn upload(&self, id: &str) -> Result<Option<(UploadRecord, u64)>, S3Error> {
        if !valid_upload_id(id) {
            return Ok(None);
        }
        self.get(&format!("u.{id}")).await
    }

    /// The upload, checked against the bucket and key of the request; NoSuchUpload if
    /// absent or for another object.
    pub async fn upload_for(
        &self,
        id: &str,
        bucket: &str,
        key: &str,
    ) -> Result<(UploadRecord, u64), S3Error> {
        match self.upload(id).await? {
            Some((u, rev)) if u.bucket == bucket && u.key == key => Ok((u, rev)),
            _ => Err(S3Error::no_such_upload()),
        }
    }

    pub async fn create_upload(&self, rec: &UploadRecord) -> Result<(), S3Error> {
        self.cas(&format!("c.{}", rec.upload_id), &Cursor::default(), 0)
            .await
            .map_err(CasError::into_s3)?;
        self.cas(&format!("u.{}", rec.upload_id), rec, 0)
            .await
            .map_err(CasError::into_s3)?;
        Ok(())
    }

    pub async fn update_upload(&self, rec: &UploadRecord, rev: u64) -> Result<u64, CasError> {
        self.cas(&format!("u.{}", rec.upload_id), rec, rev).await
    }

    /// Deletes the upload record if still at `rev`; false when another change won.
    pub async fn delete_upload(&self, id: &str, rev: u64) -> Result<bool, S3Error> {
        match self
            .kv
            .delete_expect_revision(format!("u.{id}"), Some(rev))
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(internal(e)),
        }
    }

    pub async fn cursor(&self, id: &str) -> Result<(Cursor, u64), S3Error> {
        self.get(&format!("c.{id}"))
            .await?
            .ok_or_else(S3Error::no_such_upload)
    }

    /// Updates of the cursor key, pushed by JetStream (the current value first).
    pub async fn watch_cursor(&self, id: &str) -> Result<kv::Watch, S3Error> {
        self.kv.watch(format!("c.{id}")).await.map_err(internal)
    }

    pub async fn set_cursor(&self, id: &str, c: &Cursor, rev: u64) -> Result<u64, CasError> {
        self.cas(&format!("c.{id}"), c, rev).await
    }

    pub async fn part(&self, id: &str, n: u32) -> Result<Option<PartRecord>, S3Error> {
        Ok(self.get(&format!("p.{id}.{n}")).await?.map(|(p, _)| p))
    }

    /// Part records of `numbers`, in that order (`None` where absent).
    pub async fn parts(
        &self,
        id: &str,
        numbers: Vec<u32>,
    ) -> Result<Vec<Option<PartRecord>>, S3Error> {
        let futs = numbers.into_iter().map(|n| {
            let me = self.clone();
            let key = format!("p.{id}.{n}");
            async move { me.get::<PartRecord>(&key).await.map(|o| o.map(|(p, _)| p)) }
        });
        futures::stream::iter(futs).buffered(32).try_collect().await
    }

    /// Upload records of `ids` (`None` where gone or unreadable: [`UploadRecord::read`]).
    pub async fn uploads(
        &self,
        ids: Vec<String>,
    ) -> Result<Vec<Option<(UploadRecord, u64)>>, S3Error> {
        let futs = ids.into_iter().map(|id| {
            let me = self.clone();
            async move {
                let key = format!("u.{id}");
                let Some(entry) = me.kv.entry(&key).await.map_err(internal)? else {
                    return Ok(None);
                };
                if entry.operation != kv::Operation::Put {
                    return Ok(None);
                }
                Ok(UploadRecord::read(&key, &entry.value).map(|rec| (rec, entry.revision)))
            }
        });
        futures::stream::iter(futs).buffered(32).try_collect().await
    }

    pub async fn put_part(&self, id: &str, p: &PartRecord) -> Result<(), S3Error> {
        self.kv
            .put(format!("p.{id}.{}", p.part_number), Self::encode(p)?)
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn subjects(&self, filter: String) -> Result<Vec<String>, S3Error> {
        let stream = self
            .js
            .get_stream(format!("KV_{UPLOADS_BUCKET}"))
            .await
            .map_err(internal)?;
        let subjects: Vec<(String, usize)> = stream
            .info_with_subjects(filter)
            .await
            .map_err(internal)?
            .try_collect()
            .await
            .map_err(internal)?;
        Ok(subjects.into_iter().map(|(s, _)| s).collect())
    }

    /// Part numbers with a record, ascending.
    pub async fn part_numbers(&self, id: &str) -> Result<Vec<u32>, S3Error> {
        let prefix = format!("$KV.{UPLOADS_BUCKET}.p.{id}.");
        let mut out: Vec<u32> = self
            .subjects(format!("{prefix}*"))
            .await?
            .iter()
            .filter_map(|s| s.strip_prefix(&prefix)?.parse().ok())
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Every upload id in the bucket.
    pub async fn upload_ids(&self) -> Result<Vec<String>, S3Error> {
        let prefix = format!("$KV.{UPLOADS_BUCKET}.u.");
        Ok(self
            .subjects(format!("{prefix}*"))
            .await?
            .iter()
            .filter_map(|s| s.strip_prefix(&prefix).map(str::to_string))
            .collect())
    }

    /// Changes of the upload records (`u.<id>`): each one's current value first,
    /// then every put and delete.
    pub async fn watch_records(&self) -> Result<kv::Watch, S3Error> {
        self.kv.watch_with_history("u.*").await.map_err(internal)
    }

    /// The uploads bucket's last stream sequence, as its leader answers now.
    pub async fn last_sequence(&self) -> Result<u64, S3Error> {
        let stream = self
            .js
            .get_stream(format!("KV_{UPLOADS_BUCKET}"))
            .await
            .map_err(internal)?;
        Ok(stream.cached_info().state.last_sequence)
    }

    /// Removes every key of an upload (not its chunks). The record goes by a KV purge
    /// marker, not a stream purge: the upload indexes of the multipart workers learn
    /// of a finished upload from that message (a stream purge leaves no trace).
    pub async fn forget(&self, id: &str) -> Result<(), S3Error> {
        let record = format!("u.{id}");
        // The marker expires where the KV allows per-message TTLs (created by this
        // version); in an older KV it stays, one small message per finished upload.
        if self.kv.purge_with_ttl(&record, MARKER_TTL).await.is_err() {
            self.kv.purge(&record).await.map_err(internal)?;
        }
        let stream = format!("KV_{UPLOADS_BUCKET}");
        for filter in [
            format!("$KV.{UPLOADS_BUCKET}.p.{id}.*"),
            format!("$KV.{UPLOADS_BUCKET}.c.{id}"),
        ] {
            purge(&self.js, &stream, &filter).await?;
        }
        Ok(())
    }
}

/// How long the marker of a finished upload stays: far longer than any upload index's
/// watch lags behind the KV.
const MARKER_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub enum CasError {
    Conflict,
    Failed(S3Error),
}

impl CasError {
    pub fn into_s3(self) -> S3Error {
        match self {
            CasError::Conflict => {
                S3Error::service_unavailable_with("The upload changed concurrently; please retry.")
            }
            CasError::Failed(e) => e,
        }
    }
}

/// Purges the messages of `stream` matching `filter`.
pub async fn purge(js: &jetstream::Context, stream: &str, filter: &str) -> Result<(), S3Error> {
    let body = serde_json::json!({ "filter": filter });
    let resp: serde_json::Value = js
        .request(format!("STREAM.PURGE.{stream}"), &body)
        .await
        .map_err(internal)?;
    if let Some(err) = resp.get("error") {
        return Err(internal(format!("purge {filter}: {err}")));
    }
    Ok(())
}

pub use crate::store::delete_seq;

/// Lease duration of an appending writer; refreshed well before it runs out.
pub const LEASE: Duration = Duration::from_secs(30);
/// Lease of a Complete over its upload; a running Complete extends it (claim.rs), so it
/// only bounds how long an upload stays claimed by a Complete whose worker died.
pub const COMPLETE_LEASE: Duration = Duration::from_secs(20);
