//! Trace context in process: the real client, server and host pipeline over the in-memory
//! transport, their spans recorded by OpenTelemetry (`tracing-opentelemetry`), must form one
//! trace (client call -> server call(s) -> sampling request -> host) on both eras, and a
//! server's own model (`direct_sampler`) must answer under the sampling request's span.

use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_host::approval::{Approval, Mode};
use mcp_host::testing::Fixed;
use mcp_host::Host;
use mcp_proto::SamplingHandler;
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use opentelemetry::trace::{SpanId, SpanKind, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde_json::json;
use std::sync::{Arc, Mutex};
use tracing_subscriber::layer::SubscriberExt;

/// Every span that ends, as the SDK hands it over.
#[derive(Debug, Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Spans {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0.lock().unwrap().extend(batch);
        std::future::ready(Ok(()))
    }
}

impl Spans {
    fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Records the spans of this thread (the tests run on a current-thread runtime).
fn record() -> (Spans, tracing::subscriber::DefaultGuard) {
    let spans = Spans::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    (spans, guard)
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Q {
    q: String,
}

async fn ask(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    Ok(ctx.sample(Sampling::user(a.q).max_tokens(5)).await?.text())
}

fn host() -> Arc<dyn SamplingHandler> {
    Arc::new(
        Host::builder()
            .approval(Approval::new(Mode::Auto, vec![], None))
            .provider(Arc::new(Fixed("ok".into())), vec![Fixed::model()])
            .build()
            .expect("the host builds"),
    )
}

async fn connect(server: Server, era: EraChoice) -> Client {
    let (a, b) = mcp_rpc::memory();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let opts = ClientOptions {
        era,
        ..Default::default()
    };
    Client::connect(b, host(), opts).await.expect("connect")
}

fn one<'a>(spans: &'a [SpanData], what: &str, f: impl Fn(&SpanData) -> bool) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| f(s)).collect();
    assert_eq!(found.len(), 1, "one {what}: {spans:#?}");
    found[0]
}

fn named(s: &SpanData, name: &str, kind: SpanKind) -> bool {
    s.name == name && s.span_kind == kind
}

#[tokio::test]
async fn one_trace_from_the_client_through_the_server_to_the_host_on_both_eras() {
    let (spans, _guard) = record();
    for (era, rounds) in [(EraChoice::Legacy, 1), (EraChoice::Modern, 2)] {
        let server = Server::builder("mem").tool("ask", "asks", ask).build();
        let client = connect(server, era).await;
        spans.take();
        let r = client
            .call_tool("ask", json!({"q": "hi"}).as_object().unwrap().clone())
            .await
            .unwrap();
        assert_eq!(r.content[0].as_text(), Some("ok"));
        let got = spans.take();
        let call = one(&got, "client call", |s| {
            named(s, "tools/call ask", SpanKind::Client)
        });
        assert_eq!(call.parent_span_id, SpanId::INVALID, "{era:?}: a root");
        let trace = call.span_context.trace_id();
        assert!(
            got.iter().all(|s| s.span_context.trace_id() == trace),
            "{era:?}: {got:#?}"
        );
        let served: Vec<&SpanData> = got
            .iter()
            .filter(|s| named(s, "tools/call ask", SpanKind::Server))
            .collect();
        assert_eq!(served.len(), rounds, "{era:?}: {got:#?}");
        for s in &served {
            assert_eq!(s.parent_span_id, call.span_context.span_id(), "{era:?}");
            assert!(s.parent_span_is_remote, "{era:?}: through _meta");
        }
        let sampling = one(&got, "sampling request", |s| {
            named(s, "sampling/createMessage", SpanKind::Client)
        });
        assert!(served
            .iter()
            .any(|s| s.span_context.span_id() == sampling.parent_span_id));
        let host = one(&got, "host span", |s| {
            named(s, "sampling/createMessage", SpanKind::Server)
        });
        assert_eq!(
            host.parent_span_id,
            sampling.span_context.span_id(),
            "{era:?}"
        );
        assert!(host.parent_span_is_remote, "{era:?}: through _meta");
    }
}

#[tokio::test]
async fn a_servers_own_model_answers_under_the_sampling_span() {
    let (spans, _guard) = record();
    for era in [EraChoice::Legacy, EraChoice::Modern] {
        let server = Server::builder("mem")
            .tool("ask", "asks", ask)
            .direct_sampler(host())
            .build();
        // A client that cannot sample: the server's own pipeline answers.
        let (a, b) = mcp_rpc::memory();
        tokio::spawn(async move { server.serve(a, std::future::pending()).await });
        let opts = ClientOptions {
            era,
            capabilities: mcp_proto::ClientCapabilities::default(),
            ..Default::default()
        };
        let client = Client::connect(b, host(), opts).await.expect("connect");
        spans.take();
        let r = client
            .call_tool("ask", json!({"q": "hi"}).as_object().unwrap().clone())
            .await
            .unwrap();
        assert_eq!(r.content[0].as_text(), Some("ok"), "{era:?}");
        let got = spans.take();
        let served = one(&got, "server call", |s| {
            named(s, "tools/call ask", SpanKind::Server)
        });
        let sampling = one(&got, "sampling request", |s| {
            named(s, "sampling/createMessage", SpanKind::Client)
        });
        assert_eq!(sampling.parent_span_id, served.span_context.span_id());
        let host = one(&got, "host span", |s| {
            named(s, "sampling/createMessage", SpanKind::Server)
        });
        assert_eq!(
            host.parent_span_id,
            sampling.span_context.span_id(),
            "{era:?}"
        );
        assert!(!host.parent_span_is_remote, "{era:?}: in process");
    }
}
