//! Every frame that crosses the wire, validated against the schema of the revision spoken.
//!
//! Real conversations run in memory (our `mcp_host::Client` against a test server built with
//! `mcp_server`) and against the built-in servers of the `mcp-sampling` binary. A tee on
//! the transport records every newline-delimited frame in each direction; each frame is
//! then validated against:
//!
//! - the generic `JSONRPCMessage` definition;
//! - requests: the `*Request` definition of their method, and `ClientRequest` or
//!   `ServerRequest` for their direction;
//! - notifications: their `*Notification` definition, and `ClientNotification` or
//!   `ServerNotification`;
//! - results: `JSONRPCResultResponse`, the result definition of the request they answer
//!   (tracked by id), its `*ResultResponse` envelope when the revision has one, and
//!   `ClientResult` or `ServerResult`;
//! - errors: `JSONRPCErrorResponse`, and on `2026-07-28` the definition of their code
//!   (`InvalidParamsError`, `MissingRequiredClientCapabilityError`, ...);
//! - modern extras: each `inputRequests` entry against `InputRequest` and the definition of
//!   its method (`CreateMessageRequest`), each `inputResponses` entry against `InputResponse`
//!   and `CreateMessageResult`; every echoed `requestState` was issued by the server; every
//!   request's `_meta` names `2026-07-28`.
//!
//! A failure prints the frame, the definition and the validation errors.

mod checker;
mod fixtures;

