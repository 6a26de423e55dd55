//! One pass of a modern handler: the replies known from earlier rounds, and the input
//! requests (sampling, elicitation, roots) it asked anew.
//!
//! Every input request of a call takes the next number of one sequence; its key is that
//! number behind a letter naming its kind (`s0`, `e1`, `r2`), or the name the handler gave
//! it (`Elicitation::key`, ...). A replayed request is matched by key and by a digest of its
//! method and params; the state records each pending key's method, so a reply is parsed as
//! the right type.
//!
//! Replies a client sends without a `requestState` (it may answer a request it knows by
//! name) are *offered*: a request the handler named whose key has one takes it, checked as
//! its kind's result; the others are ignored (numbered keys are internal).

use crate::state::digest;
use mcp_proto::methods::{CreateMessage, Elicit, ListRoots, Request as _};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::oneshot;

/// Where a task's input requests go (see [`Round::go_live`]): the task records the request
/// under its key and returns where its reply will come.
pub(crate) type LiveInputs =
    Arc<dyn Fn(String, InputKind, Value) -> oneshot::Receiver<Value> + Send + Sync>;

/// The kinds of input a handler can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputKind {
    Sampling,
    Elicitation,
    Roots,
}

impl InputKind {
    pub(crate) fn method(self) -> &'static str {
        match self {
            InputKind::Sampling => CreateMessage::METHOD,
            InputKind::Elicitation => Elicit::METHOD,
            InputKind::Roots => ListRoots::METHOD,
        }
    }

    pub(crate) fn noun(self) -> &'static str {
        match self {
            InputKind::Sampling => "sampling",
            InputKind::Elicitation => "elicitation",
            InputKind::Roots => "roots",
        }
    }

    fn prefix(self) -> char {
        match self {
            InputKind::Sampling => 's',
            InputKind::Elicitation => 'e',
            InputKind::Roots => 'r',
        }
    }

    /// The kind of a request method.
    pub(crate) fn of_method(method: &str) -> Option<InputKind> {
        [
            InputKind::Sampling,
            InputKind::Elicitation,
            InputKind::Roots,
        ]
        .into_iter()
        .find(|k| k.method() == method)
    }

    /// Checks that a client's reply parses as this kind's result type.
    pub(crate) fn check_reply(self, v: &Value) -> Result<(), String> {
        use mcp_proto::{CreateMessageResult, ElicitResult, ListRootsResult};
        let r = match self {
            InputKind::Sampling => {
                serde_json::from_value::<CreateMessageResult>(v.clone()).map(drop)
            }
            InputKind::Elicitation => serde_json::from_value::<ElicitResult>(v.clone()).map(drop),
            InputKind::Roots => serde_json::from_value::<ListRootsResult>(v.clone()).map(drop),
        };
        r.map_err(|e| e.to_string())
    }
}

/// The span of an input request (`sampling/createMessage`, ...) a call sends, a child of
/// the call's span: on legacy it lasts until the reply; on modern it marks the request
/// going out in this round's `input_required` (the reply comes with a later round). Its
/// context travels in the request's `_meta` ([`mcp_proto::trace`]).
pub(crate) fn input_span(kind: InputKind, era: &'static str, key: Option<&str>) -> tracing::Span {
    tracing::info_span!(
        "mcp.input_request",
        otel.name = kind.method(),
        otel.kind = "client",
        mcp.method.name = kind.method(),
        mcp.era = era,
        mcp.input.key = key,
    )
}

/// A reply known for a key: the digest of the request it answered, and the reply.
pub(crate) type Known = (String, Value);

/// One pass of a modern handler.
#[derive(Default)]
pub(crate) struct Round {
    known: HashMap<String, Known>,
    /// Replies sent without a `requestState`, by key (see the module docs).
    offered: BTreeMap<String, Value>,
    asked: Mutex<Vec<Asked>>,
    seq: AtomicU32,
    /// The keys claimed in this pass (keys are unique within a call).
    claimed: Mutex<HashSet<String>>,
    /// Wakes the runner when a request is asked from a task it does not poll itself.
    pub runner: Mutex<Option<std::task::Waker>>,
    /// Replies this pass took that are not in the state yet (the server's direct model,
    /// offered replies), kept in `requestState` so a replay gets the same reply.
    direct: Mutex<Vec<(String, Known)>>,
    /// Why this pass cannot go on while the handler waits (see [`Stop`]).
    stop: Mutex<Option<Stop>>,
    /// The handler may go on as a task (its tool supports it, the client declared it).
    task_allowed: AtomicBool,
    /// The handler asked to go on as a task ([`crate::Ctx::run_as_task`]).
    wants_task: AtomicBool,
    /// Set once the handler runs as a task: its input requests then wait for their replies
    /// (delivered by `tasks/update`) instead of ending the pass.
    live: OnceLock<LiveInputs>,
}

/// Why a pass ends although its handler is still waiting.
#[derive(Debug, Clone)]
pub(crate) enum Stop {
    /// An offered reply is not a valid result of its request (the client's error).
    InvalidReply(String),
    /// The handler broke a rule of input requests, e.g. one key twice (a tool error).
    Fault(String),
}

/// A request asked in this pass that has no reply yet.
pub(crate) struct Asked {
    pub key: String,
    pub digest: String,
    pub kind: InputKind,
    pub params: Value,
}

