//! The official example messages of MCP `2026-07-28` (`shared/spec/2026-07-28/examples/`),
//! read with our types.
//!
//! - Every example folder is either *modeled* (a checker below reads it with our types and
//!   writes it back) or listed in [`SKIPPED`]; a new folder fails [`every_folder_is_modeled_or_skipped`].
//! - A modeled example must come back as the same JSON, except for the fields listed in
//!   [`KNOWN_DROPS`] (fields our types do not carry). A new drop, a changed value, an added
//!   field, or a listed drop that no longer happens all fail.
//! - Every JSON-RPC message example goes through [`Message::parse`] and must be classified as
//!   expected; the envelope written back by `jsonrpc::write_*` must equal the example.
//! - Every example (and what we write back) is validated against the schema definition its
//!   folder is named after.

use jsonschema::Validator;
use mcp_proto::content::Content;
use mcp_proto::jsonrpc::{self, ErrorObject, Message, ParseFailure, RequestId};
use mcp_proto::lifecycle::{self, DiscoverResult, Implementation, RequestMeta, META_SERVER_INFO};
use mcp_proto::mrtr::{InputRequest, InputRequiredResult, InputResponses};
use mcp_proto::prompts::{GetPromptParams, Prompt, PromptMessage};
use mcp_proto::resources::{ReadResourceParams, Resource, TextResourceContents};
use mcp_proto::sampling::{
    self, CreateMessageParams, CreateMessageResult, ModelPreferences, SamplingMessage,
};
use mcp_proto::tools::{CallToolParams, CallToolResult, ListToolsResult, Tool};
use mcp_proto::{ClientCapabilities, ServerCapabilities};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const REVISION: &str = "2026-07-28";

// ---------------------------------------------------------------------------------------
// Reading the reference data
// ---------------------------------------------------------------------------------------

/// `shared/spec`, next to the workspace. Fails with a clear message when it is missing.
fn spec_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec");
    let examples = dir.join(REVISION).join("examples");
    assert!(
        examples.is_dir(),
        "the MCP specification reference data is missing: expected the folder {} \
         (crates/mcp-proto/../../../shared/spec/{REVISION}/examples, holding one folder of \
         JSON example messages per schema type). These tests cannot run without it.",
        examples.display()
    );
    dir
}

/// Every example, by folder, as `(file name, JSON)`, sorted.
fn examples() -> BTreeMap<String, Vec<(String, Value)>> {
    let root = spec_dir().join(REVISION).join("examples");
    let mut out: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for folder in std::fs::read_dir(&root).expect("read the examples folder") {
        let folder = folder.expect("read an examples entry").path();
        if !folder.is_dir() {
            continue;
        }
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let mut files = Vec::new();
        for file in std::fs::read_dir(&folder).expect("read an example folder") {
            let path = file.expect("read an example file").path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            files.push((path.file_name().unwrap().to_string_lossy().into_owned(), v));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(
            !files.is_empty(),
            "the example folder {name} has no .json file"
        );
        out.insert(name, files);
    }
    assert!(
        out.len() > 50,
        "only {} example folders found in {}",
        out.len(),
        root.display()
    );
    out
}

// ---------------------------------------------------------------------------------------
// Schema validation
// ---------------------------------------------------------------------------------------

fn schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = spec_dir().join(REVISION).join("schema.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("schema.json is JSON")
    })
}

fn has_def(name: &str) -> bool {
    schema()["$defs"].get(name).is_some()
}

/// A validator for `#/$defs/{def}`, with the whole schema document as its root.
fn validator(def: &str) -> &'static Validator {
    static CACHE: Mutex<BTreeMap<String, &'static Validator>> = Mutex::new(BTreeMap::new());
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = cache.get(def) {
        return v;
    }
    assert!(
        has_def(def),
        "the {REVISION} schema has no definition {def:?}"
    );
    let mut root = schema().clone();
    root.as_object_mut()
        .unwrap()
        .insert("$ref".into(), Value::from(format!("#/$defs/{def}")));
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("cannot build a validator for {def}: {e}"));
    let v: &'static Validator = Box::leak(Box::new(v));
    cache.insert(def.to_owned(), v);
    v
}

