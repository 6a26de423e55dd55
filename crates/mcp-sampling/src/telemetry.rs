//! OpenTelemetry traces over OTLP/HTTP (protobuf), on only when the standard variables say
//! where to send them: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is) or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended). `OTEL_SERVICE_NAME` names the
//! process (default `mcp-sampling-COMMAND`); the exporter's other standard variables
//! (`OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`, `OTEL_BSP_*`) apply as the SDK reads them.
//!
//! The spans are the libraries' (`mcp_server`, `mcp_client`, `mcp_host`, at INFO): a tool
//! call, its sampling requests, the pipeline's answer; warnings and errors inside them
//! become span events. Their trace context crosses the wire in `_meta`
//! (`mcp_proto::trace`), so one trace covers the client, the server and the host. Without
//! an endpoint the subscriber is the plain stderr one, exactly as before.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The exporter while it runs; [`Telemetry::shutdown`] sends what is left.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Exports the spans still queued and stops the exporter (blocking: call it outside the
    /// async runtime, after it has stopped).
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("warning: OpenTelemetry: could not send the last spans: {e}");
        }
    }
}

/// Whether the environment names an OTLP endpoint for traces.
pub fn configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Installs the global subscriber: stderr logs filtered by `filter` and, when an endpoint
/// is configured, the OpenTelemetry layer. `command` names the service by default. An
/// exporter that cannot be built is reported on stderr and left out.
pub fn init(filter: &str, command: &str) -> Option<Telemetry> {
    let env_filter =
        || tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "warn".into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if !configured() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(env_filter())
            .with_target(false)
            .with_ansi(ansi)
            .init();
        return None;
    }
    let provider = match provider(command) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("warning: OpenTelemetry: no exporter: {e}");
            None
        }
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .with_filter(env_filter());
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("mcp-sampling"))
            .with_filter(tracing_subscriber::filter::filter_fn(exported))
    });
    tracing_subscriber::registry().with(fmt).with(otel).init();
    provider.map(|provider| Telemetry { provider })
}

/// What goes to the collector: the libraries' spans at INFO and above, and warnings and
/// errors (as events of the span they happen in).
fn exported(meta: &tracing::Metadata<'_>) -> bool {
    if meta.is_span() {
        *meta.level() <= Level::INFO
            && ["mcp_server", "mcp_client", "mcp_host"]
                .iter()
                .any(|t| meta.target().starts_with(t))
    } else {
        *meta.level() <= Level::WARN
    }
}

fn provider(command: &str) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build()?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none_or(|s| s.is_empty()) {
        resource = resource.with_service_name(format!("mcp-sampling-{command}"));
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}
