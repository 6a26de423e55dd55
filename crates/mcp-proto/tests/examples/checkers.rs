//! Checkers: read a value with our types and write it back, in place.

use super::*;
use mcp_proto::methods::{CreateMessage, Discover, Elicit, ListRoots, Request as _};

// ---------------------------------------------------------------------------------------
// Checkers: read a value with our types and write it back, in place
// ---------------------------------------------------------------------------------------

pub(crate) type Check = fn(&mut Value) -> Result<(), String>;

/// Replaces `v` by what `T` makes of it.
pub(crate) fn via<T: DeserializeOwned + Serialize>(v: &mut Value) -> Result<(), String> {
    let name = std::any::type_name::<T>();
    let t: T = serde_json::from_value(v.clone())
        .map_err(|e| format!("does not deserialize into {name}: {e}"))?;
    *v = serde_json::to_value(&t).map_err(|e| format!("{name} does not serialize: {e}"))?;
    Ok(())
}

/// Applies `f` to the member at `pointer`, which must exist.
pub(crate) fn at(v: &mut Value, pointer: &str, f: Check) -> Result<(), String> {
    let sub = v
        .pointer_mut(pointer)
        .ok_or_else(|| format!("{pointer} is missing"))?;
    f(sub).map_err(|e| format!("{pointer}: {e}"))
}

/// Applies `f` to the member at `pointer` when it exists.
pub(crate) fn at_opt(v: &mut Value, pointer: &str, f: Check) -> Result<(), String> {
    match v.pointer_mut(pointer) {
        Some(sub) => f(sub).map_err(|e| format!("{pointer}: {e}")),
        None => Ok(()),
    }
}

