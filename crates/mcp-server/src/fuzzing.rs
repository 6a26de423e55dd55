//! Entry points for the fuzz targets (crate `mcp-fuzz`), compiled with the `fuzzing` feature:
//! the decoders of what a client sends that are otherwise reachable only through a running
//! server. Not a stable API.

use crate::state::{digest, Payload};
use crate::uri_template::UriTemplate;
use crate::{StateError, StateKey, UriVars};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// A parsed resource template (RFC 6570, matched in reverse).
#[derive(Debug, Clone)]
pub struct Template(UriTemplate);

impl Template {
    /// Parses `template`; `None` when the server would refuse it.
    pub fn parse(template: &str) -> Option<Template> {
        UriTemplate::parse(template).map(Template)
    }

    /// The variables if `uri` matches.
    pub fn matches(&self, uri: &str) -> Option<UriVars> {
        self.0.matches(uri)
    }

    /// The names of the variables, in order.
    pub fn var_names(&self) -> Vec<String> {
        self.0.var_names().map(str::to_owned).collect()
    }
}

/// Seals a `requestState` for the call `method`/`tool` with `args`, issued at `now` for `ttl`,
/// holding `answered` replies (key, request, reply) as the server would.
pub fn seal_state(
    key: &StateKey,
    call: (&str, &str, &Value),
    now: SystemTime,
    ttl: Duration,
    answered: &[(String, Value, Value)],
) -> String {
    let (method, tool, args) = call;
    let mut p = Payload::new(method, tool, digest(args), now, ttl);
    for (k, request, reply) in answered {
        p.k.insert(k.clone(), (digest(request), reply.clone()));
    }
    p.seal(key)
}

/// Opens a `requestState` as the server does for the call `method`/`tool` with `args` at
/// `now`; the payload as JSON.
pub fn open_state(
    sealed: &str,
    key: &StateKey,
    call: (&str, &str, &Value),
    now: SystemTime,
) -> Result<Value, StateError> {
    let (method, tool, args) = call;
    let p = Payload::open(sealed, key, method, tool, &digest(args), now)?;
    Ok(serde_json::to_value(p).unwrap_or_default())
}
