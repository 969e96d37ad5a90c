//! The W3C trace context (`traceparent`) that ties the edge's and workers' spans into
//! one trace.

use rand::RngCore;

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
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
}
