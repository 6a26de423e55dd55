//! The fixtures of the tasks extension scenarios (`tasks-*`, SEP-2663,
//! tests/conformance/SCENARIOS.md 3.6): a plain tool (`greet`), tools that run as tasks
//! (`slow_compute`, `failing_job`, `protocol_error_job`), tasks that ask the user
//! (`confirm_delete`, `multi_input`), and one that gathers input in `input_required` rounds
//! before it becomes a task (`test_tool_with_task`).

use mcp_proto::elicitation::{ElicitAction, PropertySchema, PropertyType};
use mcp_proto::ErrorObject;
use mcp_server::{Args, Ctx, Elicitation, ServerBuilder, TaskStart, TaskSupport, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct Name {
    /// Who to greet.
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct Compute {
    /// How long to work, in seconds (0: at once).
    seconds: f64,
    /// A label echoed in the result.
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
struct Filename {
    /// The file to delete.
    filename: String,
}

async fn greet(Args(a): Args<Name>) -> Result<String, ToolError> {
    Ok(format!("Hello, {}!", a.name))
}

/// At most an hour of sleep (a negative or absurd value is refused).
async fn slow_compute(Args(a): Args<Compute>) -> Result<String, ToolError> {
    if !(0.0..=3600.0).contains(&a.seconds) {
        return Err(ToolError::failed("seconds must be between 0 and 3600"));
    }
    tokio::time::sleep(Duration::from_secs_f64(a.seconds)).await;
    let label = a.label.unwrap_or_default();
    Ok(format!("computed {label} after {}s", a.seconds))
}

async fn failing_job(_: Args<NoArgs>) -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(ToolError::failed(
        "the job failed (as this fixture always does)",
    ))
}

async fn protocol_error_job(_: Args<NoArgs>) -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    Err(ToolError::Protocol(ErrorObject::internal(
        "the job hit an internal error (as this fixture always does)",
    )))
}

fn boolean() -> PropertySchema {
    PropertySchema::of(PropertyType::Boolean)
}

fn accepted_true(r: &mcp_proto::ElicitResult, field: &str) -> bool {
    r.action == ElicitAction::Accept
        && r.content
            .as_ref()
            .and_then(|c| c.get(field))
            .and_then(Value::as_bool)
            == Some(true)
}

async fn confirm_delete(Args(a): Args<Filename>, ctx: Ctx) -> Result<String, ToolError> {
    let form = Elicitation::new(format!("Delete {}?", a.filename)).property(
        "confirm",
        boolean().description("Yes, delete it"),
        true,
    );
    let r = ctx.elicit(form).await?;
    Ok(match accepted_true(&r, "confirm") {
        true => format!("Deleted {}", a.filename),
        false => format!("Kept {}", a.filename),
    })
}

/// Two questions at once (two input requests pending together).
async fn multi_input(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let form = |n: u32| {
        Elicitation::new(format!("Question {n}: your name, and do you confirm?"))
            .property("name", PropertySchema::of(PropertyType::String), false)
            .property("confirm", boolean(), false)
    };
    let (a, b) = tokio::join!(ctx.elicit(form(1)), ctx.elicit(form(2)));
    let (a, b) = (a?, b?);
    Ok(format!(
        "confirmed: {} and {}",
        accepted_true(&a, "confirm"),
        accepted_true(&b, "confirm")
    ))
}

/// Asks the user's name in the call's own `input_required` round, then goes on as a task.
async fn tool_with_task(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let form = Elicitation::new("What is your name?")
        .property("name", PropertySchema::of(PropertyType::String), true)
        .key("user_name");
    let r = ctx.elicit(form).await?;
    let name = r
        .content
        .as_ref()
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("stranger")
        .to_owned();
    ctx.run_as_task().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(format!("Hello, {name}! (from a task)"))
}

pub fn register(b: ServerBuilder) -> ServerBuilder {
    use TaskStart::{AtCall, WhenHandlerAsks};
    use TaskSupport::{Optional, Required};
    b.tool("greet", "Greets someone (never a task)", greet)
        .tool(
            "slow_compute",
            "Works for `seconds` seconds (a task for clients that can have one)",
            slow_compute,
        )
        .task_support("slow_compute", Optional, AtCall)
        .tool(
            "failing_job",
            "Fails with a tool error after a second (only as a task)",
            failing_job,
        )
        .task_support("failing_job", Required, AtCall)
        .tool(
            "protocol_error_job",
            "Ends with a JSON-RPC error (a task for clients that can have one)",
            protocol_error_job,
        )
        .task_support("protocol_error_job", Optional, AtCall)
        .tool(
            "confirm_delete",
            "Asks the user to confirm deleting a file (a task)",
            confirm_delete,
        )
        .task_support("confirm_delete", Optional, AtCall)
        .tool(
            "multi_input",
            "Asks the user two questions at once (a task)",
            multi_input,
        )
        .task_support("multi_input", Optional, AtCall)
        .tool(
            "test_tool_with_task",
            "Asks the user's name, then goes on as a task (only as a task)",
            tool_with_task,
        )
        .task_support("test_tool_with_task", Required, WhenHandlerAsks)
}
