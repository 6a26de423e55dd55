//! The modern era's requests that may need input (`tools/call`, `prompts/get`): run the
//! handler until it waits for input (sampling, elicitation, roots) it does not have, send
//! those requests in one `input_required` result, and run it again when the client retries
//! with the replies.
//!
//! The replies gathered so far travel in the sealed `requestState`, so any process with the
//! same key can continue the request. The rule this puts on handlers: given the same
//! arguments and the same replies, a handler must make the same input requests in the same
//! order (it is replayed), and side effects before its last input request may happen once
//! per round.

use crate::config::Env;
use crate::ctx::Ctx;
use crate::error::ToolError;
use crate::round::{InputKind, Round, Stop};
use crate::state::{digest, Payload};
use crate::wire::to_value;
use mcp_proto::mrtr::{InputRequest, InputRequiredResult, InputResponses, INPUT_REQUIRED};
use mcp_proto::ErrorObject;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

/// One modern request that may need input: what the state is bound to, and the retry's
/// members.
pub(crate) struct Retry<'a> {
    /// `tools/call` or `prompts/get`.
    pub method: &'static str,
    /// The tool's or prompt's name.
    pub name: &'a str,
    /// The arguments (the state is bound to their digest).
    pub args: &'a Map<String, Value>,
    pub request_state: Option<&'a str>,
    pub input_responses: Option<InputResponses>,
}

/// How a pass ended.
pub(crate) enum Outcome<T> {
    /// The handler finished (or gave up after too many rounds).
    Done(Result<T, ToolError>),
    /// The `input_required` result to send.
    InputRequired(Value),
    /// The handler goes on as a task ([`Ctx::run_as_task`]): the caller makes the task.
    Task(Paused<T>),
}

/// A handler that goes on as a task: its future, paused where it asked, and its round
/// (which the task turns live: input requests then wait for `tasks/update`).
pub(crate) struct Paused<T> {
    pub fut: Pin<Box<dyn Future<Output = Result<T, ToolError>> + Send>>,
    pub round: Arc<Round>,
}

/// Starts `handler` as a task from its first step (no pass, no replay).
pub(crate) fn start_paused<T, F, Fut>(
    make_ctx: impl FnOnce(Arc<Round>) -> Ctx,
    handler: F,
) -> Paused<T>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<T, ToolError>> + Send + 'static,
{
    let round = Arc::new(Round::default());
    let ctx = make_ctx(round.clone());
    Paused {
        fut: Box::pin(handler(ctx)),
        round,
    }
}

/// Runs `handler` for one modern request: with the replies of the sealed state, or the
/// offered ones when the client sent replies without state. `make_ctx` builds the
/// handler's context around this pass's round.
pub(crate) async fn run<T, F, Fut>(
    env: &Env,
    retry: Retry<'_>,
    make_ctx: impl FnOnce(Arc<Round>) -> Ctx,
    handler: F,
) -> Result<Outcome<T>, ErrorObject>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<T, ToolError>> + Send + 'static,
{
    let args_digest = digest(&Value::Object(retry.args.clone()));
    let now = env.config.clock.now();
    let mut offered = BTreeMap::new();
    let mut payload = match retry.request_state {
        Some(sealed) => {
            let mut state = Payload::open(
                sealed,
                &env.key,
                retry.method,
                retry.name,
                &args_digest,
                now,
            )
            .map_err(|e| ErrorObject::invalid_params(e.to_string()))?;
            absorb(&mut state, retry.input_responses.as_ref())?;
            state
        }
        None => {
            offered = retry.input_responses.unwrap_or_default();
            let ttl = env.config.state_ttl;
            Payload::new(retry.method, retry.name, args_digest, now, ttl)
        }
    };
    let known: HashMap<_, _> = payload
        .k
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let round = Arc::new(Round::new(known, offered));
    let ctx = make_ctx(round.clone());
    let mut fut: Pin<Box<dyn Future<Output = Result<T, ToolError>> + Send>> =
        Box::pin(handler(ctx));
    match run_until_input_needed(&mut fut, &round).await {
        Pass::Done(outcome) => Ok(Outcome::Done(outcome)),
        Pass::Escalate => Ok(Outcome::Task(Paused { fut, round })),
        Pass::Stopped(Stop::InvalidReply(msg)) => Err(ErrorObject::invalid_params(msg)),
        Pass::Stopped(Stop::Fault(msg)) => Ok(Outcome::Done(Err(ToolError::failed(msg)))),
        Pass::NeedsInput => {
            payload.r += 1;
            if payload.r > env.config.max_rounds {
                let msg = format!(
                    "gave up after {} rounds of input requests",
                    env.config.max_rounds
                );
                return Ok(Outcome::Done(Err(ToolError::failed(msg))));
            }
            input_required(env, &mut payload, &round).map(Outcome::InputRequired)
        }
    }
}

/// Folds the client's replies into the state: only for keys we asked, each parsed as the
/// result of the request it answers; other keys are ignored.
fn absorb(state: &mut Payload, responses: Option<&InputResponses>) -> Result<(), ErrorObject> {
    let Some(responses) = responses else {
        return Ok(());
    };
    for (key, (d, method)) in std::mem::take(&mut state.q) {
        match responses.get(&key) {
            Some(v) => {
                let kind = InputKind::of_method(&method).ok_or_else(|| {
                    ErrorObject::invalid_params(format!(
                        "requestState has a request of unknown method {method:?}"
                    ))
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
                state.q.insert(key, (d, method));
            }
        }
    }
    Ok(())
}

enum Pass<R> {
    Done(R),
    NeedsInput,
    Stopped(Stop),
    /// The handler asked to go on as a task.
    Escalate,
}

/// Polls the handler until it finishes, is waiting with at least one input request that
/// has no reply yet, is waiting after a [`Stop`], or asked to go on as a task. Requests
/// started together (`join!`, `join_all`) are polled in the same pass and so go out in the
/// same round.
async fn run_until_input_needed<F: Future + Unpin + ?Sized>(
    fut: &mut F,
    round: &Round,
) -> Pass<F::Output> {
    let mut fut = Pin::new(fut);
    std::future::poll_fn(|cx| {
        *round.runner.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        match fut.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(Pass::Done(r)),
            Poll::Pending => match round.stop() {
                Some(stop) => Poll::Ready(Pass::Stopped(stop)),
                // Input asked together with the task goes out first (in this call's
                // round); the replay asks for the task again.
                None if round.has_new_requests() => Poll::Ready(Pass::NeedsInput),
                None if round.wants_task() => Poll::Ready(Pass::Escalate),
                None => Poll::Pending,
            },
        }
    })
    .await
}

fn input_required(env: &Env, payload: &mut Payload, round: &Round) -> Result<Value, ErrorObject> {
    let mut requests = BTreeMap::new();
    payload.q.clear();
    for (key, known) in round.take_direct() {
        payload.k.insert(key, known);
    }
    for a in round.take_asked() {
        payload
            .q
            .insert(a.key.clone(), (a.digest, a.kind.method().into()));
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
        request_state: Some(payload.seal(&env.key)),
    };
    to_value(r)
}
