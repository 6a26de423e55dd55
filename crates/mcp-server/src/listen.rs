//! `subscriptions/listen` on a server with task tools: the status of the tasks the client
//! names in `notifications.taskIds` (the tasks extension's `notifications/tasks`). The
//! stream starts with the acknowledgement (the tasks it will follow: those it knows), sends
//! each followed task's state at once and again whenever it changes (the same shape as
//! `tasks/get`), and ends with an empty result once every followed task has ended (or was
//! forgotten). Other kinds of notification are not offered (this server's lists do not
//! change), so a stream that follows no task ends right after its acknowledgement.

use crate::config::Env;
use crate::task::Tasks;
use crate::wire::{parse, to_value};
use mcp_proto::methods::{Notification as _, SubscriptionsAcknowledged, TaskStatusChanged};
use mcp_proto::subscriptions::{
    self as subs, AcknowledgedParams, ListenParams, SubscriptionFilter,
};
use mcp_proto::{ClientCapabilities, ErrorObject, RequestId};
use mcp_rpc::Peer;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokio::sync::broadcast::error::RecvError;

/// The most tasks one stream follows.
pub(crate) const MAX_TASK_IDS: usize = 256;

/// Serves one `subscriptions/listen` request until its tasks have ended.
pub(crate) async fn serve(
    tasks: &Tasks,
    env: &Env,
    caps: &ClientCapabilities,
    params: Option<Value>,
    id: RequestId,
    peer: Peer,
) -> Result<Value, ErrorObject> {
    let wanted = requested(caps, params)?;
    let mut changes = tasks.changes();
    let now = env.config.clock.now();
    let mut followed: BTreeMap<String, Option<Value>> = wanted
        .into_iter()
        .filter(|t| tasks.get(t, now).is_ok())
        .map(|t| (t, None))
        .collect();
    let stream = Stream {
        tasks,
        env,
        id,
        peer,
    };
    let agreed = SubscriptionFilter {
        task_ids: (!followed.is_empty()).then(|| followed.keys().cloned().collect()),
        ..Default::default()
    };
    let mut ack = to_value(AcknowledgedParams {
        notifications: agreed,
        meta: None,
    })?;
    subs::tag(&mut ack, stream.id.to_value());
    if !stream.send(SubscriptionsAcknowledged::METHOD, ack) {
        return Ok(stream.end());
    }
    stream.update_all(&mut followed);
    while !followed.is_empty() {
        match changes.recv().await {
            Ok(t) => stream.update(&mut followed, &t),
            Err(RecvError::Lagged(_)) => stream.update_all(&mut followed),
            Err(RecvError::Closed) => break,
        }
    }
    Ok(stream.end())
}

/// The task ids a listen request names, checked.
fn requested(caps: &ClientCapabilities, params: Option<Value>) -> Result<Vec<String>, ErrorObject> {
    let p: ListenParams = parse(params)?;
    let wanted = p.notifications.task_ids.unwrap_or_default();
    if !wanted.is_empty() && !mcp_proto::tasks::client_declares(caps) {
        return Err(mcp_proto::tasks::missing_extension(
            "task status notifications (notifications.taskIds) need the tasks extension declared in the request's clientCapabilities",
        ));
    }
    if wanted.len() > MAX_TASK_IDS {
        return Err(ErrorObject::invalid_params(format!(
            "notifications.taskIds names {} tasks; one stream follows at most {MAX_TASK_IDS}",
            wanted.len()
        )));
    }
    Ok(wanted)
}

struct Stream<'a> {
    tasks: &'a Tasks,
    env: &'a Env,
    id: RequestId,
    peer: Peer,
}

impl Stream<'_> {
    /// Sends a notification on this stream; false once the client is gone.
    fn send(&self, method: &str, params: Value) -> bool {
        self.peer
            .notify_related(method, Some(params), Some(&self.id))
            .is_ok()
    }

    /// Sends task `t`'s state if it is followed and changed since the last one sent; stops
    /// following it once it has ended, or is gone.
    fn update(&self, followed: &mut BTreeMap<String, Option<Value>>, t: &str) {
        let Some(last) = followed.get_mut(t) else {
            return;
        };
        let now = self.env.config.clock.now();
        let Ok(mut task) = self.tasks.get(t, now) else {
            followed.remove(t);
            return;
        };
        task.result_type = None;
        let ended = task.task.status.is_terminal();
        let Ok(mut v) = to_value(task) else {
            return;
        };
        subs::tag(&mut v, self.id.to_value());
        if last.as_ref() != Some(&v) {
            *last = Some(v.clone());
            if !self.send(TaskStatusChanged::METHOD, v) {
                followed.clear();
                return;
            }
        }
        if ended {
            followed.remove(t);
        }
    }

    /// [`Stream::update`] for every followed task.
    fn update_all(&self, followed: &mut BTreeMap<String, Option<Value>>) {
        let ids: Vec<String> = followed.keys().cloned().collect();
        for t in ids {
            self.update(followed, &t);
        }
    }

    /// The stream's closing result.
    fn end(&self) -> Value {
        json!({"_meta": {subs::META_SUBSCRIPTION_ID: self.id.to_value()}})
    }
}
