//! The modern era's tool call: run the handler until it waits for input (sampling,
//! elicitation, roots) it does not have, send those requests in one `input_required`
//! result, and run it again when the client retries with the replies.
//!
//! The replies gathered so far travel in the sealed `requestState`, so any process with the
//! same key can continue the call. The rule this puts on handlers: given the same arguments
//! and the same replies, a handler must make the same sampling requests in the same order
//! (it is replayed), and side effects before its last input request may happen once per
//! round.

use crate::ctx::CtxInner;
use crate::round::{InputKind, Round};
use crate::server::{to_value, tool_outcome};
use crate::state::{digest, Payload};
use crate::tool::{ToolEntry, ToolError};
use crate::{Ctx, ServerShared};
use mcp_proto::mrtr::{InputRequest, InputRequiredResult, INPUT_REQUIRED};
use mcp_proto::tools::{CallToolParams, CallToolResult};
use mcp_proto::ErrorObject;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

pub(crate) async fn call(
    server: &Arc<ServerShared>,
    entry: &ToolEntry,
    mut base: CtxInner,
    p: CallToolParams,
) -> Result<Value, ErrorObject> {
    let args = p.arguments.unwrap_or_default();
    let args_digest = digest(&Value::Object(args.clone()));
    let mut payload = match (&p.request_state, &p.input_responses) {
        (Some(sealed), responses) => {
            let mut state = Payload::open(sealed, &server.key, "tools/call", &p.name, &args_digest)
                .map_err(|e| ErrorObject::invalid_params(e.to_string()))?;
            absorb(&mut state, responses.as_ref())?;
            state
        }
        (None, Some(_)) => return Err(ErrorObject::invalid_params(
            "inputResponses came without the requestState of the input_required result they answer",
        )),
        (None, None) => Payload::new("tools/call", &p.name, args_digest, server.config.state_ttl),
    };
    let known: HashMap<_, _> = payload
        .k
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    base.round = Some(Round::new(known));
    let ctx = Ctx {
        inner: Arc::new(base),
    };
    let pass = run_until_input_needed((entry.call)(ctx.clone(), args), &ctx).await;
    match pass {
        Some(outcome) => to_value(tool_outcome(outcome, true)?),
        None => {
            let round = ctx.inner.round.as_ref().expect("modern calls have a round");
            payload.r += 1;
            if payload.r > server.config.max_rounds {
                let msg = format!(
                    "gave up after {} rounds of input requests",
                    server.config.max_rounds
                );
                return to_value(CallToolResult::error(msg));
            }
            input_required(server, &mut payload, round)
        }
    }
}

/// Folds the client's replies into the state: only for keys we asked, each parsed as the
/// result of the request it answers.
fn absorb(
    state: &mut Payload,
    responses: Option<&BTreeMap<String, Value>>,
) -> Result<(), ErrorObject> {
    let Some(responses) = responses else {
        return Ok(());
    };
    for (key, d) in std::mem::take(&mut state.q) {
        match responses.get(&key) {
            Some(v) => {
                let kind = InputKind::of_key(&key).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("requestState has an unknown key {key:?}"))
                })?;
                kind.check_reply(v).map_err(|e| {
                    ErrorObject::invalid_params(format!(
                        "inputResponses[{key:?}] is not a valid {} result ({}): {e}",
                        kind.noun(),
                        kind.method()
                    ))
                })?;
                state.k.insert(key, (d, v.clone()));
            }
            // Not answered: the handler will ask again in the next round.
            None => {
                state.q.insert(key, d);
            }
        }
    }
    Ok(())
}

/// Polls the handler until it finishes (`Some`) or is waiting with at least one input
/// request that has no reply yet (`None`). Requests started together (`join!`,
/// `join_all`) are polled in the same pass and so go out in the same round.
async fn run_until_input_needed<F>(fut: F, ctx: &Ctx) -> Option<Result<CallToolResult, ToolError>>
where
    F: Future<Output = Result<CallToolResult, ToolError>>,
{
    let round = ctx.inner.round.as_ref().expect("modern calls have a round");
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| {
        *round.runner.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        match fut.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending if round.has_new_requests() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

fn input_required(
    server: &ServerShared,
    payload: &mut Payload,
    round: &Round,
) -> Result<Value, ErrorObject> {
    let mut requests = BTreeMap::new();
    payload.q.clear();
    for (key, known) in round.take_direct() {
        payload.k.insert(key, known);
    }
    for a in round.take_asked() {
        payload.q.insert(a.key.clone(), a.digest);
        requests.insert(
            a.key,
            InputRequest {
                method: a.kind.method().into(),
                params: Some(a.params),
            },
        );
    }
    let r = InputRequiredResult {
        result_type: INPUT_REQUIRED.into(),
        input_requests: Some(requests),
        request_state: Some(payload.seal(&server.key)),
    };
    to_value(r)
}
