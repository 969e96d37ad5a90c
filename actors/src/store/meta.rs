//! The per-object metadata message, field for field what `nats object` writes and reads,
//! plus where S3's own attributes live inside it:
//! - content headers and `x-amz-meta-*` in `headers` (a NATS header map);
//! - the ETag and jetgate's format version in `metadata`.

use std::collections::BTreeMap;

use jetgate_protocol::messages::{ObjectAttrs, ObjectHeaders};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{meta_subject, stream_name, Store, StoreError};

/// Version of what jetgate keeps in `metadata`; readers accept older versions.
pub const META_FORMAT: &str = "1";
const KEY_FORMAT: &str = "jetgate-format";
const KEY_ETAG: &str = "jetgate-etag";
const USER_PREFIX: &str = "X-Amz-Meta-";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chunk_size: Option<u64>,
}

/// NATS object-store metadata message (`ObjectInfo` in the NATS clients).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<ObjectOptions>,
    pub bucket: String,
    #[serde(default)]
    pub nuid: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub mtime: Option<OffsetDateTime>,
    #[serde(default)]
    pub chunks: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

const CONTENT_HEADERS: [&str; 6] = [
    "Content-Type",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Cache-Control",
    "Expires",
];

impl ObjectMeta {
    /// ETag as S3 shows it (without quotes). Objects written by other NATS clients have
    /// no MD5; they get a stable tag from their SHA-256 with a `-1` suffix, so clients
    /// treat it as opaque instead of checking it as an MD5.
    pub fn etag(&self) -> String {
        if let Some(e) = self.metadata.get(KEY_ETAG) {
            return e.clone();
        }
        let digest = self.digest.as_deref().unwrap_or_default();
        let raw = digest.strip_prefix("SHA-256=").unwrap_or(digest);
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE
            .decode(raw)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw))
            .unwrap_or_default();
        let hexed = hex::encode(&bytes[..bytes.len().min(16)]);
        format!("{hexed:0<32}-1")
    }

    pub fn last_modified_ms(&self) -> i64 {
        self.mtime
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .unwrap_or(0)
    }

    fn header(&self, name: &str) -> Option<String> {
        let h = self.headers.as_ref()?;
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first().cloned())
    }

    pub fn object_headers(&self) -> ObjectHeaders {
        let mut user = Vec::new();
        if let Some(h) = &self.headers {
            for (k, v) in h {
                if k.len() > USER_PREFIX.len()
                    && k[..USER_PREFIX.len()].eq_ignore_ascii_case(USER_PREFIX)
                {
                    if let Some(first) = v.first() {
                        user.push((k[USER_PREFIX.len()..].to_ascii_lowercase(), first.clone()));
                    }
                }
            }
        }
        ObjectHeaders {
            content_type: self.header("Content-Type"),
            content_encoding: self.header("Content-Encoding"),
            content_disposition: self.header("Content-Disposition"),
            content_language: self.header("Content-Language"),
            cache_control: self.header("Cache-Control"),
            expires: self.header("Expires"),
            user,
        }
    }

    pub fn attrs(&self) -> ObjectAttrs {
        ObjectAttrs {
            etag: self.etag(),
            size: self.size,
            last_modified_ms: self.last_modified_ms(),
            headers: self.object_headers(),
        }
    }

    /// Stores S3 headers into the NATS header map.
    pub fn set_object_headers(&mut self, oh: &ObjectHeaders) {
        let mut h = BTreeMap::new();
        let values = [
            &oh.content_type,
            &oh.content_encoding,
            &oh.content_disposition,
            &oh.content_language,
            &oh.cache_control,
            &oh.expires,
        ];
        for (name, value) in CONTENT_HEADERS.iter().zip(values) {
            if let Some(v) = value {
                h.insert(name.to_string(), vec![v.clone()]);
            }
        }
        for (k, v) in &oh.user {
            h.insert(format!("{USER_PREFIX}{k}"), vec![v.clone()]);
        }
        self.headers = if h.is_empty() { None } else { Some(h) };
    }

    pub fn set_etag(&mut self, etag: &str) {
        self.metadata.insert(KEY_ETAG.into(), etag.into());
        self.metadata.insert(KEY_FORMAT.into(), META_FORMAT.into());
    }
}

