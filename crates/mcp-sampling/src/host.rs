//! The host options shared by `call` (and later `demo`, `bridge`, `host`): era, approval,
//! provider, audit log; and building the pipeline from them.

use crate::config::Config;
use crate::console::Web;
use crate::review::TerminalReviewer;
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use mcp_client::{ClientOptions, EraChoice};
use mcp_host::approval::{Approval, Mode, Reviewer};
use mcp_host::audit::AuditLog;
use mcp_host::routing::ModelEntry;
use mcp_host::testing::{Echo, Fixed, Script};
use mcp_host::{FirstOf, Host};
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
    /// Who answers: local (the embedded model; the default), openai:MODEL, anthropic:MODEL,
    /// or for testing fixed:TEXT (always TEXT), script:FILE (CreateMessageResult JSON lines)
    /// and echo (replies with the prompt it received).
    #[arg(long)]
    pub provider: Option<String>,
    /// The audit database (SQLite). Default: the config's, else the user's data directory.
    #[arg(long)]
    pub audit: Option<PathBuf>,
    /// A TOML config (providers, models, policies per server, approval rules, audit), or a
    /// Claude-Desktop JSON file for the server list. See examples/host.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Who answers servers' forms (elicitation): a person at this terminal (ask), or
    /// decline, cancel, accept:JSON (these values, defaults for the rest). Default: ask when
    /// there is a terminal, else decline.
    #[arg(long, value_name = "ask|decline|cancel|accept:JSON")]
    pub elicit: Option<String>,
    /// A directory or file offered to servers as a root (repeatable).
    #[arg(long = "root", value_name = "PATH")]
    pub roots: Vec<PathBuf>,
    /// Modern era: the most `input_required` rounds one call may take (each round answers
    /// the input requests the server made since the last one).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rounds: u32,
    /// Every sampling step on stderr: the request, the model the router picked and why, the
    /// approval, the reply's figures.
    #[arg(long, short)]
    pub verbose: bool,
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

    /// The client options of these flags for `host`: era, elicitation handler, roots, and
    /// sampling with tools declared only when one of the host's models can call tools (the
    /// embedded model cannot: servers then sample without tools).
    pub fn client_options(&self, host: &Host) -> anyhow::Result<ClientOptions> {
        self.client_options_with(host, None)
    }

    /// [`HostArgs::client_options`] with a web console: without `--elicit`, servers' forms
    /// are filled in there.
    pub fn client_options_with(
        &self,
        host: &Host,
        web: Option<&Web>,
    ) -> anyhow::Result<ClientOptions> {
        let tools = host.router().catalog().iter().any(|m| m.tools);
        let mut capabilities = mcp_proto::ClientCapabilities::sampling(tools);
        if let (true, Some(s)) = (host.honours_context(), capabilities.sampling.as_mut()) {
            s.context = Some(Default::default());
        }
        Ok(ClientOptions {
            era: self.era(),
            capabilities,
            elicitation: Some(crate::elicit::handler(
                self.elicit.as_deref(),
                web.map(Web::forms),
            )?),
            roots: crate::elicit::roots(&self.roots)?,
            max_rounds: self.max_rounds,
            ..Default::default()
        })
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
        None if spec == "echo" => Ok((Arc::new(Echo), vec![Echo::model()])),
        Some(("script", path)) => Ok((Arc::new(Script::load(&PathBuf::from(path))?), vec![Script::model()])),
        Some(("openai", model)) if !model.is_empty() => {
            Ok((Arc::new(mcp_llm::OpenAi::from_env()), vec![mcp_host::routing::catalog_entry("openai", model)]))
        }
        Some(("anthropic", model)) if !model.is_empty() => {
            Ok((Arc::new(mcp_llm::Anthropic::from_env()), vec![mcp_host::routing::catalog_entry("anthropic", model)]))
        }
        None if spec == "local" => {
            let load = || mcp_local::LocalModel::load_installed();
            let model = crate::progress::while_loading("loading the embedded model", load).map_err(|e| anyhow::anyhow!("{e} (run `mcp-sampling model install`)"))?;
            Ok((Arc::new(model), vec![mcp_host::routing::catalog_entry("local", mcp_local::MODEL_ID)]))
        }
        _ => bail!("unknown provider {spec:?}: expected local, openai:MODEL, anthropic:MODEL, fixed:TEXT or script:FILE"),
    }
}

pub use crate::progress::Observer;

/// The providers a pipeline was built with, by spec (`host` chats with the same one rather
/// than loading the embedded model twice).
pub type Providers = Vec<(String, Arc<dyn Provider>, Vec<ModelEntry>)>;