/// The next request's place in the call.
pub(crate) struct Claim {
    pub key: String,
    pub digest: String,
    /// The reply recorded in an earlier round for the same request.
    pub known: Option<Value>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Round {
    pub(crate) fn new(known: HashMap<String, Known>, offered: BTreeMap<String, Value>) -> Round {
        Round {
            known,
            offered,
            ..Default::default()
        }
    }

    /// Why this pass must end, if it must.
    pub(crate) fn stop(&self) -> Option<Stop> {
        lock(&self.stop).clone()
    }

    /// From now on, input requests go to `inputs` and wait for their replies (the handler
    /// runs as a task and is not replayed).
    pub(crate) fn go_live(&self, inputs: LiveInputs) {
        let _ = self.live.set(inputs);
    }

    /// Whether the handler runs as a task.
    pub(crate) fn is_live(&self) -> bool {
        self.live.get().is_some()
    }

    /// Lets the handler go on as a task.
    pub(crate) fn allow_task(&self) {
        self.task_allowed.store(true, Ordering::Relaxed);
    }

    pub(crate) fn task_allowed(&self) -> bool {
        self.task_allowed.load(Ordering::Relaxed)
    }

    /// The handler asks to go on as a task; the runner sees it when the handler is pending.
    pub(crate) fn ask_for_task(&self) {
        self.wants_task.store(true, Ordering::Relaxed);
        self.wake_runner();
    }

    pub(crate) fn wants_task(&self) -> bool {
        self.wants_task.load(Ordering::Relaxed) && !self.is_live()
    }

    pub(crate) fn has_new_requests(&self) -> bool {
        !lock(&self.asked).is_empty()
    }

    pub(crate) fn take_asked(&self) -> Vec<Asked> {
        std::mem::take(&mut *lock(&self.asked))
    }

    pub(crate) fn take_direct(&self) -> Vec<(String, Known)> {
        std::mem::take(&mut *lock(&self.direct))
    }

    pub(crate) fn record_direct(&self, claim: Claim, reply: Value) {
        lock(&self.direct).push((claim.key, (claim.digest, reply)));
    }

    /// The key and digest of the next input request of this pass (`name`, else the next
    /// number behind the kind's letter), and the reply recorded for it in an earlier round
    /// if the request is the same. More than `limit` requests in one call, or a key used
    /// twice, is an error (its message).
    pub(crate) fn claim(
        &self,
        kind: InputKind,
        params: &Value,
        limit: u32,
        name: Option<&str>,
    ) -> Result<Claim, String> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        if n >= limit {
            return Err(format!(
                "more than {limit} input requests (sampling, elicitation, roots) in one call"
            ));
        }
        let key = name.map_or_else(|| format!("{}{n}", kind.prefix()), str::to_owned);
        if !lock(&self.claimed).insert(key.clone()) {
            let msg = format!("two input requests of one call have the key {key:?}");
            *lock(&self.stop) = Some(Stop::Fault(msg.clone()));
            self.wake_runner();
            return Err(msg);
        }
        let d = digest(&json!([kind.method(), params]));
        let known = match self.known.get(&key) {
            Some((known_digest, reply)) if *known_digest == d => Some(reply.clone()),
            Some(_) => {
                tracing::warn!(%key, "a replayed handler asked for a different input request than before; asking again");
                None
            }
            None => None,
        };
        Ok(Claim {
            key,
            digest: d,
            known,
        })
    }

    /// Asks for input: the recorded reply when there is one; otherwise the request is
    /// queued for this round's `input_required` result and the handler waits forever (the
    /// runner ends the pass as soon as the handler is pending).
    ///
    /// An offered reply for the key is taken if it is a valid result of the request's kind;
    /// an invalid one fails the call (the handler waits forever, the runner answers the
    /// error).
    pub(crate) async fn ask(
        &self,
        kind: InputKind,
        params: Value,
        limit: u32,
        name: Option<&str>,
    ) -> Result<Value, String> {
        let claim = self.claim(kind, &params, limit, name)?;
        if let Some(reply) = claim.known {
            return Ok(reply);
        }
        // Only named keys: they are the server's published names; numbered ones are
        // internal, and a reply for them without state answers nothing the client saw.
        let offered = name.and_then(|_| self.offered.get(&claim.key));
        if let Some(reply) = offered {
            match kind.check_reply(reply) {
                Ok(()) => {
                    let reply = reply.clone();
                    self.record_direct(claim, reply.clone());
                    return Ok(reply);
                }
                Err(e) => {
                    *lock(&self.stop) = Some(Stop::InvalidReply(format!(
                        "inputResponses[{:?}] is not a valid {} result ({}): {e}",
                        claim.key,
                        kind.noun(),
                        kind.method()
                    )));
                    self.wake_runner();
                    return std::future::pending().await;
                }
            }
        }
        if let Some(live) = self.live.get() {
            // A task: the request waits in the task until `tasks/update` answers it. A
            // dropped sender means the task ended; its future is being dropped.
            return match live(claim.key, kind, params).await {
                Ok(reply) => Ok(reply),
                Err(_) => std::future::pending().await,
            };
        }
        // The digest is taken: the trace context (new in every round) goes in only now.
        let mut params = params;
        let span = input_span(kind, "modern", Some(&claim.key));
        if let (false, Some(obj)) = (span.is_disabled(), params.as_object_mut()) {
            let mut meta = obj.remove("_meta");
            mcp_proto::trace::inject(&span, &mut meta);
            if let Some(meta) = meta {
                obj.insert("_meta".into(), meta);
            }
        }
        lock(&self.asked).push(Asked {
            key: claim.key,
            digest: claim.digest,
            kind,
            params,
        });
        self.wake_runner();
        std::future::pending().await
    }

    fn wake_runner(&self) {
        if let Some(w) = lock(&self.runner).take() {
            w.wake();
        }
    }
}
