//! The host options shared by `call` (and later `demo`, `bridge`, `host`): era, approval,
//! provider, audit log; and building the pipeline from them.

use crate::review::TerminalReviewer;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use mcp_host::pipeline::approval::{Approval, Mode, Reviewer};
use mcp_host::pipeline::audit::AuditLog;
use mcp_host::pipeline::routing::ModelEntry;
use mcp_host::pipeline::{Event, Host};
use mcp_host::providers::{Fixed, Script};
use mcp_host::EraChoice;
use mcp_llm::Provider;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug, Clone)]
pub struct HostArgs {
    /// Which era to speak: probe and fall back (auto), or force one.
    #[arg(long, value_enum, default_value_t = EraArg::Auto)]
    pub era: EraArg,
    /// Who approves sampling requests: a person at this terminal (ask), nobody (auto), or
    /// refuse all (deny). Default: ask when there is a terminal, else deny.
    #[arg(long, value_enum)]
    pub approve: Option<ApproveArg>,
    /// Who answers: local (the embedded model), openai:MODEL, anthropic:MODEL, or for
    /// testing fixed:TEXT (always TEXT) and script:FILE (CreateMessageResult JSON lines).
    #[arg(long, default_value = "local")]
    pub provider: String,
    /// The audit database (SQLite). Default: the user's data directory.
    #[arg(long)]
    pub audit: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EraArg {
    Auto,
    Legacy,
    Modern,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ApproveArg {
    Ask,
    Auto,
    Deny,
}

impl HostArgs {
    pub fn era(&self) -> EraChoice {
        match self.era {
            EraArg::Auto => EraChoice::Auto,
            EraArg::Legacy => EraChoice::Legacy,
            EraArg::Modern => EraChoice::Modern,
        }
    }
}

/// Where the audit log lives by default.
pub fn default_audit_path() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("mcp-sampling").join("audit.db")
}

/// A provider and its catalog entries, from a spec.
pub fn provider(spec: &str) -> anyhow::Result<(Arc<dyn Provider>, Vec<ModelEntry>)> {
    match spec.split_once(':') {
        Some(("fixed", text)) => Ok((Arc::new(Fixed(text.to_owned())), vec![Fixed::model()])),
        Some(("script", path)) => Ok((Arc::new(Script::load(&PathBuf::from(path))?), vec![Script::model()])),
        _ if spec == "local" || spec.starts_with("openai:") || spec.starts_with("anthropic:") => {
            bail!("the provider {spec:?} is not available in this build yet; use fixed:TEXT or script:FILE")
        }
        _ => bail!("unknown provider {spec:?}: expected local, openai:MODEL, anthropic:MODEL, fixed:TEXT or script:FILE"),
    }
}

/// Watches the pipeline's steps.
pub type Observer = Box<dyn Fn(&Event) + Send + Sync>;

/// Builds the pipeline.
pub fn build(args: &HostArgs, observer: Option<Observer>) -> anyhow::Result<Host> {
    let (provider, models) = provider(&args.provider)?;
    let interactive = std::io::stdin().is_terminal();
    let mode = match args.approve {
        Some(ApproveArg::Ask) => Mode::Ask,
        Some(ApproveArg::Auto) => Mode::Auto,
        Some(ApproveArg::Deny) => Mode::Deny,
        None if interactive => Mode::Ask,
        None => Mode::Deny,
    };
    let reviewer: Option<Arc<dyn Reviewer>> = match mode {
        Mode::Ask => Some(Arc::new(
            TerminalReviewer::open().context("--approve ask needs a terminal (/dev/tty)")?,
        )),
        _ => None,
    };
    let path = args.audit.clone().unwrap_or_else(default_audit_path);
    let audit = AuditLog::open(&path, false)
        .with_context(|| format!("cannot open the audit log {}", path.display()))?;
    let mut b = Host::builder()
        .approval(Approval::new(mode, vec![], reviewer))
        .provider(provider, models)
        .audit(Arc::new(audit));
    if let Some(o) = observer {
        b = b.observe(o);
    }
    Ok(b.build())
}
