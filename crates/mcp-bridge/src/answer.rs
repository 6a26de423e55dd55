//! What the server asks of its client, answered by the host or by the bridge: sampling,
//! elicitation; and the server's notifications, passed on to the host.

use mcp_client::{ElicitationError, ElicitationHandler, ElicitationRequest, NotificationSink};
use mcp_proto::elicitation::ElicitResult;
use mcp_proto::handler::{SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::jsonrpc::{INVALID_PARAMS, USER_REJECTED};
use mcp_proto::methods::{
    CallTool, CreateMessage, Elicit, GetPrompt, Notification as _, Progress, Request as _,
};
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::RequestId;
use mcp_proto::{BoxFuture, ClientCapabilities};
use mcp_rpc::{Peer, RequestOptions, RpcError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    pub mode: crate::SamplingMode,
    pub local: Arc<dyn SamplingHandler>,
    pub elicitation: Option<Arc<dyn ElicitationHandler>>,
}

impl ToHost {
    /// The host, when it is to answer this sampling request.
    fn sampling_host(&self, req: &SamplingRequest) -> Result<Option<Host>, SamplingError> {
        let host = self.slot.get();
        let tools = req.params.tools.as_ref().is_some_and(|t| !t.is_empty());
        let able = |h: &Host| {
            if tools {
                h.caps.can_sample_with_tools()
            } else {
                h.caps.can_sample()
            }
        };
        match self.mode {
            crate::SamplingMode::Local => Ok(None),
            crate::SamplingMode::Auto => Ok(host.filter(able)),
            crate::SamplingMode::Host => match host {
                Some(h) if able(&h) => Ok(Some(h)),
                _ => Err(SamplingError::Rejected(format!(
                    "the bridge runs with --sampling host, and its host cannot be asked (it did \
                     not declare sampling{}, or it speaks 2026-07-28, where the bridge cannot \
                     send it requests)",
                    if tools { " with tools" } else { "" }
                ))),
            },
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
            let Some(host) = this.sampling_host(&req)? else {
                tracing::debug!(server = %req.server, "sampling answered by the bridge");
                return this.local.create_message(req).await;
            };
            tracing::debug!(server = %req.server, "sampling forwarded to the host");
            let opts = RequestOptions {
                timeout: Some(HOST_TIMEOUT),
                related: this.slot.only_call(),
                ..Default::default()
            };
            host.peer
                .request_typed::<_, CreateMessageResult>(CreateMessage::METHOD, &req.params, opts)
                .await
                .map_err(sampling_error)
        })
    }
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
                None => match &this.elicitation {
                    Some(ours) => ours.elicit(req).await,
                    None => Ok(ElicitResult::decline()),
                },
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