use futures_util::future::join;
use jsonschema::Validator;
use mcp_client::{
    Client, ClientError, ClientOptions, EraChoice, SamplingError, SamplingHandler, SamplingRequest,
};
use mcp_host::approval::{Approval, Mode};
use mcp_host::testing::Fixed;
use mcp_host::Host;
use mcp_proto::content::OneOrMany;
use mcp_proto::sampling::{
    CreateMessageResult, Role, SamplingMessage, SamplingTool, StopReason, ToolChoiceMode,
};
use mcp_proto::{ClientCapabilities, Content, Era};
use mcp_rpc::{BoxFuture, ChildProcess, RpcError, Transport};
use mcp_server::{Args, Ctx, Json, Sampling, Server, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use checker::*;
use fixtures::*;

// =======================================================================================
// Conversations
// =======================================================================================

/// The calls every era makes in the main conversation; checks the answers.
async fn main_calls(client: &Client) {
    let tools = client.list_tools().await.expect("tools/list");
    let names: BTreeSet<_> = tools.tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains("ask") && names.contains("tool_loop"),
        "{names:?}"
    );

    let r = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect("ask");
    assert_eq!(r.text_content(), FIXED_REPLY);
    assert_ne!(r.is_error, Some(true));

    let r = client
        .call_tool("ask_twice", args(json!({"question": "Capital?"})))
        .await
        .expect("ask_twice");
    assert_eq!(r.text_content(), format!("{FIXED_REPLY} | {FIXED_REPLY}"));

    let r = client
        .call_tool("ask_with_tools", args(json!({"question": "Look it up"})))
        .await
        .expect("ask_with_tools");
    assert_eq!(r.text_content(), FIXED_REPLY);

    let r = client
        .call_tool("tool_loop", args(json!({"question": "Weather in Paris?"})))
        .await
        .expect("tool_loop");
    assert_eq!(
        r.text_content(),
        FIXED_REPLY,
        "the loop ends with the model's text"
    );

    let r = client
        .call_tool(
            "echo",
            args(json!({"text": "ab", "times": 2, "tags": ["x"]})),
        )
        .await
        .expect("echo");
    assert_eq!(r.text_content(), "abab");

    let r = client
        .call_tool("weather", Map::new())
        .await
        .expect("weather");
    assert_eq!(
        r.structured_content,
        Some(json!({"city": "Paris", "celsius": 18.5}))
    );

    let r = client.call_tool("fail", Map::new()).await.expect("fail");
    assert_eq!(r.is_error, Some(true));

    // Invalid arguments: a tool error the model can read.
    let r = client
        .call_tool("echo", args(json!({"text": 5})))
        .await
        .expect("echo with bad arguments");
    assert_eq!(r.is_error, Some(true), "{r:?}");

    // Unknown tool: a JSON-RPC error.
    let e = client
        .call_tool("no_such_tool", Map::new())
        .await
        .expect_err("an unknown tool fails");
    assert_eq!(remote_code(&e), Some(-32602), "{e:?}");

    // Resources and prompts.
    let v = client
        .request("resources/list", None, None)
        .await
        .expect("resources/list");
    assert_eq!(v["resources"][0]["uri"], "mem://notes");
    let v = client
        .request("resources/templates/list", None, None)
        .await
        .expect("resources/templates/list");
    assert!(v["resourceTemplates"].is_array());
    let v = client
        .request("resources/read", Some(json!({"uri": "mem://notes"})), None)
        .await
        .expect("resources/read");
    assert_eq!(v["contents"][0]["text"], "some notes");
    let e = client
        .request(
            "resources/read",
            Some(json!({"uri": "mem://nothing"})),
            None,
        )
        .await
        .expect_err("an unknown resource fails");
    assert!(remote_code(&e).is_some(), "{e:?}");
    let v = client
        .request("prompts/list", None, None)
        .await
        .expect("prompts/list");
    assert_eq!(v["prompts"][0]["name"], "greet");
    let v = client
        .request(
            "prompts/get",
            Some(json!({"name": "greet", "arguments": {"name": "Ada"}})),
            None,
        )
        .await
        .expect("prompts/get");
    assert_eq!(v["messages"][0]["content"]["text"], "Say hello to Ada.");
    let e = client
        .request("prompts/get", Some(json!({"name": "greet"})), None)
        .await
        .expect_err("a missing prompt argument fails");
    assert_eq!(remote_code(&e), Some(-32602), "{e:?}");
    let v = client
        .request(
            "completion/complete",
            Some(json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "A"}})),
            None,
        )
        .await
        .expect("completion/complete");
    assert_eq!(v["completion"]["values"], json!(["Ada", "Alan"]), "{v}");
    let v = client
        .request("resources/templates/list", Some(json!({})), None)
        .await
        .expect("resources/templates/list");
    assert_eq!(
        v["resourceTemplates"][0]["uriTemplate"],
        "mem://notes/{day}"
    );
    let v = client
        .request(
            "resources/read",
            Some(json!({"uri": "mem://notes/monday"})),
            None,
        )
        .await
        .expect("resources/read of a template");
    assert_eq!(v["contents"][0]["text"], "notes of monday");
    // Progress, when the client asks for it (the notifications are validated).
    let v = client
        .request(
            "tools/call",
            Some(json!({"name": "progress", "arguments": {}, "_meta": {"progressToken": "p-1"}})),
            None,
        )
        .await
        .expect("progress");
    assert_eq!(v["content"][0]["text"], "done");
    // A call the client stops waiting for: notifications/cancelled.
    let e = client
        .request(
            "tools/call",
            Some(json!({"name": "slow", "arguments": {}})),
            Some(Duration::from_millis(200)),
        )
        .await
        .expect_err("the client gives up");
    assert!(matches!(e, ClientError::Rpc(RpcError::Timeout(_))), "{e:?}");
    let e = client
        .request("no/such/method", None, None)
        .await
        .expect_err("an unknown method fails");
    assert_eq!(remote_code(&e), Some(-32601), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_conversation_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Legacy), weather_model()).await;
    assert_eq!(client.era(), Era::Legacy);
    assert_eq!(client.protocol_version(), LEGACY);
    main_calls(&client).await;
    // The server gives up on a sampling request: notifications/cancelled to the client.
    let r = client
        .call_tool("ask_slow", Map::new())
        .await
        .expect("a tool error");
    assert_eq!(r.is_error, Some(true), "{r:?}");
    client.request("ping", None, None).await.expect("ping");
    client
        .request("logging/setLevel", Some(json!({"level": "info"})), None)
        .await
        .expect("logging/setLevel");
    finish(client, server).await;
    let s = check("legacy", LEGACY, &rec);
    assert_defs(
        &s,
        "legacy",
        &[
            "InitializeRequest",
            "InitializeResult",
            "InitializedNotification",
            "ListToolsRequest",
            "ListToolsResult",
            "CallToolRequest",
            "CallToolResult",
            "CreateMessageRequest",
            "CreateMessageResult",
            "ServerRequest",
            "ClientResult",
            "ListResourcesRequest",
            "ListResourcesResult",
            "ReadResourceRequest",
            "ReadResourceResult",
            "ListPromptsRequest",
            "ListPromptsResult",
            "GetPromptRequest",
            "GetPromptResult",
            "CompleteRequest",
            "CompleteResult",
            "PingRequest",
            "SetLevelRequest",
            "EmptyResult",
            "JSONRPCErrorResponse",
            "ProgressNotification",
            "CancelledNotification",
            "ClientNotification",
            "ServerNotification",
        ],
    );
    // ask, ask_twice (2), ask_with_tools, tool_loop (2), ask_slow.
    assert_eq!(s.defs["CreateMessageRequest"], 7);
    // The client's for `slow`, the server's for `ask_slow`.
    assert_eq!(s.defs["CancelledNotification"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_conversation_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Modern), weather_model()).await;
    assert_eq!(client.era(), Era::Modern);
    assert_eq!(client.protocol_version(), MODERN);
    main_calls(&client).await;
    finish(client, server).await;
    let s = check("modern", MODERN, &rec);
    assert_defs(
        &s,
        "modern",
        &[
            "DiscoverRequest",
            "DiscoverResult",
            "DiscoverResultResponse",
            "ListToolsRequest",
            "ListToolsResult",
            "CallToolRequest",
            "CallToolResult",
            "CallToolResultResponse",
            "InputRequiredResult",
            "InputRequest",
            "CreateMessageRequest",
            "InputResponse",
            "CreateMessageResult",
            "ListResourcesResult",
            "ListResourceTemplatesResult",
            "ReadResourceResult",
            "ListPromptsResult",
            "GetPromptResult",
            "CompleteResult",
            "JSONRPCErrorResponse",
            "InvalidParamsError",
            "MethodNotFoundError",
            "ProgressNotification",
            "CancelledNotification",
            "ClientNotification",
            "ServerNotification",
        ],
    );
    // ask, ask_twice (2, one round), ask_with_tools, tool_loop (2, two rounds).
    assert_eq!(s.defs["CreateMessageRequest"], 6);
    assert_eq!(s.defs["InputRequiredResult"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_modern_and_its_frames_validate() {
    let (client, server, rec) = connect(
        options(EraChoice::Auto),
        Arc::new(Fixed(FIXED_REPLY.into())),
    )
    .await;
    assert_eq!(
        client.era(),
        Era::Modern,
        "auto against our server picks the modern era"
    );
    let r = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect("ask");
    assert_eq!(r.text_content(), FIXED_REPLY);
    finish(client, server).await;
    let s = check("auto", MODERN, &rec);
    assert_defs(
        &s,
        "auto",
        &[
            "DiscoverRequest",
            "DiscoverResult",
            "InputRequiredResult",
            "CreateMessageRequest",
            "CallToolResult",
        ],
    );
}

/// A tool returning a non-object value: `structuredContent` is wrapped as `{"result": ..}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_array_structured_content_validates() {
    let (client, server, rec) = connect(options(EraChoice::Modern), weather_model()).await;
    let r = client.call_tool("users", Map::new()).await.expect("users");
    assert!(
        r.structured_content
            .as_ref()
            .is_some_and(|v| v["result"].is_array()),
        "{r:?}"
    );
    finish(client, server).await;
    check("modern users", MODERN, &rec);
}

/// `structuredContent` that is not an object, on a 2025-11-25 connection, whose
/// `CallToolResult.structuredContent` must be an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_array_structured_content_validates() {
    let (client, server, rec) = connect(options(EraChoice::Legacy), weather_model()).await;
    let _ = client.call_tool("users", Map::new()).await.expect("users");
    finish(client, server).await;
    check("legacy users", LEGACY, &rec);
}

