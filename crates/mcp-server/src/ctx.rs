//! [`Ctx`]: what a handler gets besides its arguments: who asked and in which era, and the
//! input it may ask for (sampling, elicitation, roots), progress and logging.
//!
//! Every era difference of a request is in one place, [`Era`]: a legacy request has its
//! session (and sends real requests to the client, tied to the call); a modern request has
//! the round of its replay (its input requests go out in `input_required`).

use crate::config::Env;
use crate::elicit::{schema_for, Elicitation, Elicited};
use crate::error::{ElicitError, RootsError, SampleError};
use crate::round::{InputKind, Round};
use crate::sampling::Sampling;
use crate::session::SessionState;
use mcp_proto::elicitation::{ElicitAction, ElicitResult};
use mcp_proto::handler::{SamplingRequest, ToolCall};
use mcp_proto::jsonrpc::USER_REJECTED;
use mcp_proto::logging::{LoggingLevel, LoggingMessage};
use mcp_proto::methods::{
    CreateMessage, Elicit, ListRoots, LogMessage, Notification as _, Progress, ProgressParams,
    Request as _, ResourceUpdated,
};
use mcp_proto::resources::ResourceUpdatedParams;
use mcp_proto::roots::{ListRootsResult, Root};
use mcp_proto::sampling::{self as sp, CreateMessageResult};
use mcp_proto::{ClientCapabilities, RequestId};
use mcp_rpc::{Peer, RequestOptions, RpcError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// The context of one request being handled. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    inner: Arc<CtxInner>,
}

/// How the request being handled speaks.
pub(crate) enum Era {
    /// A legacy session's request.
    Legacy(Arc<SessionState>),
    /// A modern request: the round of this pass, and the log level its `_meta` asks for
    /// (none: no log messages at all).
    Modern {
        round: Arc<Round>,
        log_level: Option<LoggingLevel>,
    },
}

/// Everything a [`Ctx`] holds.
pub(crate) struct CtxInner {
    pub peer: Peer,
    pub request_id: RequestId,
    pub caps: ClientCapabilities,
    pub protocol_version: String,
    pub progress_token: Option<Value>,
    pub env: Arc<Env>,
    /// The tool call (or prompt) being served: its name and arguments.
    pub call: Option<(String, Arc<Map<String, Value>>)>,
    /// How deep in nested sampling the call is (see [`ServerConfig::max_depth`](crate::ServerConfig::max_depth)).
    pub depth: u32,
    /// Legacy: the input requests made so far (the modern round counts its own).
    pub inputs: AtomicU32,
    pub era: Era,
}

impl Ctx {
    pub(crate) fn new(inner: CtxInner) -> Ctx {
        Ctx {
            inner: Arc::new(inner),
        }
    }

    /// The era of the request being handled.
    pub fn era(&self) -> mcp_proto::Era {
        match self.inner.era {
            Era::Legacy(_) => mcp_proto::Era::Legacy,
            Era::Modern { .. } => mcp_proto::Era::Modern,
        }
    }

    /// The protocol revision of the request being handled.
    pub fn protocol_version(&self) -> &str {
        &self.inner.protocol_version
    }

    /// The client's capabilities for this request.
    pub fn client_capabilities(&self) -> &ClientCapabilities {
        &self.inner.caps
    }

    /// The id of the request being handled.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// How deep in nested sampling the request being handled is: 0 when a person (or a
    /// host's chat) made it, n + 1 when a model made it while answering a sampling request
    /// of depth n. Sampling requests carry it on in their `_meta`.
    pub fn depth(&self) -> u32 {
        self.inner.depth
    }

    /// Whether [`Ctx::sample`] can work for this request.
    pub fn can_sample(&self) -> bool {
        self.inner.caps.can_sample()
    }

    /// Whether the client declared sampling with tools (`sampling.tools`).
    pub fn can_sample_with_tools(&self) -> bool {
        self.inner.caps.can_sample_with_tools()
    }

    /// Whether the server has its own model for clients that cannot sample
    /// ([`ServerBuilder::direct_sampler`](crate::ServerBuilder::direct_sampler)).
    pub fn has_direct_sampler(&self) -> bool {
        self.inner.env.direct.is_some()
    }