impl ObjectMeta {
    /// Metadata read back from NATS is peer data: any client allowed to publish on the
    /// bucket's subjects (a native object-store writer among them) wrote it. The chunk
    /// id goes into a subject we read and purge, so it must be one plain token; `*`,
    /// `>` or a `.` would reach other objects' chunks or the whole bucket. The name must
    /// be the one its subject encodes (`subject` is where the message was read from):
    /// otherwise a tombstone published on one key's subject, naming another, would hide
    /// that other key from listings while it still reads.
    pub fn parse(
        nats_bucket: &str,
        subject: &str,
        payload: &[u8],
    ) -> Result<ObjectMeta, StoreError> {
        let meta: ObjectMeta =
            serde_json::from_slice(payload).map_err(|e| StoreError::BadMeta(e.to_string()))?;
        if subject != meta_subject(nats_bucket, &meta.name) {
            return Err(StoreError::BadMeta(format!(
                "names {:?}, which is not the object of subject {subject}",
                meta.name
            )));
        }
        if !meta.deleted && !is_token(&meta.nuid) {
            return Err(StoreError::BadMeta(format!(
                "chunk id {:?} is not a single subject token",
                meta.nuid
            )));
        }
        Ok(meta)
    }
}

/// One NATS subject token that matches only itself.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'.' | b'*' | b'>'))
}

