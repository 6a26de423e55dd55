//! Lifecycle: legacy `initialize`, modern `server/discover`, and per-request `_meta`.

use crate::capabilities::{ClientCapabilities, ServerCapabilities};
use crate::jsonrpc::{ErrorObject, Object, INVALID_PARAMS, UNSUPPORTED_PROTOCOL_VERSION};
use crate::version::MODERN_VERSIONS;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `_meta` key: the protocol version of a modern request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's identity.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key: the client's capabilities for this request.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the log level for this request.
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// Result `_meta` key: the server's identity.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Name and version of a client or server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Implementation {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl Implementation {
    /// A name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Implementation {
            name: name.into(),
            version: version.into(),
            title: None,
        }
    }
}

/// Params of the legacy `initialize` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The revision the client wants.
    pub protocol_version: String,
    /// The client's capabilities.
    pub capabilities: ClientCapabilities,
    /// The client's identity.
    pub client_info: Implementation,
}

/// Result of the legacy `initialize` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The revision the server chose.
    pub protocol_version: String,
    /// The server's capabilities.
    pub capabilities: ServerCapabilities,
    /// The server's identity.
    pub server_info: Implementation,
    /// Usage guidance for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// Result of the modern `server/discover` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Revisions the server supports.
    pub supported_versions: Vec<String>,
    /// The server's capabilities.
    pub capabilities: ServerCapabilities,
    /// Usage guidance for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Result metadata (server identity).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// The protocol fields of a modern request's `_meta`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeta {
    /// The revision this request speaks.
    pub protocol_version: String,
    /// The client's capabilities for this request.
    pub client_capabilities: ClientCapabilities,
    /// The client's identity, if given.
    pub client_info: Option<Implementation>,
    /// The progress token, if the client wants progress.
    pub progress_token: Option<Value>,
}

impl RequestMeta {
    /// Whether `params._meta` carries a protocol version, which marks a modern request.
    pub fn is_modern(params: Option<&Value>) -> bool {
        params
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .is_some()
    }

    /// Reads and checks the per-request fields of a modern request. A missing or malformed
    /// required field is `-32602`; a revision we do not speak is `-32022` with the list of
    /// those we do.
    pub fn from_params(params: Option<&Value>) -> Result<RequestMeta, ErrorObject> {
        let meta = params
            .and_then(|p| p.get("_meta"))
            .and_then(Value::as_object);
        let Some(meta) = meta else {
            return Err(ErrorObject::new(INVALID_PARAMS, "missing params._meta: modern requests must carry protocolVersion and clientCapabilities (legacy clients: send initialize first)"));
        };
        let version = match meta.get(META_PROTOCOL_VERSION) {
            Some(Value::String(v)) => v.clone(),
            Some(_) => {
                return Err(ErrorObject::invalid_params(format!(
                    "_meta[{META_PROTOCOL_VERSION:?}] must be a string"
                )))
            }
            None => {
                return Err(ErrorObject::invalid_params(format!(
                    "missing _meta[{META_PROTOCOL_VERSION:?}]"
                )))
            }
        };
        if !MODERN_VERSIONS.contains(&version.as_str()) {
            return Err(unsupported_version(&version));
        }
        let client_capabilities = match meta.get(META_CLIENT_CAPABILITIES) {
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                ErrorObject::invalid_params(format!(
                    "_meta[{META_CLIENT_CAPABILITIES:?}] is malformed: {e}"
                ))
            })?,
            None => {
                return Err(ErrorObject::invalid_params(format!(
                    "missing _meta[{META_CLIENT_CAPABILITIES:?}]"
                )))
            }
        };
        let client_info = match meta.get(META_CLIENT_INFO) {
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
                ErrorObject::invalid_params(format!(
                    "_meta[{META_CLIENT_INFO:?}] is malformed: {e}"
                ))
            })?),
            None => None,
        };
        Ok(RequestMeta {
            protocol_version: version,
            client_capabilities,
            client_info,
            progress_token: meta.get("progressToken").cloned(),
        })
    }

    /// The `_meta` object a modern client puts on a request.
    pub fn to_meta(&self) -> Object {
        let mut m = Object::new();
        m.insert(
            META_PROTOCOL_VERSION.into(),
            Value::from(self.protocol_version.clone()),
        );
        m.insert(
            META_CLIENT_CAPABILITIES.into(),
            serde_json::to_value(&self.client_capabilities).unwrap_or_else(|_| json!({})),
        );
        if let Some(info) = &self.client_info {
            m.insert(
                META_CLIENT_INFO.into(),
                serde_json::to_value(info).unwrap_or(Value::Null),
            );
        }
        if let Some(t) = &self.progress_token {
            m.insert("progressToken".into(), t.clone());
        }
        m
    }
}

/// The `-32022` error for a revision we do not speak, listing those we do.
pub fn unsupported_version(requested: &str) -> ErrorObject {
    let mut supported: Vec<&str> = MODERN_VERSIONS.to_vec();
    supported.extend_from_slice(crate::version::LEGACY_VERSIONS);
    ErrorObject::new(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version")
        .with_data(json!({"supported": supported, "requested": requested}))
}

/// The `-32021` error: the request needs capabilities the client did not declare.
pub fn missing_capability(required: Value, why: &str) -> ErrorObject {
    ErrorObject::new(
        crate::jsonrpc::MISSING_REQUIRED_CLIENT_CAPABILITY,
        format!("Missing required client capability: {why}"),
    )
    .with_data(json!({"requiredCapabilities": required}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_modern_meta() {
        let p = json!({"_meta": {
            META_PROTOCOL_VERSION: "2026-07-28",
            META_CLIENT_CAPABILITIES: {"sampling": {"tools": {}}},
            META_CLIENT_INFO: {"name": "c", "version": "1"}
        }});
        let m = RequestMeta::from_params(Some(&p)).unwrap();
        assert!(m.client_capabilities.can_sample_with_tools());
        assert!(RequestMeta::is_modern(Some(&p)));
    }

    #[test]
    fn refuses_bad_meta() {
        let e = RequestMeta::from_params(Some(&json!({"name": "x"}))).unwrap_err();
        assert_eq!(e.code, INVALID_PARAMS);
        let e = RequestMeta::from_params(Some(
            &json!({"_meta": {META_PROTOCOL_VERSION: "1900-01-01"}}),
        ))
        .unwrap_err();
        assert_eq!(e.code, UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(e.data.unwrap()["requested"], "1900-01-01");
        let e = RequestMeta::from_params(Some(
            &json!({"_meta": {META_PROTOCOL_VERSION: "2026-07-28"}}),
        ))
        .unwrap_err();
        assert_eq!(e.code, INVALID_PARAMS);
        assert!(e.message.contains("clientCapabilities"));
    }
}