/// Applies `f` to every item of the array at `pointer`.
pub(crate) fn each(v: &mut Value, pointer: &str, f: Check) -> Result<(), String> {
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
pub(crate) fn request_meta(params: &mut Value) -> Result<(), String> {
    let m = RequestMeta::from_params(Some(params))
        .map_err(|e| format!("RequestMeta::from_params refused it: {e}"))?;
    if m.protocol_version != REVISION {
        return Err(format!("protocol version {}", m.protocol_version));
    }
    params["_meta"] = Value::Object(m.to_meta());
    Ok(())
}

pub(crate) fn call_tool_params(p: &mut Value) -> Result<(), String> {
    via::<CallToolParams>(p)?;
    request_meta(p)
}

pub(crate) fn get_prompt_params(p: &mut Value) -> Result<(), String> {
    via::<GetPromptParams>(p)?;
    request_meta(p)
}

pub(crate) fn read_resource_params(p: &mut Value) -> Result<(), String> {
    via::<ReadResourceParams>(p)?;
    request_meta(p)
}

/// Sampling params: read, written back, and accepted by `sampling::validate` (for a client
/// that declared `sampling.tools`).
pub(crate) fn create_message_params(p: &mut Value) -> Result<(), String> {
    let params: CreateMessageParams = serde_json::from_value(p.clone())
        .map_err(|e| format!("does not deserialize into CreateMessageParams: {e}"))?;
    let caps = ClientCapabilities::sampling(true);
    sampling::validate(&params, Some(&caps))
        .map_err(|e| format!("sampling::validate refuses an official example: {e}"))?;
    via::<CreateMessageParams>(p)
}

/// The server identity in a result's `_meta`.
pub(crate) fn server_info_meta(result: &mut Value) -> Result<(), String> {
    at_opt(
        result,
        &format!("/_meta/{}", pointer_escape(META_SERVER_INFO)),
        via::<Implementation>,
    )
}

pub(crate) fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn discover_result(r: &mut Value) -> Result<(), String> {
    via::<DiscoverResult>(r)?;
    server_info_meta(r)
}

/// Form-mode elicitation params: read by `ElicitRequestParams::parse` (which checks the
/// schema), written back.
pub(crate) fn elicit_params(p: &mut Value) -> Result<(), String> {
    ElicitRequestParams::parse(Some(p.clone()))
        .map_err(|e| format!("ElicitRequestParams::parse refuses an official example: {e}"))?;
    via::<ElicitRequestParams>(p)
}

/// URL-mode elicitation params: refused clearly (`ParamsError::UrlMode`), left as they are.
pub(crate) fn elicit_url_params(p: &mut Value) -> Result<(), String> {
    match ElicitRequestParams::parse(Some(p.clone())) {
        Err(ParamsError::UrlMode) => Ok(()),
        other => Err(format!(
            "url mode must be refused as UrlMode, got {other:?}"
        )),
    }
}

/// One property of a requested schema: read, checked alone, written back.
pub(crate) fn property_schema(p: &mut Value) -> Result<(), String> {
    let prop: PropertySchema = serde_json::from_value(p.clone())
        .map_err(|e| format!("does not deserialize into PropertySchema: {e}"))?;
    RequestedSchema::new()
        .property("x", prop, false)
        .check()
        .map_err(|e| format!("RequestedSchema::check refuses an official example: {e}"))?;
    via::<PropertySchema>(p)
}

pub(crate) fn list_roots_result(r: &mut Value) -> Result<(), String> {
    via::<ListRootsResult>(r)?;
    each(r, "/roots", |root| {
        via::<Root>(root)?;
        let checked: Root = serde_json::from_value(root.clone()).map_err(|e| e.to_string())?;
        checked.check().map_err(|e| e.to_string())
    })
}

/// An `inputRequests` entry: the generic [`InputRequest`], and its params typed by method.
pub(crate) fn input_request(r: &mut Value) -> Result<(), String> {
    via::<InputRequest>(r)?;
    if r["method"] == CreateMessage::METHOD {
        at(r, "/params", create_message_params)?;
    } else if r["method"] == Elicit::METHOD {
        at(r, "/params", elicit_params)?;
    } else if r["method"] == ListRoots::METHOD {
        at_opt(r, "/params", request_meta_opt)?;
    } else {
        return Err(format!("unknown input request method {}", r["method"]));
    }
    Ok(())
}

/// Params that may carry only `_meta` (roots/list): any `_meta` is kept as an object.
pub(crate) fn request_meta_opt(p: &mut Value) -> Result<(), String> {
    match p.as_object() {
        Some(o) if o.keys().all(|k| k == "_meta") => Ok(()),
        _ => Err(format!("unexpected roots/list params {p}")),
    }
}

pub(crate) fn input_requests(m: &mut Value) -> Result<(), String> {
    via::<BTreeMap<String, InputRequest>>(m)?;
    for (key, r) in m.as_object_mut().ok_or("not an object")? {
        input_request(r).map_err(|e| format!("[{key:?}]: {e}"))?;
    }
    Ok(())
}

pub(crate) fn input_responses(m: &mut Value) -> Result<(), String> {
    via::<InputResponses>(m)?;
    for (key, r) in m.as_object_mut().ok_or("not an object")? {
        // Which request an answer is for is known by its key only; sampling answers are the
        // ones with a role and a model, elicitation answers have an action, roots answers
        // a list of roots.
        let typed = if r.get("role").is_some() && r.get("model").is_some() {
            via::<CreateMessageResult>(r)
        } else if r.get("action").is_some() {
            via::<ElicitResult>(r)
        } else if r.get("roots").is_some() {
            list_roots_result(r)
        } else {
            Err("an answer of no known kind".into())
        };
        typed.map_err(|e| format!("[{key:?}]: {e}"))?;
    }
    Ok(())
}

pub(crate) fn input_required_result(r: &mut Value) -> Result<(), String> {
    via::<InputRequiredResult>(r)?;
    at_opt(r, "/inputRequests", input_requests)
}

pub(crate) fn list_tools_result(r: &mut Value) -> Result<(), String> {
    via::<ListToolsResult>(r)?;
    each(r, "/tools", via::<Tool>)
}

pub(crate) fn list_prompts_result(r: &mut Value) -> Result<(), String> {
    // No ListPromptsResult type: its items are ours.
    each(r, "/prompts", via::<Prompt>)
}

pub(crate) fn list_resources_result(r: &mut Value) -> Result<(), String> {
    // No ListResourcesResult type: its items are ours.
    each(r, "/resources", via::<Resource>)
}

pub(crate) fn get_prompt_result(r: &mut Value) -> Result<(), String> {
    // No GetPromptResult type: its messages are ours.
    each(r, "/messages", via::<PromptMessage>)
}

pub(crate) fn read_resource_result(r: &mut Value) -> Result<(), String> {
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
pub(crate) enum Wire {
    Request(&'static str),
    Notification(&'static str),
    Result,
    Error(i64),
}

/// Parses `v` with [`Message::parse`], checks its class, and replaces `v` by the envelope
/// `jsonrpc::write_*` writes for the parsed message.
pub(crate) fn wire(v: &mut Value, expect: Wire) -> Result<Message, String> {
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

pub(crate) fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// An error object example: read as [`ErrorObject`], and as a response carrying it.
pub(crate) fn error_object(v: &mut Value, code: i64) -> Result<(), String> {
    via::<ErrorObject>(v)?;
    let mut envelope = json!({"jsonrpc": "2.0", "id": "e-1", "error": v.clone()});
    wire(&mut envelope, Wire::Error(code))?;
    *v = envelope["error"].take();
    Ok(())
}

/// A `CreateMessageRequest`/`ElicitRequest`/`ListRootsRequest` of `2026-07-28`: an
/// `inputRequests` entry (no `jsonrpc`), which `Message::parse` must refuse as a JSON-RPC
/// message.
pub(crate) fn input_request_shape(v: &mut Value, method: &str) -> Result<(), String> {
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
pub(crate) fn checker(folder: &str) -> Option<Check> {
    let c: Check = match folder {
        // Content blocks.
        "TextContent" | "ImageContent" | "AudioContent" | "ToolUseContent"
        | "ToolResultContent" | "EmbeddedResource" | "ResourceLink" => via::<Content>,
        // Sampling.
        "CreateMessageRequestParams" => create_message_params,
        "CreateMessageResult" => via::<CreateMessageResult>,
        "SamplingMessage" => via::<SamplingMessage>,
        "ModelPreferences" => via::<ModelPreferences>,
        "CreateMessageRequest" => |v| input_request_shape(v, CreateMessage::METHOD),
        // Elicitation (form mode) and roots.
        "ElicitRequestFormParams" => elicit_params,
        "ElicitRequestURLParams" => elicit_url_params,
        "ElicitResult" => via::<ElicitResult>,
        "StringSchema"
        | "NumberSchema"
        | "BooleanSchema"
        | "UntitledSingleSelectEnumSchema"
        | "TitledSingleSelectEnumSchema"
        | "UntitledMultiSelectEnumSchema"
        | "TitledMultiSelectEnumSchema" => property_schema,
        "Root" => |v| {
            via::<Root>(v)?;
            let r: Root = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
            r.check().map_err(|e| e.to_string())
        },
        "ListRootsResult" => list_roots_result,
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
            wire(v, Wire::Request(Discover::METHOD))?;
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

/// Example folders whose type we do not model (completion, logging and subscription params,
/// resource templates, blobs). A new folder must be added here or
/// given a checker.
pub(crate) const SKIPPED: &[&str] = &[
    "BlobResourceContents",
    "CancelledNotificationParams",
    "CompleteRequestParams",
    "CompleteResult",
    "ListResourceTemplatesResult",
    "LoggingMessageNotificationParams",
    "ProgressNotificationParams",
    "ResourceUpdatedNotificationParams",
    "SubscriptionsListenResult",
];

pub(crate) const ENVELOPE: &str =
    "envelope: resultType/ttlMs/cacheScope live on the raw result (mrtr::result_type reads it; the server adds them to modern answers)";
pub(crate) const FINDING_TOOL_ICONS: &str =
    "finding: Tool has no `icons` (nor `_meta`); mcp-server builds Tool literally, so the field cannot be added from mcp-proto alone";
pub(crate) const FINDING_PROMPT: &str =
    "finding: Prompt has no `title`, `icons` (nor `_meta`); mcp-server builds Prompt literally";
pub(crate) const FINDING_RESOURCE: &str =
    "finding: Resource has no `title`, `icons`, `annotations`, `size` (nor `_meta`); mcp-server builds Resource literally";
pub(crate) const QUIRK_ROOTS: &str =
    "example quirk: the ListRootsRequest example carries an `id`, which the 2026-07-28 ListRootsRequest (an inputRequests entry) does not define";

/// Fields of official examples that our types drop, as `(folder/file, JSON pointer, why)`.
///
/// Three kinds:
/// - *envelope*: `resultType`, `ttlMs`, `cacheScope` of results are modeled on the raw JSON,
///   not in the result structs (`mcp_proto::mrtr::result_type` reads `resultType`; the server
///   adds all three when it answers a modern request).
/// - *finding*: a field the `2026-07-28` schema defines for the type, missing from our struct.
/// - *example quirk*: a field the example has but its schema definition does not.
pub(crate) const KNOWN_DROPS: &[(&str, &str, &str)] = &[
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
