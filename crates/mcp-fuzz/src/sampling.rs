//! Sampling requests: `sampling/createMessage` params read from a server, and the rules
//! both sides check them against ([`mcp_proto::sampling::validate`], which the host's
//! pipeline runs on every request, edited or not).

use crate::json;
use mcp_proto::sampling::{self, CreateMessageParams};
use mcp_proto::ClientCapabilities;
use serde_json::json;

/// The capabilities a client may have declared, chosen by `pick`.
fn capabilities(pick: u8) -> Option<ClientCapabilities> {
    let v = match pick % 5 {
        0 => return None,
        1 => json!({}),
        2 => json!({"sampling": {}}),
        3 => json!({"sampling": {"tools": {}}}),
        _ => json!({"sampling": {"tools": {}, "context": {}}}),
    };
    Some(serde_json::from_value(v).expect("fixed capabilities read"))
}

/// One byte choosing the client's capabilities, then JSON params: what reads re-encodes to
/// itself and is judged the same after the round trip; a refusal says why.
pub fn sampling_request(data: &[u8]) {
    let [pick, data @ ..] = data else {
        return;
    };
    let Some(v) = json::parse(data) else {
        return;
    };
    let Ok(params) = serde_json::from_value::<CreateMessageParams>(v) else {
        return;
    };
    let caps = capabilities(*pick);
    let verdict = sampling::validate(&params, caps.as_ref());
    if let Err(e) = &verdict {
        assert!(!e.to_string().is_empty());
    }
    let text = serde_json::to_vec(&params).expect("params serialise");
    let back: CreateMessageParams =
        serde_json::from_slice(&text).expect("serialised params read back");
    let again = serde_json::to_value(&back).expect("params serialise");
    let first = serde_json::to_value(&params).expect("params serialise");
    assert!(json::same(&first, &again), "{first} came back as {again}");
    assert_eq!(sampling::validate(&back, caps.as_ref()), verdict);
}
