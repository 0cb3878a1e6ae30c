//! The W3C `traceparent` (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`): the
//! one place Herald formats and parses it. The producer stores it with a job
//! ([`crate::NewJob::with_current_trace`]); the worker parses it back to join each
//! attempt to the producer's trace and to record the attempt's trace id.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// A valid W3C `traceparent`, version `00`: lowercase hex ids, neither all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traceparent {
    trace_id: TraceId,
    span_id: SpanId,
    flags: TraceFlags,
}

impl Traceparent {
    /// Parses `text` strictly (surrounding whitespace aside): version `00`, exactly four
    /// fields, a 32-digit trace id and a 16-digit span id in lowercase hex, neither all
    /// zeros, and 2 hex digits of flags. `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00"
            || parts.next().is_some()
            || !lower_hex(trace, 32)
            || !lower_hex(span, 16)
            || !lower_hex(flags, 2)
        {
            return None;
        }
        let parsed = Self {
            trace_id: TraceId::from_hex(trace).ok()?,
            span_id: SpanId::from_hex(span).ok()?,
            flags: TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        };
        (parsed.trace_id != TraceId::INVALID && parsed.span_id != SpanId::INVALID).then_some(parsed)
    }

    /// The traceparent of `sc`, or `None` when `sc` is not valid (no trace).
    pub fn from_span_context(sc: &SpanContext) -> Option<Self> {
        sc.is_valid().then(|| Self {
            trace_id: sc.trace_id(),
            span_id: sc.span_id(),
            flags: sc.trace_flags(),
        })
    }

    /// The span it names, as a remote parent.
    pub fn remote_span_context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            true,
            TraceState::default(),
        )
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }
}

impl std::fmt::Display for Traceparent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            self.flags.to_u8()
        )
    }
}

/// The trace id (32 lowercase hex digits) of `traceparent`, if it is valid
/// ([`Traceparent::parse`]).
pub fn trace_id(traceparent: &str) -> Option<String> {
    Traceparent::parse(traceparent).map(|t| t.trace_id().to_string())
}

fn lower_hex(field: &str, len: usize) -> bool {
    field.len() == len
        && field
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips() {
        let parsed = Traceparent::parse(VALID);
        assert_eq!(parsed.map(|t| t.to_string()).as_deref(), Some(VALID));
        assert_eq!(
            trace_id(VALID).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let sc = parsed.map(|t| t.remote_span_context());
        assert!(
            sc.as_ref()
                .is_some_and(|sc| sc.is_valid() && sc.is_remote())
        );
        assert_eq!(sc.as_ref().and_then(Traceparent::from_span_context), parsed);
    }

    #[test]
    fn invalid_shapes_are_rejected() {
        for bad in [
            "",
            "garbage",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-00",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        ] {
            assert_eq!(Traceparent::parse(bad), None, "{bad}");
            assert_eq!(trace_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_invalid_span_context_has_no_traceparent() {
        assert_eq!(Traceparent::from_span_context(&SpanContext::NONE), None);
    }
}