    /// Whether [`Ctx::elicit`] can work for this request (form mode declared).
    pub fn can_elicit(&self) -> bool {
        self.inner.caps.can_elicit_form()
    }

    /// Whether [`Ctx::list_roots`] can work for this request.
    pub fn can_list_roots(&self) -> bool {
        self.inner.caps.can_list_roots()
    }

    /// Asks the client's LLM for a completion. Works on both eras:
    ///
    /// - legacy: a `sampling/createMessage` request to the client, tied to this request
    ///   (cancelled with it);
    /// - modern: the handler is paused, the request goes out in an `input_required` result,
    ///   and the handler runs again when the client retries with the reply (see the crate
    ///   docs for the rule this puts on handlers).
    ///
    /// A server with its own model (`ServerBuilder::direct_sampler`) uses it when the
    /// client cannot sample this request.
    ///
    /// Each request carries the call's depth in its `_meta`; a server with a
    /// [`SamplingCache`](crate::SamplingCache) answers a repeated request from it.
    pub async fn sample(&self, mut req: Sampling) -> Result<CreateMessageResult, SampleError> {
        mcp_proto::ext::write_depth(&mut req.params.meta, self.inner.depth);
        let Some(cache) = self.inner.env.cache.clone() else {
            return self.sample_uncached(req).await;
        };
        let key = crate::cache::SamplingCache::key(&req.params);
        if let Some(hit) = key.as_ref().and_then(|k| cache.get(k)) {
            return Ok(hit);
        }
        let reply = self.sample_uncached(req).await?;
        if let Some(k) = key {
            cache.put(k, reply.clone());
        }
        Ok(reply)
    }

    async fn sample_uncached(&self, req: Sampling) -> Result<CreateMessageResult, SampleError> {
        let caps = &self.inner.caps;
        let wants_tools = req.params.tools.is_some() || req.params.tool_choice.is_some();
        if !caps.can_sample() || (wants_tools && !caps.can_sample_with_tools()) {
            if let Some(direct) = self.inner.env.direct.clone() {
                sp::validate(&req.params, None)?;
                return self.sample_direct(direct.as_ref(), req).await;
            }
            if !caps.can_sample() {
                return Err(SampleError::NotSupported);
            }
        }
        sp::validate(&req.params, Some(caps))?;
        match &self.inner.era {
            Era::Legacy(_) => self.sample_legacy(req).await,
            Era::Modern { round, .. } => {
                let params = serde_json::to_value(&req.params)
                    .map_err(|e| SampleError::BadReply(e.to_string()))?;
                let reply = self
                    .ask(round, InputKind::Sampling, params, req.key.as_deref())
                    .await
                    .map_err(SampleError::Limit)?;
                serde_json::from_value(reply).map_err(|e| SampleError::BadReply(e.to_string()))
            }
        }
    }

    /// Sampling through the server's own model. On the modern era the reply is recorded, so
    /// that replays of the handler get the same reply.
    async fn sample_direct(
        &self,
        direct: &dyn mcp_proto::SamplingHandler,
        req: Sampling,
    ) -> Result<CreateMessageResult, SampleError> {
        // The server's own model: the span is the request's, and the pipeline's (if the
        // model is one, its span made when it is called) its child.
        let Era::Modern { round, .. } = &self.inner.era else {
            self.count_input().map_err(SampleError::Limit)?;
            let span = crate::round::input_span(InputKind::Sampling, "legacy", None);
            return span
                .in_scope(|| direct.create_message(self.direct_request(req.params)))
                .instrument(span)
                .await
                .map_err(|e| SampleError::Direct(e.to_string()));
        };
        let params =
            serde_json::to_value(&req.params).map_err(|e| SampleError::BadReply(e.to_string()))?;
        let limit = self.inner.env.config.max_samples_per_call;
        let claim = round
            .claim(InputKind::Sampling, &params, limit, req.key.as_deref())
            .map_err(SampleError::Limit)?;
        if let Some(reply) = &claim.known {
            return serde_json::from_value(reply.clone())
                .map_err(|e| SampleError::BadReply(e.to_string()));
        }
        let span = crate::round::input_span(InputKind::Sampling, "modern", Some(&claim.key));
        let reply = span
            .in_scope(|| direct.create_message(self.direct_request(req.params)))
            .instrument(span)
            .await
            .map_err(|e| SampleError::Direct(e.to_string()))?;
        let v = serde_json::to_value(&reply).map_err(|e| SampleError::BadReply(e.to_string()))?;
        round.record_direct(claim, v);
        Ok(reply)
    }

