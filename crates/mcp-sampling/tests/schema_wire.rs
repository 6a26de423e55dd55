//! Every frame that crosses the wire, validated against the schema of the revision spoken.
//!
//! Real conversations run in memory (our `mcp_host::Client` against a test server built with
//! `mcp_server`) and against the built-in servers of the `mcp-sampling` binary. A tee on
//! the transport records every newline-delimited frame in each direction; each frame is
//! then validated against:
//!
//! - the generic `JSONRPCMessage` definition;
//! - requests: the `*Request` definition of their method, and `ClientRequest` or
//!   `ServerRequest` for their direction;
//! - notifications: their `*Notification` definition, and `ClientNotification` or
//!   `ServerNotification`;
//! - results: `JSONRPCResultResponse`, the result definition of the request they answer
//!   (tracked by id), its `*ResultResponse` envelope when the revision has one, and
//!   `ClientResult` or `ServerResult`;
//! - errors: `JSONRPCErrorResponse`, and on `2026-07-28` the definition of their code
//!   (`InvalidParamsError`, `MissingRequiredClientCapabilityError`, ...);
//! - modern extras: each `inputRequests` entry against `InputRequest` and the definition of
//!   its method (`CreateMessageRequest`), each `inputResponses` entry against `InputResponse`
//!   and `CreateMessageResult`; every echoed `requestState` was issued by the server; every
//!   request's `_meta` names `2026-07-28`.
//!
//! A failure prints the frame, the definition and the validation errors.

use futures_util::future::join;
use jsonschema::Validator;
use mcp_host::providers::{Approval, Approved, Fixed};
use mcp_host::{
    Client, ClientError, ClientOptions, EraChoice, SamplingError, SamplingHandler, SamplingRequest,
};
use mcp_proto::content::OneOrMany;
use mcp_proto::sampling::{
    CreateMessageResult, Role, SamplingMessage, SamplingTool, StopReason, ToolChoiceMode,
};
use mcp_proto::{ClientCapabilities, Content, Era};
use mcp_rpc::{BoxFuture, ChildProcess, RpcError, Transport};
use mcp_server::{Args, Ctx, Json, Sampling, Server, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const LEGACY: &str = "2025-11-25";
const MODERN: &str = "2026-07-28";
const FIXED_REPLY: &str = "Paris is the capital of France.";
/// The test model takes 5 s to answer this prompt.
const SLOW_PROMPT: &str = "Take your time.";

// =======================================================================================
// Schemas
// =======================================================================================

/// One revision's schema, with a validator per definition (built on first use).
struct Schema {
    revision: &'static str,
    doc: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

fn spec_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec");
    assert!(
        dir.join(LEGACY).join("schema.json").is_file() && dir.join(MODERN).join("schema.json").is_file(),
        "the MCP schemas are missing: expected {0}/{LEGACY}/schema.json and {0}/{MODERN}/schema.json \
         (crates/mcp-sampling/../../../shared/spec). These tests cannot run without them.",
        dir.display()
    );
    dir
}

impl Schema {
    fn load(revision: &'static str) -> Schema {
        let path = spec_dir().join(revision).join("schema.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        assert!(doc["$defs"].is_object(), "{} has no $defs", path.display());
        Schema {
            revision,
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    }

    fn has(&self, def: &str) -> bool {
        self.doc["$defs"].get(def).is_some()
    }

    /// The validator of `#/$defs/{def}`: the whole document as root, with a `$ref` to it.
    fn validator(&self, def: &str) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(def) {
            return v.clone();
        }
        assert!(
            self.has(def),
            "the {} schema has no definition {def:?}",
            self.revision
        );
        let mut root = self.doc.clone();
        root.as_object_mut()
            .unwrap()
            .insert("$ref".into(), Value::from(format!("#/$defs/{def}")));
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| {
                panic!("cannot build a validator for {} {def}: {e}", self.revision)
            });
        let v = Arc::new(v);
        cache.insert(def.to_owned(), v.clone());
        v
    }

    fn errors(&self, def: &str, instance: &Value) -> Vec<String> {
        let v = self.validator(def);
        let errs: Vec<String> = v
            .iter_errors(instance)
            .map(|e| format!("at {:?}: {e}", e.instance_path.as_str()))
            .collect();
        errs
    }
}

fn schema(revision: &str) -> &'static Schema {
    static LEGACY_SCHEMA: OnceLock<Schema> = OnceLock::new();
    static MODERN_SCHEMA: OnceLock<Schema> = OnceLock::new();
    match revision {
        LEGACY => LEGACY_SCHEMA.get_or_init(|| Schema::load(LEGACY)),
        MODERN => MODERN_SCHEMA.get_or_init(|| Schema::load(MODERN)),
        other => panic!("no schema for revision {other}"),
    }
}

// =======================================================================================
// The tee: records every byte that crosses the wire, per direction
// =======================================================================================

type Log = Arc<Mutex<Vec<u8>>>;

/// Copies what is written through it into a log.
struct TeeWrite<W> {
    inner: W,
    log: Log,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for TeeWrite<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // The log stays locked while the bytes become visible to the peer, so whoever reads
        // the log after reacting to them sees them recorded.
        let mut log = this.log.lock().unwrap_or_else(|p| p.into_inner());
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            log.extend_from_slice(&buf[..*n]);
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Copies what is read through it into a log.
struct TeeRead<R> {
    inner: R,
    log: Log,
}

impl<R: AsyncRead + Unpin> AsyncRead for TeeRead<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut log = this.log.lock().unwrap_or_else(|p| p.into_inner());
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            log.extend_from_slice(&buf.filled()[before..]);
        }
        r
    }
}

/// What crossed the wire, in each direction.
#[derive(Default, Clone)]
struct Recording {
    c2s: Log,
    s2c: Log,
}

/// An in-memory pair whose two write halves are recorded: (client end, server end, log).
fn tee_memory() -> (Transport, Transport, Recording) {
    let (client, server) = mcp_rpc::memory();
    let rec = Recording::default();
    let client = Transport {
        read: client.read,
        write: Box::new(TeeWrite {
            inner: client.write,
            log: rec.c2s.clone(),
        }),
    };
    let server = Transport {
        read: server.read,
        write: Box::new(TeeWrite {
            inner: server.write,
            log: rec.s2c.clone(),
        }),
    };
    (client, server, rec)
}

