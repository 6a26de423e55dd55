//! Logging: `logging/setLevel` (legacy), the per-request `_meta` log level (modern) and
//! `notifications/message`.

use crate::jsonrpc::ErrorObject;
use crate::lifecycle::META_LOG_LEVEL;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Syslog severities (RFC 5424), least severe first, so `a >= b` means "at least as severe".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoggingLevel {
    /// Detailed debugging information.
    Debug,
    /// General information.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LoggingLevel {
    /// All levels, least severe first.
    pub const ALL: [LoggingLevel; 8] = [
        LoggingLevel::Debug,
        LoggingLevel::Info,
        LoggingLevel::Notice,
        LoggingLevel::Warning,
        LoggingLevel::Error,
        LoggingLevel::Critical,
        LoggingLevel::Alert,
        LoggingLevel::Emergency,
    ];
}

/// Params of `logging/setLevel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetLevelParams {
    /// The least severe level the client wants.
    pub level: LoggingLevel,
}

/// Params of `notifications/message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggingMessage {
    /// The severity.
    pub level: LoggingLevel,
    /// Who logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// Any JSON value.
    pub data: Value,
}

/// The level a modern request asks for in `_meta["io.modelcontextprotocol/logLevel"]`:
/// `None` when absent (the server must not log for that request), `-32602` when it is not
/// a level.
pub fn level_from_params(params: Option<&Value>) -> Result<Option<LoggingLevel>, ErrorObject> {
    let Some(v) = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(META_LOG_LEVEL))
    else {
        return Ok(None);
    };
    serde_json::from_value(v.clone()).map(Some).map_err(|_| {
        ErrorObject::invalid_params(format!("_meta[{META_LOG_LEVEL:?}] is not a log level: {v}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_order_by_severity_and_parse_from_meta() {
        assert!(LoggingLevel::Error > LoggingLevel::Warning);
        assert!(LoggingLevel::Debug < LoggingLevel::Info);
        let p = json!({"_meta": {META_LOG_LEVEL: "notice"}});
        assert_eq!(
            level_from_params(Some(&p)).unwrap(),
            Some(LoggingLevel::Notice)
        );
        assert_eq!(level_from_params(Some(&json!({}))).unwrap(), None);
        let bad = json!({"_meta": {META_LOG_LEVEL: "loud"}});
        assert_eq!(level_from_params(Some(&bad)).unwrap_err().code, -32602);
    }
}
