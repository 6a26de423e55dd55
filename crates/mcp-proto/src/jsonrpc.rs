//! The JSON-RPC 2.0 envelope as MCP uses it.
//!
//! [`Message::parse`] classifies one frame. It separates three failures, because each is
//! answered differently: bytes that are not JSON (`-32700`, no id), JSON that is not a
//! valid JSON-RPC message (`-32600`, with the id when one could be read), and a response
//! whose shape is wrong (no answer is possible; the caller logs it).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error.
pub const INTERNAL_ERROR: i64 = -32603;
/// Modern era: HTTP headers disagree with the body's `_meta`.
pub const HEADER_MISMATCH: i64 = -32020;
/// Modern era: the request needs a client capability that was not declared.
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
/// Modern era: the requested protocol version is not supported.
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// Legacy sampling: the user rejected the sampling request.
pub const USER_REJECTED: i64 = -1;
/// Legacy: resource not found (2025-11-25 and earlier).
pub const RESOURCE_NOT_FOUND: i64 = -32002;

/// A request id: a string or an integer, never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(Arc<str>),
}

impl RequestId {
    fn from_value(v: &Value) -> Option<RequestId> {
        match v {
            Value::Number(n) => n.as_i64().map(RequestId::Number),
            Value::String(s) => Some(RequestId::String(s.as_str().into())),
            _ => None,
        }
    }

    /// The id as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            RequestId::Number(n) => Value::from(*n),
            RequestId::String(s) => Value::from(&**s),
        }
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Extra information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }
    /// Attaches `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
    /// `-32700`.
    pub fn parse_error(msg: impl Into<String>) -> Self {
        Self::new(PARSE_ERROR, msg)
    }
    /// `-32600`.
    pub fn invalid_request(msg: impl Into<String>) -> Self {
        Self::new(INVALID_REQUEST, msg)
    }
    /// `-32601`, naming the method.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(METHOD_NOT_FOUND, format!("method not found: {method}"))
    }
    /// `-32602`.
    pub fn invalid_params(msg: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, msg)
    }
    /// `-32603`.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(INTERNAL_ERROR, msg)
    }
}

/// One JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: expects a response with the same id.
    Request {
        /// The id.
        id: RequestId,
        /// The method name.
        method: String,
        /// The params, if any (an object or array).
        params: Option<Value>,
    },
    /// A notification: no response.
    Notification {
        /// The method name.
        method: String,
        /// The params, if any.
        params: Option<Value>,
    },
    /// A response to a request we sent.
    Response {
        /// The id of the request answered.
        id: RequestId,
        /// The result, or the error.
        outcome: Result<Value, ErrorObject>,
    },
}

/// Why a frame could not be accepted as a message, and what to answer.
///
/// Large when serde_json keeps object order (a dependency of the embedded model turns that
/// feature on for the whole build), but only ever built on the rare failing frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseFailure {
    /// Answer with this error (without an id when none could be read).
    Reply {
        /// The id to answer, if one could be read.
        id: Option<RequestId>,
        /// The error to send.
        error: ErrorObject,
    },
    /// A malformed response or an error response with no id: nothing can be answered.
    Ignore(String),
}