/// The client end of any transport, recorded in both directions.
fn tee_client(t: Transport) -> (Transport, Recording) {
    let rec = Recording::default();
    let t = Transport {
        read: Box::new(TeeRead {
            inner: t.read,
            log: rec.s2c.clone(),
        }),
        write: Box::new(TeeWrite {
            inner: t.write,
            log: rec.c2s.clone(),
        }),
    };
    (t, rec)
}

// =======================================================================================
// Frame validation
// =======================================================================================

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dir {
    ClientToServer,
    ServerToClient,
}

impl Dir {
    fn other(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }
    fn arrow(self) -> &'static str {
        match self {
            Dir::ClientToServer => "client -> server",
            Dir::ServerToClient => "server -> client",
        }
    }
}

struct Frame {
    dir: Dir,
    /// Position within its direction.
    seq: usize,
    raw: String,
    json: Value,
}

/// What was validated in one conversation.
#[derive(Debug, Default)]
struct Summary {
    frames: usize,
    c2s: usize,
    s2c: usize,
    /// Definition name -> number of instances validated against it.
    defs: BTreeMap<String, usize>,
}

impl Summary {
    fn used(&self, def: &str) -> bool {
        self.defs.contains_key(def)
    }
}

fn split(dir: Dir, bytes: &[u8], failures: &mut Vec<String>) -> Vec<Frame> {
    let mut out = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    if !text.is_empty() && !text.ends_with('\n') {
        failures.push(format!(
            "{}: the stream does not end with a newline: {text:?}",
            dir.arrow()
        ));
    }
    for (seq, line) in text.split('\n').filter(|l| !l.is_empty()).enumerate() {
        match serde_json::from_str(line) {
            Ok(json) => out.push(Frame {
                dir,
                seq,
                raw: line.to_owned(),
                json,
            }),
            Err(e) => failures.push(format!(
                "{} frame #{seq} is not JSON ({e}): {line}",
                dir.arrow()
            )),
        }
    }
    out
}

fn request_def(method: &str, modern: bool) -> Option<&'static str> {
    Some(match method {
        "initialize" if !modern => "InitializeRequest",
        "ping" if !modern => "PingRequest",
        "logging/setLevel" if !modern => "SetLevelRequest",
        "server/discover" if modern => "DiscoverRequest",
        "tools/list" => "ListToolsRequest",
        "tools/call" => "CallToolRequest",
        "resources/list" => "ListResourcesRequest",
        "resources/templates/list" => "ListResourceTemplatesRequest",
        "resources/read" => "ReadResourceRequest",
        "prompts/list" => "ListPromptsRequest",
        "prompts/get" => "GetPromptRequest",
        "completion/complete" => "CompleteRequest",
        // Modern servers send no requests: sampling travels in `input_required` results.
        "sampling/createMessage" if !modern => "CreateMessageRequest",
        _ => return None,
    })
}

/// The result definition of a method, and the `*Response` definition to check the whole
/// frame against when the revision has one.
fn result_def(method: &str, modern: bool, result: &Value) -> Option<&'static str> {
    Some(match method {
        "initialize" if !modern => "InitializeResult",
        "ping" | "logging/setLevel" if !modern => "EmptyResult",
        "server/discover" if modern => "DiscoverResult",
        "tools/list" => "ListToolsResult",
        "tools/call" if modern && result["resultType"] == "input_required" => "InputRequiredResult",
        "tools/call" => "CallToolResult",
        "resources/list" => "ListResourcesResult",
        "resources/templates/list" => "ListResourceTemplatesResult",
        "resources/read" => "ReadResourceResult",
        "prompts/list" => "ListPromptsResult",
        "prompts/get" => "GetPromptResult",
        "completion/complete" => "CompleteResult",
        "sampling/createMessage" if !modern => "CreateMessageResult",
        _ => return None,
    })
}

fn response_envelope_def(method: &str) -> Option<&'static str> {
    Some(match method {
        "server/discover" => "DiscoverResultResponse",
        "tools/list" => "ListToolsResultResponse",
        "tools/call" => "CallToolResultResponse",
        "resources/list" => "ListResourcesResultResponse",
        "resources/templates/list" => "ListResourceTemplatesResultResponse",
        "resources/read" => "ReadResourceResultResponse",
        "prompts/list" => "ListPromptsResultResponse",
        "prompts/get" => "GetPromptResultResponse",
        "completion/complete" => "CompleteResultResponse",
        _ => return None,
    })
}

fn notification_def(method: &str, modern: bool) -> Option<&'static str> {
    Some(match method {
        "notifications/initialized" if !modern => "InitializedNotification",
        "notifications/cancelled" => "CancelledNotification",
        "notifications/progress" => "ProgressNotification",
        "notifications/message" => "LoggingMessageNotification",
        _ => return None,
    })
}

/// Methods no revision defines, called on purpose to get `-32601`.
const DELIBERATELY_UNKNOWN: &[&str] = &["no/such/method", "nope"];

/// Error codes with a definition of their own on `2026-07-28`: (code, def, applies to the
/// whole frame rather than the error object).
const MODERN_ERROR_DEFS: &[(i64, &str, bool)] = &[
    (-32700, "ParseError", false),
    (-32600, "InvalidRequestError", false),
    (-32601, "MethodNotFoundError", false),
    (-32602, "InvalidParamsError", false),
    (-32603, "InternalError", false),
    (-32020, "HeaderMismatchError", true),
    (-32021, "MissingRequiredClientCapabilityError", true),
    (-32022, "UnsupportedProtocolVersionError", true),
];

struct Checker<'a> {
    name: &'a str,
    schema: &'static Schema,
    modern: bool,
    /// Check client-to-server frames too (off for hand-written, deliberately bad input).
    check_client: bool,
    summary: Summary,
    failures: Vec<String>,
}

