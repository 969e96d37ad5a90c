//! NATS header names and the request-id / W3C trace-context helpers every message carries.

use async_nats::HeaderMap;
use rand::RngCore;

/// Request id of the S3 request, echoed as `x-amz-request-id`.
pub const REQUEST_ID: &str = "Jetgate-Request-Id";
/// W3C trace context, so one trace spans the edge and every worker.
pub const TRACEPARENT: &str = "traceparent";
/// S3 error code of a failed reply, beside the micro `Nats-Service-Error*` headers.
pub const S3_CODE: &str = "Jetgate-S3-Code";
/// Body-stream frame kind: see [`crate::stream`].
pub const FRAME: &str = "Jetgate-Frame";
/// Byte offset of a data frame, or the credit limit of a credit frame.
pub const OFFSET: &str = "Jetgate-Offset";
/// Subject on which the peer of a stream listens.
pub const STREAM: &str = "Jetgate-Stream";
/// Micro service error headers (set by async-nats on error replies).
pub const SERVICE_ERROR: &str = "Nats-Service-Error";
pub const SERVICE_ERROR_CODE: &str = "Nats-Service-Error-Code";

/// A fresh request id: 16 hex characters, like S3's.
pub fn new_request_id() -> String {
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    hex_upper(&b)
}

fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// W3C trace context (`00-<trace-id>-<span-id>-<flags>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: String,
    pub span_id: String,
    pub flags: String,
}

impl TraceParent {
    /// Starts a new trace.
    pub fn new_root() -> Self {
        let mut t = [0u8; 16];
        let mut s = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut t);
        rand::thread_rng().fill_bytes(&mut s);
        TraceParent {
            trace_id: hex_upper(&t).to_ascii_lowercase(),
            span_id: hex_upper(&s).to_ascii_lowercase(),
            flags: "01".into(),
        }
    }

    /// Same trace, new span id: what a hop passes on to the next one.
    pub fn child(&self) -> Self {
        let mut s = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut s);
        TraceParent {
            trace_id: self.trace_id.clone(),
            span_id: hex_upper(&s).to_ascii_lowercase(),
            flags: self.flags.clone(),
        }
    }

    /// Parses a `traceparent` value; anything malformed is ignored (a new trace starts).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if version != "00" || !hex(trace_id, 32) || !hex(span_id, 16) || !hex(flags, 2) {
            return None;
        }
        if trace_id.bytes().all(|b| b == b'0') || span_id.bytes().all(|b| b == b'0') {
            return None;
        }
        Some(TraceParent {
            trace_id: trace_id.to_ascii_lowercase(),
            span_id: span_id.to_ascii_lowercase(),
            flags: flags.to_ascii_lowercase(),
        })
    }

    pub fn header_value(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

/// The per-request context that travels in the headers of every NATS message.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub trace: TraceParent,
}

impl RequestContext {
    pub fn new() -> Self {
        RequestContext {
            request_id: new_request_id(),
            trace: TraceParent::new_root(),
        }
    }

    /// Reads the context from a received message; missing parts are made up fresh.
    pub fn from_headers(headers: Option<&HeaderMap>) -> Self {
        let get = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
        RequestContext {
            request_id: get(REQUEST_ID)
                .filter(|v| !v.is_empty() && v.len() <= 64)
                .map(str::to_string)
                .unwrap_or_else(new_request_id),
            trace: get(TRACEPARENT)
                .and_then(TraceParent::parse)
                .unwrap_or_else(TraceParent::new_root),
        }
    }

    /// Headers for the next hop: same request id, and as `traceparent` the current
    /// span when traces are exported (so the receiver's spans become its children),
    /// else a fresh child id of this context.
    pub fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, self.request_id.as_str());
        let next = crate::otel::traceparent(&tracing::Span::current())
            .filter(|t| t.trace_id == self.trace.trace_id)
            .unwrap_or_else(|| self.trace.child());
        h.insert(TRACEPARENT, next.header_value().as_str());
        h
    }
}

impl Default for RequestContext {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_children_keep_the_trace() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let tp = TraceParent::parse(v).expect("valid");
        assert_eq!(tp.header_value(), v);
        let child = tp.child();
        assert_eq!(child.trace_id, tp.trace_id);
        assert_ne!(child.span_id, tp.span_id);
    }

    #[test]
    fn malformed_traceparent_is_rejected() {
        for v in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-xyz-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(v).is_none(), "{v}");
        }
    }

    #[test]
    fn context_survives_a_hop() {
        let ctx = RequestContext::new();
        let h = ctx.headers();
        let back = RequestContext::from_headers(Some(&h));
        assert_eq!(back.request_id, ctx.request_id);
        assert_eq!(back.trace.trace_id, ctx.trace.trace_id);
        assert_eq!(new_request_id().len(), 16);
    }
}