impl Message {
    /// Parses one frame (without its newline).
    #[allow(clippy::result_large_err)]
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseFailure> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ParseFailure::Reply {
            id: None,
            error: ErrorObject::parse_error(format!("parse error: {e}")),
        })?;
        Self::from_value(value)
    }

    /// Classifies a parsed JSON value.
    #[allow(clippy::result_large_err)]
    pub fn from_value(value: Value) -> Result<Message, ParseFailure> {
        let Value::Object(mut obj) = value else {
            let what = if value.is_array() {
                "batches are not supported by MCP"
            } else {
                "a JSON-RPC message must be an object"
            };
            return Err(invalid(None, what));
        };
        let raw_id = obj.remove("id");
        let id = match &raw_id {
            None => None,
            Some(v) => RequestId::from_value(v),
        };
        match obj.get("jsonrpc") {
            Some(Value::String(s)) if s == "2.0" => {}
            _ => {
                return Err(invalid(
                    id,
                    "the \"jsonrpc\" member must be exactly \"2.0\"",
                ))
            }
        }
        if let Some(method) = obj.remove("method") {
            let Value::String(method) = method else {
                return Err(invalid(id, "\"method\" must be a string"));
            };
            let params = match obj.remove("params") {
                None => None,
                Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p),
                Some(Value::Null) => None,
                Some(_) => return Err(invalid(id, "\"params\" must be an object or an array")),
            };
            return match raw_id {
                None => Ok(Message::Notification { method, params }),
                Some(raw) => match id {
                    Some(id) => Ok(Message::Request { id, method, params }),
                    None if raw.is_null() => Err(invalid(None, "a request id must not be null")),
                    None => Err(invalid(None, "a request id must be a string or an integer")),
                },
            };
        }
        let Some(id) = id else {
            if let Some(e) = obj.get("error") {
                return Err(ParseFailure::Ignore(format!(
                    "error response without an id: {e}"
                )));
            }
            return Err(invalid(
                None,
                "a message needs a \"method\", or an \"id\" with a \"result\" or \"error\"",
            ));
        };
        match (obj.remove("result"), obj.remove("error")) {
            (Some(result), None) => Ok(Message::Response {
                id,
                outcome: Ok(result),
            }),
            (None, Some(error)) => match serde_json::from_value::<ErrorObject>(error) {
                Ok(e) => Ok(Message::Response {
                    id,
                    outcome: Err(e),
                }),
                Err(e) => Err(ParseFailure::Ignore(format!(
                    "response {id} has a malformed error: {e}"
                ))),
            },
            (Some(_), Some(_)) => Err(ParseFailure::Ignore(format!(
                "response {id} has both result and error"
            ))),
            (None, None) => Err(invalid(
                Some(id),
                "a message needs a \"method\", a \"result\" or an \"error\"",
            )),
        }
    }
}

fn invalid(id: Option<RequestId>, msg: &str) -> ParseFailure {
    ParseFailure::Reply {
        id,
        error: ErrorObject::invalid_request(format!("invalid request: {msg}")),
    }
}

/// The fast path for the commonest frame on a busy connection: a successful response to
/// one of our (integer-id) requests. Returns the id and the result as raw JSON, without
/// building a `Value` tree; anything else (or anything odd) returns `None`, and the caller
/// uses [`Message::parse`], which also produces the precise error.
pub fn parse_result_response(bytes: &[u8]) -> Option<(i64, &serde_json::value::RawValue)> {
    match peek(bytes)? {
        Peek::Result(id, result) => Some((id, result)),
        Peek::Request { .. } => None,
    }
}

/// What [`peek`] read of a frame.
#[derive(Debug)]
pub enum Peek<'a> {
    /// A successful response to one of our (integer-id) requests, its result as raw JSON.
    Result(i64, &'a serde_json::value::RawValue),
    /// A request, its params as raw JSON (`None` when absent or `null`, as for
    /// [`Message::parse`]).
    Request {
        /// Its id.
        id: RequestId,
        /// Its method.
        method: &'a str,
        /// Its params (an object or an array).
        params: Option<&'a serde_json::value::RawValue>,
    },
}

/// The fast path for the hot frames: one pass over a frame that reads a successful response
/// to one of our requests, or a request, leaving the result or the params as raw JSON (no
/// `Value` tree), so that a hot request's params are parsed once, straight into their type.
/// Anything else, or anything odd (a duplicate member, an escaped method name, an id or
/// params of a wrong type), returns `None`: the caller uses [`Message::parse`], which reads
/// it the same way or produces the precise error. Where this answers, the full parse reads
/// the same message.
pub fn peek(bytes: &[u8]) -> Option<Peek<'_>> {
    use serde_json::value::RawValue;
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        jsonrpc: Option<&'a str>,
        #[serde(borrow, default, deserialize_with = "present")]
        id: Option<&'a RawValue>,
        #[serde(borrow, default, deserialize_with = "present")]
        method: Option<&'a RawValue>,
        #[serde(borrow, default, deserialize_with = "present")]
        params: Option<&'a RawValue>,
        #[serde(borrow)]
        result: Option<&'a RawValue>,
        #[serde(borrow, default, deserialize_with = "present")]
        error: Option<&'a RawValue>,
    }
    /// A member that is there, even as `null` (which serde otherwise reads as absent): a
    /// frame with `"error": null` or `"method": null` is not a plain result.
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
        <&RawValue>::deserialize(d).map(Some)
    }
    // What this pass skips (members it does not read, the raw result or params) is checked
    // for UTF-8 here, not by serde; `\u` escapes, which a skipped string does not have
    // checked (a lone surrogate), are left to the full parse.
    let text = std::str::from_utf8(bytes).ok()?;
    if text.contains("\\u") {
        return None;
    }
    let e: Envelope<'_> = serde_json::from_str(text).ok()?;
    if e.jsonrpc != Some("2.0") {
        return None;
    }
    match e {
        Envelope {
            id: Some(id),
            method: None,
            result: Some(r),
            error: None,
            ..
        } => Some(Peek::Result(serde_json::from_str(id.get()).ok()?, r)),
        Envelope {
            id: Some(id),
            method: Some(method),
            params,
            ..
        } => {
            let id = match id.get().as_bytes().first()? {
                b'"' => RequestId::String(serde_json::from_str::<String>(id.get()).ok()?.into()),
                _ => RequestId::Number(serde_json::from_str(id.get()).ok()?),
            };
            let params = match params {
                None => None,
                Some(p) => match p.get().as_bytes().first()? {
                    b'{' | b'[' => Some(p),
                    b'n' if p.get() == "null" => None,
                    _ => return None,
                },
            };
            Some(Peek::Request {
                id,
                method: serde_json::from_str(method.get()).ok()?,
                params,
            })
        }
        _ => None,
    }
}

