//! Bridges our W3C [`TraceParent`] and the OpenTelemetry context of `tracing` spans.
//!
//! When the process exports traces (an OTLP endpoint is configured), the
//! `tracing-opentelemetry` layer gives every span real trace and span ids; the helpers
//! here make a span continue a remote parent and read back the span's own
//! `traceparent`, so the value put into NATS headers names the span that sent it and
//! the receiver's spans become its children. Without that layer (no exporter) the
//! helpers return `None` and callers keep the ids they generated themselves.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::traceparent::TraceParent;

/// The OpenTelemetry span context a `traceparent` describes (a remote span).
fn remote_context(tp: &TraceParent) -> Option<SpanContext> {
    let trace_id = TraceId::from_hex(&tp.trace_id).ok()?;
    let span_id = SpanId::from_hex(&tp.span_id).ok()?;
    let flags = u8::from_str_radix(&tp.flags, 16).ok()?;
    let cx = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    );
    cx.is_valid().then_some(cx)
}

/// The `traceparent` of a span context, if it is a real one.
fn traceparent_of_context(cx: &SpanContext) -> Option<TraceParent> {
    if !cx.is_valid() {
        return None;
    }
    Some(TraceParent {
        trace_id: format!("{}", cx.trace_id()),
        span_id: format!("{}", cx.span_id()),
        flags: format!("{:02x}", cx.trace_flags().to_u8()),
    })
}

/// Makes `span` a child of the remote `parent` (an incoming HTTP or NATS header).
/// Must run before the span is first entered; a no-op without the OpenTelemetry layer.
pub fn set_remote_parent(span: &tracing::Span, parent: &TraceParent) {
    if let Some(cx) = remote_context(parent) {
        let parent_cx = opentelemetry::Context::new().with_remote_span_context(cx);
        // Fails only when the layer is absent or the span is disabled: nothing to link.
        let _ = span.set_parent(parent_cx);
    }
}

/// The span's own `traceparent` (its trace id and span id), when an OpenTelemetry
/// layer is installed and the span is recorded by it.
pub fn traceparent(span: &tracing::Span) -> Option<TraceParent> {
    if span.is_disabled() {
        return None;
    }
    let cx = span.context();
    traceparent_of_context(cx.span().span_context())
}

/// Continues `parent` (if any) in `span` and returns the `traceparent` this hop should
/// use as its own: the span's when it is exported, otherwise `fallback()`.
pub fn adopt(
    span: &tracing::Span,
    parent: Option<&TraceParent>,
    fallback: impl FnOnce() -> TraceParent,
) -> TraceParent {
    if let Some(p) = parent {
        set_remote_parent(span, p);
    }
    traceparent(span).unwrap_or_else(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_converts_to_a_remote_context_and_back() {
        let tp = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .expect("valid");
        let cx = remote_context(&tp).expect("valid context");
        assert!(cx.is_remote());
        assert!(cx.is_sampled());
        assert_eq!(traceparent_of_context(&cx), Some(tp));
    }

    #[test]
    fn unsampled_flag_survives() {
        let tp = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
            .expect("valid");
        let cx = remote_context(&tp).expect("valid context");
        assert!(!cx.is_sampled());
        assert_eq!(
            traceparent_of_context(&cx).map(|t| t.flags),
            Some("00".to_string())
        );
    }

    #[test]
    fn without_the_layer_spans_have_no_traceparent() {
        // No subscriber with an OpenTelemetry layer is installed in unit tests.
        let span = tracing::info_span!("test");
        assert!(traceparent(&span).is_none());
        let fallback = TraceParent::new_root();
        let f = fallback.clone();
        assert_eq!(adopt(&span, Some(&TraceParent::new_root()), || f), fallback);
    }
}
