//! Faults the host survives: a server killed while its sampling request is being answered
//! (the call fails saying so, the audit log records the request as withdrawn), and an audit
//! log that cannot be written (sampling is refused: the host fails closed).

use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_host::approval::{Approval, Mode};
use mcp_host::audit::AuditLog;
use mcp_host::pipeline::WITHDRAWN;
use mcp_host::testing::Fixed;
use mcp_host::{Event, Host};
use mcp_llm::{BoxFuture, Completion, Provider, ProviderError};
use mcp_proto::sampling::CreateMessageParams;
use mcp_rpc::ChildProcess;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// A provider that says when a request reaches it, and never answers.
struct Stall(Arc<Notify>);

impl Provider for Stall {
    fn name(&self) -> &str {
        "stall"
    }
    fn complete(
        &self,
        _model: &str,
        _params: &CreateMessageParams,
    ) -> BoxFuture<Result<Completion, ProviderError>> {
        self.0.notify_one();
        Box::pin(std::future::pending())
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("mcp-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn summarize_server() -> (ChildProcess, mcp_rpc::Transport) {
    let args = ["serve".to_owned(), "summarize".to_owned()];
    let mut child = ChildProcess::spawn(env!("CARGO_BIN_EXE_mcp-sampling"), &args).unwrap();
    let transport = child.transport.take().unwrap();
    (child, transport)
}

fn options(era: EraChoice) -> ClientOptions {
    let mut opts = ClientOptions {
        name: Some("summarize".into()),
        era,
        ..ClientOptions::default()
    };
    opts.rpc.end_grace = Duration::from_millis(50);
    opts
}

const TEXT: &str = "Sampling lets a server borrow the client's model. The client decides which model answers. \
A person may review every request. Budgets keep costs in check. Rate limits stop runaway loops. \
The audit log records every decision. Nothing reaches the model without the host's consent. That is the point.";

#[tokio::test]
async fn a_legacy_server_killed_mid_sampling_is_reported_and_audited() {
    killed_mid_sampling(EraChoice::Legacy, "killed-legacy").await;
}

#[tokio::test]
async fn a_modern_server_killed_mid_sampling_is_reported_and_audited() {
    killed_mid_sampling(EraChoice::Modern, "killed-modern").await;
}

async fn killed_mid_sampling(era: EraChoice, name: &str) {
    let dir = scratch(name);
    let audit = Arc::new(AuditLog::open(&dir.join("audit.db"), false).unwrap());
    let reached = Arc::new(Notify::new());
    let mut model = Fixed::model();
    (model.provider, model.id) = ("stall".into(), "stall".into());
    let (events, mut seen) = mpsc::unbounded_channel();
    let host = Host::builder()
        .provider(Arc::new(Stall(reached.clone())), vec![model])
        .approval(Approval::new(Mode::Auto, vec![], None))
        .audit(audit.clone())
        .observe(move |e| {
            if let Event::Withdrawn { server } = e {
                let _ = events.send(server.clone());
            }
        })
        .build()
        .unwrap();
    let (child, transport) = summarize_server().await;
    let client = Client::connect(transport, Arc::new(host), options(era))
        .await
        .unwrap();
    let args = json!({"text": TEXT, "sentences": 1});
    let mut call = tokio::spawn(async move {
        let r = client
            .call_tool("summarize", args.as_object().unwrap().clone())
            .await;
        (r, client)
    });
    tokio::select! {
        _ = reached.notified() => {}
        done = &mut call => panic!("the call ended before sampling reached the model: {:?}", done.unwrap().0),
    }
    let pid = child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (r, _client) = call.await.unwrap();
    let err = r.expect_err("the server is gone");
    assert!(err.to_string().contains("closed"), "{err}");
    assert_eq!(seen.recv().await.as_deref(), Some("summarize"));
    let rows = audit.recent(10).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, WITHDRAWN);
    assert_eq!(rows[0].server, "summarize");
    drop(child);
    let _ = std::fs::remove_dir_all(dir);
}

/// The host killed with SIGKILL while it writes the audit log: the log passes SQLite's
/// integrity check and still holds every row written before the kill.
#[tokio::test]
async fn a_host_killed_during_audit_writes_leaves_a_sound_log() {
    let dir = scratch("sigkill");
    let db = dir.join("audit.db");
    // Unlimited rate, so the host writes as fast as it can.
    let config = dir.join("host.toml");
    std::fs::write(
        &config,
        "[approval]\nmode = \"auto\"\n[policy.default]\nrequests_per_minute = 0\nmax_concurrent = 8\n",
    )
    .unwrap();
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-sampling"))
        .args(["call", "--era", "legacy", "--provider", "fixed:ok"])
        .args([
            "--tool",
            "bench_sampling",
            "--args",
            r#"{"n": 100000, "concurrency": 8}"#,
        ])
        .arg("--config")
        .arg(&config)
        .arg("--audit")
        .arg(&db)
        .args(["--", env!("CARGO_BIN_EXE_mcp-sampling"), "serve", "bench"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the log to fill a little (it is written while the host runs).
    let seen = loop {
        let n = rows(&db);
        if n >= 200 {
            break n;
        }
        assert!(host.try_wait().unwrap().is_none(), "the host ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    host.kill().unwrap(); // SIGKILL
    host.wait().unwrap();
    let log = rusqlite_check(&db);
    assert_eq!(log.0, "ok");
    assert!(
        log.1 >= seen,
        "rows before the kill: {seen}, after: {}",
        log.1
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Rows in the log (0 while it does not exist yet).
fn rows(db: &std::path::Path) -> i64 {
    AuditLog::open(db, false)
        .ok()
        .and_then(|l| l.recent(1).ok())
        .and_then(|r| r.first().map(|e| e.id))
        .unwrap_or(0)
}

/// SQLite's integrity check of the log, and its row count.
fn rusqlite_check(db: &std::path::Path) -> (String, i64) {
    let log = AuditLog::open(db, false).unwrap();
    (log.integrity_check().unwrap(), log.recent(1).unwrap()[0].id)
}
