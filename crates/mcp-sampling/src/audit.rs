//! `mcp-sampling audit`: the audit log as a table or JSON.

use crate::host::default_audit_path;
use anyhow::Context;
use clap::Args;
use mcp_host::audit::AuditLog;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct AuditArgs {
    /// The audit database (default: the user's data directory), as `--audit` is for every
    /// other command (`--db` is kept as another name).
    #[arg(long = "audit", alias = "db", value_name = "FILE")]
    db: Option<PathBuf>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
    /// How many of the newest entries.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

pub fn run(a: AuditArgs) -> anyhow::Result<ExitCode> {
    let path = a.db.unwrap_or_else(default_audit_path);
    if !path.exists() {
        anyhow::bail!(
            "no audit log at {} (nothing has been sampled yet, or pass --audit FILE)",
            path.display()
        );
    }
    let log = AuditLog::open_read_only(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let rows = log.recent(a.limit)?;
    if a.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<5} {:<20} {:<14} {:<7} {:<16} {:<26} {:>6} {:>6} {:>9} {:>7}  outcome",
        "id", "time (UTC)", "server", "era", "decision (by)", "model", "in", "out", "cost $", "ms"
    );
    for r in &rows {
        let decision = format!("{} ({})", r.decision, r.decided_by);
        println!(
            "{:<5} {:<20} {:<14} {:<7} {:<16} {:<26} {:>6} {:>6} {:>9.5} {:>7}  {}",
            r.id,
            time(r.at_ms),
            cut(&r.server, 14),
            r.era,
            cut(&decision, 16),
            cut(r.model.as_deref().unwrap_or("-"), 26),
            r.tokens_in,
            r.tokens_out,
            r.cost,
            r.latency_ms,
            cut(&r.outcome, 60)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `s` in at most `n` characters (whole characters: never split inside one), `…` ending a
/// shortened one.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let kept: String = s.chars().take(n.saturating_sub(1)).collect();
    format!("{kept}…")
}

fn time(ms: i64) -> String {
    let secs = ms.max(0) as u64 / 1000;
    let date = mcp_host::policy::civil_date(secs / 86_400);
    let s = secs % 86_400;
    format!("{date} {:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("summarize", 20), "summarize");
        assert_eq!(cut("summarize", 5), "summ…");
        // Multibyte characters at the cut (this used to panic).
        assert_eq!(cut("日本語のサーバー", 4), "日本語…");
        assert_eq!(cut("ééééé", 3), "éé…");
        assert_eq!(cut("👍👍👍", 3), "👍👍👍");
        assert_eq!(cut("👍👍👍👍", 3), "👍👍…");
    }
}