impl Store {
    /// Current metadata of an object; `None` when absent or deleted.
    pub async fn lookup(
        &self,
        nats_bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectMeta>, StoreError> {
        Ok(self.lookup_seq(nats_bucket, key).await?.0)
    }

    /// Like [`Store::lookup`], plus the stream sequence of the metadata message (0 when
    /// there is none), for a conditional write with [`Store::put_meta_if`].
    #[tracing::instrument(name = "jetstream.meta_get", level = "info", skip_all, fields(otel.kind = "client"))]
    pub async fn lookup_seq(
        &self,
        nats_bucket: &str,
        key: &str,
    ) -> Result<(Option<ObjectMeta>, u64), StoreError> {
        let subject = meta_subject(nats_bucket, key);
        let (payload, seq) = if self.replicated(nats_bucket).await? {
            let body = serde_json::json!({ "last_by_subj": subject });
            match self.leader_get(nats_bucket, body).await? {
                Some(m) => (m.payload, m.seq),
                None => return Ok((None, 0)),
            }
        } else {
            let Some(msg) = self
                .direct_get(
                    &stream_name(nats_bucket),
                    Some(&subject),
                    bytes::Bytes::new(),
                )
                .await?
            else {
                return Ok((None, 0));
            };
            let seq = msg
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Sequence"))
                .and_then(|v| v.as_str().parse::<u64>().ok())
                .unwrap_or(0);
            (msg.payload, seq)
        };
        let meta = ObjectMeta::parse(nats_bucket, &subject, &payload)?;
        Ok(((!meta.deleted).then_some(meta), seq))
    }

    /// Publishes metadata with rollup, replacing any earlier version of the object.
    pub async fn put_meta(&self, nats_bucket: &str, meta: &ObjectMeta) -> Result<(), StoreError> {
        self.put_meta_if(nats_bucket, meta, None).await
    }

    /// Publishes metadata only if the object's metadata is still at `expected_seq`
    /// (JetStream checks it atomically): `Err(StoreError::Conflict)` otherwise.
    #[tracing::instrument(name = "jetstream.meta_put", level = "info", skip_all, fields(otel.kind = "client"))]
    pub async fn put_meta_if(
        &self,
        nats_bucket: &str,
        meta: &ObjectMeta,
        expected_seq: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut h = async_nats::HeaderMap::new();
        h.insert("Nats-Rollup", "sub");
        if let Some(seq) = expected_seq {
            h.insert(
                "Nats-Expected-Last-Subject-Sequence",
                seq.to_string().as_str(),
            );
        }
        let payload = serde_json::to_vec(meta).map_err(|e| StoreError::BadMeta(e.to_string()))?;
        let ack = self
            .js
            .publish_with_headers(meta_subject(nats_bucket, &meta.name), h, payload.into())
            .await
            .map_err(StoreError::publish)?;
        match ack.await {
            Ok(_) => Ok(()),
            Err(e) if expected_seq.is_some() && e.to_string().contains("wrong last sequence") => {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(StoreError::publish(e)),
        }
    }

    /// Marks an object deleted and drops its chunks, as `nats object rm` does.
    #[tracing::instrument(name = "jetstream.meta_delete", level = "info", skip_all, fields(otel.kind = "client"))]
    pub async fn delete_object(
        &self,
        nats_bucket: &str,
        meta: &ObjectMeta,
        expected_seq: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut gone = meta.clone();
        gone.deleted = true;
        gone.size = 0;
        gone.chunks = 0;
        gone.digest = None;
        gone.mtime = Some(OffsetDateTime::now_utc());
        self.put_meta_if(nats_bucket, &gone, expected_seq).await?;
        self.purge_subject(nats_bucket, &super::chunk_subject(nats_bucket, &meta.nuid))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_nats_cli_writes() {
        let json = r#"{"name":"dir/a.txt","description":"","headers":{"Content-Type":["text/plain"]},"options":{"max_chunk_size":131072},"bucket":"b","nuid":"X1","size":5,"mtime":"2024-05-01T10:00:00.123456789Z","chunks":1,"digest":"SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="}"#;
        let m: ObjectMeta = serde_json::from_str(json).expect("parse");
        assert_eq!(m.size, 5);
        assert_eq!(
            m.object_headers().content_type.as_deref(),
            Some("text/plain")
        );
        assert!(m.etag().ends_with("-1"));
        assert_eq!(m.etag().len(), 34);
        assert_eq!(m.last_modified_ms(), 1_714_557_600_123);
    }

    #[test]
    fn s3_headers_round_trip() {
        let oh = ObjectHeaders {
            content_type: Some("image/png".into()),
            cache_control: Some("no-cache".into()),
            user: vec![("color".into(), "blue".into())],
            ..Default::default()
        };
        let mut m = ObjectMeta::default();
        m.set_object_headers(&oh);
        m.set_etag("0123");
        let back: ObjectMeta =
            serde_json::from_str(&serde_json::to_string(&m).expect("json")).expect("parse");
        assert_eq!(back.object_headers(), oh);
        assert_eq!(back.etag(), "0123");
    }

    #[test]
    fn chunk_ids_that_are_not_one_token_are_refused() {
        let meta = |nuid: &str| {
            format!(r#"{{"name":"k","bucket":"b","nuid":"{nuid}","size":1,"chunks":1}}"#)
        };
        let at = meta_subject("b", "k");
        assert!(ObjectMeta::parse("b", &at, meta("AbC123xyz").as_bytes()).is_ok());
        for bad in ["", "*", ">", "a.b", "a b", "a*", "x>"] {
            assert!(
                ObjectMeta::parse("b", &at, meta(bad).as_bytes()).is_err(),
                "{bad:?} accepted"
            );
        }
        let deleted = r#"{"name":"k","bucket":"b","nuid":"","deleted":true}"#;
        assert!(ObjectMeta::parse("b", &at, deleted.as_bytes()).is_ok());
    }

    #[test]
    fn metadata_naming_another_key_than_its_subject_is_refused() {
        let tombstone = br#"{"name":"victim","bucket":"b","nuid":"","deleted":true}"#;
        assert!(ObjectMeta::parse("b", &meta_subject("b", "decoy"), tombstone).is_err());
        assert!(ObjectMeta::parse("b", &meta_subject("other", "victim"), tombstone).is_err());
        assert!(ObjectMeta::parse("b", &meta_subject("b", "victim"), tombstone).is_ok());
        // What `nats object put` names `dir/a b.txt` is published on padded URL-safe
        // base64 of the name.
        let native = br#"{"name":"dir/a b.txt?","bucket":"b","nuid":"N1","size":1,"chunks":1}"#;
        assert!(ObjectMeta::parse("b", "$O.b.M.ZGlyL2EgYi50eHQ_", native).is_ok());
        assert_eq!(
            crate::store::key_of_meta_subject("b", "$O.b.M.ZGlyL2EgYi50eHQ_").as_deref(),
            Some("dir/a b.txt?")
        );
        assert_eq!(
            crate::store::key_of_meta_subject("bb", &meta_subject("b", "k")),
            None
        );
        assert_eq!(crate::store::key_of_meta_subject("b", "$O.b.C.ZGly"), None);
    }
}
