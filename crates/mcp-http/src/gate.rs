//! Where the endpoint meets the OAuth resource server (`auth`, feature `oauth`): the token
//! of each request, the scopes of a tool call, its metadata and counters. Without the
//! feature these do nothing.

use crate::checks::{self, Incoming};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use std::sync::Arc;

#[cfg(feature = "oauth")]
mod on {
    use super::*;
    use crate::auth::Identity;
    use mcp_proto::methods::{CallTool, Request as _};

    /// Who the request's token speaks for (`None`: no resource server).
    pub(crate) type Caller = Option<Identity>;

    /// The OAuth access token, when the resource server is on (401, 403 or 503 otherwise).
    pub(crate) async fn authenticate(st: &AppState, h: &HeaderMap) -> Result<Caller, Response> {
        match &st.auth {
            None => Ok(None),
            Some(a) => match a.authenticate(h).await {
                Ok(id) => Ok(Some(id)),
                Err(why) => Err(a.refuse(&why, None)),
            },
        }
    }

    /// The scopes a `tools/call` of its tool needs (403 otherwise).
    pub(crate) fn authorize(
        st: &AppState,
        caller: &Caller,
        msg: &Incoming,
    ) -> Result<(), Response> {
        let (Some(a), Some(id)) = (&st.auth, caller) else {
            return Ok(());
        };
        if msg.method.as_deref() != Some(CallTool::METHOD) {
            return Ok(());
        }
        a.authorize(id, msg.name.as_deref())
            .map_err(|why| a.refuse(&why, msg.id.as_ref()))
    }

    /// The resource server's metadata document, when on.
    pub(crate) fn metadata(st: &AppState) -> Option<Value> {
        st.auth.as_ref().map(|a| a.metadata())
    }

    /// Whose sessions the caller may use: a digest of its identity (subject and client).
    pub(crate) fn owner(caller: &Caller) -> crate::legacy::Owner {
        use sha2::{Digest, Sha256};
        caller.as_ref().map(|id| {
            let mut h = Sha256::new();
            for part in [&id.subject, &id.client_id] {
                let part = part.as_deref().unwrap_or("");
                h.update((part.len() as u64).to_be_bytes());
                h.update(part.as_bytes());
            }
            h.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
    }

    /// Its counters for `/metrics`.
    pub(crate) fn metrics(st: &AppState, out: &mut String) {
        if let Some(a) = &st.auth {
            a.metrics(out);
        }
    }
}

#[cfg(not(feature = "oauth"))]
mod on {
    use super::*;

    /// No one: requests carry no OAuth token to check.
    pub(crate) struct Caller;

    pub(crate) async fn authenticate(_: &AppState, _: &HeaderMap) -> Result<Caller, Response> {
        Ok(Caller)
    }

    pub(crate) fn authorize(_: &AppState, _: &Caller, _: &Incoming) -> Result<(), Response> {
        Ok(())
    }

    pub(crate) fn metadata(_: &AppState) -> Option<Value> {
        None
    }

    pub(crate) fn owner(_: &Caller) -> crate::legacy::Owner {
        None
    }

    pub(crate) fn metrics(_: &AppState, _: &mut String) {}
}

pub(crate) use on::*;

/// The protected-resource metadata document (RFC 9728) of the endpoint.
pub(crate) async fn resource_metadata(State(st): State<Arc<AppState>>, h: HeaderMap) -> Response {
    if let Some(doc) = metadata(&st) {
        return checks::json_response(StatusCode::OK, doc.to_string().into_bytes());
    }
    let host = h
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let body = json!({
        "resource": format!("http://{host}{}", st.cfg.path),
        "authorization_servers": st.cfg.authorization_servers,
        "bearer_methods_supported": ["header"],
    });
    checks::json_response(StatusCode::OK, body.to_string().into_bytes())
}