impl Checker<'_> {
    fn validate(&mut self, f: &Frame, def: &str, what: &str, instance: &Value) {
        *self.summary.defs.entry(def.to_owned()).or_default() += 1;
        let errs = self.schema.errors(def, instance);
        if !errs.is_empty() {
            self.failures.push(format!(
                "[{}] {} frame #{}: {what} does not validate against {} {def}:\n      {}\n    frame: {}",
                self.name,
                f.dir.arrow(),
                f.seq,
                self.schema.revision,
                errs.join("\n      "),
                f.raw
            ));
        }
    }

    fn fail(&mut self, f: &Frame, msg: impl std::fmt::Display) {
        self.failures.push(format!(
            "[{}] {} frame #{}: {msg}\n    frame: {}",
            self.name,
            f.dir.arrow(),
            f.seq,
            f.raw
        ));
    }

    fn run(&mut self, rec: &Recording) {
        let c2s = rec.c2s.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let s2c = rec.s2c.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if std::env::var_os("SCHEMA_WIRE_DUMP").is_some() {
            println!(
                "[{}] c2s:\n{}\n[{}] s2c:\n{}",
                self.name,
                String::from_utf8_lossy(&c2s),
                self.name,
                String::from_utf8_lossy(&s2c)
            );
        }
        let mut ignored = Vec::new();
        let client_failures = if self.check_client {
            &mut self.failures
        } else {
            &mut ignored
        };
        let mut frames = split(Dir::ClientToServer, &c2s, client_failures);
        frames.extend(split(Dir::ServerToClient, &s2c, &mut self.failures));
        // Pass 1: the method of every request, by direction and id; the method of every
        // input request the server made, by key.
        let mut methods: HashMap<(Dir, String), String> = HashMap::new();
        let mut input_methods: HashMap<String, BTreeSet<String>> = HashMap::new();
        for f in &frames {
            let requests = f.json["result"]["inputRequests"].as_object();
            for (key, r) in requests.into_iter().flatten() {
                let m = r["method"].as_str().unwrap_or("").to_owned();
                input_methods.entry(key.clone()).or_default().insert(m);
            }
            if let (Some(id), Some(m)) = (
                f.json.get("id"),
                f.json.get("method").and_then(Value::as_str),
            ) {
                if methods
                    .insert((f.dir, id.to_string()), m.to_owned())
                    .is_some()
                {
                    let msg = format!("request id {id} is used twice in this direction");
                    self.fail(f, msg);
                }
            }
        }
        // Pass 2: every frame.
        let mut states_issued = BTreeSet::new();
        let mut states_echoed = Vec::new();
        for f in &frames {
            if f.dir == Dir::ClientToServer && !self.check_client {
                continue;
            }
            match f.dir {
                Dir::ClientToServer => self.summary.c2s += 1,
                Dir::ServerToClient => self.summary.s2c += 1,
            }
            self.summary.frames += 1;
            self.validate(f, "JSONRPCMessage", "the frame", &f.json);
            let v = &f.json;
            let method = v.get("method").and_then(Value::as_str);
            let id = v.get("id");
            match (method, id) {
                (Some(m), Some(_)) => self.request(f, m),
                (Some(m), None) => self.notification(f, m),
                (None, _) if v.get("result").is_some() => {
                    let asked = id.and_then(|id| methods.get(&(f.dir.other(), id.to_string())));
                    match asked.cloned() {
                        Some(m) => self.result(f, &m, &mut states_issued),
                        None => self.fail(f, "a result for no request of the peer"),
                    }
                }
                (None, _) if v.get("error").is_some() => {
                    self.validate(f, "JSONRPCErrorResponse", "the error response", v);
                    match id {
                        // A null id is the schema's to judge (done above).
                        Some(id)
                            if !id.is_null()
                                && !methods.contains_key(&(f.dir.other(), id.to_string())) =>
                        {
                            self.fail(f, "an error for no request of the peer")
                        }
                        _ => {}
                    }
                    if self.modern {
                        let code = v["error"]["code"].as_i64();
                        if let Some((_, def, whole)) =
                            MODERN_ERROR_DEFS.iter().find(|(c, _, _)| Some(*c) == code)
                        {
                            if *whole {
                                self.validate(f, def, "the error response", v);
                            } else {
                                self.validate(f, def, "the error object", &v["error"]);
                            }
                        }
                    }
                }
                _ => self.fail(f, "neither request, notification, result nor error"),
            }
            // Modern retries: the replies to the input requests, and the state echoed.
            if self.modern && f.dir == Dir::ClientToServer && method == Some("tools/call") {
                let p = &v["params"];
                if let Some(state) = p.get("requestState") {
                    states_echoed.push((f.seq, state.to_string()));
                }
                if let Some(responses) = p.get("inputResponses").and_then(Value::as_object) {
                    for (key, r) in responses {
                        self.validate(f, "InputResponse", &format!("inputResponses[{key:?}]"), r);
                        let asked = input_methods.get(key).cloned().unwrap_or_default();
                        if asked.len() == 1 && asked.contains("sampling/createMessage") {
                            self.validate(
                                f,
                                "CreateMessageResult",
                                &format!("inputResponses[{key:?}]"),
                                r,
                            );
                        } else {
                            self.fail(f, format!("inputResponses[{key:?}] answers no sampling request the server made (asked: {asked:?})"));
                        }
                    }
                }
            }
        }
        for (seq, s) in states_echoed {
            if !states_issued.contains(&s) {
                self.failures.push(format!(
                    "[{}] client -> server frame #{seq}: requestState {s} was never issued by the server",
                    self.name
                ));
            }
        }
    }

    fn request(&mut self, f: &Frame, method: &str) {
        let modern = self.modern;
        match (f.dir, request_def(method, modern)) {
            (Dir::ServerToClient, _) if modern => self.fail(
                f,
                "a modern server sent a request (it must use input_required results)",
            ),
            // Methods the tests call on purpose to get -32601: only the generic shape applies.
            (Dir::ClientToServer, None) if DELIBERATELY_UNKNOWN.contains(&method) => {
                self.validate(f, "JSONRPCRequest", "the request", &f.json)
            }
            (_, None) => self.fail(
                f,
                format!(
                    "no {} request definition for method {method:?}",
                    self.schema.revision
                ),
            ),
            (Dir::ClientToServer, Some("CreateMessageRequest")) => {
                self.fail(f, "the client sent a server request")
            }
            (Dir::ServerToClient, Some(def)) if def != "CreateMessageRequest" => {
                self.fail(f, "the server sent a client request")
            }
            (dir, Some(def)) => {
                self.validate(f, def, "the request", &f.json);
                let side = match dir {
                    Dir::ClientToServer => "ClientRequest",
                    Dir::ServerToClient => "ServerRequest",
                };
                if self.schema.has(side) {
                    self.validate(f, side, "the request", &f.json);
                }
            }
        }
        if modern && f.dir == Dir::ClientToServer {
            let v = f.json["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"].clone();
            if v != MODERN {
                self.fail(
                    f,
                    format!("a modern request whose _meta protocolVersion is {v}"),
                );
            }
        }
        if !modern && method == "initialize" {
            let v = f.json["params"]["protocolVersion"].clone();
            if v != LEGACY {
                self.fail(f, format!("initialize asks for {v}, not {LEGACY}"));
            }
        }
    }

    fn notification(&mut self, f: &Frame, method: &str) {
        match notification_def(method, self.modern) {
            None => self.fail(
                f,
                format!(
                    "no {} notification definition for {method:?}",
                    self.schema.revision
                ),
            ),
            Some(def) => {
                self.validate(f, def, "the notification", &f.json);
                let side = match f.dir {
                    Dir::ClientToServer => "ClientNotification",
                    Dir::ServerToClient => "ServerNotification",
                };
                self.validate(f, side, "the notification", &f.json);
            }
        }
    }

    fn result(&mut self, f: &Frame, method: &str, states: &mut BTreeSet<String>) {
        let v = &f.json;
        let result = &v["result"];
        self.validate(f, "JSONRPCResultResponse", "the result response", v);
        let Some(def) = result_def(method, self.modern, result) else {
            self.fail(
                f,
                format!(
                    "no {} result definition for {method:?}",
                    self.schema.revision
                ),
            );
            return;
        };
        self.validate(f, def, &format!("the result of {method}"), result);
        if let Some(env) = response_envelope_def(method).filter(|d| self.schema.has(d)) {
            self.validate(f, env, "the result response", v);
        }
        let side = match f.dir {
            Dir::ClientToServer => "ClientResult",
            Dir::ServerToClient => "ServerResult",
        };
        self.validate(f, side, "the result", result);
        if !self.modern && method == "initialize" && result["protocolVersion"] != LEGACY {
            let msg = format!(
                "initialize answered {}, not {LEGACY}",
                result["protocolVersion"]
            );
            self.fail(f, msg);
        }
        if self.modern && def == "InputRequiredResult" {
            if let Some(s) = result.get("requestState") {
                states.insert(s.to_string());
            }
            let requests = result.get("inputRequests").and_then(Value::as_object);
            if requests.is_none() && result.get("requestState").is_none() {
                self.fail(
                    f,
                    "input_required with neither inputRequests nor requestState",
                );
            }
            for (key, r) in requests.into_iter().flatten() {
                let what = format!("inputRequests[{key:?}]");
                self.validate(f, "InputRequest", &what, r);
                match r["method"].as_str().unwrap_or("") {
                    "sampling/createMessage" => self.validate(f, "CreateMessageRequest", &what, r),
                    "elicitation/create" => self.validate(f, "ElicitRequest", &what, r),
                    "roots/list" => self.validate(f, "ListRootsRequest", &what, r),
                    other => self.fail(f, format!("{what} has the unknown method {other:?}")),
                }
            }
        }
    }
}

