//! Following a task (the tasks extension, `io.modelcontextprotocol/tasks`): a tool call
//! answered with a task handle is polled with `tasks/get` until the task ends, at the
//! server's `pollIntervalMs` (kept within [`ClientOptions::task_poll_bounds`]); its input
//! requests are answered by the client's handlers (the same as for an `input_required`
//! round) and sent back with `tasks/update`, each key once. The call's result is the
//! task's; a failed task is the server's JSON-RPC error. Dropping the call (cancelled, or
//! out of time) sends `tasks/cancel`.
//!
//! [`ClientOptions::task_poll_bounds`]: crate::ClientOptions::task_poll_bounds

use super::{lock, Client};
use crate::error::ClientError;
use mcp_proto::handler::ToolCall;
use mcp_proto::methods::{CancelTask, GetTask, Request as _, UpdateTask};
use mcp_proto::tasks::{CreateTaskResult, DetailedTask, TaskStatus};
use mcp_rpc::{Peer, RequestOptions, RpcError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Sends `tasks/cancel` when dropped, unless the task ended.
struct CancelOnDrop {
    peer: Peer,
    /// The params of `tasks/cancel` (with the request's `_meta`); taken once the task ended.
    params: Mutex<Option<Value>>,
}

impl CancelOnDrop {
    fn disarm(&self) {
        lock(&self.params).take();
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(params) = lock(&self.params).take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let peer = self.peer.clone();
        rt.spawn(async move {
            let opts = RequestOptions {
                timeout: Some(Duration::from_secs(30)),
                ..Default::default()
            };
            if let Err(e) = peer.request(CancelTask::METHOD, Some(params), opts).await {
                tracing::debug!("tasks/cancel for a dropped call failed: {e}");
            }
        });
    }
}

impl Client {
    /// The params of a `tasks/*` request about `task_id`, with our `_meta`.
    fn task_params(&self, task_id: &str, extra: Option<(&str, Value)>) -> Value {
        let mut p = json!({"taskId": task_id, "_meta": self.meta()});
        if let (Some((k, v)), Some(obj)) = (extra, p.as_object_mut()) {
            obj.insert(k.into(), v);
        }
        p
    }

    /// Follows the task `created` (a `CreateTaskResult`) to its end; returns the result of
    /// the call it stands for.
    pub(super) async fn follow_task(
        &self,
        created: Value,
        call: &ToolCall,
    ) -> Result<Value, ClientError> {
        let created: CreateTaskResult = serde_json::from_value(created)
            .map_err(|e| ClientError::Protocol(format!("malformed task handle: {e}")))?;
        let id = created.task.task_id;
        let guard = CancelOnDrop {
            peer: self.peer.clone(),
            params: Mutex::new(Some(self.task_params(&id, None))),
        };
        let deadline = Instant::now() + self.opts.call_timeout;
        let mut interval = created.task.poll_interval_ms;
        let mut answered: HashSet<String> = HashSet::new();
        let mut wait = true;
        loop {
            if wait {
                let pause = self.poll_pause(interval);
                if Instant::now() + pause > deadline {
                    // `guard` cancels the task.
                    return Err(ClientError::Task {
                        task_id: id,
                        why: format!(
                            "still running after the call's {:?}; cancelled",
                            self.opts.call_timeout
                        ),
                    });
                }
                tokio::time::sleep(pause).await;
            }
            let task = self.get_task(&id).await?;
            interval = task.task.poll_interval_ms.or(interval);
            wait = true;
            match task.task.status {
                TaskStatus::Working => {}
                TaskStatus::InputRequired => {
                    let mut asked = task.input_requests.unwrap_or_default();
                    asked.retain(|k, _| !answered.contains(k));
                    if asked.is_empty() {
                        continue;
                    }
                    answered.extend(asked.keys().cloned());
                    let replies = self.fulfil(call, asked).await?;
                    self.update_task(&id, replies).await?;
                    wait = false;
                }
                _ => {
                    guard.disarm();
                    return ended(&id, task);
                }
            }
        }
    }

    /// The wait before the next poll: the server's interval (or ours) within bounds.
    fn poll_pause(&self, server_ms: Option<u64>) -> Duration {
        let (min, max) = self.opts.task_poll_bounds;
        server_ms
            .map(Duration::from_millis)
            .unwrap_or(self.opts.task_poll_interval)
            .clamp(min, max.max(min))
    }

    async fn get_task(&self, id: &str) -> Result<DetailedTask, ClientError> {
        let v = self
            .send(
                GetTask::METHOD,
                Some(self.task_params(id, None)),
                None,
                mcp_rpc::Hints::new(),
            )
            .await?;
        let task: DetailedTask = serde_json::from_value(v).map_err(|e| {
            ClientError::Protocol(format!("malformed {} result: {e}", GetTask::METHOD))
        })?;
        if task.task.task_id != id {
            return Err(ClientError::Protocol(format!(
                "{} for task {id} answered about task {}",
                GetTask::METHOD,
                task.task.task_id
            )));
        }
        Ok(task)
    }

    async fn update_task(
        &self,
        id: &str,
        replies: BTreeMap<String, Value>,
    ) -> Result<(), ClientError> {
        let params = self.task_params(id, Some(("inputResponses", json!(replies))));
        self.send(
            UpdateTask::METHOD,
            Some(params),
            None,
            mcp_rpc::Hints::new(),
        )
        .await?;
        Ok(())
    }
}

/// The outcome of a call whose task has ended: its result, the server's error, or that it
/// was cancelled.
fn ended(id: &str, task: DetailedTask) -> Result<Value, ClientError> {
    match task.task.status {
        TaskStatus::Completed => task
            .result
            .ok_or_else(|| ClientError::Protocol(format!("task {id} completed without a result"))),
        TaskStatus::Failed => {
            let e = task.error.ok_or_else(|| {
                ClientError::Protocol(format!("task {id} failed without an error"))
            })?;
            Err(ClientError::Rpc(RpcError::Remote(e)))
        }
        status => Err(ClientError::Task {
            task_id: id.to_owned(),
            why: task
                .task
                .status_message
                .unwrap_or_else(|| status.as_str().into()),
        }),
    }
}
