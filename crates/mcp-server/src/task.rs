//! The tasks extension (`io.modelcontextprotocol/tasks`) on the server: the tasks a
//! server keeps, and `tasks/get`, `tasks/update`, `tasks/cancel`.
//!
//! A task is a tool handler running on in its own tokio task after the call was answered
//! with a task handle. Its input requests (`ctx.sample`, `ctx.elicit`, `ctx.list_roots`) wait
//! in the task, listed by `tasks/get` under `inputRequests` (status `input_required`), until
//! `tasks/update` brings their replies; the handler is not replayed. `tasks/cancel` aborts the
//! handler's future (dropping it, and whatever it awaited). Tasks live in the process that
//! made them, at most [`ServerConfig::max_tasks`](crate::ServerConfig::max_tasks) of them,
//! each until its TTL from creation ([`ServerConfig::task_ttl`](crate::ServerConfig::task_ttl))
//! has passed (then it is stopped and forgotten).

use crate::config::Env;
use crate::error::{call_outcome, ToolError};
use crate::modern::Paused;
use crate::round::{InputKind, LiveInputs};
use mcp_proto::mrtr::{InputRequest, InputResponses};
use mcp_proto::tasks::{self, CreateTaskResult, DetailedTask, Task, TaskStatus};
use mcp_proto::tools::CallToolResult;
use mcp_proto::ErrorObject;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, oneshot};
use tokio::task::{AbortHandle, JoinError};
use tracing::Instrument;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The tasks of a server (shared by its connections).
pub(crate) struct Tasks {
    map: Mutex<HashMap<String, Arc<Entry>>>,
    /// The id of each task whose status (or input requests) changed, for listeners.
    changes: broadcast::Sender<Arc<str>>,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            map: Mutex::default(),
            changes: broadcast::channel(CHANGES).0,
        }
    }
}

/// How many changes a slow listener may fall behind before it reads every task again.
const CHANGES: usize = 256;

/// One task.
struct Entry {
    id: String,
    created: SystemTime,
    ttl: Duration,
    poll: Duration,
    env: Arc<Env>,
    state: Mutex<State>,
    /// The handler's tokio task, aborted by `tasks/cancel` and on expiry.
    abort: Mutex<Option<AbortHandle>>,
    changes: broadcast::Sender<Arc<str>>,
}

struct State {
    status: TaskStatus,
    message: Option<String>,
    updated: SystemTime,
    result: Option<Value>,
    error: Option<ErrorObject>,
    /// Input requests without a reply, by key.
    pending: BTreeMap<String, Pending>,
}

struct Pending {
    kind: InputKind,
    params: Value,
    reply: oneshot::Sender<Value>,
}

impl Entry {
    fn expired(&self, now: SystemTime) -> bool {
        now.duration_since(self.created)
            .is_ok_and(|age| age >= self.ttl)
    }

    fn stop(&self) {
        if let Some(h) = lock(&self.abort).take() {
            h.abort();
        }
    }

    fn task(&self, state: &State) -> Task {
        Task {
            task_id: self.id.clone(),
            status: state.status,
            status_message: state.message.clone(),
            created_at: tasks::timestamp(self.created),
            last_updated_at: tasks::timestamp(state.updated),
            ttl_ms: Some(millis(self.ttl)),
            poll_interval_ms: Some(millis(self.poll).max(1)),
        }
    }

    fn detailed(&self) -> DetailedTask {
        let state = lock(&self.state);
        let input_requests = (state.status == TaskStatus::InputRequired).then(|| {
            let requests = state.pending.iter().map(|(k, p)| {
                let r = InputRequest {
                    method: p.kind.method().into(),
                    params: Some(p.params.clone()),
                };
                (k.clone(), r)
            });
            requests.collect()
        });
        DetailedTask {
            task: self.task(&state),
            input_requests,
            result: state.result.clone(),
            error: state.error.clone(),
            result_type: Some(mcp_proto::mrtr::COMPLETE.into()),
            meta: None,
        }
    }

