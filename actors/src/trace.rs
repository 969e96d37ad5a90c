//! Trace attributes of worker spans: this process's worker id and the low-cardinality
//! facts of a request (bucket, body size) read without decoding the whole call.

use std::sync::OnceLock;

use bytes::Bytes;
use serde::Deserialize;

/// Identifies this worker process in traces (`worker_id`, `service.instance.id`).
pub fn worker_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| nuid::next().to_string())
}

/// What a worker span records about a request; every field is optional because the
/// messages differ per endpoint (the auth verifier's carry no `op`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Facts {
    #[serde(default)]
    op: Option<OpFacts>,
    #[serde(default)]
    body: Option<BodyFacts>,
}

#[derive(Debug, Default, Deserialize)]
struct OpFacts {
    #[serde(default)]
    bucket: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct BodyFacts {
    #[serde(default)]
    content_length: Option<u64>,
}

impl Facts {
    /// Reads the facts from a request payload; anything unreadable yields none.
    pub(crate) fn of(payload: &Bytes) -> Self {
        jetgate_protocol::decode::<Facts>(payload)
            .map(|e| e.msg)
            .unwrap_or_default()
    }

    pub(crate) fn bucket(&self) -> Option<&str> {
        self.op
            .as_ref()?
            .bucket
            .as_deref()
            .filter(|b| !b.is_empty())
    }

    pub(crate) fn bytes(&self) -> Option<u64> {
        self.body.as_ref()?.content_length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_come_from_calls_and_default_elsewhere() {
        let call = serde_json::json!({
            "signed": {}, "op": {"bucket": "b1", "key": "secret/key"},
            "body": {"content_length": 42, "complete": true}
        });
        let payload = jetgate_protocol::encode(&call, b"body").expect("encode");
        let f = Facts::of(&payload);
        assert_eq!(f.bucket(), Some("b1"));
        assert_eq!(f.bytes(), Some(42));

        let verify = serde_json::json!({"signed": {"method": "GET"}});
        let f = Facts::of(&jetgate_protocol::encode(&verify, b"").expect("encode"));
        assert_eq!(f.bucket(), None);
        assert_eq!(f.bytes(), None);

        assert!(Facts::of(&Bytes::from_static(b"junk")).bucket().is_none());
        assert_eq!(worker_id(), worker_id());
    }
}
