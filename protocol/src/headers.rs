//! NATS header names and the request-id / W3C trace-context helpers every message carries.

use async_nats::HeaderMap;
use rand::RngCore;

use crate::otel;
use crate::traceparent::hex_upper;
pub use crate::traceparent::TraceParent;

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
        let next = otel::traceparent(&tracing::Span::current())
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
    fn context_survives_a_hop() {
        let ctx = RequestContext::new();
        let h = ctx.headers();
        let back = RequestContext::from_headers(Some(&h));
        assert_eq!(back.request_id, ctx.request_id);
        assert_eq!(back.trace.trace_id, ctx.trace.trace_id);
        assert_eq!(new_request_id().len(), 16);
    }
}