    /// The request as the server's own model sees it.
    fn direct_request(&self, params: sp::CreateMessageParams) -> SamplingRequest {
        SamplingRequest {
            params,
            server: self.inner.env.info.name.as_str().into(),
            claims: None,
            era: self.era(),
            protocol_version: self.inner.protocol_version.clone(),
            tool_call: self.inner.call.as_ref().map(|(name, args)| ToolCall {
                name: name.clone(),
                arguments: (**args).clone(),
                depth: self.inner.depth,
            }),
        }
    }

    async fn sample_legacy(&self, mut req: Sampling) -> Result<CreateMessageResult, SampleError> {
        self.count_input().map_err(SampleError::Limit)?;
        let timeout = req
            .timeout
            .unwrap_or(self.inner.env.config.sampling_timeout);
        let started = std::time::Instant::now();
        // A child of the tool call's span; the host's span takes it as parent.
        let span = crate::round::input_span(InputKind::Sampling, "legacy", None);
        mcp_proto::trace::inject(&span, &mut req.params.meta);
        let reply = self
            .legacy_request(CreateMessage::METHOD, &req.params, Some(timeout))
            .instrument(span)
            .await;
        let metrics = &self.inner.env.metrics;
        match &reply {
            Ok(_) => metrics.sampling.observe(started.elapsed()),
            Err(_) => {
                metrics
                    .sampling_failed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        reply.map_err(|e| match e {
            RpcError::Remote(e) if e.code == USER_REJECTED => SampleError::Rejected(e.message),
            RpcError::Remote(e) => SampleError::Remote(e),
            RpcError::Timeout(d) => SampleError::Timeout(d),
            RpcError::Closed | RpcError::Transport(_) => SampleError::Closed,
            RpcError::Codec(m) => SampleError::BadReply(m),
        })
    }

    /// Asks the user to fill in a form. On accept, the schema's defaults fill missing values
    /// and the content is checked against the schema ([`ElicitError::InvalidReply`]).
    /// Legacy: an `elicitation/create` request tied to this tool call (default timeout 10
    /// minutes). Modern: an entry of the `input_required` result; the handler is replayed
    /// with the reply (the same rule as for `sample`).
    pub async fn elicit(&self, req: Elicitation) -> Result<ElicitResult, ElicitError> {
        if !self.can_elicit() {
            return Err(ElicitError::NotSupported);
        }
        let schema = &req.params.requested_schema;
        schema.check()?;
        let mut reply: ElicitResult = match &self.inner.era {
            Era::Legacy(_) => {
                self.count_input().map_err(ElicitError::Limit)?;
                let timeout = req
                    .timeout
                    .unwrap_or(self.inner.env.config.elicitation_timeout);
                self.legacy_request(Elicit::METHOD, &req.params, Some(timeout))
                    .await
                    .map_err(|e| match e {
                        RpcError::Remote(e) => ElicitError::Remote(e),
                        RpcError::Timeout(d) => ElicitError::Timeout(d),
                        RpcError::Closed | RpcError::Transport(_) => ElicitError::Closed,
                        RpcError::Codec(m) => ElicitError::InvalidReply(m),
                    })?
            }
            Era::Modern { round, .. } => {
                let params = serde_json::to_value(&req.params)
                    .map_err(|e| ElicitError::InvalidReply(e.to_string()))?;
                let v = self
                    .ask(round, InputKind::Elicitation, params, req.key.as_deref())
                    .await
                    .map_err(ElicitError::Limit)?;
                serde_json::from_value(v).map_err(|e| ElicitError::InvalidReply(e.to_string()))?
            }
        };
        if reply.action == ElicitAction::Accept {
            let content = reply.content.get_or_insert_with(Map::new);
            schema.apply_defaults(content);
            schema
                .validate(content)
                .map_err(|e| ElicitError::InvalidReply(e.to_string()))?;
        }
        Ok(reply)
    }

    /// Asks the user for a `T`: the form's schema comes from `T` (a struct of strings,
    /// numbers, booleans, unit enums and `Vec`s of unit enums; doc comments become
    /// descriptions; `Option` fields are not required), and an accepted reply is
    /// deserialized into it.
    pub async fn elicit_as<T>(&self, message: impl Into<String>) -> Result<Elicited<T>, ElicitError>
    where
        T: DeserializeOwned + JsonSchema,
    {
        let schema = schema_for::<T>()?;
        let reply = self
            .elicit(Elicitation::with_schema(message, schema))
            .await?;
        match reply.action {
            ElicitAction::Accept => {
                let content = Value::Object(reply.content.unwrap_or_default());
                serde_json::from_value(content)
                    .map(Elicited::Accepted)
                    .map_err(|e| ElicitError::InvalidReply(e.to_string()))
            }
            ElicitAction::Decline => Ok(Elicited::Declined),
            ElicitAction::Cancel => Ok(Elicited::Cancelled),
        }
    }

    /// The client's roots. Legacy: a `roots/list` request tied to this tool call. Modern: an
    /// entry of the `input_required` result (roots are deprecated in `2026-07-28` but still
    /// served). Every root must be a `file://` URI.
    pub async fn list_roots(&self) -> Result<Vec<Root>, RootsError> {
        self.list_roots_keyed(None).await
    }

    /// [`Ctx::list_roots`], its modern `inputRequests` entry named `key` (by default `r`
    /// and its number in the call); see [`Elicitation::key`].
    pub async fn list_roots_keyed(&self, key: Option<&str>) -> Result<Vec<Root>, RootsError> {
        if !self.can_list_roots() {
            return Err(RootsError::NotSupported);
        }
        let result: ListRootsResult = match &self.inner.era {
            Era::Legacy(_) => {
                self.count_input().map_err(RootsError::Limit)?;
                self.legacy_request(ListRoots::METHOD, &Map::new(), None)
                    .await
                    .map_err(|e| match e {
                        RpcError::Remote(e) => RootsError::Remote(e),
                        RpcError::Codec(m) => RootsError::InvalidReply(m),
                        other => RootsError::Transport(other.to_string()),
                    })?
            }
            Era::Modern { round, .. } => {
                let v = self
                    .ask(round, InputKind::Roots, Value::Object(Map::new()), key)
                    .await
                    .map_err(RootsError::Limit)?;
                serde_json::from_value(v).map_err(|e| RootsError::InvalidReply(e.to_string()))?
            }
        };
        for r in &result.roots {
            r.check()
                .map_err(|e| RootsError::InvalidReply(e.to_string()))?;
        }
        Ok(result.roots)
    }

    /// Legacy: counts one more input request of this call, or says it is one too many.
    fn count_input(&self) -> Result<(), String> {
        let limit = self.inner.env.config.max_samples_per_call;
        let n = self.inner.inputs.fetch_add(1, Ordering::Relaxed);
        if n >= limit {
            return Err(format!(
                "this call has made {limit} input requests (sampling, elicitation, roots), the most this server allows per call"
            ));
        }
        Ok(())
    }

    /// A legacy request to the client, tied to the request being handled.
    async fn legacy_request<P, R>(
        &self,
        method: &str,
        params: &P,
        timeout: Option<Duration>,
    ) -> Result<R, RpcError>
    where
        P: serde::Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let opts = RequestOptions {
            timeout,
            related: Some(self.inner.request_id.clone()),
            ..Default::default()
        };
        self.inner.peer.request_typed(method, params, opts).await
    }

    /// A modern input request: the reply recorded for it, or a pause until the next round.
    async fn ask(
        &self,
        round: &Round,
        kind: InputKind,
        params: Value,
        key: Option<&str>,
    ) -> Result<Value, String> {
        let limit = self.inner.env.config.max_samples_per_call;
        round.ask(kind, params, limit, key).await
    }

    /// Goes on as a task (the tasks extension, `io.modelcontextprotocol/tasks`) from here:
    /// the call is answered with a task handle and this handler runs on in the background,
    /// its later input requests waiting in the task for `tasks/update`. For a tool
    /// registered with [`TaskStart::WhenHandlerAsks`](crate::TaskStart): input gathered
    /// before this point goes through the call's own `input_required` rounds (which replay
    /// the handler up to here, as usual).
    ///
    /// Returns whether the handler now runs as a task: false on legacy sessions, for a
    /// client that did not declare the extension, or for a tool without task support; the
    /// handler then simply goes on within the call.
    pub async fn run_as_task(&self) -> bool {
        let Era::Modern { round, .. } = &self.inner.era else {
            return false;
        };
        if round.is_live() {
            return true;
        }
        if !round.task_allowed() {
            return false;
        }
        round.ask_for_task();
        // The runner hands this future to the task, which turns the round live first.
        std::future::poll_fn(|_| match round.is_live() {
            true => std::task::Poll::Ready(true),
            false => std::task::Poll::Pending,
        })
        .await
    }

    /// Whether the handler runs as a task (see [`Ctx::run_as_task`]).
    pub fn is_task(&self) -> bool {
        matches!(&self.inner.era, Era::Modern { round, .. } if round.is_live())
    }

    /// Reports progress on the request being handled, if the client asked for progress (not
    /// in a task: the extension has no progress for tasks).
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.inner.progress_token else {
            return;
        };
        if self.is_task() {
            return;
        }
        let p = ProgressParams {
            progress_token: token.clone(),
            progress,
            total,
            message: message.map(str::to_owned),
        };
        let Ok(params) = serde_json::to_value(p) else {
            return;
        };
        let related = Some(&self.inner.request_id);
        let _ = self
            .inner
            .peer
            .notify_related(Progress::METHOD, Some(params), related);
    }

