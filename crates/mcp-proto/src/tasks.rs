//! The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663, 2026-07-28 era): a
//! server may answer a `tools/call` with a task handle (`resultType: "task"`) instead of the
//! result, and the client polls `tasks/get` until the task is terminal, answers the task's
//! input requests with `tasks/update`, and may stop it with `tasks/cancel`.
//!
//! Negotiation is per request: the client lists the extension in the request's
//! `clientCapabilities.extensions`, the server in `server/discover`'s capabilities. Without
//! it a server never answers with a task, and refuses the `tasks/*` methods with `-32021`.
//! A tool says whether it runs as a task in `execution.taskSupport` (`forbidden`, the
//! default; `optional`; `required`).

use crate::capabilities::{ClientCapabilities, ServerCapabilities};
use crate::jsonrpc::ErrorObject;
use crate::mrtr::{InputRequest, InputResponses};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The extension's identifier (a key of `capabilities.extensions`).
pub const EXTENSION_ID: &str = "io.modelcontextprotocol/tasks";

/// `resultType` of a [`CreateTaskResult`].
pub const TASK: &str = "task";

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for the answers to its `inputRequests`.
    InputRequired,
    /// Finished with a result (a tool result with `isError` too).
    Completed,
    /// Stopped on request.
    Cancelled,
    /// Ended with a JSON-RPC error.
    Failed,
}

impl TaskStatus {
    /// Whether the task can no longer change.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Cancelled | TaskStatus::Failed
        )
    }

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Working => "working",
            TaskStatus::InputRequired => "input_required",
            TaskStatus::Completed => "completed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Failed => "failed",
        }
    }
}

/// A task's metadata (the fields every task shape has).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// The server's identifier (unguessable).
    pub task_id: String,
    /// Where it is.
    pub status: TaskStatus,
    /// A human-readable word on the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// ISO 8601 creation time.
    pub created_at: String,
    /// ISO 8601 time of the last change.
    pub last_updated_at: String,
    /// How long after its creation the server keeps it, in milliseconds (`null`: no limit).
    /// Always sent.
    pub ttl_ms: Option<u64>,
    /// How often to poll, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_ms: Option<u64>,
}

/// The answer to a task-supporting request when the server made a task of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskResult {
    /// Always [`TASK`].
    pub result_type: String,
    /// The task, flat (no wrapper).
    #[serde(flatten)]
    pub task: Task,
    /// Result metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// A task with what its status carries: `inputRequests` (input required), `result`
