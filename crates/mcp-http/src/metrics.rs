//! `GET /metrics`: the endpoint's counters in Prometheus' text format: requests by era,
//! JSON-RPC method and status; open legacy sessions; and the service's own (a server's
//! sampling round trips). Method labels are the protocol's names only (anything else is
//! `other`), so a client cannot grow the label set.

use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_proto::methods::ClientMethod;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Requests counted by (era, method, status).
#[derive(Default)]
pub(crate) struct HttpMetrics(Mutex<BTreeMap<(&'static str, &'static str, u16), u64>>);

impl HttpMetrics {
    /// Counts a request: `method` is the JSON-RPC method (`None`: a response, such as a
    /// client's reply to a sampling request), `era` `legacy` or `modern`.
    pub(crate) fn count(&self, era: &'static str, method: Option<&str>, status: StatusCode) {
        let method = match method {
            None => "response",
            Some(m) => ClientMethod::parse(m).map_or("other", ClientMethod::name),
        };
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((era, method, status.as_u16())).or_insert(0) += 1;
    }

    fn render(&self, out: &mut String) {
        let name = "mcp_http_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} POSTs to the MCP endpoint by era, JSON-RPC method and HTTP status."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for ((era, method, status), n) in m.iter() {
            let _ = writeln!(
                out,
                "{name}{{era=\"{era}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
    }
}

/// The `/metrics` endpoint (the endpoint's Host, Origin and bearer checks apply).
pub(crate) async fn endpoint(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = crate::checks::common(&st.cfg, &headers) {
        return r;
    }
    if let Err(r) = crate::gate::authenticate(&st, &headers).await {
        return r;
    }
    let mut out = String::new();
    st.metrics.render(&mut out);
    let name = "mcp_sessions";
    let _ = writeln!(
        out,
        "# HELP {name} Legacy sessions held by this process.\n# TYPE {name} gauge"
    );
    let _ = writeln!(out, "{name} {}", st.sessions.len());
    if let Some(store) = st.sessions.shared() {
        store.metrics(&mut out);
    }
    crate::gate::metrics(&st, &mut out);
    st.server.metrics(&mut out);
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}
