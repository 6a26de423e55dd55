//! `mcp-sampling console`: one web console for all of the user's hosts and bridges.

use crate::host::default_audit_path;
use anyhow::Context;
use clap::Args;
use mcp_console::{Console, Discovery};
use mcp_host::audit::AuditLog;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `mcp-sampling console`.
#[derive(Args)]
pub struct ConsoleCmdArgs {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The audit database to show. Default: the user's (where hosts write by default).
    #[arg(long)]
    audit: Option<PathBuf>,
}

/// Serves one console for all of the user's hosts and bridges until Ctrl-C or SIGTERM: they
/// find it through the discovery file (address and token, mode 0600), which is removed at
/// the end.
pub async fn run(a: ConsoleCmdArgs) -> anyhow::Result<ExitCode> {
    let file = Discovery::path()
        .context("neither XDG_RUNTIME_DIR nor HOME is set: nowhere to write the discovery file")?;
    let console = Console::bind(a.addr).await?;
    let audit = a.audit.unwrap_or_else(default_audit_path);
    let log = AuditLog::open(&audit, false)
        .with_context(|| format!("cannot open the audit log {}", audit.display()))?;
    console.show_audit(Arc::new(log));
    let me = console.discovery();
    me.write(&file)?;
    eprintln!("console: {}", me.url);
    eprintln!(
        "hosts and bridges of this user ask here while it runs (found through {}); Ctrl-C stops it",
        file.display()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Discovery::remove_if_ours(&file, me.pid);
    console.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