/// Writes a request frame (no newline) into `out`.
pub fn write_request<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    method: &str,
    params: Option<&P>,
) {
    #[derive(Serialize)]
    struct Req<'a, P: ?Sized> {
        jsonrpc: &'static str,
        id: &'a RequestId,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a P>,
    }
    write_json(
        out,
        &Req {
            jsonrpc: "2.0",
            id,
            method,
            params,
        },
    );
}

/// Writes a notification frame (no newline) into `out`.
pub fn write_notification(out: &mut Vec<u8>, method: &str, params: Option<&Value>) {
    #[derive(Serialize)]
    struct Note<'a> {
        jsonrpc: &'static str,
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a Value>,
    }
    write_json(
        out,
        &Note {
            jsonrpc: "2.0",
            method,
            params,
        },
    );
}

/// Writes a response frame (no newline) into `out`. `id` is `None` only for errors about a
/// message whose id could not be read; the member is then omitted (MCP's
/// `JSONRPCErrorResponse` makes `id` optional and never `null`, unlike plain JSON-RPC 2.0).
pub fn write_response(
    out: &mut Vec<u8>,
    id: Option<&RequestId>,
    outcome: &Result<Value, ErrorObject>,
) {
    write_response_of(out, id, outcome)
}

/// Writes a response frame (no newline) into `out`, its result any serialisable value (raw
/// JSON, a typed result).
pub fn write_response_of<T: Serialize>(
    out: &mut Vec<u8>,
    id: Option<&RequestId>,
    outcome: &Result<T, ErrorObject>,
) {
    #[derive(Serialize)]
    struct Resp<'a, T> {
        jsonrpc: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a RequestId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<&'a T>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a ErrorObject>,
    }
    let (result, error) = match outcome {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    write_json(
        out,
        &Resp {
            jsonrpc: "2.0",
            id,
            result,
            error,
        },
    );
}

fn write_json<T: Serialize>(out: &mut Vec<u8>, v: &T) {
    // Serialising these envelopes cannot fail: every part is a `Value` or a plain string.
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.clear();
    }
}