    /// Sends a log message (`notifications/message`) about the request being handled, if
    /// the client wants this level: on legacy sessions, at or above the level set with
    /// `logging/setLevel` (every level until one is set); on the modern era, only when the
    /// request's `_meta` carries `io.modelcontextprotocol/logLevel`, at or above it. `data`
    /// is any JSON value, typically a string.
    pub fn log(&self, level: LoggingLevel, data: impl Into<Value>) {
        self.log_as(level, None, data)
    }

    /// [`Ctx::log`] with a logger name.
    pub fn log_as(&self, level: LoggingLevel, logger: Option<&str>, data: impl Into<Value>) {
        let wanted = match &self.inner.era {
            Era::Legacy(session) => session.logs(level),
            // Tasks have no log messages (the extension leaves them out).
            Era::Modern { log_level, round } => {
                !round.is_live() && log_level.is_some_and(|min| level >= min)
            }
        };
        if !wanted {
            return;
        }
        let msg = LoggingMessage {
            level,
            logger: logger.map(str::to_owned),
            data: data.into(),
        };
        let Ok(params) = serde_json::to_value(msg) else {
            return;
        };
        let related = Some(&self.inner.request_id);
        let _ = self
            .inner
            .peer
            .notify_related(LogMessage::METHOD, Some(params), related);
    }

    /// Tells the client that resource `uri` changed (`notifications/resources/updated`), if
    /// this legacy session subscribed to it. Returns whether it was sent.
    pub fn notify_resource_updated(&self, uri: &str) -> bool {
        let Era::Legacy(session) = &self.inner.era else {
            return false;
        };
        let params = ResourceUpdatedParams { uri: uri.into() };
        session.subscribed(uri)
            && serde_json::to_value(params).is_ok_and(|p| {
                self.inner
                    .peer
                    .notify(ResourceUpdated::METHOD, Some(p))
                    .is_ok()
            })
    }
}
