//! [`Ctx`]: what a handler gets besides its arguments: `sample`, progress, and who asked.

use crate::round::{InputKind, Round};
use crate::sampling::{SampleError, Sampling};
use crate::server::SessionState;
use crate::ServerShared;
use mcp_proto::handler::{SamplingHandler, SamplingRequest};
use mcp_proto::jsonrpc::USER_REJECTED;
use mcp_proto::logging::{LoggingLevel, LoggingMessage};
use mcp_proto::methods::{
    CreateMessage, LogMessage, Notification as _, Request as _, ResourceUpdated,
};
use mcp_proto::sampling::{self as sp, CreateMessageResult};
use mcp_proto::{ClientCapabilities, Era, RequestId};
use mcp_rpc::{Peer, RequestOptions, RpcError};
use serde_json::{json, Value};
use std::sync::Arc;

/// The context of one request being handled. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub(crate) inner: Arc<CtxInner>,
}

pub(crate) struct CtxInner {
    pub peer: Peer,
    pub request_id: RequestId,
    pub caps: ClientCapabilities,
    pub protocol_version: String,
    pub progress_token: Option<Value>,
    pub server: Arc<ServerShared>,
    pub round: Option<Round>,
    pub log: LogGate,
}

/// Which log messages the client wants for this request.
pub(crate) enum LogGate {
    /// Legacy: the session's level (`logging/setLevel`; everything until one is set).
    Session(Arc<SessionState>),
    /// Modern: the request's `_meta` level; none at all when it has none.
    Request(Option<LoggingLevel>),
}

impl LogGate {
    fn allows(&self, level: LoggingLevel) -> bool {
        match self {
            LogGate::Session(s) => {
                let min = *s.log_level.lock().unwrap_or_else(|p| p.into_inner());
                min.is_none_or(|min| level >= min)
            }
            LogGate::Request(min) => min.is_some_and(|min| level >= min),
        }
    }
}

impl Ctx {
    /// The era of the request being handled.
    pub fn era(&self) -> Era {
        if self.inner.round.is_some() {
            Era::Modern
        } else {
            Era::Legacy
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

    /// Whether [`Ctx::sample`] can work for this request.
    pub fn can_sample(&self) -> bool {
        self.inner.caps.can_sample()
    }

    /// Asks the client's LLM for a completion. Works on both eras:
    ///
    /// - legacy: a `sampling/createMessage` request to the client, tied to this request
    ///   (cancelled with it);
    /// - modern: the handler is paused, the request goes out in an `input_required` result,
    ///   and the handler runs again when the client retries with the reply (see the crate
    ///   docs for the rule this puts on handlers).
    pub async fn sample(&self, req: Sampling) -> Result<CreateMessageResult, SampleError> {
        let inner = &self.inner;
        let wants_tools = req.params.tools.is_some() || req.params.tool_choice.is_some();
        if !inner.caps.can_sample() || (wants_tools && !inner.caps.can_sample_with_tools()) {
            if let Some(direct) = &inner.server.direct {
                sp::validate(&req.params, None)?;
                return self.sample_direct(direct.as_ref(), req).await;
            }
            if !inner.caps.can_sample() {
                return Err(SampleError::NotSupported);
            }
        }
        sp::validate(&req.params, Some(&inner.caps))?;
        match &inner.round {
            None => self.sample_legacy(req).await,
            Some(round) => {
                let params = serde_json::to_value(&req.params)
                    .map_err(|e| SampleError::BadReply(e.to_string()))?;
                self.sample_modern(round, params, req.key.as_deref()).await
            }
        }
    }

    /// Sampling through the server's own model. On the modern era the reply is recorded, so
    /// that replays of the handler get the same reply.
    async fn sample_direct(
        &self,
        direct: &dyn SamplingHandler,
        req: Sampling,
    ) -> Result<CreateMessageResult, SampleError> {
        let Some(round) = &self.inner.round else {
            return direct
                .create_message(self.direct_request(req.params))
                .await
                .map_err(|e| SampleError::Direct(e.to_string()));
        };
        let params =
            serde_json::to_value(&req.params).map_err(|e| SampleError::BadReply(e.to_string()))?;
        let limit = self.inner.server.config.max_samples_per_call;
        let claim = round
            .claim(InputKind::Sampling, &params, limit, req.key.as_deref())
            .map_err(SampleError::Limit)?;
        if let Some(reply) = &claim.known {
            return serde_json::from_value(reply.clone())
                .map_err(|e| SampleError::BadReply(e.to_string()));
        }
        let reply = direct
            .create_message(self.direct_request(req.params))
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
            server: self.inner.server.info.name.as_str().into(),
            era: self.era(),
            protocol_version: self.inner.protocol_version.clone(),
            tool_call: None,
        }
    }

    async fn sample_legacy(&self, req: Sampling) -> Result<CreateMessageResult, SampleError> {
        let inner = &self.inner;
        let opts = RequestOptions {
            timeout: Some(req.timeout.unwrap_or(inner.server.config.sampling_timeout)),
            related: Some(inner.request_id.clone()),
            ..Default::default()
        };
        inner
            .peer
            .request_typed(CreateMessage::METHOD, &req.params, opts)
            .await
            .map_err(|e| match e {
                RpcError::Remote(e) if e.code == USER_REJECTED => SampleError::Rejected(e.message),
                RpcError::Remote(e) => SampleError::Remote(e),
                RpcError::Timeout(d) => SampleError::Timeout(d),
                RpcError::Closed | RpcError::Transport(_) => SampleError::Closed,
                RpcError::Codec(m) => SampleError::BadReply(m),
            })
    }

    async fn sample_modern(
        &self,
        round: &Round,
        params: Value,
        key: Option<&str>,
    ) -> Result<CreateMessageResult, SampleError> {
        let limit = self.inner.server.config.max_samples_per_call;
        let reply = round
            .ask(InputKind::Sampling, params, limit, key)
            .await
            .map_err(SampleError::Limit)?;
        serde_json::from_value(reply).map_err(|e| SampleError::BadReply(e.to_string()))
    }

    /// Reports progress on the request being handled, if the client asked for progress.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.inner.progress_token else {
            return;
        };
        let mut p = json!({"progressToken": token, "progress": progress});
        if let Some(t) = total {
            p["total"] = json!(t);
        }
        if let Some(m) = message {
            p["message"] = json!(m);
        }
        let related = Some(&self.inner.request_id);
        let _ = self
            .inner
            .peer
            .notify_related("notifications/progress", Some(p), related);
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
        if !self.inner.log.allows(level) {
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
        let LogGate::Session(session) = &self.inner.log else {
            return false;
        };
        let subscribed = session
            .subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(uri);
        subscribed
            && self
                .inner
                .peer
                .notify(ResourceUpdated::METHOD, Some(json!({ "uri": uri })))
                .is_ok()
    }
}
