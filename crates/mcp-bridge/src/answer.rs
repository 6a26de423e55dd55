//! What the server asks of its client, answered by the host or by the bridge: sampling,
//! elicitation; and the server's notifications, passed on to the host.

use crate::parked::{Input, Parked};
use mcp_client::{ElicitationError, ElicitationHandler, ElicitationRequest, NotificationSink};
use mcp_proto::elicitation::ElicitResult;
use mcp_proto::handler::{SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::jsonrpc::{INVALID_PARAMS, USER_REJECTED};
use mcp_proto::methods::{
    CallTool, CreateMessage, Elicit, GetPrompt, Notification as _, Progress, Request as _,
};
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::RequestId;
use mcp_proto::{BoxFuture, ClientCapabilities, ErrorObject};
use mcp_rpc::{Peer, RequestOptions, RpcError};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a request forwarded to the host may wait: a person may be reviewing it.
const HOST_TIMEOUT: Duration = Duration::from_secs(600);

/// The host connected now, once it has sent `initialize`.
#[derive(Default)]
pub(crate) struct HostSlot {
    host: Mutex<Option<Host>>,
    /// The host's calls being forwarded (`tools/call`, `prompts/get`): a sampling request
    /// sent to the host is related to the call when there is one (HTTP puts it on that
    /// call's stream).
    calls: Mutex<Vec<RequestId>>,
}

/// A connected host: where to send, and what it declared.
#[derive(Clone)]
pub(crate) struct Host {
    pub peer: Peer,
    pub caps: ClientCapabilities,
}

impl HostSlot {
    pub(crate) fn get(&self) -> Option<Host> {
        self.host.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set(&self, host: Host) {
        *self.host.lock().unwrap_or_else(|p| p.into_inner()) = Some(host);
    }

    pub(crate) fn clear(&self) {
        *self.host.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Notes a host call being forwarded, when `method` is one; says whether it was.
    pub(crate) fn call_started(&self, id: &RequestId, method: &str) -> bool {
        let call = method == CallTool::METHOD || method == GetPrompt::METHOD;
        if call {
            self.calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(id.clone());
        }
        call
    }

    pub(crate) fn call_ended(&self, id: &RequestId) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|c| c != id);
    }

    /// The host call a request of the server serves: the only one in flight, if so.
    fn only_call(&self) -> Option<RequestId> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        match calls.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }
}

/// The bridge's answers to the server's sampling and elicitation requests.
#[derive(Clone)]
pub(crate) struct ToHost {
    pub slot: Arc<HostSlot>,
    /// A modern host's calls waiting for its input.
    pub parked: Arc<Parked>,
    pub mode: crate::SamplingMode,
    pub local: Arc<dyn SamplingHandler>,
    pub elicitation: Option<Arc<dyn ElicitationHandler>>,
}

/// Who answers a request of the server.
enum Target {
    /// The legacy host, pushed a request.
    Host(Box<Host>),
    /// A modern host, through its parked call's next `input_required` round.
    Parked(mpsc::UnboundedSender<Input>),
    /// The bridge itself.
    Ours,
}

impl ToHost {
    /// Who answers this sampling request.
    fn sampling_target(&self, req: &SamplingRequest) -> Result<Target, SamplingError> {
        let tools = req.params.tools.as_ref().is_some_and(|t| !t.is_empty());
        let able = |caps: &ClientCapabilities| {
            if tools {
                caps.can_sample_with_tools()
            } else {
                caps.can_sample()
            }
        };
        if self.mode == crate::SamplingMode::Local {
            return Ok(Target::Ours);
        }
        if let Some(h) = self.slot.get().filter(|h| able(&h.caps)) {
            return Ok(Target::Host(Box::new(h)));
        }
        if let Some(tx) = self.parked.route(req.tool_call.as_ref(), able) {
            return Ok(Target::Parked(tx));
        }
        match self.mode {
            crate::SamplingMode::Host => Err(SamplingError::Rejected(format!(
                "the bridge runs with --sampling host, and its host cannot be asked (it did \
                 not declare sampling{}, or the request cannot be tied to one of its calls)",
                if tools { " with tools" } else { "" }
            ))),
            _ => Ok(Target::Ours),
        }
    }
}

