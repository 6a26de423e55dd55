//! Params in, results out: the two conversions every method handler makes.

use mcp_proto::ErrorObject;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Reads a request's params (absent params read as `{}`); `-32602` when they do not fit.
pub(crate) fn parse<T: DeserializeOwned>(params: Option<Value>) -> Result<T, ErrorObject> {
    serde_json::from_value(params.unwrap_or_else(|| json!({})))
        .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))
}

/// Encodes a result.
pub(crate) fn to_value<T: serde::Serialize>(v: T) -> Result<Value, ErrorObject> {
    serde_json::to_value(v)
        .map_err(|e| ErrorObject::internal(format!("could not encode the result: {e}")))
}