/// Builds the pipeline from the flags and the config file (flags win). `observer` sees every
/// step (the demo prints them); without one, each reply's figures go to stderr, and with
/// `--verbose` every step.
pub fn build(args: &HostArgs, observer: Option<Observer>) -> anyhow::Result<Host> {
    build_keeping(args, observer).map(|(host, _)| host)
}

/// [`build`], and the providers it made.
pub fn build_keeping(
    args: &HostArgs,
    observer: Option<Observer>,
) -> anyhow::Result<(Host, Providers)> {
    build_with_console(args, observer, None)
}

/// Who reviews: the terminal and the console (the first answer wins), either alone, or
/// nobody. An error when the mode is `ask` and there is neither.
fn reviewer(
    args: &HostArgs,
    asks: bool,
    mode: Mode,
    web: Option<&Web>,
) -> anyhow::Result<Option<Arc<dyn Reviewer>>> {
    if !asks {
        return Ok(None);
    }
    let web = web.map(Web::reviewer);
    Ok(match (TerminalReviewer::open(), web) {
        (Some(t), Some(web)) => Some(Arc::new(FirstOf::new(Arc::new(t), web))),
        (Some(t), None) => Some(Arc::new(t)),
        (None, Some(web)) => Some(web),
        (None, None) if mode == Mode::Ask => {
            let from = if args.approve.is_some() {
                "--approve ask".to_string()
            } else {
                format!(
                    "mode = \"ask\" in {}",
                    args.config
                        .as_ref()
                        .map_or("the config".into(), |p| p.display().to_string())
                )
            };
            bail!("{from} needs a terminal (/dev/tty) or a console (--console, or `mcp-sampling console` running); pass --approve auto or deny")
        }
        (None, None) => None,
    })
}

/// [`build_keeping`] with a web console (from [`crate::console::start`]): it reviews
/// requests too (with the terminal, first answer wins), approval is `ask` unless the flags
/// or the config say otherwise, and a console of this process shows the pipeline's log.
pub fn build_with_console(
    args: &HostArgs,
    observer: Option<Observer>,
    web: Option<&Web>,
) -> anyhow::Result<(Host, Providers)> {
    let cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let spec = args
        .provider
        .clone()
        .or(cfg.provider.clone())
        .unwrap_or_else(|| "local".into());
    let interactive = std::io::stdin().is_terminal() || web.is_some();
    let mode = match args.approve {
        Some(ApproveArg::Ask) => Mode::Ask,
        Some(ApproveArg::Auto) => Mode::Auto,
        Some(ApproveArg::Deny) => Mode::Deny,
        None => cfg
            .approval
            .mode
            .unwrap_or(if interactive { Mode::Ask } else { Mode::Deny }),
    };
    let asks = mode == Mode::Ask || cfg.approval.rules.iter().any(|r| r.action == Mode::Ask);
    let reviewer = reviewer(args, asks, mode, web)?;
    if let (true, Some(Web::Remote(r))) = (asks, web) {
        eprintln!(
            "console: sampling requests are also asked in the console at http://{}",
            r.addr()
        );
    }
    let path = args
        .audit
        .clone()
        .or(cfg.audit.path.clone())
        .unwrap_or_else(default_audit_path);
    let audit = AuditLog::open(&path, cfg.audit.keep_prompts)
        .with_context(|| format!("cannot open the audit log {}", path.display()))?;
    let audit = Arc::new(audit);
    if let Some(Web::Local(c)) = web {
        c.show_audit(audit.clone());
    }
    let mut approval = Approval::new(mode, cfg.approval.rules.clone(), reviewer);
    if args.approve.is_none() && cfg.approval.mode.is_none() && !interactive {
        approval = approval.mode_because(
            "no terminal and no console to ask; run `mcp-sampling console`, or use --console or --approve",
        );
    }
    let mut b = Host::builder()
        .approval(approval)
        .policy(cfg.policy.default.clone().unwrap_or_default())
        .audit(audit);
    for (server, p) in &cfg.policy.servers {
        b = b.server_policy(server, p.clone());
    }
    let mut made = Providers::new();
    for spec in std::iter::once(&spec).chain(cfg.extra_providers.iter()) {
        let (p, models) = provider(spec)?;
        b = b.provider(p.clone(), models.clone());
        made.push((spec.clone(), p, models));
    }
    for m in &cfg.models {
        b = b.model(m.clone());
    }
    let watcher = crate::progress::Watcher::new(!asks, args.verbose, observer);
    b = b.observe(move |e| watcher.see(e));
    let host = b
        .build()
        .context("the config's [[models]] do not fit its providers")?;
    Ok((host, made))
}