/// (completed), `error` (failed). The result of `tasks/get`, and the params of
/// `notifications/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailedTask {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// The requests still unanswered, by key (`input_required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<BTreeMap<String, InputRequest>>,
    /// The request's result (`completed`), e.g. a `CallToolResult`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The JSON-RPC error that ended it (`failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// `complete` on a `tasks/get` result; absent on a notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Params of `tasks/get` and `tasks/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskIdParams {
    /// The task.
    pub task_id: String,
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Params of `tasks/update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskParams {
    /// The task.
    pub task_id: String,
    /// Answers to the task's `inputRequests`, by their keys.
    pub input_responses: InputResponses,
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Whether a tool may, or must, run as a task (`execution.taskSupport` of a tool).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskSupport {
    /// Never a task (the default).
    #[default]
    Forbidden,
    /// A task for clients that negotiated the extension, a plain call for others.
    Optional,
    /// Only as a task: clients without the extension get `-32021`.
    Required,
}

/// The `execution` member of a tool definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolExecution {
    /// Task support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_support: Option<TaskSupport>,
}

impl ToolExecution {
    /// The `execution` of a tool definition (as JSON); `forbidden` when absent or unknown.
    pub fn task_support_of(tool: &Value) -> TaskSupport {
        tool.get("execution")
            .and_then(|e| e.get("taskSupport"))
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .unwrap_or_default()
    }
}

/// Whether the client declared the extension in these (per-request) capabilities.
pub fn client_declares(caps: &ClientCapabilities) -> bool {
    caps.extensions
        .as_ref()
        .is_some_and(|e| e.contains_key(EXTENSION_ID))
}

/// Whether the server declared the extension.
pub fn server_declares(caps: &ServerCapabilities) -> bool {
    caps.extensions
        .as_ref()
        .is_some_and(|e| e.contains_key(EXTENSION_ID))
}

/// Adds the extension (no settings) to `extensions`.
pub fn declare(extensions: &mut Option<Map<String, Value>>) {
    extensions
        .get_or_insert_with(Map::new)
        .insert(EXTENSION_ID.into(), json!({}));
}

/// The `-32021` error for a request that needs the extension; `why` finishes the message.
pub fn missing_extension(why: &str) -> ErrorObject {
    crate::lifecycle::missing_capability(json!({"extensions": {EXTENSION_ID: {}}}), why)
}

/// `t` as an RFC 3339 (ISO 8601) UTC timestamp with milliseconds, as `createdAt` and
/// `lastUpdatedAt` carry it (`2026-12-07T10:00:00.000Z`). Times before 1970 read as 1970.
pub fn timestamp(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (the well-known
/// days-to-civil conversion over 400-year eras).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Whether a modern result is a task handle.
pub fn is_task_result(result: &Value) -> bool {
    crate::mrtr::result_type(result) == TASK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        Task {
            task_id: "t1".into(),
            status: TaskStatus::Working,
            status_message: None,
            created_at: "2026-12-07T10:00:00Z".into(),
            last_updated_at: "2026-12-07T10:00:00Z".into(),
            ttl_ms: None,
            poll_interval_ms: Some(500),
        }
    }

    #[test]
    fn create_result_is_flat_and_always_has_ttl() {
        let v = serde_json::to_value(CreateTaskResult {
            result_type: TASK.into(),
            task: task(),
            meta: None,
        })
        .unwrap();
        assert_eq!(v["resultType"], "task");
        assert_eq!(v["taskId"], "t1");
        assert_eq!(v["status"], "working");
        assert!(v.get("ttlMs").is_some_and(Value::is_null), "{v}");
        assert_eq!(v["pollIntervalMs"], 500);
        assert!(v.get("task").is_none() && v.get("ttl").is_none());
        assert!(is_task_result(&v));
        let back: CreateTaskResult = serde_json::from_value(v).unwrap();
        assert_eq!(back.task, task());
    }

    #[test]
    fn detailed_task_reads_each_status() {
        let v = json!({
            "resultType": "complete", "taskId": "t", "status": "input_required",
            "createdAt": "x", "lastUpdatedAt": "y", "ttlMs": 1000,
            "inputRequests": {"e0": {"method": "elicitation/create", "params": {}}}
        });
        let d: DetailedTask = serde_json::from_value(v).unwrap();
        assert_eq!(d.task.status, TaskStatus::InputRequired);
        assert!(!d.task.status.is_terminal());
        assert_eq!(d.input_requests.unwrap().len(), 1);
        let failed = json!({"taskId": "t", "status": "failed", "createdAt": "x",
            "lastUpdatedAt": "y", "ttlMs": null, "error": {"code": -32603, "message": "m"}});
        let d: DetailedTask = serde_json::from_value(failed).unwrap();
        assert_eq!(d.error.unwrap().code, -32603);
        assert!(d.task.status.is_terminal());
        assert!(
            serde_json::from_value::<DetailedTask>(json!({"taskId": "t", "status": "odd"}))
                .is_err()
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        use std::time::Duration;
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_123); // 2000-02-29
        assert_eq!(timestamp(t), "2000-02-29T00:00:00.123Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_688_000 + 3661); // 2026-12-08
        assert_eq!(timestamp(t), "2026-12-08T01:01:01.000Z");
    }

    #[test]
    fn tool_execution_and_negotiation() {
        let tool = json!({"name": "x", "execution": {"taskSupport": "required"}});
        assert_eq!(ToolExecution::task_support_of(&tool), TaskSupport::Required);
        assert_eq!(
            ToolExecution::task_support_of(&json!({"name": "x"})),
            TaskSupport::Forbidden
        );
        let mut caps = ClientCapabilities::default();
        assert!(!client_declares(&caps));
        declare(&mut caps.extensions);
        assert!(client_declares(&caps));
        let e = missing_extension("this tool runs only as a task");
        assert_eq!(e.code, -32021);
        assert!(e.data.unwrap()["requiredCapabilities"]["extensions"][EXTENSION_ID].is_object());
        let p: UpdateTaskParams =
            serde_json::from_value(json!({"taskId": "t", "inputResponses": {"a": {}}})).unwrap();
        assert_eq!(p.input_responses.len(), 1);
        assert!(serde_json::from_value::<UpdateTaskParams>(json!({"taskId": "t"})).is_err());
    }
}
