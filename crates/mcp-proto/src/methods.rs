//! Every MCP method as a type: its name, its params, its result, and the eras that have it.
//!
//! This is the only place a method name is spelled. A request is a type implementing
//! [`Request`] (`<CallTool as Request>::METHOD` is `"tools/call"`, its `Params` are
//! [`CallToolParams`], its `Result` is [`CallToolResult`]); a notification implements
//! [`Notification`]. Dispatch reads a method name once into [`ClientMethod`] (what a client
//! may ask a server) or [`ServerMethod`] (what a server may ask a client) and matches on that.
//!
//! The marker types are uninhabited enums: they are never built, only named.

use crate::completion::{CompleteParams, CompleteResult};
use crate::elicitation::{ElicitRequestParams, ElicitResult};
use crate::jsonrpc::{Object, RequestId};
use crate::lifecycle::{DiscoverResult, InitializeParams, InitializeResult};
use crate::logging::{LoggingMessage, SetLevelParams};
use crate::prompts::{GetPromptParams, GetPromptResult, ListPromptsResult};
use crate::resources::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceParams, ReadResourceResult,
    ResourceUpdatedParams, SubscribeParams,
};
use crate::roots::ListRootsResult;
use crate::sampling::{CreateMessageParams, CreateMessageResult};
use crate::subscriptions::{AcknowledgedParams, ListenParams};
use crate::tasks::{DetailedTask, TaskIdParams, UpdateTaskParams};
use crate::tools::{CallToolParams, CallToolResult, ListToolsResult};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which eras of the protocol have a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eras {
    /// Legacy (`initialize` handshake) and modern (`2026-07-28`).
    Both,
    /// Legacy sessions only (removed in `2026-07-28`).
    Legacy,
    /// `2026-07-28` and later only.
    Modern,
}

/// A request: a method that is answered.
pub trait Request {
    /// The method name on the wire.
    const METHOD: &'static str;
    /// Which eras have it.
    const ERAS: Eras;
    /// Its params.
    type Params: Serialize + DeserializeOwned;
    /// Its result.
    type Result: Serialize + DeserializeOwned;
}

/// A notification: a method that is not answered.
pub trait Notification {
    /// The method name on the wire.
    const METHOD: &'static str;
    /// Which eras have it.
    const ERAS: Eras;
    /// Its params.
    type Params: Serialize + DeserializeOwned;
}

/// Params or result with no fields of their own (an object, possibly with `_meta`).
pub type Empty = Object;

