//! Shared by the interop test binaries: the pinned peers (installed by
//! `tests/peers/install.sh`, which `scripts/test.sh` runs first; a missing peer fails the
//! test, nothing is skipped), our binary, and running a command to completion.

#![allow(dead_code)]

pub mod cluster;
pub mod oauth_as;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

pub fn bin() -> String {
    env!("CARGO_BIN_EXE_mcp-sampling").to_owned()
}

pub fn peer(rel: &str) -> String {
    let p = root().join("tests/peers").join(rel);
    assert!(
        p.exists(),
        "peer {} is not installed: run tests/peers/install.sh",
        p.display()
    );
    p.display().to_string()
}

pub fn python() -> String {
    peer("python/.venv/bin/python")
}

pub fn server_everything() -> Vec<String> {
    vec![
        "node".into(),
        peer("node/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
        "stdio".into(),
    ]
}

/// Keeps the host's audit log out of the user's own data directory.
pub fn scratch_data_home() -> PathBuf {
    std::env::temp_dir().join(format!("mcp-sampling-interop-{}", std::process::id()))
}

pub fn run(cmd: &[String]) -> Output {
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .env("XDG_DATA_HOME", scratch_data_home())
        .output()
        .expect("spawn");
    if !out.status.success() {
        panic!(
            "{:?} failed ({})\nstdout: {}\nstderr: {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A free port on loopback (for a peer that listens).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A server process listening on a port; killed when dropped.
pub struct Listening {
    child: Child,
    /// Its MCP endpoint.
    pub url: String,
}

impl Listening {
    /// Starts the peer and waits until it says on stderr that it listens (each of them prints
    /// a line with `listening on` once its port is open); the rest of its stderr is passed on.
    pub fn start(mut cmd: Command, port: u16) -> Listening {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the peer");
        let stderr = child.stderr.take().expect("the peer's stderr");
        let peer = Listening {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        };
        let (ready_tx, ready) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[peer] {line}");
                if line.contains("listening on") {
                    let _ = ready_tx.send(());
                }
            }
        });
        match ready.recv_timeout(Duration::from_secs(30)) {
            Ok(()) => peer,
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the peer closed its stderr (exited?) before listening on {port}")
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("the peer did not listen on {port} within 30 s")
            }
        }
    }
}

impl Listening {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