/// Validates every frame of a recording against `revision`; panics with every failure.
fn check(name: &str, revision: &str, rec: &Recording) -> Summary {
    check_with(name, revision, rec, true)
}

fn check_with(name: &str, revision: &str, rec: &Recording, check_client: bool) -> Summary {
    let (s, failures) = collect(name, revision, rec, check_client);
    assert!(
        failures.is_empty(),
        "\n{} frame problem(s) in {name} ({revision}):\n  {}\n",
        failures.len(),
        failures.join("\n  ")
    );
    assert!(s.frames > 0, "[{name}] no frame was recorded");
    s
}

/// Validates every frame; returns what was validated and every problem found.
fn collect(
    name: &str,
    revision: &str,
    rec: &Recording,
    check_client: bool,
) -> (Summary, Vec<String>) {
    let mut c = Checker {
        name,
        schema: schema(revision),
        modern: revision == MODERN,
        check_client,
        summary: Summary::default(),
        failures: Vec::new(),
    };
    c.run(rec);
    let s = c.summary;
    println!(
        "[{name}] {revision}: {} frames validated ({} client -> server, {} server -> client); definitions: {:?}",
        s.frames, s.c2s, s.s2c, s.defs
    );
    (s, c.failures)
}

fn assert_defs(s: &Summary, name: &str, defs: &[&str]) {
    let missing: Vec<_> = defs.iter().filter(|d| !s.used(d)).collect();
    assert!(
        missing.is_empty(),
        "[{name}] the conversation never exercised {missing:?} (used: {:?})",
        s.defs.keys().collect::<Vec<_>>()
    );
}

// =======================================================================================
// The test server
// =======================================================================================

#[derive(Deserialize, JsonSchema)]
struct Ask {
    /// The question.
    question: String,
}

#[derive(Deserialize, JsonSchema)]
struct Echo {
    /// What to echo.
    text: String,
    /// How many times (default 1).
    times: Option<u32>,
    /// Tags, ignored (here for the array in the input schema).
    #[serde(default)]
    #[allow(dead_code)]
    tags: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Serialize)]
struct Weather {
    city: String,
    celsius: f64,
}

fn lookup_tool(name: &str) -> SamplingTool {
    SamplingTool {
        name: name.into(),
        description: Some(format!("{name} a city")),
        input_schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"]
        }),
        extra: Map::new(),
    }
}

async fn ask(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(
            Sampling::user(a.question)
                .system("Answer in one sentence.")
                .max_tokens(10)
                .hint("haiku")
                .priorities(0.1, 0.9, 0.2),
        )
        .await?;
    Ok(reply.text())
}

async fn ask_twice(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let first = Sampling::user(format!("{} (first)", a.question)).max_tokens(10);
    let second = Sampling::user(format!("{} (second)", a.question))
        .max_tokens(20)
        .temperature(0.5)
        .stop("\n\n");
    let (x, y) = join(ctx.sample(first), ctx.sample(second)).await;
    Ok(format!("{} | {}", x?.text(), y?.text()))
}

async fn ask_with_tools(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(
            Sampling::user(a.question)
                .max_tokens(50)
                .tools(vec![lookup_tool("lookup")], Some(ToolChoiceMode::Auto)),
        )
        .await?;
    Ok(reply.text())
}

