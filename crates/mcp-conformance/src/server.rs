//! `conformance`: the fixtures the official MCP conformance suites call (tools, resources,
//! templates and prompts named `test_*` / `test://...`), written from their scenario
//! descriptions (tests/conformance/SCENARIOS.md). Sampling, elicitation and roots work on
//! both eras: real requests to the client on legacy sessions, `input_required` rounds on
//! `2026-07-28`; the elicitation and roots fixtures are in `input`, the tasks extension's
//! in `tasks`.

use base64::Engine;
use mcp_proto::content::Content;
use mcp_proto::prompts::PromptMessage;
use mcp_proto::resources::ResourceContents;
use mcp_proto::tools::Tool;
use mcp_server::{
    Args, CompletionRequest, Ctx, LoggingLevel, Sampling, Server, ServerBuilder, ToolError, UriVars,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// A 2x2 blue PNG.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR42mOQm/AfiBggFAArdga1SJjwDwAAAABJRU5ErkJggg==";

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct Mirrored {
    /// A region; on 2026-07-28 HTTP it is mirrored in the `Mcp-Param-Region` header.
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
}

async fn mirrored(Args(a): Args<Mirrored>, _ctx: Ctx) -> Result<String, ToolError> {
    Ok(format!("region: {}", a.region))
}

#[derive(Deserialize, JsonSchema)]
struct PromptArg {
    /// The prompt to send to the client's model.
    prompt: String,
}

/// A tenth of a second of a 440 Hz tone: 8 kHz, mono, 16-bit PCM WAV, base64.
fn wav() -> String {
    const RATE: u32 = 8000;
    let samples: Vec<i16> = (0..RATE / 10)
        .map(|i| {
            let t = f64::from(i) / f64::from(RATE);
            ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16
        })
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&RATE.to_le_bytes());
    b.extend_from_slice(&(RATE * 2).to_le_bytes()); // byte rate
    b.extend_from_slice(&2u16.to_le_bytes()); // block align
    b.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&s.to_le_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn png_bytes() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap_or_default()
}

async fn simple_text(_: Args<NoArgs>, _: Ctx) -> Result<&'static str, ToolError> {
    Ok("This is a simple text response for testing.")
}

async fn image(_: Args<NoArgs>, _: Ctx) -> Result<Vec<Content>, ToolError> {
    Ok(vec![Content::image(PNG, "image/png")])
}

async fn audio(_: Args<NoArgs>, _: Ctx) -> Result<Vec<Content>, ToolError> {
    Ok(vec![Content::audio(wav(), "audio/wav")])
}

async fn embedded(_: Args<NoArgs>, _: Ctx) -> Result<Vec<Content>, ToolError> {
    let text = "This is an embedded resource content.";
    let r = ResourceContents::text("test://embedded-resource", Some("text/plain"), text);
    Ok(vec![Content::embedded(r)])
}

async fn mixed(_: Args<NoArgs>, _: Ctx) -> Result<Vec<Content>, ToolError> {
    let data = json!({"test": "data", "value": 123}).to_string();
    let r = ResourceContents::text(
        "test://mixed-content-resource",
        Some("application/json"),
        data,
    );
    Ok(vec![
        Content::text("Multiple content types test:"),
        Content::image(PNG, "image/png"),
        Content::embedded(r),
    ])
}

async fn with_logging(_: Args<NoArgs>, ctx: Ctx) -> Result<&'static str, ToolError> {
    ctx.log(LoggingLevel::Info, "Tool execution started");
    tokio::time::sleep(Duration::from_millis(50)).await;
    ctx.log(LoggingLevel::Info, "Tool processing data");
    tokio::time::sleep(Duration::from_millis(50)).await;
    ctx.log(LoggingLevel::Info, "Tool execution completed");
    Ok("Logging test completed")
}

async fn error_handling(_: Args<NoArgs>, _: Ctx) -> Result<&'static str, ToolError> {
    Err(ToolError::failed(
        "This tool intentionally returns an error for testing",
    ))
}

async fn with_progress(_: Args<NoArgs>, ctx: Ctx) -> Result<&'static str, ToolError> {
    ctx.progress(0.0, Some(100.0), Some("started"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    ctx.progress(50.0, Some(100.0), Some("half way"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    ctx.progress(100.0, Some(100.0), Some("done"));
    Ok("Progress test completed")
}

async fn sampling(Args(a): Args<PromptArg>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx.sample(Sampling::user(a.prompt).max_tokens(100)).await?;
    Ok(format!("LLM response: {}", reply.text()))
}

/// One sampling round trip (on 2026-07-28: an `input_required` result, then the answer).
async fn capital(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let q = Sampling::user("What is the capital of France?")
        .max_tokens(100)
        .key("capital_question");
    let reply = ctx.sample(q).await?;
    Ok(format!("The model said: {}", reply.text()))
}

/// Needs sampling: a client that did not declare it gets `-32021` (modern era).
async fn missing_capability(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(Sampling::user("Say hello.").max_tokens(20))
        .await?;
    Ok(reply.text())
}

async fn logging_tool(_: Args<NoArgs>, ctx: Ctx) -> Result<&'static str, ToolError> {
    ctx.log(LoggingLevel::Info, "test_logging_tool ran");
    Ok("logged (if the request asked for a log level)")
}

async fn echo_arguments(Args(a): Args<Map<String, Value>>, _: Ctx) -> Result<String, ToolError> {
    Ok(format!("Received: {}", Value::Object(a)))
}

/// The JSON Schema 2020-12 keywords the suite expects preserved in `tools/list`.
fn json_schema_tool() -> Tool {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {
            "street": {"type": "string"}, "city": {"type": "string"}}}},
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    });
    Tool {
        name: "json_schema_2020_12_tool".into(),
        title: None,
        description: Some(
            "Has a JSON Schema 2020-12 input schema ($defs, $ref, allOf, if/then/else)".into(),
        ),
        input_schema: schema,
        output_schema: None,
        annotations: None,
    }
}

