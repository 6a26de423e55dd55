//! W3C trace context in a request's `_meta`, so that one trace follows a tool call from the
//! client through the server into the sampling requests it makes and the host that answers
//! them.
//!
//! The keys are those of SEP-414 ("OpenTelemetry trace context propagation conventions",
//! <https://modelcontextprotocol.io/seps/414-request-meta>, final for 2026-07-28): the
//! W3C Trace Context headers (<https://www.w3.org/TR/trace-context/>) `traceparent` and
//! `tracestate` as bare keys of `params._meta` (the spec's exception to its prefix rule),
//! on any request, on both eras: the client's `tools/call`, a legacy server's
//! `sampling/createMessage`, the params of a modern input request.
//!
//! With the `otel` feature, [`follow`] makes the context a request carries the parent of a
//! `tracing` span and [`inject`] writes a span's context into a request, through
//! `tracing-opentelemetry` (the span must be recorded by its layer; otherwise both do
//! nothing). Without the feature both do nothing and no OpenTelemetry is compiled: the
//! callers (mcp-server, mcp-client, mcp-host) call them unconditionally.

use serde_json::Value;

/// The `_meta` key of the W3C `traceparent` (`00-TRACEID-SPANID-FLAGS`).
pub const TRACEPARENT_KEY: &str = "traceparent";

/// The `_meta` key of the W3C `tracestate` (vendor entries, optional).
pub const TRACESTATE_KEY: &str = "tracestate";

/// Whether this build reads and writes trace context (the `otel` feature).
pub const ENABLED: bool = cfg!(feature = "otel");

/// Makes the trace context that `meta` (a request's `_meta`) carries the parent of `span`,
/// which must not have been entered yet. Nothing happens without one, with a malformed one,
/// for a span that is disabled, or without the `otel` feature.
pub fn follow(span: &tracing::Span, meta: Option<&Value>) {
    #[cfg(feature = "otel")]
    otel::follow(span, meta);
    #[cfg(not(feature = "otel"))]
    let _ = (span, meta);
}

/// Writes the trace context of `span` into `meta` (creating it; other keys kept). Nothing
/// happens for a span that OpenTelemetry does not record, or without the `otel` feature.
pub fn inject(span: &tracing::Span, meta: &mut Option<Value>) {
    #[cfg(feature = "otel")]
    otel::inject(span, meta);
    #[cfg(not(feature = "otel"))]
    let _ = (span, meta);
}

#[cfg(feature = "otel")]
mod otel {
    use super::{TRACEPARENT_KEY, TRACESTATE_KEY};
    use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use serde_json::{Map, Value};
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    /// The longest `tracestate` taken from a peer (W3C: 32 entries; 512 characters is what
    /// every vendor must pass on); a longer one is left out, the `traceparent` still taken.
    const MAX_TRACESTATE: usize = 512;

    /// The two keys of `_meta`, read as strings (anything else is absent).
    struct Reader<'a>(&'a Map<String, Value>);

    impl Extractor for Reader<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            let v = self.0.get(key)?.as_str()?;
            (key != TRACESTATE_KEY || v.len() <= MAX_TRACESTATE).then_some(v)
        }

        fn keys(&self) -> Vec<&str> {
            vec![TRACEPARENT_KEY, TRACESTATE_KEY]
        }
    }

    struct Writer<'a>(&'a mut Map<String, Value>);

    impl Injector for Writer<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), Value::String(value));
        }
    }

    pub(super) fn follow(span: &tracing::Span, meta: Option<&Value>) {
        if span.is_disabled() {
            return;
        }
        let Some(m) = meta.and_then(Value::as_object) else {
            return;
        };
        if !m.contains_key(TRACEPARENT_KEY) {
            return;
        }
        let cx = TraceContextPropagator::new().extract(&Reader(m));
        if cx.span().span_context().is_valid() {
            // Fails only when the span has no OpenTelemetry layer or has started: then it
            // keeps its own parent.
            let _ = span.set_parent(cx);
        }
    }

    pub(super) fn inject(span: &tracing::Span, meta: &mut Option<Value>) {
        if span.is_disabled() {
            return;
        }
        let cx = span.context();
        if !cx.span().span_context().is_valid() {
            return;
        }
        if !matches!(meta, Some(Value::Object(_))) {
            *meta = Some(Value::Object(Map::new()));
        }
        if let Some(Value::Object(m)) = meta {
            // A stale context (a request built from another's params) must not survive.
            m.remove(TRACESTATE_KEY);
            TraceContextPropagator::new().inject_context(&cx, &mut Writer(m));
        }
    }
}

#[cfg(all(test, feature = "otel"))]
mod tests {
    use super::*;
    use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
    use serde_json::json;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::layer::SubscriberExt;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn with_otel(f: impl FnOnce()) {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
    }

    #[test]
    fn a_span_follows_meta_and_its_children_carry_the_trace_on() {
        with_otel(|| {
            let span = tracing::info_span!("call");
            follow(
                &span,
                Some(&json!({TRACEPARENT_KEY: PARENT, TRACESTATE_KEY: "a=1", "other": 1})),
            );
            let cx = span.context();
            let sc = cx.span().span_context().clone();
            assert_eq!(
                sc.trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            assert_ne!(sc.span_id().to_string(), "00f067aa0ba902b7");
            assert_eq!(sc.trace_state().get("a"), Some("1"));

            let mut meta = Some(json!({"progressToken": 7}));
            inject(&span, &mut meta);
            let m = meta.unwrap();
            assert_eq!(m["progressToken"], 7);
            let tp = m[TRACEPARENT_KEY].as_str().unwrap();
            assert_eq!(
                tp,
                format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", sc.span_id())
            );
            assert_eq!(m[TRACESTATE_KEY], "a=1");
        });
    }

    #[test]
    fn malformed_or_absent_context_leaves_the_span_a_root() {
        with_otel(|| {
            for meta in [
                None,
                Some(json!({})),
                Some(json!({TRACEPARENT_KEY: 5})),
                Some(json!({TRACEPARENT_KEY: "00-zz-00f067aa0ba902b7-01"})),
                Some(
                    json!({TRACEPARENT_KEY: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}),
                ),
            ] {
                let span = tracing::info_span!("call");
                follow(&span, meta.as_ref());
                let cx = span.context();
                assert_ne!(
                    cx.span().span_context().trace_id().to_string(),
                    "4bf92f3577b34da6a3ce929d0e0e4736"
                );
                assert!(cx.span().span_context().is_valid(), "{meta:?}");
            }
            // An oversized tracestate is left out; the parent is still taken.
            let span = tracing::info_span!("call");
            let big = "a=".to_owned() + &"b".repeat(600);
            follow(
                &span,
                Some(&json!({TRACEPARENT_KEY: PARENT, TRACESTATE_KEY: big})),
            );
            let cx = span.context();
            assert_eq!(
                cx.span().span_context().trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            assert_eq!(cx.span().span_context().trace_state().header(), "");
        });
    }

    #[test]
    fn without_an_otel_layer_nothing_is_written() {
        let span = tracing::info_span!("call");
        let mut meta = None;
        inject(&span, &mut meta);
        assert_eq!(meta, None);
    }
}