/// A JSON object, as MCP `params` and `_meta` are.
pub type Object = Map<String, Value>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(r: Result<Message, ParseFailure>) -> (Option<RequestId>, i64) {
        match r {
            Err(ParseFailure::Reply { id, error }) => (id, error.code),
            other => panic!("expected a reply failure, got {other:?}"),
        }
    }

    #[test]
    fn classifies_messages() {
        let m = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
        assert_eq!(
            m,
            Message::Request {
                id: RequestId::Number(1),
                method: "ping".into(),
                params: None
            }
        );
        let m = Message::parse(br#"{"jsonrpc":"2.0","method":"n","params":{"a":1}}"#).unwrap();
        assert!(matches!(m, Message::Notification { .. }));
        let m = Message::parse(br#"{"jsonrpc":"2.0","id":"x","result":{}}"#).unwrap();
        assert!(matches!(m, Message::Response { outcome: Ok(_), .. }));
        let m = Message::parse(br#"{"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"no"}}"#)
            .unwrap();
        assert!(matches!(
            m,
            Message::Response {
                outcome: Err(ErrorObject { code: -1, .. }),
                ..
            }
        ));
    }

    #[test]
    fn bad_input_gets_the_right_code() {
        assert_eq!(code(Message::parse(b"{not json")), (None, PARSE_ERROR));
        assert_eq!(
            code(Message::parse(br#"{"jsonrpc":"2.0","id":1,"meth"#)),
            (None, PARSE_ERROR)
        );
        assert_eq!(
            code(Message::parse(
                br#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#
            )),
            (Some(RequestId::Number(7)), INVALID_REQUEST)
        );
        assert_eq!(
            code(Message::parse(
                br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#
            )),
            (None, INVALID_REQUEST)
        );
        assert_eq!(
            code(Message::parse(
                br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#
            )),
            (None, INVALID_REQUEST)
        );
        assert_eq!(
            code(Message::parse(
                br#"{"jsonrpc":"2.0","id":3,"method":"x","params":5}"#
            )),
            (Some(RequestId::Number(3)), INVALID_REQUEST)
        );
        assert!(matches!(
            Message::parse(br#"{"jsonrpc":"2.0","error":{"code":1,"message":"m"}}"#),
            Err(ParseFailure::Ignore(_))
        ));
    }

    #[test]
    fn fast_path_takes_only_plain_results() {
        let (id, r) =
            parse_result_response(br#"{"jsonrpc":"2.0","id":7,"result":{"a":[1,2]}}"#).unwrap();
        assert_eq!((id, r.get()), (7, r#"{"a":[1,2]}"#));
        for odd in [
            &br#"{"jsonrpc":"2.0","id":"s","result":{}}"#[..],
            br#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"}}"#,
            br#"{"jsonrpc":"2.0","id":7,"result":{},"error":{}}"#,
            br#"{"jsonrpc":"1.0","id":7,"result":{}}"#,
            br#"{"jsonrpc":"2.0","id":7,"method":"x","result":{}}"#,
            br#"{"jsonrpc":"2.0","id":7,"id":8,"result":{}}"#,
            br#"{"jsonrpc":"2.0","result":{}}"#,
            // A null error or method is still there: the full parse refuses these
            // (found by the jsonrpc_message fuzz target's check that both parses agree).
            br#"{"jsonrpc":"2.0","id":7,"result":{},"error":null}"#,
            br#"{"jsonrpc":"2.0","id":7,"method":null,"result":{}}"#,
            b"garbage",
        ] {
            assert!(
                parse_result_response(odd).is_none(),
                "{}",
                String::from_utf8_lossy(odd)
            );
        }
    }

    #[test]
    fn fast_path_leaves_what_it_cannot_check_to_the_full_parse() {
        // Found by the jsonrpc_message fuzz target: invalid UTF-8 in a member the fast path
        // skips; and a lone surrogate there. The full parse refuses both (-32700).
        let bad_utf8 =
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{},\"x\":\"a\xf6\"}";
        let surrogate = br#"{"jsonrpc":"2.0","id":1,"method":"m","params":{},"x":"\ud800"}"#;
        for frame in [&bad_utf8[..], &surrogate[..]] {
            assert!(peek(frame).is_none());
            assert!(Message::parse(frame).is_err());
        }
    }

    #[test]
    fn fast_path_reads_requests_as_the_full_parse_does() {
        let frame = br#"{"jsonrpc":"2.0","id":"a","method":"m","params":{"x":[1]}}"#;
        let Some(Peek::Request { id, method, params }) = peek(frame) else {
            panic!("a plain request")
        };
        assert_eq!(id, RequestId::String("a".into()));
        assert_eq!(
            (method, params.map(|p| p.get())),
            ("m", Some(r#"{"x":[1]}"#))
        );
        let with_null = br#"{"jsonrpc":"2.0","id":3,"method":"m","params":null}"#;
        let Some(Peek::Request { id, params, .. }) = peek(with_null) else {
            panic!("null params are no params")
        };
        assert_eq!((id, params.is_none()), (RequestId::Number(3), true));
        // Left to the full parse, which refuses them or reads them its own way.
        for odd in [
            &br#"{"jsonrpc":"2.0","id":null,"method":"m"}"#[..],
            br#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
            br#"{"jsonrpc":"2.0","id":true,"method":"m"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"m","params":3}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"m","params":"s"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"m","method":"n"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"\u006d"}"#,
            br#"{"id":1,"method":"m"}"#,
            br#"{"jsonrpc":"2.0","method":"m"}"#,
        ] {
            assert!(
                !matches!(peek(odd), Some(Peek::Request { .. })),
                "{}",
                String::from_utf8_lossy(odd)
            );
        }
    }

    #[test]
    fn writes_envelopes() {
        let mut out = Vec::new();
        write_request(&mut out, &RequestId::Number(4), "ping", None::<&Value>);
        assert_eq!(out, br#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#);
        out.clear();
        write_response(&mut out, None, &Err(ErrorObject::parse_error("bad")));
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            json!({"jsonrpc":"2.0","error":{"code":-32700,"message":"bad"}})
        );
    }
}