    /// Moves to `status` unless the task is already terminal (the first end wins).
    fn settle(&self, status: TaskStatus, message: Option<String>, outcome: Outcome) {
        let mut state = lock(&self.state);
        if state.status.is_terminal() {
            return;
        }
        state.status = status;
        state.message = message;
        state.updated = self.env.config.clock.now();
        state.pending.clear();
        match outcome {
            Outcome::Result(v) => state.result = Some(v),
            Outcome::Error(e) => state.error = Some(e),
            Outcome::Nothing => {}
        }
        drop(state);
        self.changed();
    }

    /// Tells listeners that this task changed.
    fn changed(&self) {
        let _ = self.changes.send(Arc::from(self.id.as_str()));
    }

    /// The handler's end: its result (a tool error too) completes the task; a JSON-RPC
    /// error, or a panic, fails it.
    fn finish(&self, joined: Result<Result<CallToolResult, ToolError>, JoinError>) {
        match joined.map(|outcome| call_outcome(outcome, true)) {
            Ok(Ok(result)) => match serde_json::to_value(result) {
                Ok(v) => self.settle(TaskStatus::Completed, None, Outcome::Result(v)),
                Err(e) => self.fail(ErrorObject::internal(format!(
                    "the tool's result could not be encoded: {e}"
                ))),
            },
            Ok(Err(e)) => self.fail(e),
            Err(e) if e.is_cancelled() => self.settle(
                TaskStatus::Cancelled,
                Some("The task was cancelled.".into()),
                Outcome::Nothing,
            ),
            Err(_) => self.fail(ErrorObject::internal("the tool panicked")),
        }
    }

    fn fail(&self, e: ErrorObject) {
        let message = Some(e.message.clone());
        self.settle(TaskStatus::Failed, message, Outcome::Error(e));
    }

    /// A handler's input request: listed until `tasks/update` answers it.
    fn ask(&self, key: String, kind: InputKind, params: Value) -> oneshot::Receiver<Value> {
        let (tx, rx) = oneshot::channel();
        let mut state = lock(&self.state);
        if !state.status.is_terminal() {
            state.pending.insert(
                key,
                Pending {
                    kind,
                    params,
                    reply: tx,
                },
            );
            state.status = TaskStatus::InputRequired;
            state.message = None;
            state.updated = self.env.config.clock.now();
            drop(state);
            self.changed();
        }
        rx
    }
}

enum Outcome {
    Result(Value),
    Error(ErrorObject),
    Nothing,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// 128 random bits as 32 hex digits (task ids are bearer tokens: unguessable).
fn new_id() -> Result<String, ErrorObject> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| ErrorObject::internal(format!("no randomness for a task id: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn unknown(id: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "Failed to retrieve task: no task {id:?} on this server"
    ))
}

impl Tasks {
    /// Makes a task of a paused handler and starts it; the result is the call's answer.
    /// A full table (every task still running) is a `-32603` error.
    pub(crate) fn create(
        &self,
        env: &Arc<Env>,
        paused: Paused<CallToolResult>,
    ) -> Result<CreateTaskResult, ErrorObject> {
        let now = env.config.clock.now();
        let entry = Arc::new(Entry {
            id: new_id()?,
            created: now,
            ttl: env.config.task_ttl,
            poll: env.config.task_poll_interval,
            env: env.clone(),
            state: Mutex::new(State {
                status: TaskStatus::Working,
                message: None,
                updated: now,
                result: None,
                error: None,
                pending: BTreeMap::new(),
            }),
            abort: Mutex::new(None),
            changes: self.changes.clone(),
        });
        self.make_room(now, env.config.max_tasks)?;
        let weak: Weak<Entry> = Arc::downgrade(&entry);
        let inputs: LiveInputs = Arc::new(move |key, kind, params| match weak.upgrade() {
            Some(e) => e.ask(key, kind, params),
            // The task is gone: the reply never comes (the future is being dropped).
            None => oneshot::channel().1,
        });
        paused.round.go_live(inputs);
        // The call's span (its trace) goes on with the work.
        let handler = tokio::spawn(paused.fut.instrument(tracing::Span::current()));
        let abort = handler.abort_handle();
        *lock(&entry.abort) = Some(abort.clone());
        let driver = entry.clone();
        tokio::spawn(async move {
            // Work still running when the task's TTL has passed is stopped, polled or not.
            match tokio::time::timeout(driver.ttl, handler).await {
                Ok(joined) => driver.finish(joined),
                Err(_) => {
                    abort.abort();
                    driver.fail(ErrorObject::internal(
                        "the task was still running when its ttlMs passed, and was stopped",
                    ));
                }
            }
        });
        let task = entry.task(&lock(&entry.state));
        lock(&self.map).insert(entry.id.clone(), entry);
        Ok(CreateTaskResult {
            result_type: tasks::TASK.into(),
            task,
            meta: None,
        })
    }

