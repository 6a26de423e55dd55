//! Built-in servers (`mcp-sampling serve NAME`).

mod bench;
mod elicit_demo;
pub mod smart_search;
mod summarize;

use clap::{Args, ValueEnum};
use mcp_server::Server;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Which server.
    #[arg(value_enum)]
    name: ServerName,
}

#[derive(Clone, Copy, ValueEnum)]
enum ServerName {
    /// `summarize {text, sentences?}`: summarises long text by sampling; short text is returned as is.
    Summarize,
    /// `bench_sampling {n, concurrency}`: n sampling round trips, at most `concurrency` in flight.
    Bench,
    /// `intelligent_search {query}`: classify the query by sampling, then search an embedded database.
    SmartSearch,
    /// `book_table {restaurant}` asks the user for a booking (elicitation); `list_roots` reads the client's roots.
    ElicitDemo,
}

/// Builds a built-in server by name.
pub fn build(name: &str) -> Option<Server> {
    match name {
        "summarize" => Some(summarize::server()),
        "bench" => Some(bench::server()),
        "smart-search" => Some(smart_search::server()),
        "elicit-demo" => Some(elicit_demo::server()),
        _ => None,
    }
}

pub async fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let name = match a.name {
        ServerName::Summarize => "summarize",
        ServerName::Bench => "bench",
        ServerName::SmartSearch => "smart-search",
        ServerName::ElicitDemo => "elicit-demo",
    };
    let server = build(name).ok_or_else(|| anyhow::anyhow!("no built-in server {name:?}"))?;
    server.serve(mcp_rpc::stdio()).await;
    Ok(ExitCode::SUCCESS)
}
