//! Reads that must see every acknowledged write on a replicated stream.
//!
//! Direct get may be answered by any replica, and a replica can lag the leader: on an R3
//! bucket a GET right after a PUT could miss the object (measured: 5–15 misses a run in
//! deploy/local/run.sh). Metadata of replicated buckets is therefore read from the stream
//! leader (`STREAM.MSG.GET`), and a chunk a replica does not have yet is fetched there too.
//! R1 buckets keep the cheaper direct get: their one server is the leader.

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;

use super::{stream_name, Store, StoreError};

/// How long a bucket's replica count is trusted before it is asked again.
const REPLICAS_TTL: Duration = Duration::from_secs(30);

/// A message read from the stream leader.
pub(crate) struct LeaderMsg {
    pub seq: u64,
    pub payload: Bytes,
}

#[derive(Deserialize)]
struct MsgGetResponse {
    message: Option<RawMsg>,
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct RawMsg {
    seq: u64,
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: u16,
    #[serde(default)]
    err_code: u64,
    #[serde(default)]
    description: String,
}

/// JetStream error code of "no message found".
const NO_MESSAGE_FOUND: u64 = 10037;

impl Store {
    /// True when the bucket's stream has more than one replica (cached briefly).
    pub(crate) async fn replicated(&self, nats_bucket: &str) -> Result<bool, StoreError> {
        if let Some((r, at)) = self
            .replicas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(nats_bucket)
        {
            if at.elapsed() < REPLICAS_TTL {
                return Ok(*r > 1);
            }
        }
        let subject = format!("{}.STREAM.INFO.{}", self.api, stream_name(nats_bucket));
        let v = self.api_request(subject, Bytes::new()).await?;
        if let Some(err) = v.get("error") {
            return Err(match err.get("err_code").and_then(|c| c.as_u64()) {
                Some(10059) => StoreError::NoSuchBucket,
                _ => StoreError::Api(500, err.to_string()),
            });
        }
        let replicas = v
            .pointer("/config/num_replicas")
            .and_then(|r| r.as_u64())
            .unwrap_or(1) as usize;
        self.replicas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(nats_bucket.to_string(), (replicas, Instant::now()));
        Ok(replicas > 1)
    }

    /// `STREAM.MSG.GET` at the leader; `body` is e.g. `{"last_by_subj": ..}`.
    #[tracing::instrument(name = "jetstream.msg_get", level = "info", skip_all, fields(otel.kind = "client"))]
    pub(crate) async fn leader_get(
        &self,
        nats_bucket: &str,
        body: serde_json::Value,
    ) -> Result<Option<LeaderMsg>, StoreError> {
        let subject = format!("{}.STREAM.MSG.GET.{}", self.api, stream_name(nats_bucket));
        let raw = self
            .request_raw(subject, Bytes::from(body.to_string()))
            .await?;
        let resp: MsgGetResponse =
            serde_json::from_slice(&raw).map_err(|e| StoreError::Request(e.to_string()))?;
        if let Some(e) = resp.error {
            return match (e.err_code, e.code) {
                (NO_MESSAGE_FOUND, _) => Ok(None),
                (10059, _) => Err(StoreError::NoSuchBucket),
                (_, code) => Err(StoreError::Api(code, e.description)),
            };
        }
        let Some(m) = resp.message else {
            return Ok(None);
        };
        let payload = match m.data {
            Some(d) => base64::engine::general_purpose::STANDARD
                .decode(d)
                .map_err(|e| StoreError::Request(e.to_string()))?,
            None => Vec::new(),
        };
        Ok(Some(LeaderMsg {
            seq: m.seq,
            payload: payload.into(),
        }))
    }
}