fn deny() -> Arc<dyn SamplingHandler> {
    Arc::new(
        Host::builder()
            .approval(Approval::new(Mode::Deny, vec![], None))
            .provider(Arc::new(Fixed(FIXED_REPLY.into())), vec![Fixed::model()])
            .build()
            .expect("the host builds"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_deny_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Legacy), deny()).await;
    let r = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect("the call completes with a tool error");
    assert_eq!(r.is_error, Some(true), "{r:?}");
    finish(client, server).await;
    let s = check("legacy deny", LEGACY, &rec);
    assert_defs(
        &s,
        "legacy deny",
        &[
            "CreateMessageRequest",
            "JSONRPCErrorResponse",
            "CallToolResult",
        ],
    );
    // The refusal is the client's error response with code -1.
    let c2s = String::from_utf8(rec.c2s.lock().unwrap().clone()).unwrap();
    assert!(
        c2s.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v["error"]["code"] == -1),
        "no -1 error from the client: {c2s}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_deny_frames_validate() {
    let (client, server, rec) = connect(options(EraChoice::Modern), deny()).await;
    let e = client
        .call_tool("ask", args(json!({"question": "Capital of France?"})))
        .await
        .expect_err("a denied sampling request ends the call");
    assert!(
        matches!(e, ClientError::Sampling(SamplingError::Rejected(_))),
        "{e:?}"
    );
    finish(client, server).await;
    let s = check("modern deny", MODERN, &rec);
    assert_defs(
        &s,
        "modern deny",
        &["InputRequiredResult", "CreateMessageRequest"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_sampling_get_valid_answers() {
    let no_sampling = |era| ClientOptions {
        capabilities: ClientCapabilities::default(),
        ..options(era)
    };
    // Legacy: the tool reports the missing capability as a tool error.
    let (client, server, rec) =
        connect(no_sampling(EraChoice::Legacy), Arc::new(Fixed("x".into()))).await;
    let r = client
        .call_tool("ask", args(json!({"question": "?"})))
        .await
        .expect("a tool error");
    assert_eq!(r.is_error, Some(true));
    finish(client, server).await;
    check("legacy without sampling", LEGACY, &rec);
    // Modern: -32021 with the capability required.
    let (client, server, rec) =
        connect(no_sampling(EraChoice::Modern), Arc::new(Fixed("x".into()))).await;
    let e = client
        .call_tool("ask", args(json!({"question": "?"})))
        .await
        .expect_err("-32021");
    assert_eq!(remote_code(&e), Some(-32021), "{e:?}");
    finish(client, server).await;
    let s = check("modern without sampling", MODERN, &rec);
    assert_defs(
        &s,
        "modern without sampling",
        &["MissingRequiredClientCapabilityError"],
    );
}

/// The server's answers to hand-written frames that break the rules. Only the server's
/// frames are validated (ours are wrong on purpose).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answers_to_bad_requests_validate() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let meta = |v: &str| json!({"io.modelcontextprotocol/protocolVersion": v, "io.modelcontextprotocol/clientCapabilities": {}});
    let frames = [
        // A revision the server does not speak: -32022 with the supported list.
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta("1900-01-01")}}),
        // No handshake and no _meta: -32602.
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}),
        // Modern, wrong params.
        json!({"jsonrpc": "2.0", "id": "three", "method": "tools/call", "params": {"_meta": meta(MODERN), "name": 7}}),
        // Modern, a forged requestState.
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"_meta": meta(MODERN), "name": "ask", "arguments": {"question": "?"}, "requestState": "forged", "inputResponses": {}}}),
        // Modern, an unknown method.
        json!({"jsonrpc": "2.0", "id": 5, "method": "nope", "params": {"_meta": meta(MODERN)}}),
        // Not JSON-RPC 2.0: -32600 with the id.
        json!({"jsonrpc": "1.0", "id": 6, "method": "tools/list"}),
    ];
    let (client_end, server_end, rec) = tee_memory();
    let server = test_server();
    let task = tokio::spawn(async move { server.serve(server_end, std::future::pending()).await });
    let mut w = client_end.write;
    let mut lines = BufReader::new(client_end.read).lines();
    for f in &frames {
        w.write_all(format!("{f}\n").as_bytes()).await.unwrap();
    }
    w.flush().await.unwrap();
    for _ in 0..frames.len() {
        tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("an answer")
            .unwrap()
            .expect("a line");
    }
    w.shutdown().await.unwrap();
    drop(w);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .expect("the server ends cleanly");
    let s = check_with("bad requests", MODERN, &rec, false);
    assert_eq!(s.s2c, frames.len());
    assert_defs(
        &s,
        "bad requests",
        &[
            "UnsupportedProtocolVersionError",
            "InvalidParamsError",
            "MethodNotFoundError",
            "InvalidRequestError",
        ],
    );
}

