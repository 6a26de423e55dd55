//! Requests and notifications a server sends to the client (legacy era).

use crate::inputs;
use crate::state::ClientState;
use mcp_proto::content::OneOrMany;
use mcp_proto::handler::SamplingRequest;
use mcp_proto::methods::{
    CreateMessage, Elicit, ListRoots, LogMessage, Notification as _, Request as _,
};
use mcp_proto::sampling::{self as sp, CreateMessageParams, CreateMessageResult};
use mcp_proto::{ErrorObject, ProtocolVersion};
use mcp_rpc::{BoxFuture, Handler, Peer, RawRequest, Request};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;

pub(crate) struct ClientHandler {
    pub state: Arc<ClientState>,
}

impl Handler for ClientHandler {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        let state = self.state.clone();
        Box::pin(async move {
            match req.method.as_str() {
                CreateMessage::METHOD => {
                    let params = req.params.unwrap_or(Value::Null);
                    let reply = sample(&state, move || serde_json::from_value(params)).await?;
                    serde_json::to_value(reply).map_err(|e| ErrorObject::internal(e.to_string()))
                }
                Elicit::METHOD => inputs::legacy_elicit(&state, req.params).await,
                ListRoots::METHOD => inputs::legacy_roots(&state),
                other => Err(ErrorObject::method_not_found(other)),
            }
        })
    }

    /// Sampling requests take the fast path: their params parsed once, from the frame's
    /// text straight into [`CreateMessageParams`], and the reply written as it is.
    fn wants_raw(&self, method: &str) -> bool {
        method == CreateMessage::METHOD
    }

    fn request_raw(&self, req: RawRequest) -> BoxFuture<Result<Box<RawValue>, ErrorObject>> {
        let state = self.state.clone();
        Box::pin(async move {
            let parse = move || match &req.params {
                Some(p) => serde_json::from_str(p.get()),
                None => serde_json::from_value(Value::Null),
            };
            let reply = sample(&state, parse).await?;
            serde_json::value::to_raw_value(&reply)
                .map_err(|e| ErrorObject::internal(e.to_string()))
        })
    }

    fn notification(&self, method: &str, params: Option<Value>, _peer: &Peer) {
        let server = self.state.server_name();
        let params_copy = match &self.state.notifications {
            Some(_) => params.clone(),
            None => None,
        };
        match method {
            LogMessage::METHOD => {
                let p = params.unwrap_or(Value::Null);
                let level = p.get("level").and_then(Value::as_str).unwrap_or("info");
                let data = p.get("data").map(Value::to_string).unwrap_or_default();
                tracing::info!(target: "mcp_host::server_log", %server, log_level = level, "{data}");
            }
            other => tracing::debug!(%server, method = other, "notification"),
        }
        if let Some(sink) = &self.state.notifications {
            sink(method, params_copy);
        }
    }
}

/// Answers a legacy sampling request; `parse` reads its params (from a `Value`, or from the
/// frame's text on the fast path), after the checks that need none.
async fn sample(
    state: &ClientState,
    parse: impl FnOnce() -> Result<CreateMessageParams, serde_json::Error>,
) -> Result<CreateMessageResult, ErrorObject> {
    let (era, version) = inputs::legacy_era(state, CreateMessage::METHOD)?;
    if !state.caps.can_sample() {
        return Err(ErrorObject::method_not_found(
            "sampling/createMessage (this client did not declare sampling)",
        ));
    }
    let params = parse().map_err(|e| {
        ErrorObject::invalid_params(format!("invalid sampling/createMessage params: {e}"))
    })?;
    sp::validate(&params, Some(&state.caps))
        .map_err(|e| ErrorObject::invalid_params(e.to_string()))?;
    let tool_call = state.only_call();
    let req = SamplingRequest {
        params,
        server: state.server_name(),
        claims: state.claims(),
        era,
        protocol_version: version.clone(),
        tool_call,
    };
    let reply = state
        .handler
        .create_message(req)
        .await
        .map_err(|e| e.to_error_object())?;
    fit_to_version(reply, &ProtocolVersion(version))
}

/// Peers older than `2025-11-25` know a single content block only.
fn fit_to_version(
    mut reply: CreateMessageResult,
    version: &ProtocolVersion,
) -> Result<CreateMessageResult, ErrorObject> {
    if version.has_content_arrays() {
        return Ok(reply);
    }
    reply.content = match reply.content.into_single() {
        Ok(one) => OneOrMany::One(one),
        Err(many) => {
            return Err(ErrorObject::internal(format!(
                "the reply has {} content blocks, but protocol {version} allows one",
                many.as_slice().len()
            )))
        }
    };
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_proto::Content;

    #[test]
    fn single_block_for_old_peers() {
        let mut r = CreateMessageResult::from_text("m", "x");
        r.content = OneOrMany::Many(vec![Content::text("x")]);
        let old = fit_to_version(r.clone(), &"2025-06-18".into()).unwrap();
        assert!(matches!(old.content, OneOrMany::One(_)));
        let new = fit_to_version(r.clone(), &"2025-11-25".into()).unwrap();
        assert!(matches!(new.content, OneOrMany::Many(_)));
        r.content = OneOrMany::Many(vec![Content::text("a"), Content::text("b")]);
        assert!(fit_to_version(r, &"2025-03-26".into()).is_err());
    }
}
