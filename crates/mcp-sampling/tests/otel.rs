//! OpenTelemetry across processes: `serve summarize` and `call` export their spans over
//! OTLP/HTTP to a receiver in this test (protobuf `ExportTraceServiceRequest`, decoded with
//! opentelemetry-proto), and the spans make one trace: the client's tool call, the server's
//! tool call (modern: one per round) under it, the server's sampling request under that,
//! and the host pipeline's answer under the sampling request.

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const SPAN_KIND_SERVER: i32 = 2;
const SPAN_KIND_CLIENT: i32 = 3;

/// One span as received, with the service that sent it.
#[derive(Debug, Clone)]
struct Got {
    service: String,
    name: String,
    kind: i32,
    trace: Vec<u8>,
    id: Vec<u8>,
    parent: Vec<u8>,
    /// The status code (0 unset, 1 ok, 2 error).
    status: i32,
    attrs: Vec<(String, String)>,
}

impl Got {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn text(kv: &[KeyValue], key: &str) -> Option<String> {
    kv.iter().find(|a| a.key == key).and_then(|a| {
        a.value.as_ref()?.value.as_ref().map(|v| match v {
            Any::StringValue(s) => s.clone(),
            Any::IntValue(i) => i.to_string(),
            Any::BoolValue(b) => b.to_string(),
            Any::DoubleValue(d) => d.to_string(),
            other => format!("{other:?}"),
        })
    })
}

/// The OTLP/HTTP receiver: every span posted to `/v1/traces`, and a condition to wait on.
#[derive(Default)]
struct Received {
    spans: Mutex<Vec<Got>>,
    more: Condvar,
}

impl Received {
    /// Waits (30 s at most) until `ready` holds for the spans received so far.
    fn wait_for<T>(&self, what: &str, mut ready: impl FnMut(&[Got]) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut spans = self.spans.lock().unwrap();
        loop {
            if let Some(t) = ready(&spans) {
                return t;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {what} within 30 s; received:\n{:#?}",
                *spans
            );
            spans = self.more.wait_timeout(spans, left).unwrap().0;
        }
    }
}

struct Collector {
    endpoint: String,
    received: Arc<Received>,
    _rt: tokio::runtime::Runtime,
}

fn collector() -> Collector {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let received = Arc::new(Received::default());
    let r = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let r = r.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                let mut got = Vec::new();
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .as_ref()
                        .and_then(|res| text(&res.attributes, "service.name"))
                        .unwrap_or_default();
                    for ss in rs.scope_spans {
                        for s in ss.spans {
                            got.push(Got {
                                service: service.clone(),
                                name: s.name.clone(),
                                kind: s.kind,
                                trace: s.trace_id.clone(),
                                id: s.span_id.clone(),
                                parent: s.parent_span_id.clone(),
                                status: s.status.as_ref().map_or(0, |st| st.code),
                                attrs: s
                                    .attributes
                                    .iter()
                                    .filter_map(|a| {
                                        Some((a.key.clone(), text(&s.attributes, &a.key)?))
                                    })
                                    .collect(),
                            });
                        }
                    }
                }
                r.spans.lock().unwrap().extend(got);
                r.more.notify_all();
                (
                    [("content-type", "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });
    Collector {
        endpoint,
        received,
        _rt: rt,
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

/// The binary, exporting to `c`, sending its spans in batches every `delay_ms` (and the
/// rest at exit), its audit log kept out of the user's data directory.
fn command(c: &Collector, delay_ms: u32) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("OTEL_EXPORTER_OTLP_ENDPOINT", &c.endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", delay_ms.to_string())
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join(format!("mcp-sampling-otel-{}", std::process::id())),
        );
    cmd
}

/// `serve summarize --http` exporting to `c`: the child (killed when dropped) and its URL.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_server(c: &Collector) -> (Server, String) {
    // A server that keeps running sends its spans 50 ms after they end.
    let mut child = command(c, 50)
        .args(["serve", "summarize", "--http", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server exited before listening")
            .unwrap();
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            break url.to_owned();
        }
    };
    std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .for_each(|l| eprintln!("[serve] {l}"))
    });
    (server, url)
}

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length. \
And an eighth, for good measure, ends it.";

/// `call summarize` (a fixed reply, approved) at `server` (`--url URL`, or a command, which
/// inherits the variables). Batches every minute: what arrives is what it sends at exit.
fn call(c: &Collector, era: &str, server: &[&str]) {
    let o = call_with(c, era, "auto", server);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "call failed: {stderr}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("TRACED"),
        "{stderr}"
    );
}

fn call_with(c: &Collector, era: &str, approve: &str, server: &[&str]) -> std::process::Output {
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    command(c, 60_000)
        .args(["call", "--tool", "summarize", "--args", &args])
        .args([
            "--era",
            era,
            "--approve",
            approve,
            "--provider",
            "fixed:TRACED",
        ])
        .args(server)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The spans of one call, checked to form one trace: client call -> server tool call(s)
/// -> sampling request -> host. Returns the server's tool call spans.
fn one_trace(r: &Received, era: &str, rounds: usize) -> Vec<Got> {
    let (client, calls, sampling, host) = r.wait_for("complete trace", |spans| {
        let client = spans
            .iter()
            .find(|s| s.service == "mcp-sampling-call" && s.kind == SPAN_KIND_CLIENT)?
            .clone();
        let ours: Vec<&Got> = spans.iter().filter(|s| s.trace == client.trace).collect();
        let calls: Vec<Got> = ours
            .iter()
            .filter(|s| s.service == "mcp-sampling-serve" && s.kind == SPAN_KIND_SERVER)
            .map(|s| (*s).clone())
            .collect();
        let sampling = ours
            .iter()
            .find(|s| s.service == "mcp-sampling-serve" && s.kind == SPAN_KIND_CLIENT)?;
        let host = ours
            .iter()
            .find(|s| s.service == "mcp-sampling-call" && s.kind == SPAN_KIND_SERVER)?;
        (calls.len() >= rounds)
            .then(|| (client.clone(), calls, (*sampling).clone(), (*host).clone()))
    });
    assert_eq!(client.name, "tools/call summarize");
    assert_eq!(client.attr("mcp.era"), Some(era));
    assert_eq!(client.status, 0, "{client:#?}");
    assert!(client.parent.is_empty(), "the client's call is the root");
    assert_eq!(calls.len(), rounds, "{calls:#?}");
    for c in &calls {
        assert_eq!(c.name, "tools/call summarize");
        assert_eq!(c.attr("mcp.era"), Some(era));
        assert_eq!(c.attr("gen_ai.tool.name"), Some("summarize"));
        assert_eq!(
            c.parent, client.id,
            "the server's call is a child of the client's"
        );
        assert_eq!(c.status, 0, "{c:#?}");
    }
    assert_eq!(sampling.name, "sampling/createMessage");
    assert_eq!(sampling.attr("mcp.era"), Some(era));
    assert!(
        calls.iter().any(|c| c.id == sampling.parent),
        "the sampling request is a child of a server tool call: {sampling:#?}"
    );
    assert_eq!(host.name, "sampling/createMessage");
    assert_eq!(
        host.parent, sampling.id,
        "the host's span is a child of the request's"
    );
    assert_eq!(host.attr("gen_ai.request.model"), Some("fixed:fixed"));
    assert_eq!(host.attr("mcp.host.outcome"), Some("ok"));
    assert_eq!(host.status, 0, "{host:#?}");
    assert_eq!(host.attr("mcp.host.decision"), Some("approved"));
    assert!(
        host.attr("gen_ai.usage.output_tokens").is_some(),
        "{host:#?}"
    );
    calls
}

#[test]
fn legacy_http_call_server_and_host_share_one_trace() {
    let c = collector();
    let (_server, url) = http_server(&c);
    call(&c, "legacy", &["--url", &url]);
    one_trace(&c.received, "legacy", 1);
}

#[test]
fn modern_http_rounds_are_children_of_the_client_call() {
    let c = collector();
    let (_server, url) = http_server(&c);
    call(&c, "modern", &["--url", &url]);
    // Round 1 asks (input_required), round 2 completes: two server spans, one request.
    let calls = one_trace(&c.received, "modern", 2);
    let ids: Vec<_> = calls.iter().map(|s| s.attr("jsonrpc.request.id")).collect();
    assert_ne!(ids[0], ids[1], "one span per round: {calls:#?}");
}

/// The child server inherits a batch delay of a minute: its spans arrive only because it
/// sends the rest when its stdin closes and it exits.
#[test]
fn legacy_stdio_child_server_exports_on_exit() {
    let c = collector();
    call(&c, "legacy", &["--", bin(), "serve", "summarize"]);
    one_trace(&c.received, "legacy", 1);
}

/// The host rejects (mode deny): its span, the server's call (a tool error result) and the
/// client's call are errors, still in one trace.
#[test]
fn a_rejection_marks_the_spans_as_errors() {
    const ERROR: i32 = 2;
    let c = collector();
    let (_server, url) = http_server(&c);
    let o = call_with(&c, "legacy", "deny", &["--url", &url]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let spans = c.received.wait_for("the rejected call's spans", |spans| {
        let client = spans
            .iter()
            .find(|s| s.service == "mcp-sampling-call" && s.kind == SPAN_KIND_CLIENT)?;
        let ours: Vec<Got> = spans
            .iter()
            .filter(|s| s.trace == client.trace)
            .cloned()
            .collect();
        (ours.len() >= 4).then_some(ours)
    });
    let find = |service: &str, kind: i32| {
        spans
            .iter()
            .find(|s| s.service == service && s.kind == kind)
            .unwrap_or_else(|| panic!("no {service} span of kind {kind}: {spans:#?}"))
    };
    let host = find("mcp-sampling-call", SPAN_KIND_SERVER);
    assert_eq!(
        host.attr("mcp.host.decision"),
        Some("rejected"),
        "{host:#?}"
    );
    assert_eq!(host.attr("error.type"), Some("rejected"));
    assert_eq!(host.status, ERROR);
    let server = find("mcp-sampling-serve", SPAN_KIND_SERVER);
    assert_eq!(server.attr("error.type"), Some("tool_error"), "{server:#?}");
    assert_eq!(server.status, ERROR);
    let client = find("mcp-sampling-call", SPAN_KIND_CLIENT);
    assert_eq!(client.attr("error.type"), Some("tool_error"), "{client:#?}");
    assert_eq!(client.status, ERROR);
}
