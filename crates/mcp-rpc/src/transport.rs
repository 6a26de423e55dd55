//! Byte-stream transports: stdio (server side), a child process (client side), and an
//! in-memory pair for tests.

use crate::engine::{Config, Connection, Handler};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio::process::{Child, Command};

/// Boxed read half.
pub type BoxRead = Box<dyn AsyncRead + Unpin + Send>;
/// Boxed write half.
pub type BoxWrite = Box<dyn AsyncWrite + Unpin + Send>;

/// A pair of byte streams to speak newline-delimited JSON-RPC over.
pub struct Transport {
    /// What the peer writes.
    pub read: BoxRead,
    /// What the peer reads.
    pub write: BoxWrite,
}

impl Transport {
    /// Starts a connection over this transport.
    pub fn connect(self, handler: Arc<dyn Handler>, config: Config) -> Connection {
        Connection::start(self.read, self.write, handler, config)
    }
}

/// The process's own stdin and stdout. When they are pipes they are read and written
/// without the blocking thread pool (much faster); otherwise tokio's stdio is used.
pub fn stdio() -> Transport {
    #[cfg(unix)]
    {
        use tokio::net::unix::pipe;
        let read: Option<BoxRead> = std::io::stdin()
            .as_fd_owned()
            .and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok())
            .map(|r| Box::new(r) as BoxRead);
        let write: Option<BoxWrite> = std::io::stdout()
            .as_fd_owned()
            .and_then(|fd| pipe::Sender::from_owned_fd(fd).ok())
            .map(|w| Box::new(w) as BoxWrite);
        Transport {
            read: read.unwrap_or_else(|| Box::new(tokio::io::stdin())),
            write: write.unwrap_or_else(|| Box::new(tokio::io::stdout())),
        }
    }
    #[cfg(not(unix))]
    Transport {
        read: Box::new(tokio::io::stdin()),
        write: Box::new(tokio::io::stdout()),
    }
}

#[cfg(unix)]
trait OwnedFdExt {
    fn as_fd_owned(&self) -> Option<std::os::fd::OwnedFd>;
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd> OwnedFdExt for T {
    fn as_fd_owned(&self) -> Option<std::os::fd::OwnedFd> {
        // A duplicate, so the original descriptor stays valid for the rest of the process;
        // tokio's pipe types accept only pipes and FIFOs, and refuse terminals and files.
        self.as_fd().try_clone_to_owned().ok()
    }
}

/// An in-memory pair: what one end writes, the other reads.
pub fn memory() -> (Transport, Transport) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let (ar, aw) = tokio::io::split(a);
    let (br, bw) = tokio::io::split(b);
    (
        Transport {
            read: Box::new(ar),
            write: Box::new(aw),
        },
        Transport {
            read: Box::new(br),
            write: Box::new(bw),
        },
    )
}

/// A server running as a child process, spoken to over its stdin and stdout.
pub struct ChildProcess {
    child: Child,
    /// The transport to the child (take it once).
    pub transport: Option<Transport>,
    label: String,
}

/// How long [`ChildProcess::shutdown`] waits after closing stdin, and after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl ChildProcess {
    /// Spawns `program args...` with piped stdio. The child's stderr is read line by line
    /// and logged (target `mcp_rpc::child`), never lost and never mixed into the protocol.
    pub fn spawn(program: &str, args: &[String]) -> std::io::Result<ChildProcess> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Self::spawn_command(cmd, program)
    }

    /// Spawns a prepared command (stdio is set to pipes here).
    pub fn spawn_command(mut cmd: Command, label: &str) -> std::io::Result<ChildProcess> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("the child's stdio pipes are missing"));
        };
        if let Some(stderr) = child.stderr.take() {
            let label = label.to_owned();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::info!(target: "mcp_rpc::child", server = %label, "{line}");
                }
            });
        }
        Ok(ChildProcess {
            child,
            transport: Some(Transport {
                read: Box::new(stdout),
                write: Box::new(stdin),
            }),
            label: label.to_owned(),
        })
    }

    /// The child's process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// Shuts the child down as the stdio spec asks: the caller has closed its stdin (by
    /// closing the connection); wait for it to exit, then SIGTERM, then SIGKILL.
    pub async fn shutdown(&mut self) -> std::io::Result<std::process::ExitStatus> {
        if let Ok(r) = tokio::time::timeout(SHUTDOWN_GRACE, self.child.wait()).await {
            return r;
        }
        #[cfg(unix)]
        if let Some(pid) = self.child.id() {
            tracing::warn!(server = %self.label, "the server did not exit after its stdin closed; sending SIGTERM");
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            if let Ok(r) = tokio::time::timeout(SHUTDOWN_GRACE, self.child.wait()).await {
                return r;
            }
        }
        tracing::warn!(server = %self.label, "the server did not exit; killing it");
        self.child.kill().await?;
        self.child.wait().await
    }
}