fn tools(b: ServerBuilder) -> ServerBuilder {
    b.tool("test_simple_text", "Returns a text block", simple_text)
        .tool(
            "test_header_mirrored",
            "Echoes its region, which HTTP clients mirror in a header (x-mcp-header)",
            mirrored,
        )
        .tool("test_image_content", "Returns an image block", image)
        .tool("test_audio_content", "Returns an audio block", audio)
        .tool(
            "test_embedded_resource",
            "Returns an embedded resource",
            embedded,
        )
        .tool(
            "test_multiple_content_types",
            "Returns text, an image and a resource",
            mixed,
        )
        .tool(
            "test_tool_with_logging",
            "Logs three messages while it runs",
            with_logging,
        )
        .tool(
            "test_error_handling",
            "Always fails (isError)",
            error_handling,
        )
        .tool(
            "test_tool_with_progress",
            "Reports progress 0, 50, 100 of 100",
            with_progress,
        )
        .tool(
            "test_sampling",
            "Asks the client's model to answer a prompt",
            sampling,
        )
        .tool_def(json_schema_tool(), echo_arguments)
        .tool(
            "test_missing_capability",
            "Needs the client's sampling capability",
            missing_capability,
        )
        .tool("test_logging_tool", "Logs one message", logging_tool)
        .tool(
            "test_input_required_result_sampling",
            "One sampling request (input_required on 2026-07-28)",
            capital,
        )
        .tool(
            "test_input_required_result_tampered_state",
            "One sampling request; a tampered requestState is refused",
            capital,
        )
        .tool(
            "test_input_required_result_capabilities",
            "Asks only for what the client declared: sampling",
            capital,
        )
}

fn resources(b: ServerBuilder) -> ServerBuilder {
    b.resource(
        "test://static-text",
        "Static text",
        "text/plain",
        || async { Ok("This is the content of the static text resource.") },
    )
    .resource(
        "test://static-binary",
        "Static binary (PNG)",
        "image/png",
        || async { Ok(png_bytes()) },
    )
    .resource(
        "test://watched-resource",
        "Watched (subscribable)",
        "text/plain",
        || async { Ok("This resource can be subscribed to.") },
    )
    .resource_template(
        "test://template/{id}/data",
        "Data by id",
        "application/json",
        |v: UriVars| async move {
            let id = v.get("id").unwrap_or_default();
            let data =
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            Ok(data.to_string())
        },
    )
    .template_completer(
        "test://template/{id}/data",
        |r: CompletionRequest| async move { Ok(r.filter(["1", "2", "3", "123"])) },
    )
    .resource_subscriptions()
}

fn arg(a: &Map<String, Value>, name: &str) -> String {
    match a.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn prompts(b: ServerBuilder) -> ServerBuilder {
    b.prompt(
        "test_simple_prompt",
        "A prompt without arguments",
        &[],
        |_| async { Ok("This is a simple prompt for testing.".to_string()) },
    )
    .prompt(
        "test_prompt_with_arguments",
        "A prompt with two required arguments",
        &[("arg1", true), ("arg2", true)],
        |a| async move {
            Ok(format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                arg(&a, "arg1"),
                arg(&a, "arg2")
            ))
        },
    )
    .prompt_completer(
        "test_prompt_with_arguments",
        |r: CompletionRequest| async move { Ok(r.filter(["test", "testing", "tested", "value"])) },
    )
    .prompt(
        "test_prompt_with_embedded_resource",
        "A prompt that embeds a resource",
        &[("resourceUri", true)],
        |a| async move {
            let uri = arg(&a, "resourceUri");
            let r = ResourceContents::text(
                uri,
                Some("text/plain"),
                "Embedded resource content for testing.",
            );
            Ok(vec![
                PromptMessage::user(Content::embedded(r)),
                PromptMessage::user(Content::text("Please process the embedded resource above.")),
            ])
        },
    )
    .prompt(
        "test_prompt_with_image",
        "A prompt with an image",
        &[],
        |_| async {
            Ok(vec![
                PromptMessage::user(Content::image(PNG, "image/png")),
                PromptMessage::user(Content::text("Please describe this image.")),
            ])
        },
    )
}

pub fn server() -> Server {
    let b = Server::builder("mcp-sampling-conformance")
        .instructions("Fixtures for the MCP conformance suites.");
    let b = crate::tasks::register(crate::input::register(tools(b)));
    prompts(resources(b)).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_decode() {
        let png = png_bytes();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{png:?}");
        let wav = base64::engine::general_purpose::STANDARD
            .decode(wav())
            .unwrap();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(wav.len(), 44 + 1600);
    }
}