    /// Forgets expired tasks (stopping them); then, when the table is full, the oldest
    /// terminal one. Every task still running: an error.
    fn make_room(&self, now: SystemTime, max: usize) -> Result<(), ErrorObject> {
        let mut map = lock(&self.map);
        map.retain(|_, e| {
            let keep = !e.expired(now);
            if !keep {
                e.stop();
            }
            keep
        });
        if map.len() < max {
            return Ok(());
        }
        let oldest_done = map
            .values()
            .filter(|e| lock(&e.state).status.is_terminal())
            .min_by_key(|e| e.created)
            .map(|e| e.id.clone());
        match oldest_done {
            Some(id) => {
                map.remove(&id);
                Ok(())
            }
            None => Err(ErrorObject::internal(format!(
                "this server already runs {max} tasks, its most; try again when one has ended"
            ))),
        }
    }

    /// The task `id`, unless unknown or expired (`-32602`; an expired one is stopped and
    /// forgotten).
    fn find(&self, id: &str, now: SystemTime) -> Result<Arc<Entry>, ErrorObject> {
        let mut map = lock(&self.map);
        let entry = map.get(id).cloned().ok_or_else(|| unknown(id))?;
        if entry.expired(now) {
            map.remove(id);
            entry.stop();
            return Err(ErrorObject::invalid_params(format!(
                "Failed to retrieve task: task {id:?} has expired (its ttlMs has passed)"
            )));
        }
        Ok(entry)
    }

    /// Listens for changes of tasks (their ids).
    pub(crate) fn changes(&self) -> broadcast::Receiver<Arc<str>> {
        self.changes.subscribe()
    }

    /// `tasks/get`.
    pub(crate) fn get(&self, id: &str, now: SystemTime) -> Result<DetailedTask, ErrorObject> {
        Ok(self.find(id, now)?.detailed())
    }

    /// `tasks/update`: each reply to a pending request goes to the handler; replies to keys
    /// not pending (never asked, already answered) are ignored, as the extension says. A
    /// reply that is not a valid result of its request is refused (`-32602`, nothing
    /// delivered).
    pub(crate) fn update(
        &self,
        id: &str,
        responses: InputResponses,
        now: SystemTime,
    ) -> Result<(), ErrorObject> {
        let entry = self.find(id, now)?;
        let mut state = lock(&entry.state);
        for (key, reply) in &responses {
            if let Some(p) = state.pending.get(key) {
                p.kind.check_reply(reply).map_err(|e| {
                    ErrorObject::invalid_params(format!(
                        "inputResponses[{key:?}] is not a valid {} result ({}): {e}",
                        p.kind.noun(),
                        p.kind.method()
                    ))
                })?;
            }
        }
        let mut delivered = false;
        for (key, reply) in responses {
            if let Some(p) = state.pending.remove(&key) {
                delivered |= p.reply.send(reply).is_ok();
            }
        }
        if delivered {
            if state.status == TaskStatus::InputRequired && state.pending.is_empty() {
                state.status = TaskStatus::Working;
                state.updated = now;
            }
            drop(state);
            entry.changed();
        }
        Ok(())
    }

    /// `tasks/cancel`: stops the handler (its future is dropped) and marks the task
    /// cancelled; a terminal task stays as it is (the same empty answer).
    pub(crate) fn cancel(&self, id: &str, now: SystemTime) -> Result<(), ErrorObject> {
        let entry = self.find(id, now)?;
        entry.stop();
        entry.settle(
            TaskStatus::Cancelled,
            Some("The task was cancelled by the client.".into()),
            Outcome::Nothing,
        );
        Ok(())
    }
}
