//! One console for many processes: `mcp-sampling console` writes a discovery file (its
//! address and token, readable only by the user); a host or bridge that finds it asks there
//! with a [`RemoteReviewer`], which POSTs each question and waits for the answer (long poll).

use crate::hub::Answer;
use crate::reviewer::{reply_decision, reply_view, request_decision, request_view};
use crate::TOKEN_HEADER;
use mcp_host::approval::{ReplyDecision, RequestDecision, Reviewer, Withdrawal};
use mcp_proto::handler::SamplingRequest;
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Where a running console can be found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    /// Its address.
    pub addr: SocketAddr,
    /// Its token.
    pub token: String,
    /// The page's URL, with the token.
    pub url: String,
    /// The console's process id.
    pub pid: u32,
}

/// Why a console could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// Nothing answers at the address.
    #[error("the console at {addr} does not answer: {why}")]
    Unreachable {
        /// Where.
        addr: SocketAddr,
        /// Why.
        why: String,
    },
    /// It answered, but refused (a stale token).
    #[error("the console at {addr} refused us: HTTP {status}")]
    Refused {
        /// Where.
        addr: SocketAddr,
        /// Its status code.
        status: u16,
    },
    /// The discovery file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Discovery {
    /// The discovery file: `$XDG_RUNTIME_DIR/mcp-sampling/console.json`, else
    /// `~/.cache/mcp-sampling/console.json`.
    pub fn path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("mcp-sampling").join("console.json"))
    }

    /// Writes it to `path` (mode 0600, its directory 0700), replacing what was there.
    pub fn write(&self, path: &Path) -> Result<(), RemoteError> {
        use std::io::Write;
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let err = |source| RemoteError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(err)?;
        }
        let tmp = path.with_extension(format!("json.{}", self.pid));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        f.write_all(text.as_bytes()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Reads the file at `path`, if it holds a discovery record.
    pub fn read(path: &Path) -> Option<Discovery> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Removes the file at `path` if it still names process `pid` (a newer console may
    /// have replaced it).
    pub fn remove_if_ours(path: &Path, pid: u32) {
        if Discovery::read(path).is_some_and(|d| d.pid == pid) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Asks a console in another process. Its questions wait there until a person answers; a
/// question withdrawn here (cancelled, or answered at this process's terminal) is
/// withdrawn there, saying why.
#[derive(Clone)]
pub struct RemoteReviewer {
    base: String,
    addr: SocketAddr,
    token: String,
    http: reqwest::Client,
}

impl RemoteReviewer {
    /// A reviewer for the console `d` describes, once it answers (within two seconds).
    pub async fn connect(d: &Discovery) -> Result<RemoteReviewer, RemoteError> {
        let r = RemoteReviewer {
            base: format!("http://{}", d.addr),
            addr: d.addr,
            token: d.token.clone(),
            http: reqwest::Client::new(),
        };
        let probe = r
            .http
            .get(format!("{}/api/pending", r.base))
            .header(TOKEN_HEADER, &r.token)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map_err(|e| RemoteError::Unreachable {
                addr: d.addr,
                why: e.to_string(),
            })?;
        if !probe.status().is_success() {
            return Err(RemoteError::Refused {
                addr: d.addr,
                status: probe.status().as_u16(),
            });
        }
        Ok(r)
    }

    /// The console of the discovery file, if there is one and it answers.
    pub async fn discover() -> Option<RemoteReviewer> {
        let d = Discovery::read(&Discovery::path()?)?;
        match RemoteReviewer::connect(&d).await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::info!("not using the console of the discovery file: {e}");
                None
            }
        }
    }

    /// The console's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends the question and waits for its answer; `None` when the console cannot answer.
    pub(crate) fn ask(
        &self,
        kind: &'static str,
        view: Value,
        withdrawal: Withdrawal,
    ) -> BoxFuture<Option<Answer>> {
        let reference = token();
        let body = json!({"ref": reference, "kind": kind, "view": view}).to_string();
        let post = self
            .http
            .post(format!("{}/api/remote/ask", self.base))
            .header(TOKEN_HEADER, &self.token)
            .header("content-type", "application/json")
            .body(body);
        let task: JoinHandle<Option<Answer>> = tokio::spawn(async move {
            let r = post.send().await.ok()?;
            if !r.status().is_success() {
                return None;
            }
            let v: Value = serde_json::from_str(&r.text().await.ok()?).ok()?;
            serde_json::from_value(v.get("answer")?.clone()).ok()
        });
        let mut pending = Pending {
            task: Some(task),
            reviewer: self.clone(),
            reference,
            withdrawal,
        };
        Box::pin(async move {
            let task = pending.task.as_mut()?;
            let answer = task.await.ok().flatten();
            drop(pending.task.take());
            answer
        })
    }
}

/// A question in flight: dropped before its answer, it is withdrawn at the console (first
/// saying why, then closing the long poll).
struct Pending {
    task: Option<JoinHandle<Option<Answer>>>,
    reviewer: RemoteReviewer,
    reference: String,
    withdrawal: Withdrawal,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            task.abort();
            return;
        };
        let r = &self.reviewer;
        let post = r
            .http
            .post(format!("{}/api/remote/withdraw", r.base))
            .header(TOKEN_HEADER, &r.token)
            .header("content-type", "application/json")
            .body(json!({"ref": self.reference, "why": self.withdrawal.reason()}).to_string())
            .timeout(Duration::from_secs(2));
        rt.spawn(async move {
            let _ = post.send().await;
            task.abort();
        });
    }
}

fn token() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const UNREACHABLE: &str = "the console did not answer (it closed or cannot be reached)";

impl Reviewer for RemoteReviewer {
    fn place(&self) -> &'static str {
        "the console"
    }

    fn review_request_in(
        &self,
        req: &SamplingRequest,
        model: &str,
        withdrawal: Withdrawal,
    ) -> BoxFuture<RequestDecision> {
        let asked = self.ask("request", request_view(req, model), withdrawal);
        let params = req.params.clone();
        Box::pin(async move { request_decision(asked.await, &params, UNREACHABLE) })
    }

    fn review_reply_in(
        &self,
        req: &SamplingRequest,
        reply: &CreateMessageResult,
        withdrawal: Withdrawal,
    ) -> BoxFuture<ReplyDecision> {
        let asked = self.ask("reply", reply_view(req, reply), withdrawal);
        Box::pin(async move { reply_decision(asked.await, UNREACHABLE) })
    }
}
