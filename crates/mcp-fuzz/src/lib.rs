//! The logic of the fuzz targets, one function per decoder that takes peer or user input.
//!
//! Each function takes arbitrary bytes, feeds them to one real decoder of the workspace and
//! asserts what must hold whatever the input: no panic, errors that say something, and where
//! the decoder has an encoder, a round trip (what parses re-encodes and parses to the same
//! value). A failed assertion is a panic: that is what the fuzzer reports.
//!
//! The cargo-fuzz crate in `fuzz/` (outside the workspace, built with nightly) has one
//! three-line target per function; `tests/corpus.rs` replays the seed corpus and every kept
//! crash (`fuzz/corpus`, `fuzz/regressions`) through the same functions on stable, in the
//! normal test run. [`TARGETS`] lists them by name (the name of the cargo-fuzz target and of
//! its corpus directory).

mod config;
mod elicit;
mod http;
mod json;
mod message;
mod ndjson;
mod sampling;
mod sse;
mod state;
mod uri;

pub use config::host_config;
pub use elicit::elicit_form;
pub use http::http_headers;
pub use message::{jsonrpc_message, typed_params};
pub use ndjson::ndjson;
pub use sampling::sampling_request;
pub use sse::sse;
pub use state::request_state;
pub use uri::uri_template;

/// A fuzz target's function.
pub type Target = fn(&[u8]);

/// Every target, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("ndjson", ndjson),
    ("jsonrpc_message", jsonrpc_message),
    ("typed_params", typed_params),
    ("sse", sse),
    ("http_headers", http_headers),
    ("request_state", request_state),
    ("uri_template", uri_template),
    ("elicit_form", elicit_form),
    ("sampling_request", sampling_request),
    ("host_config", host_config),
];

/// Splits fuzz input at the first occurrence of `sep`: two inputs for one target.
pub(crate) fn split2(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
