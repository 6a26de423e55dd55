//! The child-process transport: shutdown escalates from closing stdin to SIGTERM to SIGKILL.

use mcp_rpc::ChildProcess;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

fn sh(script: &str) -> ChildProcess {
    ChildProcess::spawn("sh", &["-c".into(), script.into()]).expect("spawn sh")
}

#[tokio::test]
async fn a_child_that_exits_on_eof_is_waited_for() {
    let mut c = sh("cat >/dev/null; exit 3");
    drop(c.transport.take());
    let start = Instant::now();
    let status = c.shutdown().await.unwrap();
    assert_eq!(status.code(), Some(3));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_child_that_ignores_eof_gets_sigterm() {
    let mut c = sh("trap 'exit 7' TERM; while true; do sleep 0.05; done");
    drop(c.transport.take());
    let status = c.shutdown().await.unwrap();
    assert_eq!(
        status.code(),
        Some(7),
        "the child ran its TERM handler: {status:?}"
    );
}

#[tokio::test]
async fn a_child_that_ignores_sigterm_is_killed() {
    let mut c = sh("trap '' TERM; while true; do sleep 0.05; done");
    drop(c.transport.take());
    let status = c.shutdown().await.unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
}

#[tokio::test]
async fn a_missing_program_is_a_clear_error() {
    let e = ChildProcess::spawn("/no/such/server", &[])
        .err()
        .expect("an error");
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}
