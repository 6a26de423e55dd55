//! The conformance fixtures that ask the client for input besides sampling: elicitation
//! (form mode, on legacy sessions `test_elicitation*`) and the `2026-07-28` multi
//! round-trip ones (`test_input_required_result_*`, `test_streaming_elicitation`, the prompt
//! `test_input_required_result_prompt`), written from tests/conformance/SCENARIOS.md
//! (3.4.13, 3.4.14, 3.4.16, 3.5.1, 3.5.4). The `2026-07-28` requests carry the keys the
//! suite expects (`user_name`, `client_roots`, ...); a client may answer `user_name`
//! without a `requestState`.

use mcp_proto::elicitation::{ElicitResult, PropertySchema, PropertyType};
use mcp_server::{Args, Ctx, Elicitation, Sampling, ServerBuilder, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct MessageArg {
    /// What to ask the user.
    message: String,
}

fn string() -> PropertySchema {
    PropertySchema::of(PropertyType::String)
}

/// `action=accept, content={...}`.
fn describe(r: &ElicitResult) -> String {
    let action = serde_json::to_value(r.action).unwrap_or(Value::Null);
    let action = action.as_str().unwrap_or("?");
    format!("action={action}, content={}", json!(r.content))
}

/// The accepted value of `field` as text ("" otherwise).
fn field(r: &ElicitResult, name: &str) -> String {
    match r.content.as_ref().and_then(|c| c.get(name)) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

async fn elicitation(Args(a): Args<MessageArg>, ctx: Ctx) -> Result<String, ToolError> {
    let form = Elicitation::new(a.message)
        .property("username", string().description("User's response"), true)
        .property("email", string().description("User's email address"), true);
    let r = ctx.elicit(form).await?;
    Ok(format!("User response: {}", describe(&r)))
}

/// A default for each primitive type (SEP-1034).
async fn defaults(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let status = PropertySchema::one_of_values(["active", "inactive", "pending"]);
    let form = Elicitation::new("Please review and update the form fields with defaults")
        .property("name", string().default_value("John Doe"), true)
        .property(
            "age",
            PropertySchema::of(PropertyType::Integer).default_value(30),
            true,
        )
        .property(
            "score",
            PropertySchema::of(PropertyType::Number).default_value(95.5),
            true,
        )
        .property("status", status.default_value("active"), true)
        .property(
            "verified",
            PropertySchema::of(PropertyType::Boolean).default_value(true),
            true,
        );
    let r = ctx.elicit(form).await?;
    Ok(format!("Elicitation completed: {}", describe(&r)))
}

/// The five enum shapes (SEP-1330).
async fn enums(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let options = ["option1", "option2", "option3"];
    let ordinal = ["First", "Second", "Third"];
    let titled = |noun: &str| {
        let t: Vec<(String, String)> = (1..=3)
            .map(|i| (format!("value{i}"), format!("{} {noun}", ordinal[i - 1])))
            .collect();
        t
    };
    let legacy = [
        ("opt1", "Option One"),
        ("opt2", "Option Two"),
        ("opt3", "Option Three"),
    ];
    let form = Elicitation::new("Pick from each kind of list")
        .property(
            "untitledSingle",
            PropertySchema::one_of_values(options),
            false,
        )
        .property(
            "titledSingle",
            PropertySchema::titled_one_of(titled("Option")),
            false,
        )
        .property("legacyEnum", PropertySchema::legacy_titled(legacy), false)
        .property(
            "untitledMulti",
            PropertySchema::any_of_values(options),
            false,
        )
        .property(
            "titledMulti",
            PropertySchema::titled_any_of(titled("Choice")),
            false,
        );
    let r = ctx.elicit(form).await?;
    Ok(format!("Elicitation completed: {}", describe(&r)))
}

fn name_form(key: &str, message: &str) -> Elicitation {
    Elicitation::new(message)
        .property("name", string(), true)
        .key(key)
}

async fn ir_elicitation(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let r = ctx
        .elicit(name_form("user_name", "What is your name?"))
        .await?;
    Ok(format!("Hello, {}!", field(&r, "name")))
}

async fn ir_roots(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let roots = ctx.list_roots_keyed(Some("client_roots")).await?;
    let list: Vec<String> = roots
        .iter()
        .map(|r| match &r.name {
            Some(n) => format!("{} ({n})", r.uri),
            None => r.uri.clone(),
        })
        .collect();
    Ok(format!("Client roots: {}", list.join(", ")))
}

async fn ir_request_state(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let form = Elicitation::new("Please confirm")
        .property("ok", PropertySchema::of(PropertyType::Boolean), true)
        .key("confirm");
    let r = ctx.elicit(form).await?;
    // Reaching here on a retry means the sealed requestState was verified.
    Ok(format!("state-ok: confirmed={}", field(&r, "ok")))
}

async fn ir_multiple(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let name = ctx.elicit(name_form("user_name", "What is your name?"));
    let greeting = ctx.sample(
        Sampling::user("Generate a greeting")
            .max_tokens(50)
            .key("greeting"),
    );
    let roots = ctx.list_roots_keyed(Some("client_roots"));
    let (name, greeting, roots) = tokio::join!(name, greeting, roots);
    Ok(format!(
        "{} {}! ({} roots)",
        greeting?.text(),
        field(&name?, "name"),
        roots?.len()
    ))
}

async fn ir_multi_round(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let name = ctx
        .elicit(name_form("step1", "Step 1: What is your name?"))
        .await?;
    let color = Elicitation::new("Step 2: What is your favorite color?")
        .property("color", string(), true)
        .key("step2");
    let color = ctx.elicit(color).await?;
    Ok(format!(
        "{} likes {}",
        field(&name, "name"),
        field(&color, "color")
    ))
}

async fn ir_prompt(_: Map<String, Value>, ctx: Ctx) -> Result<String, ToolError> {
    let form = Elicitation::new("What context should the prompt use?")
        .property("context", string(), true)
        .key("user_context");
    let r = ctx.elicit(form).await?;
    Ok(format!(
        "Answer with this context in mind: {}",
        field(&r, "context")
    ))
}

/// Registers the elicitation, roots and multi round-trip fixtures.
pub(super) fn register(b: ServerBuilder) -> ServerBuilder {
    b.tool(
        "test_elicitation",
        "Asks the user for a username and an e-mail address",
        elicitation,
    )
    .tool(
        "test_elicitation_sep1034_defaults",
        "A form with a default for each primitive type",
        defaults,
    )
    .tool(
        "test_elicitation_sep1330_enums",
        "A form with each kind of enum",
        enums,
    )
    // On 2026-07-28 an input_required result, never a request on the response stream.
    .tool(
        "test_streaming_elicitation",
        "Asks for a name",
        ir_elicitation,
    )
    .tool(
        "test_input_required_result_elicitation",
        "Asks for a name under the key user_name",
        ir_elicitation,
    )
    .tool(
        "test_input_required_result_list_roots",
        "Asks for the client's roots",
        ir_roots,
    )
    .tool(
        "test_input_required_result_request_state",
        "Asks for a confirmation; the retry needs the requestState",
        ir_request_state,
    )
    .tool(
        "test_input_required_result_multiple_inputs",
        "Elicits, samples and lists roots in one round",
        ir_multiple,
    )
    .tool(
        "test_input_required_result_multi_round",
        "Asks for a name, then for a colour: two rounds",
        ir_multi_round,
    )
    .prompt_with_ctx(
        "test_input_required_result_prompt",
        "Asks for the context to use before it answers",
        &[],
        ir_prompt,
    )
}