/// Bytes that are not JSON get a parse error. Plain JSON-RPC 2.0 answers it with
/// `"id": null`, but MCP's `JSONRPCErrorResponse` (both revisions) allows no `null` id: the
/// member must be omitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answer_to_garbage_validates() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (client_end, server_end, rec) = tee_memory();
    let server = test_server();
    let task = tokio::spawn(async move { server.serve(server_end, std::future::pending()).await });
    let mut w = client_end.write;
    let mut lines = BufReader::new(client_end.read).lines();
    w.write_all(b"{this is not json\n").await.unwrap();
    w.flush().await.unwrap();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("an answer")
        .unwrap()
        .expect("a line");
    w.shutdown().await.unwrap();
    drop(w);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .expect("the server ends cleanly");
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["error"]["code"], -32700, "{line}");
    let mut failures = Vec::new();
    for revision in [LEGACY, MODERN] {
        let (s, f) = collect(&format!("garbage ({revision})"), revision, &rec, false);
        assert_eq!(s.s2c, 1);
        failures.extend(f);
    }
    assert!(failures.is_empty(), "\n  {}\n", failures.join("\n  "));
}

// =======================================================================================
// The built-in servers of the binary, over a child process
// =======================================================================================

async fn built_in(
    server: &str,
    era: EraChoice,
    tool: &str,
    arguments: Value,
    expect_samples: usize,
) {
    let bin = env!("CARGO_BIN_EXE_mcp-sampling");
    let mut child =
        ChildProcess::spawn(bin, &["serve".into(), server.into()]).expect("spawn the binary");
    let (transport, rec) = tee_client(child.transport.take().unwrap());
    let client = Client::connect(transport, Arc::new(Fixed(FIXED_REPLY.into())), options(era))
        .await
        .expect("connect to the built-in server");
    let revision = match client.era() {
        Era::Legacy => LEGACY,
        Era::Modern => MODERN,
    };
    client.list_tools().await.expect("tools/list");
    let r = client
        .call_tool(tool, args(arguments))
        .await
        .expect("the call");
    assert_ne!(r.is_error, Some(true), "{r:?}");
    client.close().await;
    child.shutdown().await.expect("the child exits");
    let name = format!("{server} ({era:?})");
    let s = check(&name, revision, &rec);
    let samples = s.defs.get("CreateMessageRequest").copied().unwrap_or(0);
    assert_eq!(samples, expect_samples, "[{name}] sampling requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_servers_frames_validate() {
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(12)
        + "It was not amused. Nobody was. The end came quickly. Then another sentence.";
    for era in [EraChoice::Legacy, EraChoice::Modern, EraChoice::Auto] {
        built_in(
            "summarize",
            era,
            "summarize",
            json!({"text": long, "sentences": 2}),
            1,
        )
        .await;
        built_in(
            "bench",
            era,
            "bench_sampling",
            json!({"n": 3, "concurrency": 2}),
            3,
        )
        .await;
    }
}

// =======================================================================================
// The checker itself
// =======================================================================================

/// The checker finds broken frames (so that a passing conversation means something).
#[test]
fn the_checker_catches_invalid_frames() {
    fn recording(c2s: &[Value], s2c: &[Value]) -> Recording {
        let rec = Recording::default();
        for (log, frames) in [(&rec.c2s, c2s), (&rec.s2c, s2c)] {
            let mut log = log.lock().unwrap();
            for f in frames {
                log.extend_from_slice(format!("{f}\n").as_bytes());
            }
        }
        rec
    }
    let meta = json!({"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}});
    let cases: Vec<(&str, &str, Recording, &str)> = vec![
        (
            "legacy sampling without maxTokens",
            LEGACY,
            recording(
                &[],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage", "params": {"messages": []}}),
                ],
            ),
            "CreateMessageRequest",
        ),
        (
            "legacy sampling result without model",
            LEGACY,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "result": {"role": "assistant", "content": {"type": "text", "text": "x"}}}),
                ],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}}),
                ],
            ),
            "CreateMessageResult",
        ),
        (
            "modern request without _meta",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}}),
                ],
                &[],
            ),
            "CallToolRequest",
        ),
        (
            "modern result without resultType",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, "name": "x"}}),
                ],
                &[json!({"jsonrpc": "2.0", "id": 1, "result": {"content": []}})],
            ),
            "CallToolResult",
        ),
        (
            "modern server request",
            MODERN,
            recording(
                &[],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}}),
                ],
            ),
            "a modern server sent a request",
        ),
        (
            "modern input request without maxTokens",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, "name": "x"}}),
                ],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "input_required", "inputRequests": {"k": {"method": "sampling/createMessage", "params": {"messages": []}}}}}),
                ],
            ),
            "CreateMessageRequest",
        ),
        (
            "modern state never issued",
            MODERN,
            recording(
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"_meta": meta, "name": "x", "requestState": "made-up"}}),
                ],
                &[
                    json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "complete", "content": []}}),
                ],
            ),
            "was never issued",
        ),
        (
            "a result nobody asked for",
            LEGACY,
            recording(&[], &[json!({"jsonrpc": "2.0", "id": 9, "result": {}})]),
            "a result for no request",
        ),
        (
            "not JSON",
            LEGACY,
            recording(&[], &[json!("placeholder")]),
            "neither request, notification, result nor error",
        ),
    ];
    for (name, revision, rec, expect) in cases {
        let (_, failures) = collect(name, revision, &rec, true);
        assert!(
            failures.iter().any(|f| f.contains(expect)),
            "[{name}] expected a failure mentioning {expect:?}, got {failures:#?}"
        );
    }
}