/// Params of the list methods: an optional pagination cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaginatedParams {
    /// Where the previous page ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Request metadata (on modern requests, the protocol fields).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Params of `notifications/cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledParams {
    /// The request to cancel.
    pub request_id: RequestId,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Params of `notifications/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressParams {
    /// The token from the request's `_meta.progressToken`.
    pub progress_token: Value,
    /// Progress so far (increases with each notification).
    pub progress: f64,
    /// The total, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

macro_rules! requests {
    ($($(#[$doc:meta])* $name:ident = $method:literal, $eras:ident, $params:ty => $result:ty;)*) => {
        $(
            $(#[$doc])*
            #[doc = concat!("\n\nMethod `", $method, "`.")]
            #[doc(alias = $method)]
            #[derive(Debug)]
            pub enum $name {}
            impl Request for $name {
                const METHOD: &'static str = $method;
                const ERAS: Eras = Eras::$eras;
                type Params = $params;
                type Result = $result;
            }
        )*
    };
}

macro_rules! notifications {
    ($($(#[$doc:meta])* $name:ident = $method:literal, $eras:ident, $params:ty;)*) => {
        $(
            $(#[$doc])*
            #[doc = concat!("\n\nMethod `", $method, "`.")]
            #[doc(alias = $method)]
            #[derive(Debug)]
            pub enum $name {}
            impl Notification for $name {
                const METHOD: &'static str = $method;
                const ERAS: Eras = Eras::$eras;
                type Params = $params;
            }
        )*
    };
}

requests! {
    /// The legacy handshake.
    Initialize = "initialize", Legacy, InitializeParams => InitializeResult;
    /// Liveness check (legacy; the engine answers it).
    Ping = "ping", Legacy, Empty => Empty;
    /// The modern server's versions and capabilities.
    Discover = "server/discover", Modern, Empty => DiscoverResult;
    /// The server's tools.
    ListTools = "tools/list", Both, PaginatedParams => ListToolsResult;
    /// Calls a tool (modern: may answer `input_required`).
    CallTool = "tools/call", Both, CallToolParams => CallToolResult;
    /// The server's fixed resources.
    ListResources = "resources/list", Both, PaginatedParams => ListResourcesResult;
    /// The server's resource templates.
    ListResourceTemplates = "resources/templates/list", Both, PaginatedParams => ListResourceTemplatesResult;
    /// Reads a resource.
    ReadResource = "resources/read", Both, ReadResourceParams => ReadResourceResult;
    /// Subscribes to a resource's updates (legacy sessions).
    Subscribe = "resources/subscribe", Legacy, SubscribeParams => Empty;
    /// Ends a subscription (legacy sessions).
    Unsubscribe = "resources/unsubscribe", Legacy, SubscribeParams => Empty;
    /// The server's prompts.
    ListPrompts = "prompts/list", Both, PaginatedParams => ListPromptsResult;
    /// Renders a prompt (modern: may answer `input_required`).
    GetPrompt = "prompts/get", Both, GetPromptParams => GetPromptResult;
    /// Completion of a prompt's or template's argument.
    Complete = "completion/complete", Both, CompleteParams => CompleteResult;
    /// The least severe log level the client wants (legacy sessions).
    SetLevel = "logging/setLevel", Legacy, SetLevelParams => Empty;
    /// A server asks the client's model for a completion.
    CreateMessage = "sampling/createMessage", Both, CreateMessageParams => CreateMessageResult;
    /// A server asks the user to fill in a form.
    Elicit = "elicitation/create", Both, ElicitRequestParams => ElicitResult;
    /// A server asks for the client's roots.
    ListRoots = "roots/list", Both, Empty => ListRootsResult;
    /// A task's status, with its input requests, result or error (tasks extension).
    GetTask = "tasks/get", Modern, TaskIdParams => DetailedTask;
    /// Answers to a task's input requests (tasks extension).
    UpdateTask = "tasks/update", Modern, UpdateTaskParams => Empty;
    /// Asks the server to stop a task (tasks extension).
    CancelTask = "tasks/cancel", Modern, TaskIdParams => Empty;
    /// Opens a stream of the notifications the client opts in to.
    SubscriptionsListen = "subscriptions/listen", Modern, ListenParams => Empty;
}

notifications! {
    /// The client finished the legacy handshake.
    Initialized = "notifications/initialized", Legacy, Empty;
    /// Either side gives up on a request it sent.
    Cancelled = "notifications/cancelled", Both, CancelledParams;
    /// Progress of a request that asked for it.
    Progress = "notifications/progress", Both, ProgressParams;
    /// A log message from the server.
    LogMessage = "notifications/message", Both, LoggingMessage;
    /// A subscribed resource changed (legacy sessions).
    ResourceUpdated = "notifications/resources/updated", Legacy, ResourceUpdatedParams;
    /// The client's roots changed (legacy sessions).
    RootsListChanged = "notifications/roots/list_changed", Legacy, Empty;
    /// A task's new status (tasks extension; on a `subscriptions/listen` stream).
    TaskStatusChanged = "notifications/tasks", Modern, DetailedTask;
    /// The first message of a `subscriptions/listen` stream: what the server will send.
    SubscriptionsAcknowledged = "notifications/subscriptions/acknowledged", Modern, AcknowledgedParams;
}

/// Defines a dispatch enum of request names, read once from the wire.
macro_rules! method_enum {
    ($(#[$doc:meta])* $enum:ident { $($variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $enum {
            $(
                #[doc = concat!("[`", stringify!($variant), "`].")]
                $variant,
            )*
        }

        impl $enum {
            /// The method named `name`, if it is one of these.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $(<$variant as Request>::METHOD => Some($enum::$variant),)*
                    _ => None,
                }
            }
            /// Its name on the wire.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => <$variant as Request>::METHOD,)*
                }
            }
            /// Which eras have it.
            pub fn eras(self) -> Eras {
                match self {
                    $($enum::$variant => <$variant as Request>::ERAS,)*
                }
            }
        }
    };
}

method_enum! {
    /// The requests a client sends to a server.
    ClientMethod {
        Initialize, Ping, Discover, ListTools, CallTool, ListResources, ListResourceTemplates,
        ReadResource, Subscribe, Unsubscribe, ListPrompts, GetPrompt, Complete, SetLevel,
        GetTask, UpdateTask, CancelTask, SubscriptionsListen,
    }
}

impl ClientMethod {
    /// Whether a modern result of this method carries caching hints (`ttlMs`, `cacheScope`).
    pub fn cacheable(self) -> bool {
        use ClientMethod::*;
        matches!(
            self,
            Discover
                | ListTools
                | ListResources
                | ListResourceTemplates
                | ListPrompts
                | ReadResource
        )
    }
}

method_enum! {
    /// The requests a server sends to a client (legacy era; on the modern era they travel
    /// inside an `input_required` result).
    ServerMethod { Ping, CreateMessage, Elicit, ListRoots }
}

/// The notifications either side may send, read once from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationMethod {
    /// [`Initialized`].
    Initialized,
    /// [`Cancelled`].
    Cancelled,
    /// [`Progress`].
    Progress,
    /// [`LogMessage`].
    LogMessage,
    /// [`ResourceUpdated`].
    ResourceUpdated,
    /// [`RootsListChanged`].
    RootsListChanged,
}

impl NotificationMethod {
    /// The notification named `name`, if it is one of these.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            Initialized::METHOD => NotificationMethod::Initialized,
            Cancelled::METHOD => NotificationMethod::Cancelled,
            Progress::METHOD => NotificationMethod::Progress,
            LogMessage::METHOD => NotificationMethod::LogMessage,
            ResourceUpdated::METHOD => NotificationMethod::ResourceUpdated,
            RootsListChanged::METHOD => NotificationMethod::RootsListChanged,
            _ => return None,
        })
    }
}

/// Whether the named method carries a name or URI that the Streamable HTTP transport mirrors
/// in its `Mcp-Name` header (`tools/call` and `prompts/get`: `name`; `resources/read`: `uri`;
/// `tasks/get`, `tasks/update`, `tasks/cancel`: `taskId`), and which params field that is.
pub fn named_param(method: &str) -> Option<&'static str> {
    match ClientMethod::parse(method)? {
        ClientMethod::CallTool | ClientMethod::GetPrompt => Some("name"),
        ClientMethod::ReadResource => Some("uri"),
        ClientMethod::GetTask | ClientMethod::UpdateTask | ClientMethod::CancelTask => {
            Some("taskId")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in [
            ClientMethod::CallTool,
            ClientMethod::Initialize,
            ClientMethod::SetLevel,
        ] {
            assert_eq!(ClientMethod::parse(m.name()), Some(m));
        }
        assert_eq!(ClientMethod::parse("sampling/createMessage"), None);
        assert_eq!(
            ServerMethod::parse("sampling/createMessage"),
            Some(ServerMethod::CreateMessage)
        );
        assert_eq!(ClientMethod::Discover.eras(), Eras::Modern);
        assert_eq!(
            NotificationMethod::parse("notifications/cancelled"),
            Some(NotificationMethod::Cancelled)
        );
        assert_eq!(named_param("resources/read"), Some("uri"));
        assert_eq!(named_param("tools/list"), None);
        assert_eq!(named_param("tasks/update"), Some("taskId"));
        assert_eq!(ClientMethod::parse("tasks/result"), None);
        assert_eq!(ClientMethod::parse("tasks/list"), None);
    }

    #[test]
    fn progress_params_read_the_wire() {
        let p: ProgressParams = serde_json::from_value(serde_json::json!({
            "progressToken": "t", "progress": 1, "total": 4
        }))
        .unwrap();
        assert_eq!(p.total, Some(4.0));
    }
}