/// Offers `get_weather`; when the model uses it, sends the result back and asks again.
async fn tool_loop(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let tools = vec![lookup_tool("get_weather")];
    let first = ctx
        .sample(
            Sampling::user(a.question.clone())
                .max_tokens(50)
                .tools(tools.clone(), Some(ToolChoiceMode::Required)),
        )
        .await?;
    let uses: Vec<(String, String)> = first
        .content
        .as_slice()
        .iter()
        .filter_map(|c| match c {
            Content::ToolUse { id, name, .. } => Some((id.clone(), name.clone())),
            _ => None,
        })
        .collect();
    if uses.is_empty() {
        return Ok(first.text());
    }
    let results = uses
        .iter()
        .map(|(id, name)| Content::ToolResult {
            tool_use_id: id.clone(),
            content: vec![Content::text(format!("{name}: 18 degrees, cloudy"))],
            structured_content: Some(json!({"celsius": 18})),
            is_error: None,
            meta: None,
        })
        .collect();
    let second = ctx
        .sample(
            Sampling::user(a.question)
                .message(SamplingMessage {
                    role: Role::Assistant,
                    content: first.content.clone(),
                    meta: None,
                })
                .message(SamplingMessage {
                    role: Role::User,
                    content: OneOrMany::Many(results),
                    meta: None,
                })
                .max_tokens(50)
                .tools(tools, Some(ToolChoiceMode::None)),
        )
        .await?;
    Ok(second.text())
}

async fn echo(Args(a): Args<Echo>, _ctx: Ctx) -> Result<String, ToolError> {
    Ok(a.text.repeat(a.times.unwrap_or(1) as usize))
}

async fn weather(Args(_): Args<NoArgs>, _ctx: Ctx) -> Result<Json<Weather>, ToolError> {
    Ok(Json(Weather {
        city: "Paris".into(),
        celsius: 18.5,
    }))
}

async fn fail(Args(_): Args<NoArgs>, _ctx: Ctx) -> Result<String, ToolError> {
    Err(ToolError::failed("this tool always fails"))
}

/// Reports progress when the client asked for it.
async fn progress(Args(_): Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    ctx.progress(1.0, Some(2.0), Some("half way"));
    ctx.progress(2.0, Some(2.0), None);
    Ok("done".into())
}

/// Takes longer than the client waits.
async fn slow(Args(_): Args<NoArgs>, _ctx: Ctx) -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok("too late".into())
}

/// Samples with a short timeout; the test model is slow for this prompt (legacy: the server
/// gives up and cancels its request).
async fn ask_slow(Args(_): Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(
            Sampling::user(SLOW_PROMPT)
                .max_tokens(5)
                .timeout(Duration::from_millis(200)),
        )
        .await?;
    Ok(reply.text())
}

/// A structured result that is an array (allowed on 2026-07-28; 2025-11-25 wants an object).
async fn users(Args(_): Args<NoArgs>, _ctx: Ctx) -> Result<Json<Vec<Weather>>, ToolError> {
    Ok(Json(vec![Weather {
        city: "Paris".into(),
        celsius: 18.5,
    }]))
}

fn test_server() -> Server {
    Server::builder("t")
        .instructions("A server for schema tests.")
        .tool("ask", "Asks the client's LLM one question", ask)
        .tool("ask_twice", "Asks two questions at once", ask_twice)
        .tool("ask_with_tools", "Asks with a tool offered", ask_with_tools)
        .tool(
            "tool_loop",
            "Asks, runs the tool the model uses, asks again",
            tool_loop,
        )
        .tool("echo", "Echoes its text", echo)
        .tool("weather", "Structured weather", weather)
        .tool("fail", "Always fails", fail)
        .tool("progress", "Reports progress", progress)
        .tool("slow", "Never answers in time", slow)
        .tool("ask_slow", "Samples with a short timeout", ask_slow)
        .tool("users", "An array as structured content", users)
        .resource("mem://notes", "notes", "text/plain", || async {
            Ok("some notes".to_string())
        })
        .prompt(
            "greet",
            "Greets someone",
            &[("name", true), ("tone", false)],
            |args| async move {
                let name = args
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("you")
                    .to_owned();
                Ok(format!("Say hello to {name}."))
            },
        )
        .build()
}

/// A model for the tests: uses `get_weather` when it is offered and not yet answered;
/// otherwise replies like `Fixed`.
fn weather_model() -> Arc<dyn SamplingHandler> {
    let fixed = Fixed(FIXED_REPLY.into());
    Arc::new(
        move |req: SamplingRequest| -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
            let offered = req
                .params
                .tools
                .iter()
                .flatten()
                .any(|t| t.name == "get_weather");
            let answered = req.params.messages.last().is_some_and(|m| {
                m.content
                    .as_slice()
                    .iter()
                    .any(|c| matches!(c, Content::ToolResult { .. }))
            });
            let slow = req.params.messages.first().is_some_and(|m| {
                m.content
                    .as_slice()
                    .iter()
                    .any(|c| c.as_text() == Some(SLOW_PROMPT))
            });
            if slow {
                let fixed = fixed.clone();
                return Box::pin(async move {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    fixed.create_message(req).await
                });
            }
            if offered && !answered {
                let mut input = Map::new();
                input.insert("city".into(), json!("Paris"));
                let reply = CreateMessageResult {
                    role: Role::Assistant,
                    content: OneOrMany::Many(vec![Content::ToolUse {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        input,
                        meta: None,
                    }]),
                    model: "weather-model".into(),
                    stop_reason: Some(StopReason::ToolUse),
                    meta: None,
                };
                Box::pin(std::future::ready(Ok(reply)))
            } else {
                fixed.create_message(req)
            }
        },
    )
}

