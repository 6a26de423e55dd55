//! Recording the wire and checking each frame against the schemas.

use super::*;

pub(crate) const LEGACY: &str = "2025-11-25";
pub(crate) const MODERN: &str = "2026-07-28";
pub(crate) const FIXED_REPLY: &str = "Paris is the capital of France.";
/// The test model never answers this prompt.
pub(crate) const SLOW_PROMPT: &str = "Take your time.";

// =======================================================================================
// Schemas
// =======================================================================================

/// One revision's schema, with a validator per definition (built on first use).
pub(crate) struct Schema {
    pub(crate) revision: &'static str,
    pub(crate) doc: Value,
    pub(crate) validators: Mutex<HashMap<String, Arc<Validator>>>,
}

/// `tests/spec` at the workspace root (two levels above this crate, see `tests/spec/README.md`).
pub(crate) fn spec_dir() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/spec");
    assert!(
        dir.join(LEGACY).join("schema.json").is_file() && dir.join(MODERN).join("schema.json").is_file(),
        "the MCP schemas are missing: expected {0}/{LEGACY}/schema.json and {0}/{MODERN}/schema.json \
         (tests/spec at the workspace root, see tests/spec/README.md).",
        dir.display()
    );
    dir
}

impl Schema {
    pub(crate) fn load(revision: &'static str) -> Schema {
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

    pub(crate) fn has(&self, def: &str) -> bool {
        self.doc["$defs"].get(def).is_some()
    }

    /// The validator of `#/$defs/{def}`: the whole document as root, with a `$ref` to it.
    pub(crate) fn validator(&self, def: &str) -> Arc<Validator> {
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

    pub(crate) fn errors(&self, def: &str, instance: &Value) -> Vec<String> {
        let v = self.validator(def);
        let errs: Vec<String> = v
            .iter_errors(instance)
            .map(|e| format!("at {:?}: {e}", e.instance_path.as_str()))
            .collect();
        errs
    }
}

pub(crate) fn schema(revision: &str) -> &'static Schema {
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

pub(crate) type Log = Arc<Mutex<Vec<u8>>>;

/// Copies what is written through it into a log.
pub(crate) struct TeeWrite<W> {
    pub(crate) inner: W,
    pub(crate) log: Log,
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
pub(crate) struct TeeRead<R> {
    pub(crate) inner: R,
    pub(crate) log: Log,
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
pub(crate) struct Recording {
    pub(crate) c2s: Log,
    pub(crate) s2c: Log,
}

/// An in-memory pair whose two write halves are recorded: (client end, server end, log).
pub(crate) fn tee_memory() -> (Transport, Transport, Recording) {
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
pub(crate) fn tee_client(t: Transport) -> (Transport, Recording) {
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
pub(crate) enum Dir {
    ClientToServer,
    ServerToClient,
}

impl Dir {
    pub(crate) fn other(self) -> Dir {
        match self {
            Dir::ClientToServer => Dir::ServerToClient,
            Dir::ServerToClient => Dir::ClientToServer,
        }
    }
    pub(crate) fn arrow(self) -> &'static str {
        match self {
            Dir::ClientToServer => "client -> server",
            Dir::ServerToClient => "server -> client",
        }
    }
}

pub(crate) struct Frame {
    pub(crate) dir: Dir,
    /// Position within its direction.
    pub(crate) seq: usize,
    pub(crate) raw: String,
    pub(crate) json: Value,
}

/// What was validated in one conversation.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub(crate) frames: usize,
    pub(crate) c2s: usize,
    pub(crate) s2c: usize,
    /// Definition name -> number of instances validated against it.
    pub(crate) defs: BTreeMap<String, usize>,
}

impl Summary {
    pub(crate) fn used(&self, def: &str) -> bool {
        self.defs.contains_key(def)
    }
}

pub(crate) fn split(dir: Dir, bytes: &[u8], failures: &mut Vec<String>) -> Vec<Frame> {
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

pub(crate) fn request_def(method: &str, modern: bool) -> Option<&'static str> {
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
pub(crate) fn result_def(method: &str, modern: bool, result: &Value) -> Option<&'static str> {
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

pub(crate) fn response_envelope_def(method: &str) -> Option<&'static str> {
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

pub(crate) fn notification_def(method: &str, modern: bool) -> Option<&'static str> {
    Some(match method {
        "notifications/initialized" if !modern => "InitializedNotification",
        "notifications/cancelled" => "CancelledNotification",
        "notifications/progress" => "ProgressNotification",
        "notifications/message" => "LoggingMessageNotification",
        _ => return None,
    })
}

/// Methods no revision defines, called on purpose to get `-32601`.
pub(crate) const DELIBERATELY_UNKNOWN: &[&str] = &["no/such/method", "nope"];

/// Error codes with a definition of their own on `2026-07-28`: (code, def, applies to the
/// whole frame rather than the error object).
pub(crate) const MODERN_ERROR_DEFS: &[(i64, &str, bool)] = &[
    (-32700, "ParseError", false),
    (-32600, "InvalidRequestError", false),
    (-32601, "MethodNotFoundError", false),
    (-32602, "InvalidParamsError", false),
    (-32603, "InternalError", false),
    (-32020, "HeaderMismatchError", true),
    (-32021, "MissingRequiredClientCapabilityError", true),
    (-32022, "UnsupportedProtocolVersionError", true),
];

pub(crate) struct Checker<'a> {
    pub(crate) name: &'a str,
    pub(crate) schema: &'static Schema,
    pub(crate) modern: bool,
    /// Check client-to-server frames too (off for hand-written, deliberately bad input).
    pub(crate) check_client: bool,
    pub(crate) summary: Summary,
    pub(crate) failures: Vec<String>,
}

impl Checker<'_> {
    pub(crate) fn validate(&mut self, f: &Frame, def: &str, what: &str, instance: &Value) {
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

    pub(crate) fn fail(&mut self, f: &Frame, msg: impl std::fmt::Display) {
        self.failures.push(format!(
            "[{}] {} frame #{}: {msg}\n    frame: {}",
            self.name,
            f.dir.arrow(),
            f.seq,
            f.raw
        ));
    }

    pub(crate) fn run(&mut self, rec: &Recording) {
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

    pub(crate) fn request(&mut self, f: &Frame, method: &str) {
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

    pub(crate) fn notification(&mut self, f: &Frame, method: &str) {
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

    pub(crate) fn result(&mut self, f: &Frame, method: &str, states: &mut BTreeSet<String>) {
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
pub(crate) fn check(name: &str, revision: &str, rec: &Recording) -> Summary {
    check_with(name, revision, rec, true)
}

pub(crate) fn check_with(
    name: &str,
    revision: &str,
    rec: &Recording,
    check_client: bool,
) -> Summary {
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
pub(crate) fn collect(
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

pub(crate) fn assert_defs(s: &Summary, name: &str, defs: &[&str]) {
    let missing: Vec<_> = defs.iter().filter(|d| !s.used(d)).collect();
    assert!(
        missing.is_empty(),
        "[{name}] the conversation never exercised {missing:?} (used: {:?})",
        s.defs.keys().collect::<Vec<_>>()
    );
}