impl SamplingHandler for ToHost {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let this = self.clone();
        Box::pin(async move {
            match this.sampling_target(&req)? {
                Target::Ours => {
                    tracing::debug!(server = %req.server, "sampling answered by the bridge");
                    this.local.create_message(req).await
                }
                Target::Host(host) => {
                    tracing::debug!(server = %req.server, "sampling forwarded to the host");
                    let opts = RequestOptions {
                        timeout: Some(HOST_TIMEOUT),
                        related: this.slot.only_call(),
                        ..Default::default()
                    };
                    host.peer
                        .request_typed::<_, CreateMessageResult>(
                            CreateMessage::METHOD,
                            &req.params,
                            opts,
                        )
                        .await
                        .map_err(sampling_error)
                }
                Target::Parked(tx) => {
                    tracing::debug!(server = %req.server, "sampling asked of a modern host");
                    let params = serde_json::to_value(&req.params)
                        .map_err(|e| SamplingError::Failed(e.to_string()))?;
                    let v = ask_parked(&tx, CreateMessage::METHOD, params)
                        .await
                        .map_err(|e| sampling_error(RpcError::Remote(e)))?;
                    serde_json::from_value(v).map_err(|e| {
                        SamplingError::Failed(format!(
                            "the host's sampling answer is malformed: {e}"
                        ))
                    })
                }
            }
        })
    }
}

/// Asks a modern host through its parked call, and waits for its answer.
async fn ask_parked(
    tx: &mpsc::UnboundedSender<Input>,
    method: &'static str,
    params: Value,
) -> Result<Value, ErrorObject> {
    let (reply, answer) = oneshot::channel();
    tx.send(Input {
        method,
        params,
        reply,
    })
    .map_err(|_| ErrorObject::internal("the host's call has ended"))?;
    answer
        .await
        .map_err(|_| ErrorObject::internal("the host did not come back with an answer"))?
}

/// The host's refusal as the server will see it.
fn sampling_error(e: RpcError) -> SamplingError {
    match e {
        RpcError::Remote(e) if e.code == USER_REJECTED => SamplingError::Rejected(
            e.message
                .strip_prefix("User rejected sampling request: ")
                .unwrap_or(&e.message)
                .to_string(),
        ),
        RpcError::Remote(e) if e.code == INVALID_PARAMS => SamplingError::Invalid(e.message),
        other => SamplingError::Failed(format!("the host did not answer: {other}")),
    }
}

impl ElicitationHandler for ToHost {
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        let this = self.clone();
        Box::pin(async move {
            match this.slot.get().filter(|h| h.caps.can_elicit_form()) {
                Some(host) => {
                    let opts = RequestOptions {
                        timeout: Some(HOST_TIMEOUT),
                        related: this.slot.only_call(),
                        ..Default::default()
                    };
                    host.peer
                        .request_typed::<_, ElicitResult>(Elicit::METHOD, &req.params, opts)
                        .await
                        .map_err(|e| match e {
                            RpcError::Remote(e) if e.code == INVALID_PARAMS => {
                                ElicitationError::Invalid(e.message)
                            }
                            other => ElicitationError::Failed(format!(
                                "the host did not answer: {other}"
                            )),
                        })
                }
                None => {
                    let parked = this
                        .parked
                        .route(req.tool_call.as_ref(), |c| c.can_elicit_form());
                    match (parked, &this.elicitation) {
                        (Some(tx), _) => {
                            let params = serde_json::to_value(&req.params)
                                .map_err(|e| ElicitationError::Failed(e.to_string()))?;
                            let v = ask_parked(&tx, Elicit::METHOD, params)
                                .await
                                .map_err(|e| ElicitationError::Failed(e.message))?;
                            serde_json::from_value(v).map_err(|e| {
                                ElicitationError::Failed(format!(
                                    "the host's form answer is malformed: {e}"
                                ))
                            })
                        }
                        (None, Some(ours)) => ours.elicit(req).await,
                        (None, None) => Ok(ElicitResult::decline()),
                    }
                }
            }
        })
    }
}

/// Passes the server's notifications to the host (progress comes through the forwarded
/// request instead, with the host's own token).
pub(crate) fn sink(slot: Arc<HostSlot>) -> NotificationSink {
    Arc::new(move |method, params| {
        if method == Progress::METHOD {
            tracing::debug!(?params, "progress for no forwarded request dropped");
            return;
        }
        if let Some(host) = slot.get() {
            if let Err(e) = host.peer.notify(method, params) {
                tracing::debug!(method, "cannot pass a notification to the host: {e}");
            }
        }
    })
}