fn options(era: EraChoice) -> ClientOptions {
    ClientOptions {
        era,
        probe_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

/// Connects a client to the test server in memory, recording the wire.
async fn connect(
    opts: ClientOptions,
    handler: Arc<dyn SamplingHandler>,
) -> (Client, tokio::task::JoinHandle<()>, Recording) {
    let (client_end, server_end, rec) = tee_memory();
    let server = test_server();
    let task = tokio::spawn(async move { server.serve(server_end).await });
    let client = Client::connect(client_end, handler, opts)
        .await
        .expect("the client connects");
    (client, task, rec)
}

/// Closes the client's output and waits for the server to see the end of its input.
async fn finish(client: Client, server: tokio::task::JoinHandle<()>) {
    client.peer().close();
    drop(client);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops when its input ends")
        .expect("the server task did not panic");
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("arguments are an object")
}

fn remote_code(e: &ClientError) -> Option<i64> {
    match e {
        ClientError::Rpc(RpcError::Remote(o)) => Some(o.code),
        _ => None,
    }
}

// =======================================================================================
// Conversations
// =======================================================================================

/// The calls every era makes in the main conversation; checks the answers.
async fn main_calls(client: &Client) {
    let tools = client.list_tools().await.expect("tools/list");
    let names: BTreeSet<_> = tools.tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains("ask") && names.contains("tool_loop"),
        "{names:?}"
    );

    let r = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect("ask");
    assert_eq!(r.text_content(), FIXED_REPLY);
    assert_ne!(r.is_error, Some(true));

    let r = client
        .call_tool("ask_twice", args(json!({"question": "Capital?"})))
        .await
        .expect("ask_twice");
    assert_eq!(r.text_content(), format!("{FIXED_REPLY} | {FIXED_REPLY}"));

    let r = client
        .call_tool("ask_with_tools", args(json!({"question": "Look it up"})))
        .await
        .expect("ask_with_tools");
    assert_eq!(r.text_content(), FIXED_REPLY);

    let r = client
        .call_tool("tool_loop", args(json!({"question": "Weather in Paris?"})))
        .await
        .expect("tool_loop");
    assert_eq!(
        r.text_content(),
        FIXED_REPLY,
        "the loop ends with the model's text"
    );

    let r = client
        .call_tool(
            "echo",
            args(json!({"text": "ab", "times": 2, "tags": ["x"]})),
        )
        .await
        .expect("echo");
    assert_eq!(r.text_content(), "abab");

    let r = client
        .call_tool("weather", Map::new())
        .await
        .expect("weather");
    assert_eq!(
        r.structured_content,
        Some(json!({"city": "Paris", "celsius": 18.5}))
    );

    let r = client.call_tool("fail", Map::new()).await.expect("fail");
    assert_eq!(r.is_error, Some(true));

    // Invalid arguments: a tool error the model can read.
    let r = client
        .call_tool("echo", args(json!({"text": 5})))
        .await
        .expect("echo with bad arguments");
    assert_eq!(r.is_error, Some(true), "{r:?}");

    // Unknown tool: a JSON-RPC error.
    let e = client
        .call_tool("no_such_tool", Map::new())
        .await
        .expect_err("an unknown tool fails");
    assert_eq!(remote_code(&e), Some(-32602), "{e:?}");

    // Resources and prompts.
    let v = client
        .request("resources/list", None, None)
        .await
        .expect("resources/list");
    assert_eq!(v["resources"][0]["uri"], "mem://notes");
    let v = client
        .request("resources/templates/list", None, None)
        .await
        .expect("resources/templates/list");
    assert!(v["resourceTemplates"].is_array());
    let v = client
        .request("resources/read", Some(json!({"uri": "mem://notes"})), None)
        .await
        .expect("resources/read");
    assert_eq!(v["contents"][0]["text"], "some notes");
    let e = client
        .request(
            "resources/read",
            Some(json!({"uri": "mem://nothing"})),
            None,
        )
        .await
        .expect_err("an unknown resource fails");
    assert!(remote_code(&e).is_some(), "{e:?}");
    let v = client
        .request("prompts/list", None, None)
        .await
        .expect("prompts/list");
    assert_eq!(v["prompts"][0]["name"], "greet");
    let v = client
        .request(
            "prompts/get",
            Some(json!({"name": "greet", "arguments": {"name": "Ada"}})),
            None,
        )
        .await
        .expect("prompts/get");
    assert_eq!(v["messages"][0]["content"]["text"], "Say hello to Ada.");
    let e = client
        .request("prompts/get", Some(json!({"name": "greet"})), None)
        .await
        .expect_err("a missing prompt argument fails");
    assert_eq!(remote_code(&e), Some(-32602), "{e:?}");
    let v = client
        .request(
            "completion/complete",
            Some(json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "A"}})),
            None,
        )
        .await
        .expect("completion/complete");
    assert!(v["completion"]["values"].is_array());
    // Progress, when the client asks for it (the notifications are validated).
    let v = client
        .request(
            "tools/call",
            Some(json!({"name": "progress", "arguments": {}, "_meta": {"progressToken": "p-1"}})),
            None,
        )
        .await
        .expect("progress");
    assert_eq!(v["content"][0]["text"], "done");
    // A call the client stops waiting for: notifications/cancelled.
    let e = client
        .request(
            "tools/call",
            Some(json!({"name": "slow", "arguments": {}})),
            Some(Duration::from_millis(200)),
        )
        .await
        .expect_err("the client gives up");
    assert!(matches!(e, ClientError::Rpc(RpcError::Timeout(_))), "{e:?}");
    let e = client
        .request("no/such/method", None, None)
        .await
        .expect_err("an unknown method fails");
    assert_eq!(remote_code(&e), Some(-32601), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_conversation_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Legacy), weather_model()).await;
    assert_eq!(client.era(), Era::Legacy);
    assert_eq!(client.protocol_version(), LEGACY);
    main_calls(&client).await;
    // The server gives up on a sampling request: notifications/cancelled to the client.
    let r = client
        .call_tool("ask_slow", Map::new())
        .await
        .expect("a tool error");
    assert_eq!(r.is_error, Some(true), "{r:?}");
    client.request("ping", None, None).await.expect("ping");
    client
        .request("logging/setLevel", Some(json!({"level": "info"})), None)
        .await
        .expect("logging/setLevel");
    finish(client, server).await;
    let s = check("legacy", LEGACY, &rec);
    assert_defs(
        &s,
        "legacy",
        &[
            "InitializeRequest",
            "InitializeResult",
            "InitializedNotification",
            "ListToolsRequest",
            "ListToolsResult",
            "CallToolRequest",
            "CallToolResult",
            "CreateMessageRequest",
            "CreateMessageResult",
            "ServerRequest",
            "ClientResult",
            "ListResourcesRequest",
            "ListResourcesResult",
            "ReadResourceRequest",
            "ReadResourceResult",
            "ListPromptsRequest",
            "ListPromptsResult",
            "GetPromptRequest",
            "GetPromptResult",
            "CompleteRequest",
            "CompleteResult",
            "PingRequest",
            "SetLevelRequest",
            "EmptyResult",
            "JSONRPCErrorResponse",
            "ProgressNotification",
            "CancelledNotification",
            "ClientNotification",
            "ServerNotification",
        ],
    );
    // ask, ask_twice (2), ask_with_tools, tool_loop (2), ask_slow.
    assert_eq!(s.defs["CreateMessageRequest"], 7);
    // The client's for `slow`, the server's for `ask_slow`.
    assert_eq!(s.defs["CancelledNotification"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_conversation_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Modern), weather_model()).await;
    assert_eq!(client.era(), Era::Modern);
    assert_eq!(client.protocol_version(), MODERN);
    main_calls(&client).await;
    finish(client, server).await;
    let s = check("modern", MODERN, &rec);
    assert_defs(
        &s,
        "modern",
        &[
            "DiscoverRequest",
            "DiscoverResult",
            "DiscoverResultResponse",
            "ListToolsRequest",
            "ListToolsResult",
            "CallToolRequest",
            "CallToolResult",
            "CallToolResultResponse",
            "InputRequiredResult",
            "InputRequest",
            "CreateMessageRequest",
            "InputResponse",
            "CreateMessageResult",
            "ListResourcesResult",
            "ListResourceTemplatesResult",
            "ReadResourceResult",
            "ListPromptsResult",
            "GetPromptResult",
            "CompleteResult",
            "JSONRPCErrorResponse",
            "InvalidParamsError",
            "MethodNotFoundError",
            "ProgressNotification",
            "CancelledNotification",
            "ClientNotification",
            "ServerNotification",
        ],
    );
    // ask, ask_twice (2, one round), ask_with_tools, tool_loop (2, two rounds).
    assert_eq!(s.defs["CreateMessageRequest"], 6);
    assert_eq!(s.defs["InputRequiredResult"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_modern_and_its_frames_validate() {
    let (client, server, rec) = connect(
        options(EraChoice::Auto),
        Arc::new(Fixed(FIXED_REPLY.into())),
    )
    .await;
    assert_eq!(
        client.era(),
        Era::Modern,
        "auto against our server picks the modern era"
    );
    let r = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect("ask");
    assert_eq!(r.text_content(), FIXED_REPLY);
    finish(client, server).await;
    let s = check("auto", MODERN, &rec);
    assert_defs(
        &s,
        "auto",
        &[
            "DiscoverRequest",
            "DiscoverResult",
            "InputRequiredResult",
            "CreateMessageRequest",
            "CallToolResult",
        ],
    );
}

/// A tool returning a non-object value: `structuredContent` is wrapped as `{"result": ..}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_array_structured_content_validates() {
    let (client, server, rec) = connect(options(EraChoice::Modern), weather_model()).await;
    let r = client.call_tool("users", Map::new()).await.expect("users");
    assert!(
        r.structured_content
            .as_ref()
            .is_some_and(|v| v["result"].is_array()),
        "{r:?}"
    );
    finish(client, server).await;
    check("modern users", MODERN, &rec);
}

/// `structuredContent` that is not an object, on a 2025-11-25 connection, whose
/// `CallToolResult.structuredContent` must be an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_array_structured_content_validates() {
    let (client, server, rec) = connect(options(EraChoice::Legacy), weather_model()).await;
    let _ = client.call_tool("users", Map::new()).await.expect("users");
    finish(client, server).await;
    check("legacy users", LEGACY, &rec);
}

