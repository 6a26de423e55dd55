//! A modern host's calls whose server asks for input (sampling, a form) that the host is to
//! answer. The bridge cannot send a modern host requests; instead the call is *parked*: it
//! goes on with the server in the background, and the host's `tools/call` (or `prompts/get`)
//! is answered `input_required` with the server's requests and a `requestState` naming the
//! parked call. The host's retry brings the `inputResponses`, which reach the waiting
//! requests, and the call goes on until it completes or asks again. A parked call that the
//! host does not come back to within [`PARK_TIMEOUT`] is dropped (cancelled at the server).

use mcp_proto::handler::ToolCall;
use mcp_proto::mrtr::{InputRequest, InputResponses, INPUT_REQUIRED};
use mcp_proto::{ClientCapabilities, ErrorObject};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a parked call waits for the host to come back with its answers.
pub(crate) const PARK_TIMEOUT: Duration = Duration::from_secs(600);

/// Most calls parked at once; beyond it new ones are refused.
const MAX_PARKED: usize = 256;

/// A request of the server for the host, and where its answer goes.
pub(crate) struct Input {
    pub method: &'static str,
    pub params: Value,
    pub reply: oneshot::Sender<Result<Value, ErrorObject>>,
}

/// One parked call.
struct Call {
    /// Which tool or prompt, with which arguments (to match the server's requests).
    call: ToolCall,
    /// What the host declared for this call.
    caps: ClientCapabilities,
    inputs: mpsc::UnboundedSender<Input>,
    state: tokio::sync::Mutex<Waiting>,
}

/// What a parked call waits on between the host's rounds.
struct Waiting {
    inputs: mpsc::UnboundedReceiver<Input>,
    /// The server's answer to the call, once it comes.
    done: Option<oneshot::Receiver<Result<Value, ErrorObject>>>,
    /// The requests sent to the host, by key, waiting for its answers.
    asked: HashMap<String, oneshot::Sender<Result<Value, ErrorObject>>>,
    /// Cancels the call at the server when the parked call is dropped.
    _task: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The parked calls of one bridge.
#[derive(Default)]
pub(crate) struct Parked {
    calls: Mutex<HashMap<String, Arc<Call>>>,
    next_key: AtomicU64,
}

impl Parked {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Call>>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The parked call a request of the server serves: the one whose tool call it names,
    /// or the only one; `None` when it cannot be told.
    pub(crate) fn route(
        &self,
        tool_call: Option<&ToolCall>,
        able: impl Fn(&ClientCapabilities) -> bool,
    ) -> Option<mpsc::UnboundedSender<Input>> {
        let calls = self.lock();
        let matching: Vec<&Arc<Call>> = match tool_call {
            Some(t) => calls
                .values()
                .filter(|c| c.call.name == t.name && c.call.arguments == t.arguments)
                .collect(),
            None => calls.values().collect(),
        };
        match matching.as_slice() {
            [one] if able(&one.caps) => Some(one.inputs.clone()),
            _ => None,
        }
    }

    /// Parks a new call: `run` is the forwarded call; returns the key to send as the
    /// `requestState`.
    pub(crate) fn park(
        self: &Arc<Self>,
        call: ToolCall,
        caps: ClientCapabilities,
        run: impl std::future::Future<Output = Result<Value, ErrorObject>> + Send + 'static,
    ) -> Result<String, ErrorObject> {
        let mut calls = self.lock();
        if calls.len() >= MAX_PARKED {
            return Err(ErrorObject::internal(format!(
                "too many calls waiting for their host's input (limit {MAX_PARKED}); retry later"
            )));
        }
        let key = new_key()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let _ = done_tx.send(run.await);
        });
        let waiting = Waiting {
            inputs: rx,
            done: Some(done_rx),
            asked: HashMap::new(),
            _task: AbortOnDrop(task.abort_handle()),
        };
        calls.insert(
            key.clone(),
            Arc::new(Call {
                call,
                caps,
                inputs: tx,
                state: tokio::sync::Mutex::new(waiting),
            }),
        );
        drop(calls);
        // Dropped when the host does not come back in time.
        let this = self.clone();
        let k = key.clone();
        tokio::spawn(async move {
            tokio::time::sleep(PARK_TIMEOUT).await;
            if this.lock().remove(&k).is_some() {
                tracing::warn!("a parked call expired: its host did not answer its input requests");
            }
        });
        Ok(key)
    }

    /// Delivers the host's answers to a parked call and waits for what comes next: the
    /// server's answer (the call is done) or more requests for the host.
    pub(crate) async fn resume(
        &self,
        key: &str,
        responses: InputResponses,
    ) -> Result<Value, ErrorObject> {
        let call = self.lock().get(key).cloned().ok_or_else(|| {
            ErrorObject::invalid_params(
                "unknown or expired requestState: call the tool again without it",
            )
        })?;
        let mut waiting = call.state.lock().await;
        for (k, v) in responses {
            match waiting.asked.remove(&k) {
                Some(tx) => {
                    let _ = tx.send(answer(v));
                }
                None => tracing::debug!(key = %k, "an input response nobody waits for"),
            }
        }
        self.next(key, &mut waiting).await
    }

    /// Waits for the parked call's next step (see [`Parked::resume`]).
    pub(crate) async fn first(&self, key: &str) -> Result<Value, ErrorObject> {
        let call = self
            .lock()
            .get(key)
            .cloned()
            .ok_or_else(|| ErrorObject::internal("the parked call is gone"))?;
        let mut waiting = call.state.lock().await;
        self.next(key, &mut waiting).await
    }

    async fn next(&self, key: &str, waiting: &mut Waiting) -> Result<Value, ErrorObject> {
        let Some(mut done) = waiting.done.take() else {
            return Err(ErrorObject::internal("the parked call has ended"));
        };
        tokio::select! {
            outcome = &mut done => {
                self.lock().remove(key);
                outcome.unwrap_or_else(|_| Err(ErrorObject::internal("the bridged call stopped")))
            }
            Some(first) = waiting.inputs.recv() => {
                waiting.done = Some(done);
                let mut requests = Map::new();
                let mut input = Some(first);
                while let Some(i) = input {
                    let k = format!("b{}", self.next_key.fetch_add(1, Ordering::Relaxed));
                    let request = InputRequest {
                        method: i.method.to_string(),
                        params: Some(i.params),
                    };
                    requests.insert(k.clone(), json!(request));
                    waiting.asked.insert(k, i.reply);
                    input = waiting.inputs.try_recv().ok();
                }
                Ok(json!({
                    "resultType": INPUT_REQUIRED,
                    "inputRequests": requests,
                    "requestState": key,
                }))
            }
        }
    }
}

/// An input response: a result, or an error object the host sent instead.
fn answer(v: Value) -> Result<Value, ErrorObject> {
    match serde_json::from_value::<ErrorObject>(v.clone()) {
        Ok(e) if v.get("code").is_some() && v.get("message").is_some() => Err(e),
        _ => Ok(v),
    }
}

/// A random key no host can guess (128 bits).
fn new_key() -> Result<String, ErrorObject> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ErrorObject::internal(format!("no randomness for a request state: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