/// The validation errors of `instance` against `def`, one line each (empty when valid).
fn schema_errors(def: &str, instance: &Value) -> Vec<String> {
    validator(def)
        .iter_errors(instance)
        .map(|e| format!("at {:?}: {e}", e.instance_path.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Checkers: read a value with our types and write it back, in place
// ---------------------------------------------------------------------------------------

type Check = fn(&mut Value) -> Result<(), String>;

/// Replaces `v` by what `T` makes of it.
fn via<T: DeserializeOwned + Serialize>(v: &mut Value) -> Result<(), String> {
    let name = std::any::type_name::<T>();
    let t: T = serde_json::from_value(v.clone())
        .map_err(|e| format!("does not deserialize into {name}: {e}"))?;
    *v = serde_json::to_value(&t).map_err(|e| format!("{name} does not serialize: {e}"))?;
    Ok(())
}

/// Applies `f` to the member at `pointer`, which must exist.
fn at(v: &mut Value, pointer: &str, f: Check) -> Result<(), String> {
    let sub = v
        .pointer_mut(pointer)
        .ok_or_else(|| format!("{pointer} is missing"))?;
    f(sub).map_err(|e| format!("{pointer}: {e}"))
}

/// Applies `f` to the member at `pointer` when it exists.
fn at_opt(v: &mut Value, pointer: &str, f: Check) -> Result<(), String> {
    match v.pointer_mut(pointer) {
        Some(sub) => f(sub).map_err(|e| format!("{pointer}: {e}")),
        None => Ok(()),
    }
}

/// Applies `f` to every item of the array at `pointer`.
fn each(v: &mut Value, pointer: &str, f: Check) -> Result<(), String> {
    let arr = v
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("{pointer} is not an array"))?;
    for (i, item) in arr.iter_mut().enumerate() {
        f(item).map_err(|e| format!("{pointer}/{i}: {e}"))?;
    }
    Ok(())
}

/// A modern request's params: `_meta` through [`RequestMeta`] (its protocol fields).
fn request_meta(params: &mut Value) -> Result<(), String> {
    let m = RequestMeta::from_params(Some(params))
        .map_err(|e| format!("RequestMeta::from_params refused it: {e}"))?;
    if m.protocol_version != REVISION {
        return Err(format!("protocol version {}", m.protocol_version));
    }
    params["_meta"] = Value::Object(m.to_meta());
    Ok(())
}

fn call_tool_params(p: &mut Value) -> Result<(), String> {
    via::<CallToolParams>(p)?;
    request_meta(p)
}

fn get_prompt_params(p: &mut Value) -> Result<(), String> {
    via::<GetPromptParams>(p)?;
    request_meta(p)
}

fn read_resource_params(p: &mut Value) -> Result<(), String> {
    via::<ReadResourceParams>(p)?;
    request_meta(p)
}

/// Sampling params: read, written back, and accepted by `sampling::validate` (for a client
/// that declared `sampling.tools`).
fn create_message_params(p: &mut Value) -> Result<(), String> {
    let params: CreateMessageParams = serde_json::from_value(p.clone())
        .map_err(|e| format!("does not deserialize into CreateMessageParams: {e}"))?;
    let caps = ClientCapabilities::sampling(true);
    sampling::validate(&params, Some(&caps))
        .map_err(|e| format!("sampling::validate refuses an official example: {e}"))?;
    via::<CreateMessageParams>(p)
}

/// The server identity in a result's `_meta`.
fn server_info_meta(result: &mut Value) -> Result<(), String> {
    at_opt(
        result,
        &format!("/_meta/{}", pointer_escape(META_SERVER_INFO)),
        via::<Implementation>,
    )
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn discover_result(r: &mut Value) -> Result<(), String> {
    via::<DiscoverResult>(r)?;
    server_info_meta(r)
}

/// An `inputRequests` entry: the generic [`InputRequest`], and sampling params typed.
fn input_request(r: &mut Value) -> Result<(), String> {
    via::<InputRequest>(r)?;
    if r["method"] == sampling::METHOD {
        at(r, "/params", create_message_params)?;
    }
    Ok(())
}

fn input_requests(m: &mut Value) -> Result<(), String> {
    via::<BTreeMap<String, InputRequest>>(m)?;
    for (key, r) in m.as_object_mut().ok_or("not an object")? {
        input_request(r).map_err(|e| format!("[{key:?}]: {e}"))?;
    }
    Ok(())
}

fn input_responses(m: &mut Value) -> Result<(), String> {
    via::<InputResponses>(m)?;
    for (key, r) in m.as_object_mut().ok_or("not an object")? {
        // Which request an answer is for is known by its key only; sampling answers are the
        // ones with a role and a model.
        if r.get("role").is_some() && r.get("model").is_some() {
            via::<CreateMessageResult>(r).map_err(|e| format!("[{key:?}]: {e}"))?;
        }
    }
    Ok(())
}

fn input_required_result(r: &mut Value) -> Result<(), String> {
    via::<InputRequiredResult>(r)?;
    at_opt(r, "/inputRequests", input_requests)
}

fn list_tools_result(r: &mut Value) -> Result<(), String> {
    via::<ListToolsResult>(r)?;
    each(r, "/tools", via::<Tool>)
}

fn list_prompts_result(r: &mut Value) -> Result<(), String> {
    // No ListPromptsResult type: its items are ours.
    each(r, "/prompts", via::<Prompt>)
}

fn list_resources_result(r: &mut Value) -> Result<(), String> {
    // No ListResourcesResult type: its items are ours.
    each(r, "/resources", via::<Resource>)
}

fn get_prompt_result(r: &mut Value) -> Result<(), String> {
    // No GetPromptResult type: its messages are ours.
    each(r, "/messages", via::<PromptMessage>)
}

fn read_resource_result(r: &mut Value) -> Result<(), String> {
    // No ReadResourceResult type: its text contents are ours (blobs are not modeled).
    each(r, "/contents", |c| {
        if c.get("text").is_some() {
            via::<TextResourceContents>(c)
        } else {
            Err("only text resource contents are modeled".into())
        }
    })
}

/// What a JSON-RPC message example must be classified as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wire {
    Request(&'static str),
    Notification(&'static str),
    Result,
    Error(i64),
}

/// Parses `v` with [`Message::parse`], checks its class, and replaces `v` by the envelope
/// `jsonrpc::write_*` writes for the parsed message.
fn wire(v: &mut Value, expect: Wire) -> Result<Message, String> {
    let bytes = serde_json::to_vec(v).unwrap();
    let msg = Message::parse(&bytes).map_err(|e| format!("Message::parse failed: {e:?}"))?;
    let got = match &msg {
        Message::Request { method, .. } => Wire::Request(leak(method)),
        Message::Notification { method, .. } => Wire::Notification(leak(method)),
        Message::Response { outcome: Ok(_), .. } => Wire::Result,
        Message::Response {
            outcome: Err(e), ..
        } => Wire::Error(e.code),
    };
    if got != expect {
        return Err(format!(
            "Message::parse classified it as {got:?}, expected {expect:?}"
        ));
    }
    let mut out = Vec::new();
    match &msg {
        Message::Request { id, method, params } => {
            jsonrpc::write_request(&mut out, id, method, params.as_ref())
        }
        Message::Notification { method, params } => {
            jsonrpc::write_notification(&mut out, method, params.as_ref())
        }
        Message::Response { id, outcome } => jsonrpc::write_response(&mut out, Some(id), outcome),
    }
    *v = serde_json::from_slice(&out).map_err(|e| format!("write_* wrote bad JSON: {e}"))?;
    Ok(msg)
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// An error object example: read as [`ErrorObject`], and as a response carrying it.
fn error_object(v: &mut Value, code: i64) -> Result<(), String> {
    via::<ErrorObject>(v)?;
    let mut envelope = json!({"jsonrpc": "2.0", "id": "e-1", "error": v.clone()});
    wire(&mut envelope, Wire::Error(code))?;
    *v = envelope["error"].take();
    Ok(())
}

/// A `CreateMessageRequest`/`ElicitRequest`/`ListRootsRequest` of `2026-07-28`: an
/// `inputRequests` entry (no `jsonrpc`), which `Message::parse` must refuse as a JSON-RPC
/// message.
fn input_request_shape(v: &mut Value, method: &str) -> Result<(), String> {
    match Message::parse(&serde_json::to_vec(v).unwrap()) {
        Err(ParseFailure::Reply { error, .. }) if error.code == jsonrpc::INVALID_REQUEST => {}
        other => {
            return Err(format!(
                "Message::parse should refuse an input request (no \"jsonrpc\"), got {other:?}"
            ))
        }
    }
    if v["method"] != method {
        return Err(format!("method is {}, expected {method}", v["method"]));
    }
    input_request(v)
}

/// The checker of a folder, or `None` when we do not model its type.
fn checker(folder: &str) -> Option<Check> {
    let c: Check = match folder {
        // Content blocks.
        "TextContent" | "ImageContent" | "AudioContent" | "ToolUseContent"
        | "ToolResultContent" | "EmbeddedResource" | "ResourceLink" => via::<Content>,
        // Sampling.
        "CreateMessageRequestParams" => create_message_params,
        "CreateMessageResult" => via::<CreateMessageResult>,
        "SamplingMessage" => via::<SamplingMessage>,
        "ModelPreferences" => via::<ModelPreferences>,
        "CreateMessageRequest" => |v| input_request_shape(v, sampling::METHOD),
        // Capabilities.
        "ClientCapabilities" => via::<ClientCapabilities>,
        "ServerCapabilities" => via::<ServerCapabilities>,
        // MRTR.
        "InputRequiredResult" => input_required_result,
        "InputRequests" => input_requests,
        "InputResponses" => input_responses,
        "ElicitRequest" => |v| input_request_shape(v, "elicitation/create"),
        "ListRootsRequest" => |v| input_request_shape(v, "roots/list"),
        // Tools.
        "CallToolRequestParams" => call_tool_params,
        "CallToolResult" => via::<CallToolResult>,
        "Tool" => via::<Tool>,
        "ListToolsResult" => list_tools_result,
        // Lifecycle.
        "DiscoverResult" => discover_result,
        "PaginatedRequestParams" => request_meta,
        // Resources and prompts.
        "Resource" => via::<Resource>,
        "TextResourceContents" => via::<TextResourceContents>,
        "ReadResourceResult" => read_resource_result,
        "ListResourcesResult" => list_resources_result,
        "GetPromptRequestParams" => get_prompt_params,
        "GetPromptResult" => get_prompt_result,
        "ListPromptsResult" => list_prompts_result,
        // Error objects.
        "ParseError" => |v| error_object(v, jsonrpc::PARSE_ERROR),
        "InvalidParamsError" => |v| error_object(v, jsonrpc::INVALID_PARAMS),
        "InternalError" => |v| error_object(v, jsonrpc::INTERNAL_ERROR),
        "MethodNotFoundError" => |v| error_object(v, jsonrpc::METHOD_NOT_FOUND),
        // JSON-RPC requests (client to server).
        "CallToolRequest" => |v| {
            wire(v, Wire::Request("tools/call"))?;
            at(v, "/params", call_tool_params)
        },
        "DiscoverRequest" => |v| {
            wire(v, Wire::Request(lifecycle::DISCOVER))?;
            at(v, "/params", request_meta)
        },
        "ListToolsRequest" => |v| {
            wire(v, Wire::Request("tools/list"))?;
            at(v, "/params", request_meta)
        },
        "ListPromptsRequest" => |v| {
            wire(v, Wire::Request("prompts/list"))?;
            at(v, "/params", request_meta)
        },
        "GetPromptRequest" => |v| {
            wire(v, Wire::Request("prompts/get"))?;
            at(v, "/params", get_prompt_params)
        },
        "ListResourcesRequest" => |v| {
            wire(v, Wire::Request("resources/list"))?;
            at(v, "/params", request_meta)
        },
        "ListResourceTemplatesRequest" => |v| {
            wire(v, Wire::Request("resources/templates/list"))?;
            at(v, "/params", request_meta)
        },
        "ReadResourceRequest" => |v| {
            wire(v, Wire::Request("resources/read"))?;
            at(v, "/params", read_resource_params)
        },
        "CompleteRequest" => |v| {
            wire(v, Wire::Request("completion/complete"))?;
            at(v, "/params", request_meta)
        },
        "SubscriptionsListenRequest" => |v| {
            wire(v, Wire::Request("subscriptions/listen"))?;
            at(v, "/params", request_meta)
        },
        // JSON-RPC notifications.
        "CancelledNotification" => |v| {
            wire(v, Wire::Notification("notifications/cancelled"))?;
            at(v, "/params/requestId", via::<RequestId>)
        },
        "ProgressNotification" => {
            |v| wire(v, Wire::Notification("notifications/progress")).map(drop)
        }
        "LoggingMessageNotification" => {
            |v| wire(v, Wire::Notification("notifications/message")).map(drop)
        }
        "PromptListChangedNotification" => {
            |v| wire(v, Wire::Notification("notifications/prompts/list_changed")).map(drop)
        }
        "ResourceListChangedNotification" => |v| {
            wire(
                v,
                Wire::Notification("notifications/resources/list_changed"),
            )
            .map(drop)
        },
        "ToolListChangedNotification" => {
            |v| wire(v, Wire::Notification("notifications/tools/list_changed")).map(drop)
        }
        "ResourceUpdatedNotification" => {
            |v| wire(v, Wire::Notification("notifications/resources/updated")).map(drop)
        }
        "SubscriptionsAcknowledgedNotification" => |v| {
            wire(
                v,
                Wire::Notification("notifications/subscriptions/acknowledged"),
            )
            .map(drop)
        },
        // JSON-RPC result responses.
        "CallToolResultResponse" => |v| {
            wire(v, Wire::Result)?;
            at(v, "/result", via::<CallToolResult>)
        },
        "DiscoverResultResponse" => |v| {
            wire(v, Wire::Result)?;
            at(v, "/result", discover_result)
        },
        "ListToolsResultResponse" => |v| {
            wire(v, Wire::Result)?;
            at(v, "/result", list_tools_result)
        },
        "ListPromptsResultResponse" => |v| {
            wire(v, Wire::Result)?;
            at(v, "/result", list_prompts_result)
        },
        "ListResourcesResultResponse" => |v| {
            wire(v, Wire::Result)?;
            at(v, "/result", list_resources_result)
        },
        "GetPromptResultResponse" => |v| {
            wire(v, Wire::Result)?;
            at(v, "/result", get_prompt_result)
        },
        "ReadResourceResultResponse" => |v| {
            wire(v, Wire::Result)?;
            at(v, "/result", read_resource_result)
        },
        "ListResourceTemplatesResultResponse"
        | "CompleteResultResponse"
        | "SubscriptionsListenResultResponse" => |v| wire(v, Wire::Result).map(drop),
        // JSON-RPC error responses.
        "HeaderMismatchError" => |v| wire(v, Wire::Error(jsonrpc::HEADER_MISMATCH)).map(drop),
        "MissingRequiredClientCapabilityError" => |v| {
            wire(v, Wire::Error(jsonrpc::MISSING_REQUIRED_CLIENT_CAPABILITY))?;
            at(
                v,
                "/error/data/requiredCapabilities",
                via::<ClientCapabilities>,
            )
        },
        "UnsupportedProtocolVersionError" => {
            |v| wire(v, Wire::Error(jsonrpc::UNSUPPORTED_PROTOCOL_VERSION)).map(drop)
        }
        _ => return None,
    };
    Some(c)
}

/// Example folders whose type we do not model (elicitation, roots, completion, logging and
/// subscription params, resource templates, blobs). A new folder must be added here or
/// given a checker.
const SKIPPED: &[&str] = &[
    "BlobResourceContents",
    "BooleanSchema",
    "CancelledNotificationParams",
    "CompleteRequestParams",
    "CompleteResult",
    "ElicitRequestFormParams",
    "ElicitRequestURLParams",
    "ElicitResult",
    "ListResourceTemplatesResult",
    "ListRootsResult",
    "LoggingMessageNotificationParams",
    "NumberSchema",
    "ProgressNotificationParams",
    "ResourceUpdatedNotificationParams",
    "Root",
    "StringSchema",
    "SubscriptionsListenResult",
    "TitledMultiSelectEnumSchema",
    "TitledSingleSelectEnumSchema",
    "UntitledMultiSelectEnumSchema",
    "UntitledSingleSelectEnumSchema",
];

const ENVELOPE: &str =
    "envelope: resultType/ttlMs/cacheScope live on the raw result (mrtr::result_type reads it; the server adds them to modern answers)";
const FINDING_TOOL_ICONS: &str =
    "finding: Tool has no `icons` (nor `_meta`); mcp-server builds Tool literally, so the field cannot be added from mcp-proto alone";
const FINDING_PROMPT: &str =
    "finding: Prompt has no `title`, `icons` (nor `_meta`); mcp-server builds Prompt literally";
const FINDING_RESOURCE: &str =
    "finding: Resource has no `title`, `icons`, `annotations`, `size` (nor `_meta`); mcp-server builds Resource literally";
const QUIRK_ROOTS: &str =
    "example quirk: the ListRootsRequest example carries an `id`, which the 2026-07-28 ListRootsRequest (an inputRequests entry) does not define";

/// Fields of official examples that our types drop, as `(folder/file, JSON pointer, why)`.
///
/// Three kinds:
/// - *envelope*: `resultType`, `ttlMs`, `cacheScope` of results are modeled on the raw JSON,
///   not in the result structs (`mcp_proto::mrtr::result_type` reads `resultType`; the server
///   adds all three when it answers a modern request).
/// - *finding*: a field the `2026-07-28` schema defines for the type, missing from our struct.
/// - *example quirk*: a field the example has but its schema definition does not.
const KNOWN_DROPS: &[(&str, &str, &str)] = &[
    (
        "CallToolResult/invalid-tool-input-error.json",
        "/resultType",
        ENVELOPE,
    ),
    (
        "CallToolResult/result-with-array-structured-content.json",
        "/resultType",
        ENVELOPE,
    ),
    (
        "CallToolResult/result-with-structured-content.json",
        "/resultType",
        ENVELOPE,
    ),
    (
        "CallToolResult/result-with-unstructured-text.json",
        "/resultType",
        ENVELOPE,
    ),
    (
        "CallToolResultResponse/call-tool-result-response.json",
        "/result/resultType",
        ENVELOPE,
    ),
    (
        "DiscoverResult/server-capabilities-discovery.json",
        "/cacheScope",
        ENVELOPE,
    ),
    (
        "DiscoverResult/server-capabilities-discovery.json",
        "/resultType",
        ENVELOPE,
    ),
    (
        "DiscoverResult/server-capabilities-discovery.json",
        "/ttlMs",
        ENVELOPE,
    ),
    (
        "DiscoverResultResponse/discover-result-response.json",
        "/result/cacheScope",
        ENVELOPE,
    ),
    (
        "DiscoverResultResponse/discover-result-response.json",
        "/result/resultType",
        ENVELOPE,
    ),
    (
        "DiscoverResultResponse/discover-result-response.json",
        "/result/ttlMs",
        ENVELOPE,
    ),
    (
        "ListPromptsResult/prompts-list-with-cursor-and-ttl.json",
        "/prompts/0/icons",
        FINDING_PROMPT,
    ),
    (
        "ListPromptsResult/prompts-list-with-cursor-and-ttl.json",
        "/prompts/0/title",
        FINDING_PROMPT,
    ),
    (
        "ListPromptsResultResponse/list-prompts-result-response.json",
        "/result/prompts/0/icons",
        FINDING_PROMPT,
    ),
    (
        "ListPromptsResultResponse/list-prompts-result-response.json",
        "/result/prompts/0/title",
        FINDING_PROMPT,
    ),
    (
        "ListResourcesResult/resources-list-with-cursor-and-ttl.json",
        "/resources/0/icons",
        FINDING_RESOURCE,
    ),
    (
        "ListResourcesResult/resources-list-with-cursor-and-ttl.json",
        "/resources/0/title",
        FINDING_RESOURCE,
    ),
    (
        "ListResourcesResultResponse/list-resources-result-response.json",
        "/result/resources/0/icons",
        FINDING_RESOURCE,
    ),
    (
        "ListResourcesResultResponse/list-resources-result-response.json",
        "/result/resources/0/title",
        FINDING_RESOURCE,
    ),
    (
        "ListRootsRequest/list-roots-request.json",
        "/id",
        QUIRK_ROOTS,
    ),
    (
        "ListToolsResult/tools-list-with-cursor-and-ttl.json",
        "/cacheScope",
        ENVELOPE,
    ),
    (
        "ListToolsResult/tools-list-with-cursor-and-ttl.json",
        "/resultType",
        ENVELOPE,
    ),
    (
        "ListToolsResult/tools-list-with-cursor-and-ttl.json",
        "/tools/0/icons",
        FINDING_TOOL_ICONS,
    ),
    (
        "ListToolsResult/tools-list-with-cursor-and-ttl.json",
        "/ttlMs",
        ENVELOPE,
    ),
    (
        "ListToolsResultResponse/list-tools-result-response.json",
        "/result/cacheScope",
        ENVELOPE,
    ),
    (
        "ListToolsResultResponse/list-tools-result-response.json",
        "/result/resultType",
        ENVELOPE,
    ),
    (
        "ListToolsResultResponse/list-tools-result-response.json",
        "/result/tools/0/icons",
        FINDING_TOOL_ICONS,
    ),
    (
        "ListToolsResultResponse/list-tools-result-response.json",
        "/result/ttlMs",
        ENVELOPE,
    ),
    (
        "Resource/file-resource-with-annotations.json",
        "/annotations",
        FINDING_RESOURCE,
    ),
    (
        "Resource/file-resource-with-annotations.json",
        "/title",
        FINDING_RESOURCE,
    ),
];

// ---------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Diff {
    /// In the example, not in what we wrote back.
    Dropped(String),
    /// In what we wrote back, not in the example.
    Added(String),
    /// Present in both, different.
    Changed(String, String, String),
}

fn diff(orig: &Value, ours: &Value, path: &str, out: &mut Vec<Diff>) {
    match (orig, ours) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{path}/{}", pointer_escape(k));
                match b.get(k) {
                    Some(vb) => diff(va, vb, &p, out),
                    None => out.push(Diff::Dropped(p)),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(Diff::Added(format!("{path}/{}", pointer_escape(k))));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff(va, vb, &format!("{path}/{i}"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(Diff::Changed(path.to_owned(), a.to_string(), b.to_string())),
    }
}

/// Reads every modeled example; returns the drops seen, by `(folder/file, pointer)`.
fn run_all() -> (BTreeSet<(String, String)>, Vec<String>) {
    let mut drops = BTreeSet::new();
    let mut failures = Vec::new();
    for (folder, files) in examples() {
        let Some(check) = checker(&folder) else {
            continue;
        };
        for (file, original) in files {
            let id = format!("{folder}/{file}");
            let mut ours = original.clone();
            if let Err(e) = check(&mut ours) {
                failures.push(format!("{id}: {e}\n    example: {original}"));
                continue;
            }
            let mut d = Vec::new();
            diff(&original, &ours, "", &mut d);
            for x in d {
                match x {
                    Diff::Dropped(p) => {
                        drops.insert((id.clone(), p));
                    }
                    other => failures.push(format!(
                        "{id}: written back differently: {other:?}\n    example: {original}\n    ours:    {ours}"
                    )),
                }
            }
            // What we write back must be as valid as the example.
            if has_def(&folder) && schema_errors(&folder, &original).is_empty() {
                let errs = schema_errors(&folder, &ours);
                let known = KNOWN_DROPS.iter().any(|(f, _, _)| *f == id);
                if !errs.is_empty() && !known {
                    failures.push(format!(
                        "{id}: what we write back does not validate against {folder}:\n    {}\n    ours: {ours}",
                        errs.join("\n    ")
                    ));
                }
            }
        }
    }
    (drops, failures)
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn every_folder_is_modeled_or_skipped() {
    let on_disk: BTreeSet<String> = examples().into_keys().collect();
    let skipped: BTreeSet<String> = SKIPPED.iter().map(|s| s.to_string()).collect();
    let modeled: BTreeSet<String> = on_disk
        .iter()
        .filter(|f| checker(f).is_some())
        .cloned()
        .collect();
    let both: Vec<_> = modeled.intersection(&skipped).collect();
    assert!(
        both.is_empty(),
        "folders both modeled and in SKIPPED: {both:?}"
    );
    let neither: Vec<_> = on_disk
        .iter()
        .filter(|f| !modeled.contains(*f) && !skipped.contains(*f))
        .collect();
    assert!(
        neither.is_empty(),
        "new example folders, neither modeled nor in SKIPPED (give them a checker, or add them to SKIPPED): {neither:?}"
    );
    let gone: Vec<_> = skipped.difference(&on_disk).collect();
    assert!(
        gone.is_empty(),
        "SKIPPED lists folders that no longer exist: {gone:?}"
    );
    // The set of skipped folders, asserted as a whole so that a change is noticed.
    let skipped_on_disk: Vec<&str> = on_disk
        .iter()
        .filter(|f| checker(f).is_none())
        .map(String::as_str)
        .collect();
    assert_eq!(skipped_on_disk, SKIPPED, "the folders we skip changed");
}

#[test]
fn modeled_examples_round_trip() {
    let (drops, failures) = run_all();
    let known: BTreeSet<(String, String)> = KNOWN_DROPS
        .iter()
        .map(|(f, p, _)| (f.to_string(), p.to_string()))
        .collect();
    let new: Vec<_> = drops.difference(&known).collect();
    let stale: Vec<_> = known.difference(&drops).collect();
    let mut report = String::new();
    for f in &failures {
        report.push_str(&format!("FAIL {f}\n"));
    }
    for (f, p) in &new {
        report.push_str(&format!("NEW DROP: our types drop {p} of {f}\n"));
    }
    for (f, p) in &stale {
        report.push_str(&format!(
            "STALE: {p} of {f} is no longer dropped; remove it from KNOWN_DROPS\n"
        ));
    }
    assert!(report.is_empty(), "\n{report}");
}

#[test]
fn json_rpc_examples_are_classified() {
    // Each JSON-RPC example folder, with what `Message::parse` must make of it; the checker
    // table above asserts the same, this test states the classes in one place.
    let expected: &[(&str, Wire)] = &[
        ("CallToolRequest", Wire::Request("tools/call")),
        ("CompleteRequest", Wire::Request("completion/complete")),
        ("DiscoverRequest", Wire::Request("server/discover")),
        ("GetPromptRequest", Wire::Request("prompts/get")),
        ("ListPromptsRequest", Wire::Request("prompts/list")),
        (
            "ListResourceTemplatesRequest",
            Wire::Request("resources/templates/list"),
        ),
        ("ListResourcesRequest", Wire::Request("resources/list")),
        ("ListToolsRequest", Wire::Request("tools/list")),
        ("ReadResourceRequest", Wire::Request("resources/read")),
        (
            "SubscriptionsListenRequest",
            Wire::Request("subscriptions/listen"),
        ),
        (
            "CancelledNotification",
            Wire::Notification("notifications/cancelled"),
        ),
        (
            "LoggingMessageNotification",
            Wire::Notification("notifications/message"),
        ),
        (
            "ProgressNotification",
            Wire::Notification("notifications/progress"),
        ),
        (
            "PromptListChangedNotification",
            Wire::Notification("notifications/prompts/list_changed"),
        ),
        (
            "ResourceListChangedNotification",
            Wire::Notification("notifications/resources/list_changed"),
        ),
        (
            "ResourceUpdatedNotification",
            Wire::Notification("notifications/resources/updated"),
        ),
        (
            "SubscriptionsAcknowledgedNotification",
            Wire::Notification("notifications/subscriptions/acknowledged"),
        ),
        (
            "ToolListChangedNotification",
            Wire::Notification("notifications/tools/list_changed"),
        ),
        ("CallToolResultResponse", Wire::Result),
        ("CompleteResultResponse", Wire::Result),
        ("DiscoverResultResponse", Wire::Result),
        ("GetPromptResultResponse", Wire::Result),
        ("ListPromptsResultResponse", Wire::Result),
        ("ListResourceTemplatesResultResponse", Wire::Result),
        ("ListResourcesResultResponse", Wire::Result),
        ("ListToolsResultResponse", Wire::Result),
        ("ReadResourceResultResponse", Wire::Result),
        ("SubscriptionsListenResultResponse", Wire::Result),
        ("HeaderMismatchError", Wire::Error(-32020)),
        ("MissingRequiredClientCapabilityError", Wire::Error(-32021)),
        ("UnsupportedProtocolVersionError", Wire::Error(-32022)),
    ];
    let all = examples();
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for (folder, expect) in expected {
        let files = all
            .get(*folder)
            .unwrap_or_else(|| panic!("no example folder {folder}"));
        for (file, v) in files {
            let mut v = v.clone();
            if let Err(e) = wire(&mut v, *expect) {
                failures.push(format!("{folder}/{file}: {e}"));
            }
        }
        seen.insert(*folder);
    }
    // Every example that is a JSON-RPC message (has "jsonrpc") is in the table above.
    for (folder, files) in &all {
        for (file, v) in files {
            if v.get("jsonrpc").is_some() && !seen.contains(folder.as_str()) {
                failures.push(format!(
                    "{folder}/{file} is a JSON-RPC message missing from the table"
                ));
            }
        }
    }
    // Error objects, in a response envelope.
    for (folder, code) in [
        ("ParseError", jsonrpc::PARSE_ERROR),
        ("InvalidParamsError", jsonrpc::INVALID_PARAMS),
        ("InternalError", jsonrpc::INTERNAL_ERROR),
        ("MethodNotFoundError", jsonrpc::METHOD_NOT_FOUND),
    ] {
        for (file, v) in &all[folder] {
            let mut v = v.clone();
            if let Err(e) = error_object(&mut v, code) {
                failures.push(format!("{folder}/{file}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn examples_validate_against_their_schema_definition() {
    // Examples that do not validate against the definition they are filed under: quirks of
    // the reference data, not of ours. Listed so that a change is noticed.
    const KNOWN_INVALID: &[&str] = &[];
    let mut bad = BTreeMap::new();
    let mut checked = 0;
    for (folder, files) in examples() {
        assert!(
            has_def(&folder),
            "example folder {folder} names no schema definition"
        );
        for (file, v) in files {
            checked += 1;
            let errs = schema_errors(&folder, &v);
            if !errs.is_empty() {
                bad.insert(format!("{folder}/{file}"), errs);
            }
        }
    }
    let listed: BTreeSet<String> = KNOWN_INVALID.iter().map(|s| s.to_string()).collect();
    let found: BTreeSet<String> = bad.keys().cloned().collect();
    assert_eq!(
        found, listed,
        "examples invalid against their own definition changed; errors: {bad:#?}"
    );
    assert!(checked > 100, "only {checked} examples checked");
}

#[test]
fn our_protocol_errors_validate() {
    // The errors the modern era defines precisely, as our constructors build them.
    let mut out = Vec::new();
    jsonrpc::write_response(
        &mut out,
        Some(&RequestId::Number(1)),
        &Err(lifecycle::unsupported_version("1900-01-01")),
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    let errs = schema_errors("UnsupportedProtocolVersionError", &v);
    assert!(errs.is_empty(), "{v}\n{errs:#?}");
    out.clear();
    jsonrpc::write_response(
        &mut out,
        Some(&RequestId::String("x".into())),
        &Err(lifecycle::missing_capability(
            json!({"sampling": {}}),
            "this tool samples",
        )),
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    let errs = schema_errors("MissingRequiredClientCapabilityError", &v);
    assert!(errs.is_empty(), "{v}\n{errs:#?}");
    for (def, e) in [
        ("ParseError", ErrorObject::parse_error("bad")),
        ("InvalidRequestError", ErrorObject::invalid_request("bad")),
        ("MethodNotFoundError", ErrorObject::method_not_found("x/y")),
        ("InvalidParamsError", ErrorObject::invalid_params("bad")),
        ("InternalError", ErrorObject::internal("bad")),
    ] {
        let v = serde_json::to_value(&e).unwrap();
        let errs = schema_errors(def, &v);
        assert!(errs.is_empty(), "{def}: {v}\n{errs:#?}");
    }
    // The `_meta` a modern client sends.
    let meta = RequestMeta {
        protocol_version: REVISION.into(),
        client_capabilities: ClientCapabilities::sampling(true),
        client_info: Some(Implementation::new("c", "1")),
        progress_token: Some(json!(7)),
    };
    let v = Value::Object(meta.to_meta());
    let errs = schema_errors("RequestMetaObject", &v);
    assert!(errs.is_empty(), "{v}\n{errs:#?}");
}