fn deny() -> Arc<dyn SamplingHandler> {
    Arc::new(Approved {
        mode: Approval::Deny,
        provider: Fixed(FIXED_REPLY.into()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_deny_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Legacy), deny()).await;
    let r = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect("the call completes with a tool error");
    assert_eq!(r.is_error, Some(true), "{r:?}");
    finish(client, server).await;
    let s = check("legacy deny", LEGACY, &rec);
    assert_defs(
        &s,
        "legacy deny",
        &[
            "CreateMessageRequest",
            "JSONRPCErrorResponse",
            "CallToolResult",
        ],
    );
    // The refusal is the client's error response with code -1.
    let c2s = String::from_utf8(rec.c2s.lock().unwrap().clone()).unwrap();
    assert!(
        c2s.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v["error"]["code"] == -1),
        "no -1 error from the client: {c2s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_deny_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Modern), deny()).await;
    let e = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect_err("a denied sampling request ends the call");
    assert!(
        matches!(e, ClientError::Sampling(SamplingError::Rejected(_))),
        "{e:?}"
    );
    finish(client, server).await;
    let s = check("modern deny", MODERN, &rec);
    assert_defs(
        &s,
        "modern deny",
        &["InputRequiredResult", "CreateMessageRequest"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_sampling_get_valid_answers() {
    let no_sampling = |era| ClientOptions {
        capabilities: ClientCapabilities::default(),
        ..options(era)
    };
    // Legacy: the tool reports the missing capability as a tool error.
    let (client, server, rec) =
        connect(no_sampling(EraChoice::Legacy), Arc::new(Fixed("x".into()))).await;
    let r = client
        .call_tool("ask", args(json!({"question": "?"})))
        .await
        .expect("a tool error");
    assert_eq!(r.is_error, Some(true));
    finish(client, server).await;
    check("legacy without sampling", LEGACY, &rec);
    // Modern: -32021 with the capability required.
    let (client, server, rec) =
        connect(no_sampling(EraChoice::Modern), Arc::new(Fixed("x".into()))).await;
    let e = client
        .call_tool("ask", args(json!({"question": "?"})))
        .await
        .expect_err("-32021");
    assert_eq!(remote_code(&e), Some(-32021), "{e:?}");
    finish(client, server).await;
    let s = check("modern without sampling", MODERN, &rec);
    assert_defs(
        &s,
        "modern without sampling",
        &["MissingRequiredClientCapabilityError"],
    );
}

/// The server's answers to hand-written frames that break the rules. Only the server's
/// frames are validated (ours are wrong on purpose).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answers_to_bad_requests_validate() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let meta = |v: &str| json!({"io.modelcontextprotocol/protocolVersion": v, "io.modelcontextprotocol/clientCapabilities": {}});
    let frames = [
        // A revision the server does not speak: -32022 with the supported list.
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta("1900-01-01")}}),
        // No handshake and no _meta: -32602.
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}),
        // Modern, wrong params.
        json!({"jsonrpc": "2.0", "id": "three", "method": "tools/call", "params": {"_meta": meta(MODERN), "name": 7}}),
        // Modern, a forged requestState.
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"_meta": meta(MODERN), "name": "ask", "arguments": {"question": "?"}, "requestState": "forged", "inputResponses": {}}}),
        // Modern, an unknown method.
        json!({"jsonrpc": "2.0", "id": 5, "method": "nope", "params": {"_meta": meta(MODERN)}}),
        // Not JSON-RPC 2.0: -32600 with the id.
        json!({"jsonrpc": "1.0", "id": 6, "method": "tools/list"}),
    ];
    let (client_end, server_end, rec) = tee_memory();
    let server = test_server();
    let task = tokio::spawn(async move { server.serve(server_end).await });
    let mut w = client_end.write;
    let mut lines = BufReader::new(client_end.read).lines();
    for f in &frames {
        w.write_all(format!("{f}\n").as_bytes()).await.unwrap();
    }
    w.flush().await.unwrap();
    for _ in 0..frames.len() {
        tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("an answer")
            .unwrap()
            .expect("a line");
    }
    w.shutdown().await.unwrap();
    drop(w);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    let s = check_with("bad requests", MODERN, &rec, false);
    assert_eq!(s.s2c, frames.len());
    assert_defs(
        &s,
        "bad requests",
        &[
            "UnsupportedProtocolVersionError",
            "InvalidParamsError",
            "MethodNotFoundError",
            "InvalidRequestError",
        ],
    );
}

