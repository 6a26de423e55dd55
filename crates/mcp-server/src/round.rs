//! One pass of a modern handler: the replies known from earlier rounds, and the input
//! requests (sampling, elicitation, roots) it asked anew.
//!
//! Every input request of a call takes the next number of one sequence; its key is that
//! number behind a letter naming its kind (`s0`, `e1`, `r2`), so a reply is parsed as the
//! right type, and a replayed request is matched by key and by a digest of its method and
//! params.

use crate::state::digest;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

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
            InputKind::Sampling => mcp_proto::sampling::METHOD,
            InputKind::Elicitation => mcp_proto::elicitation::METHOD,
            InputKind::Roots => mcp_proto::roots::METHOD,
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

    /// The kind of the request a key was given to.
    pub(crate) fn of_key(key: &str) -> Option<InputKind> {
        match key.chars().next()? {
            's' => Some(InputKind::Sampling),
            'e' => Some(InputKind::Elicitation),
            'r' => Some(InputKind::Roots),
            _ => None,
        }
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

/// A reply known for a key: the digest of the request it answered, and the reply.
pub(crate) type Known = (String, Value);

/// One pass of a modern handler.
#[derive(Default)]
pub(crate) struct Round {
    known: HashMap<String, Known>,
    asked: Mutex<Vec<Asked>>,
    seq: AtomicU32,
    /// Wakes the runner when a request is asked from a task it does not poll itself.
    pub runner: Mutex<Option<std::task::Waker>>,
    /// Replies the server produced itself in this pass (its direct model), kept in
    /// `requestState` so a replay gets the same reply.
    direct: Mutex<Vec<(String, Known)>>,
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
    pub(crate) fn new(known: HashMap<String, Known>) -> Round {
        Round {
            known,
            ..Default::default()
        }
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

    /// The key and digest of the next input request of this pass, and the reply recorded
    /// for it in an earlier round if the request is the same. More than `limit` requests
    /// in one call is an error (its message).
    pub(crate) fn claim(
        &self,
        kind: InputKind,
        params: &Value,
        limit: u32,
    ) -> Result<Claim, String> {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        if n >= limit {
            return Err(format!(
                "more than {limit} input requests (sampling, elicitation, roots) in one call"
            ));
        }
        let key = format!("{}{n}", kind.prefix());
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
    pub(crate) async fn ask(
        &self,
        kind: InputKind,
        params: Value,
        limit: u32,
    ) -> Result<Value, String> {
        let claim = self.claim(kind, &params, limit)?;
        if let Some(reply) = claim.known {
            return Ok(reply);
        }
        lock(&self.asked).push(Asked {
            key: claim.key,
            digest: claim.digest,
            kind,
            params,
        });
        if let Some(w) = lock(&self.runner).take() {
            w.wake();
        }
        std::future::pending().await
    }
}
