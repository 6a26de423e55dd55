//! The JSON-RPC envelope ([`Message::parse`] and its fast path for results) and the typed
//! params a peer sends (elicitation, tool calls, the modern `_meta`, method names).

use crate::json;
use mcp_proto::elicitation::ElicitRequestParams;
use mcp_proto::jsonrpc::{self, ParseFailure, PARSE_ERROR};
use mcp_proto::methods::{self, ClientMethod, NotificationMethod, ServerMethod};
use mcp_proto::tools::CallToolParams;
use mcp_proto::{Message, RequestId, RequestMeta, ToolCall};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The message written back as a frame.
fn encode(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    match m {
        Message::Request { id, method, params } => {
            jsonrpc::write_request(&mut out, id, method, params.as_ref())
        }
        Message::Notification { method, params } => {
            jsonrpc::write_notification(&mut out, method, params.as_ref())
        }
        Message::Response { id, outcome } => jsonrpc::write_response(&mut out, Some(id), outcome),
    }
    out
}

fn same_opt(a: &Option<Value>, b: &Option<Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => json::same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Equal messages, numbers compared as numbers ([`json::same`]).
fn same_message(a: &Message, b: &Message) -> bool {
    use Message::*;
    match (a, b) {
        (
            Request { id, method, params },
            Request {
                id: i,
                method: m,
                params: p,
            },
        ) => id == i && method == m && same_opt(params, p),
        (
            Notification { method, params },
            Notification {
                method: m,
                params: p,
            },
        ) => method == m && same_opt(params, p),
        (Response { id, outcome }, Response { id: i, outcome: o }) => {
            id == i
                && match (outcome, o) {
                    (Ok(a), Ok(b)) => json::same(a, b),
                    (Err(a), Err(b)) => {
                        a.code == b.code && a.message == b.message && same_opt(&a.data, &b.data)
                    }
                    _ => false,
                }
        }
        _ => false,
    }
}

/// A frame through [`Message::parse`]: a message re-encodes and parses to itself; a failure
/// says why (`-32700` exactly when the bytes are not JSON); the fast paths for results
/// ([`jsonrpc::parse_result_response`]) and requests ([`jsonrpc::peek`]) agree with the full
/// parse whenever they answer.
pub fn jsonrpc_message(data: &[u8]) {
    let parsed = Message::parse(data);
    if let Some(jsonrpc::Peek::Request { id, method, params }) = jsonrpc::peek(data) {
        let fast = params.map(|p| json::parse(p.get().as_bytes()).expect("raw params are JSON"));
        match &parsed {
            Ok(Message::Request {
                id: i,
                method: m,
                params: p,
            }) => assert!(
                *i == id && m == method && same_opt(p, &fast),
                "{parsed:?} vs {id} {method} {fast:?}"
            ),
            other => panic!("the fast path read request {id} {method}, the full parse {other:?}"),
        }
    }
    if let Some((id, raw)) = jsonrpc::parse_result_response(data) {
        let fast = json::parse(raw.get().as_bytes()).expect("the fast path's result is JSON");
        match &parsed {
            Ok(Message::Response {
                id: RequestId::Number(n),
                outcome: Ok(v),
            }) => assert!(
                *n == id && json::same(v, &fast),
                "{parsed:?} vs {id} {fast}"
            ),
            other => {
                panic!("the fast path read result {fast} for id {id}, the full parse {other:?}")
            }
        }
    }
    match parsed {
        Ok(m) => {
            let again = Message::parse(&encode(&m)).expect("a message re-encodes");
            assert!(same_message(&m, &again), "{m:?} came back as {again:?}");
            if let Message::Request { method, params, .. } = &m {
                method_names(method);
                typed_params_of(params.as_ref());
            }
        }
        Err(ParseFailure::Reply { error, .. }) => {
            assert!(!error.message.is_empty());
            let is_json = json::parse(data).is_some();
            assert_eq!(error.code == PARSE_ERROR, !is_json, "{error:?}");
        }
        Err(ParseFailure::Ignore(why)) => assert!(!why.is_empty()),
    }
}

/// Method names read into the dispatch enums: a name that parses gives itself back.
fn method_names(name: &str) {
    if let Some(m) = ClientMethod::parse(name) {
        assert_eq!(m.name(), name);
    }
    if let Some(m) = ServerMethod::parse(name) {
        assert_eq!(m.name(), name);
    }
    let _ = NotificationMethod::parse(name);
    let _ = methods::named_param(name);
}

/// A typed value read from JSON comes back the same through JSON, and its serialised form
/// reads again from text.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(t: &T) {
    let v = serde_json::to_value(t).expect("a typed value serialises");
    let back: T = serde_json::from_value(v.clone()).expect("a serialised value reads back");
    assert_eq!(&back, t);
    let text = serde_json::to_vec(&v).expect("JSON serialises");
    serde_json::from_slice::<T>(&text).expect("serialised text reads back");
}

fn typed_params_of(params: Option<&Value>) {
    match ElicitRequestParams::parse(params.cloned()) {
        Ok(p) => {
            round_trip(&p);
            let v = serde_json::to_value(&p).expect("params serialise");
            ElicitRequestParams::parse(Some(v)).expect("parsed params parse again");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    if let Some(p) = params {
        let call = ToolCall::from_params(p);
        assert!(call.name.is_empty() || p.get("name").is_some());
        if let Ok(c) = serde_json::from_value::<CallToolParams>(p.clone()) {
            round_trip(&c);
        }
        tasks_params(p);
    }
    match RequestMeta::from_params(params) {
        Ok(_) => assert!(RequestMeta::is_modern(params)),
        Err(e) => assert!(!e.message.is_empty()),
    }
}

/// The tasks extension's params (and the task a client reads back), and `subscriptions/listen`'s.
fn tasks_params(p: &Value) {
    use mcp_proto::subscriptions::ListenParams;
    use mcp_proto::tasks::{DetailedTask, TaskIdParams, UpdateTaskParams};
    if let Ok(t) = serde_json::from_value::<TaskIdParams>(p.clone()) {
        round_trip(&t);
    }
    if let Ok(u) = serde_json::from_value::<UpdateTaskParams>(p.clone()) {
        round_trip(&u);
    }
    if let Ok(l) = serde_json::from_value::<ListenParams>(p.clone()) {
        round_trip(&l);
    }
    if let Ok(d) = serde_json::from_value::<DetailedTask>(p.clone()) {
        round_trip(&d);
        assert_eq!(
            d.task.status.is_terminal(),
            !matches!(d.task.status.as_str(), "working" | "input_required")
        );
    }
}

/// Arbitrary JSON as the params of a request: elicitation params (`parse`, with its schema
/// check), tool call params (`ToolCall::from_params`, `CallToolParams`), the tasks
/// extension's params and tasks, `subscriptions/listen`'s params, the modern `_meta`
/// (`RequestMeta::from_params`).
pub fn typed_params(data: &[u8]) {
    if let Some(v) = json::parse(data) {
        typed_params_of(Some(&v));
    }
}
