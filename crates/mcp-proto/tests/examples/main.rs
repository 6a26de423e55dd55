//! The official example messages of MCP `2026-07-28` (`tests/spec/2026-07-28/examples/` at the
//! workspace root, see `tests/spec/README.md`), read with our types.
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

mod checkers;

use jsonschema::Validator;
use mcp_proto::content::Content;
use mcp_proto::elicitation::{
    ElicitRequestParams, ElicitResult, ParamsError, PropertySchema, RequestedSchema,
};
use mcp_proto::jsonrpc::{self, ErrorObject, Message, ParseFailure, RequestId};
use mcp_proto::lifecycle::{self, DiscoverResult, Implementation, RequestMeta, META_SERVER_INFO};
use mcp_proto::mrtr::{InputRequest, InputRequiredResult, InputResponses};
use mcp_proto::prompts::{GetPromptParams, Prompt, PromptMessage};
use mcp_proto::resources::{ReadResourceParams, Resource, TextResourceContents};
use mcp_proto::roots::{ListRootsResult, Root};
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

use checkers::*;

const REVISION: &str = "2026-07-28";

// ---------------------------------------------------------------------------------------
// Reading the reference data
// ---------------------------------------------------------------------------------------

/// `tests/spec` at the workspace root (two levels above this crate). Fails with a clear
/// message when it is missing.
fn spec_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/spec");
    let examples = dir.join(REVISION).join("examples");
    assert!(
        examples.is_dir(),
        "the MCP specification reference data is missing: expected the folder {} \
         (tests/spec/{REVISION}/examples at the workspace root, holding one folder of JSON \
         example messages per schema type, see tests/spec/README.md).",
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
