//! The audit log's writer: rows committed in batches off the request path, a request
//! answered only once its row is committed (so a crash loses no row of an answered request),
//! a bounded queue that makes requests wait when full, and a drop that commits what is queued.

use mcp_host::approval::{Approval, Mode};
use mcp_host::audit::{AuditLog, Entry, Filter};
use mcp_host::testing::Fixed;
use mcp_host::{Host, SamplingHandler, SamplingRequest};
use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::{Era, SamplingMessage};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcp-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn host(log: Arc<AuditLog>) -> Host {
    Host::builder()
        .provider(Arc::new(Fixed("ok".into())), vec![Fixed::model()])
        .approval(Approval::new(Mode::Auto, vec![], None))
        .audit(log)
        .build()
        .unwrap()
}

fn request(server: &str) -> SamplingRequest {
    SamplingRequest {
        params: CreateMessageParams::new(vec![SamplingMessage::user("hi")], 10),
        server: server.into(),
        claims: None,
        era: Era::Legacy,
        protocol_version: "2025-11-25".into(),
        tool_call: None,
    }
}

fn servers(path: &Path) -> Vec<String> {
    let log = AuditLog::open_read_only(path).unwrap();
    let all = log
        .query(&Filter {
            limit: 1_000_000,
            ..Filter::default()
        })
        .unwrap();
    let mut names: Vec<_> = all.into_iter().map(|e| e.server).collect();
    names.sort();
    names
}

fn row(server: &str) -> Entry {
    Entry {
        server: server.into(),
        era: "legacy".into(),
        outcome: "ok".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_request_of_many_at_once_has_its_row() {
    let d = dir("many");
    let path = d.join("audit.db");
    let log = Arc::new(AuditLog::open(&path, false).unwrap());
    let h = host(log.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..32 {
        let h = h.clone();
        tasks.spawn(async move {
            for i in 0..25 {
                h.create_message(request(&format!("s{t:02}-{i:02}")))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    // No flush: each answer came after its row's commit, so all are readable now, from
    // another connection too.
    let mut want: Vec<String> = (0..32)
        .flat_map(|t| (0..25).map(move |i| format!("s{t:02}-{i:02}")))
        .collect();
    want.sort();
    assert_eq!(servers(&path), want);
    assert!(log.recent(1000).unwrap().iter().all(|e| e.outcome == "ok"));
    drop((h, log));
    let _ = std::fs::remove_dir_all(d);
}

const CHILD: &str = "MCP_AUDIT_TEST_ABORT_CHILD";
const ACKED: usize = 200;

/// In the child: answers `ACKED` requests while more keep coming, says so, and aborts (no
/// destructor runs, nothing is flushed).
fn abort_after_answers(path: &Path) -> ! {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let h = host(Arc::new(AuditLog::open(path, false).unwrap()));
        for t in 0..4 {
            let h = h.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let _ = h.create_message(request(&format!("extra-{t}-{i}"))).await;
                }
            });
        }
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..ACKED / 10 {
            let h = h.clone();
            tasks.spawn(async move {
                for i in 0..10 {
                    let server = format!("acked-{:03}", t * 10 + i);
                    h.create_message(request(&server)).await.unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        println!("answered {ACKED}");
        use std::io::Write as _;
        std::io::stdout().flush().unwrap();
        std::process::abort()
    })
}

#[test]
fn rows_of_answered_requests_survive_the_host_aborting() {
    if let Ok(path) = std::env::var(CHILD) {
        abort_after_answers(Path::new(&path));
    }
    let d = dir("abort");
    let path = d.join("audit.db");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rows_of_answered_requests_survive_the_host_aborting",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("answered {ACKED}")),
        "the child did not answer its requests: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the child was meant to abort");
    let found = servers(&path);
    for i in 0..ACKED {
        let name = format!("acked-{i:03}");
        assert!(found.binary_search(&name).is_ok(), "{name} is missing");
    }
    let _ = std::fs::remove_dir_all(d);
}

/// Holds the write lock of the log's file from another connection, so the writer waits.
fn block_writes(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("BEGIN IMMEDIATE").unwrap();
    c
}

async fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_makes_requests_wait_and_loses_nothing() {
    let d = dir("full");
    let path = d.join("audit.db");
    let log = Arc::new(AuditLog::open(&path, false).unwrap().queue_capacity(2));
    let blocker = block_writes(&path);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.commit(row(&format!("r{i}"))).await
        }));
    }
    // The writer holds what it took and waits for the lock; two more fill the queue.
    until(|| log.queued() == 2).await;
    tokio::select! {
        biased;
        _ = log.slot() => panic!("a full queue gave a place"),
        _ = std::future::ready(()) => {}
    }
    assert!(tasks.iter().all(|t| !t.is_finished()), "acknowledged early");
    blocker.execute_batch("COMMIT").unwrap();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(servers(&path), ["r0", "r1", "r2", "r3", "r4", "r5"]);
    let _ = std::fs::remove_dir_all(d);
}

#[tokio::test]
async fn dropping_the_log_commits_what_is_queued() {
    let d = dir("drop");
    let path = d.join("audit.db");
    let log = AuditLog::open(&path, false).unwrap();
    let blocker = block_writes(&path);
    for i in 0..5 {
        // Queued, then given up on before its commit (which waits for the locked file).
        let commit = std::pin::pin!(log.slot().await.commit(row(&format!("q{i}"))));
        tokio::select! {
            biased;
            _ = commit => panic!("committed while the file is locked"),
            _ = std::future::ready(()) => {}
        }
    }
    let release = std::thread::spawn(move || blocker.execute_batch("COMMIT").unwrap());
    drop(log);
    release.join().unwrap();
    assert_eq!(servers(&path), ["q0", "q1", "q2", "q3", "q4"]);
    let _ = std::fs::remove_dir_all(d);
}

#[tokio::test]
async fn flush_waits_for_rows_queued_before_it() {
    let log = AuditLog::in_memory();
    let slot = log.slot().await;
    let commit = slot.commit(row("f"));
    let (committed, flushed) = tokio::join!(commit, log.flush());
    committed.unwrap();
    flushed.unwrap();
    assert_eq!(log.recent(10).unwrap().len(), 1);
}

/// Settling a request's use goes through the writer, committed no later than its row: once
/// requests are answered, the day's use holds them all, and a budget still holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_settled_through_the_writer_are_counted_by_the_answer() {
    use mcp_host::policy::{LimitStore, ServerPolicy};
    let d = dir("settle");
    let path = d.join("audit.db");
    let log = Arc::new(AuditLog::open(&path, false).unwrap());
    let h = Host::builder()
        .policy(ServerPolicy {
            daily_token_budget: 1_000_000,
            requests_per_minute: 0,
            ..Default::default()
        })
        .provider(Arc::new(Fixed("ok".into())), vec![Fixed::model()])
        .approval(Approval::new(Mode::Auto, vec![], None))
        .audit(log.clone())
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let h = h.clone();
        tasks.spawn(async move {
            for _ in 0..10 {
                h.create_message(request("b")).await.unwrap();
            }
            10
        });
    }
    let mut answered = 0;
    while let Some(done) = tasks.join_next().await {
        answered += done.unwrap();
    }
    let rows = log.recent(1000).unwrap();
    assert_eq!(rows.len(), answered);
    let spent: i64 = rows.iter().map(|e| e.tokens_in + e.tokens_out).sum();
    let other = AuditLog::open(&path, false).unwrap();
    let day = mcp_host::policy::today();
    assert_eq!(other.used("b", &day).tokens as i64, spent);
    assert!(spent > 0);
    let _ = std::fs::remove_dir_all(d);
}
