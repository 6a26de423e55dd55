//! What a server may ask of the client besides sampling (elicitation, roots), on both eras:
//! the answers to a modern round's input requests, and the answers to legacy
//! server-to-client requests.

use crate::elicitation::{self, Origin};
use crate::error::ClientError;
use crate::state::ClientState;
use mcp_proto::handler::{SamplingRequest, ToolCall};
use mcp_proto::methods::{CreateMessage, Elicit, ListRoots, Request as _};
use mcp_proto::mrtr::InputRequest;
use mcp_proto::roots::ListRootsResult;
use mcp_proto::sampling::{self as sp, CreateMessageParams};
use mcp_proto::{Era, ErrorObject};
use mcp_rpc::BoxFuture;
use serde_json::Value;
use std::sync::Arc;

fn to_json<T: serde::Serialize>(v: T) -> Result<Value, ClientError> {
    serde_json::to_value(v).map_err(|e| ClientError::Protocol(e.to_string()))
}

/// The answer to one input request of a modern round, as a future to run concurrently
/// with the others. A request for something we did not declare is a protocol error.
pub(crate) fn modern(
    state: &Arc<ClientState>,
    call: &ToolCall,
    version: &str,
    key: &str,
    req: InputRequest,
) -> Result<BoxFuture<Result<Value, ClientError>>, ClientError> {
    let undeclared = || {
        ClientError::Protocol(format!(
            "input request {key:?} is {:?}, a capability this client did not declare",
            req.method
        ))
    };
    let origin = Origin {
        server: state.server_name(),
        era: Era::Modern,
        protocol_version: version.to_owned(),
        tool_call: Some(call.clone()),
    };
    match req.method.as_str() {
        CreateMessage::METHOD => {
            let params: CreateMessageParams =
                serde_json::from_value(req.params.unwrap_or(Value::Null)).map_err(|e| {
                    ClientError::Protocol(format!(
                        "input request {key:?} has invalid sampling params: {e}"
                    ))
                })?;
            sp::validate(&params, Some(&state.caps))
                .map_err(|e| ClientError::Protocol(format!("input request {key:?}: {e}")))?;
            let sreq = SamplingRequest {
                params,
                server: origin.server,
                claims: state.claims(),
                era: Era::Modern,
                protocol_version: origin.protocol_version,
                tool_call: origin.tool_call,
            };
            let fut = state.handler.create_message(sreq);
            Ok(Box::pin(async move { to_json(fut.await?) }))
        }
        Elicit::METHOD => {
            let handler = state.elicitation.clone().ok_or_else(undeclared)?;
            let params = req.params;
            Ok(Box::pin(async move {
                let reply = elicitation::answer(handler.as_ref(), params, origin).await?;
                to_json(reply)
            }))
        }
        ListRoots::METHOD => {
            let roots = state.roots.as_ref().ok_or_else(undeclared)?.list();
            Ok(Box::pin(std::future::ready(to_json(ListRootsResult {
                roots,
                meta: None,
            }))))
        }
        _ => Err(undeclared()),
    }
}

/// A legacy `elicitation/create` from the server.
pub(crate) async fn legacy_elicit(
    state: &ClientState,
    params: Option<Value>,
) -> Result<Value, ErrorObject> {
    let (era, version) = legacy_era(state, Elicit::METHOD)?;
    let Some(handler) = state.elicitation.clone() else {
        return Err(ErrorObject::method_not_found(
            "elicitation/create (this client did not declare elicitation)",
        ));
    };
    let origin = Origin {
        server: state.server_name(),
        era,
        protocol_version: version,
        tool_call: state.only_call(),
    };
    let reply = elicitation::answer(handler.as_ref(), params, origin)
        .await
        .map_err(|e| e.to_error_object())?;
    serde_json::to_value(reply).map_err(|e| ErrorObject::internal(e.to_string()))
}

/// A legacy `roots/list` from the server.
pub(crate) fn legacy_roots(state: &ClientState) -> Result<Value, ErrorObject> {
    legacy_era(state, ListRoots::METHOD)?;
    let Some(roots) = &state.roots else {
        return Err(ErrorObject::method_not_found(
            "roots/list (this client did not declare roots)",
        ));
    };
    serde_json::to_value(ListRootsResult {
        roots: roots.list(),
        meta: None,
    })
    .map_err(|e| ErrorObject::internal(e.to_string()))
}

/// The era and version of a legacy connection; a modern one never receives these requests.
pub(crate) fn legacy_era(state: &ClientState, method: &str) -> Result<(Era, String), ErrorObject> {
    match state.era() {
        None => Err(ErrorObject::invalid_request(format!(
            "{method} before the handshake finished"
        ))),
        Some((Era::Modern, _)) => Err(ErrorObject::method_not_found(&format!(
            "{method} (modern servers send it inside input_required results)"
        ))),
        Some(legacy) => Ok(legacy),
    }
}