/// Bytes that are not JSON get a parse error. Plain JSON-RPC 2.0 answers it with
/// `"id": null`, but MCP's `JSONRPCErrorResponse` (both revisions) allows no `null` id: the
/// member must be omitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answer_to_garbage_validates() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (client_end, server_end, rec) = tee_memory();
    let server = test_server();
    let task = tokio::spawn(async move { server.serve(server_end).await });
    let mut w = client_end.write;
    let mut lines = BufReader::new(client_end.read).lines();
    w.write_all(b"{this is not json\n").await.unwrap();
    w.flush().await.unwrap();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("an answer")
        .unwrap()
        .expect("a line");
    w.shutdown().await.unwrap();
    drop(w);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["error"]["code"], -32700, "{line}");
    let mut failures = Vec::new();
    for revision in [LEGACY, MODERN] {
        let (s, f) = collect(&format!("garbage ({revision})"), revision, &rec, false);
        assert_eq!(s.s2c, 1);
        failures.extend(f);
    }
    assert!(failures.is_empty(), "\n  {}\n", failures.join("\n  "));
}

// =======================================================================================
// The built-in servers of the binary, over a child process
// =======================================================================================

async fn built_in(
    server: &str,
    era: EraChoice,
    tool: &str,
    arguments: Value,
    expect_samples: usize,
) {
    let bin = env!("CARGO_BIN_EXE_mcp-sampling");
    let mut child =
        ChildProcess::spawn(bin, &["serve".into(), server.into()]).expect("spawn the binary");
    let (transport, rec) = tee_client(child.transport.take().unwrap());
    let client = Client::connect(transport, Arc::new(Fixed(FIXED_REPLY.into())), options(era))
        .await
        .expect("connect to the built-in server");
    let revision = match client.era() {
        Era::Legacy => LEGACY,
        Era::Modern => MODERN,
    };
    client.list_tools().await.expect("tools/list");
    let r = client
        .call_tool(tool, args(arguments))
        .await
        .expect("the call");
    assert_ne!(r.is_error, Some(true), "{r:?}");
    client.close().await;
    child.shutdown().await.expect("the child exits");
    let name = format!("{server} ({era:?})");
    let s = check(&name, revision, &rec);
    let samples = s.defs.get("CreateMessageRequest").copied().unwrap_or(0);
    assert_eq!(samples, expect_samples, "[{name}] sampling requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_servers_frames_validate() {
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(12)
        + "It was not amused. Nobody was. The end came quickly. Then another sentence.";
    for era in [EraChoice::Legacy, EraChoice::Modern, EraChoice::Auto] {
        built_in(
            "summarize",
            era,
            "summarize",
            json!({"text": long, "sentences": 2}),
            1,
        )
        .await;
        built_in(
            "bench",
            era,
            "bench_sampling",
            json!({"n": 3, "concurrency": 2}),
            3,
        )
        .await;
    }
}

// =======================================================================================
// The checker itself
// =======================================================================================

/// The checker finds broken frames (so that a passing conversation means something).
#[test]
fn the_checker_catches_invalid_frames() {
    fn recording(c2s: &[Value], s2c: &[Value]) -> Recording {
        let rec = Recording::default();
        for (log, frames) in [(&rec.c2s, c2s), (&rec.s2c, s2c)] {
            let mut log = log.lock().unwrap();
            for f in frames {
                log.extend_from_slice(format!("{f}\n").as_bytes());
            }
        }
        rec
    }
    let meta = json!({"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}});
    let cases: Vec<(&str, &str, Recording, &str)> = vec![
        (
            "legacy sampling without maxTokens",
            LEGACY,
            recording(
                &[],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage", "params": {"messages": []}}),
                ],
            ),
            "CreateMessageRequest",
        ),
        (
            "legacy sampling result without model",
            LEGACY,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "result": {"role": "assistant", "content": {"type": "text", "text": "x"}}}),
                ],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}}),
                ],
            ),
            "CreateMessageResult",
        ),
        (
            "modern request without _meta",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}}),
                ],
                &[],
            ),
            "CallToolRequest",
        ),
        (
            "modern result without resultType",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, "name": "x"}}),
                ],
                &[json!({"jsonrpc": "2.0", "id": 1, "result": {"content": []}})],
            ),
            "CallToolResult",
        ),
        (
            "modern server request",
            MODERN,
            recording(
                &[],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}}),
                ],
            ),
            "a modern server sent a request",
        ),
        (
            "modern input request without maxTokens",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, "name": "x"}}),
                ],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "input_required", "inputRequests": {"k": {"method": "sampling/createMessage", "params": {"messages": []}}}}}),
                ],
            ),
            "CreateMessageRequest",
        ),
        (
            "modern state never issued",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, "name": "x", "requestState": "made-up"}}),
                ],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "complete", "content": []}}),
                ],
            ),
            "was never issued",
        ),
        (
            "a result nobody asked for",
            LEGACY,
            recording(&[], &[json!({"jsonrpc": "2.0", "id": 9, "result": {}})]),
            "a result for no request",
        ),
        (
            "not JSON",
            LEGACY,
            recording(&[], &[json!("placeholder")]),
            "neither request, notification, result nor error",
        ),
    ];
    for (name, revision, rec, expect) in cases {
        let (_, failures) = collect(name, revision, &rec, true);
        assert!(
            failures.iter().any(|f| f.contains(expect)),
            "[{name}] expected a failure mentioning {expect:?}, got {failures:#?}"
        );
    }
}
