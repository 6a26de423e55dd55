//! The few JSON-RPC messages of the job, built and read by hand (method names from
//! `mcp_proto::methods`, the one place that spells them).

use crate::BenchError;
use mcp_proto::methods::{CallTool, CreateMessage, Initialize, Initialized, Notification, Request};
use serde_json::{json, Value};

/// The protocol version the client asks for.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// The id of `initialize`.
pub const INIT_ID: u64 = 1;
/// The id of the timed `tools/call`.
pub const CALL_ID: u64 = 2;

/// `initialize` with the sampling capability.
pub fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": INIT_ID, "method": Initialize::METHOD, "params": {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {"sampling": {}},
        "clientInfo": {"name": "mcp-bench", "version": env!("CARGO_PKG_VERSION")}
    }})
}

/// `notifications/initialized`.
pub fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": Initialized::METHOD})
}

/// `tools/call bench_sampling {n, concurrency}`.
pub fn call(n: u64, concurrency: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": CALL_ID, "method": CallTool::METHOD, "params": {
        "name": "bench_sampling", "arguments": {"n": n, "concurrency": concurrency}
    }})
}

/// The fixed answer to a sampling request with this id (the id's JSON text as sent).
pub fn sampling_reply(id: &Value) -> Vec<u8> {
    let reply = json!({"jsonrpc": "2.0", "id": id, "result": {
        "role": "assistant", "content": {"type": "text", "text": "ok"},
        "model": "bench", "stopReason": "endTurn"
    }});
    let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// An empty result for any other request the server makes (a `ping`).
pub fn empty_reply(id: &Value) -> Vec<u8> {
    let mut bytes =
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "result": {}})).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// What one message from the server is, for the job.
#[derive(Debug)]
pub enum Incoming {
    /// A sampling request: answer it.
    Sampling(Value),
    /// Another request: answer it with an empty result.
    OtherRequest(Value),
    /// The response to our request with this id.
    Response(u64, Value),
    /// A notification or anything else that needs no answer.
    Ignored,
}

/// Reads one message.
pub fn classify(bytes: &[u8]) -> Result<Incoming, BenchError> {
    let msg: Value = serde_json::from_slice(bytes)
        .map_err(|e| BenchError::protocol(format!("the server sent invalid JSON: {e}")))?;
    let id = msg.get("id").cloned();
    match (msg.get("method").and_then(Value::as_str), id) {
        (Some(m), Some(id)) if m == CreateMessage::METHOD => Ok(Incoming::Sampling(id)),
        (Some(_), Some(id)) => Ok(Incoming::OtherRequest(id)),
        (Some(_), None) => Ok(Incoming::Ignored),
        (None, Some(id)) => match id.as_u64() {
            Some(n) => Ok(Incoming::Response(n, msg)),
            None => Err(BenchError::protocol(format!("a response with id {id}"))),
        },
        (None, None) => Err(BenchError::protocol("a message without method or id")),
    }
}

/// Checks the tool call's response: a result, not `isError`, saying all n round trips completed.
pub fn check_result(response: &Value, n: u64) -> Result<(), BenchError> {
    if let Some(err) = response.get("error") {
        return Err(BenchError::protocol(format!("tools/call failed: {err}")));
    }
    let result = response
        .get("result")
        .ok_or_else(|| BenchError::protocol("no result"))?;
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        return Err(BenchError::protocol(format!("the tool failed: {result}")));
    }
    let text = result
        .pointer("/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !text.contains(&format!("completed {n} ")) {
        return Err(BenchError::protocol(format!(
            "unexpected tool result: {text:?}"
        )));
    }
    Ok(())
}

/// The initialize response must be a result.
pub fn check_initialized(response: &Value) -> Result<(), BenchError> {
    match response.get("result") {
        Some(_) => Ok(()),
        None => Err(BenchError::protocol(format!(
            "initialize failed: {response}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_told_apart() {
        let req = br#"{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":{}}"#;
        assert!(matches!(classify(req), Ok(Incoming::Sampling(_))));
        let resp = br#"{"jsonrpc":"2.0","id":2,"result":{}}"#;
        assert!(matches!(classify(resp), Ok(Incoming::Response(2, _))));
        assert!(classify(b"nope").is_err());
    }
}
