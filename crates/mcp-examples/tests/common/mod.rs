//! Shared by the built-in servers' tests and the judgment benchmark: a built-in server in
//! process over the in-memory transport, the real client SDK on either era, and scripted
//! replies chosen by what each request says (so concurrent requests get the right one).
#![allow(dead_code)]

use mcp_client::{
    Client, ClientOptions, ElicitationError, ElicitationHandler, ElicitationRequest, EraChoice,
    SamplingError, SamplingRequest,
};
use mcp_proto::{BoxFuture, CreateMessageResult, ElicitResult, Era, SamplingHandler};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Both eras, for tests that run each case on each.
pub const ERAS: [Era; 2] = [Era::Legacy, Era::Modern];

/// The whole text of a sampling request: system prompt and every message's text.
pub fn request_text(req: &SamplingRequest) -> String {
    let mut out = req.params.system_prompt.clone().unwrap_or_default();
    for m in &req.params.messages {
        for c in m.content.as_slice() {
            if let Some(t) = c.as_text() {
                out.push('\n');
                out.push_str(t);
            }
        }
    }
    out
}

/// Scripted replies: each entry is (needle, reply). A request gets the reply of the first
/// unused entry whose needle occurs in its text (an empty needle matches any request);
/// with none left, the request fails. Counts the requests it saw.
pub struct Script {
    entries: Mutex<Vec<(String, String)>>,
    seen: AtomicUsize,
    log: Mutex<Vec<SamplingRequest>>,
}

impl Script {
    /// A script of (needle, reply) entries.
    pub fn new<N: Into<String>, R: Into<String>>(entries: Vec<(N, R)>) -> Arc<Script> {
        Arc::new(Script {
            entries: Mutex::new(
                entries
                    .into_iter()
                    .map(|(n, r)| (n.into(), r.into()))
                    .collect(),
            ),
            seen: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        })
    }

    /// Replies `text` to every request, in order: `Script::replies(["a", "b"])`.
    pub fn replies<R: Into<String>>(replies: impl IntoIterator<Item = R>) -> Arc<Script> {
        Script::new(replies.into_iter().map(|r| (String::new(), r)).collect())
    }

    /// How many sampling requests arrived.
    pub fn requests(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// The requests that arrived, in order.
    pub fn seen(&self) -> Vec<SamplingRequest> {
        self.log.lock().unwrap().clone()
    }

    fn answer(&self, req: &SamplingRequest) -> Result<CreateMessageResult, SamplingError> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(req.clone());
        let text = request_text(req);
        let mut entries = self.entries.lock().unwrap();
        let at = entries
            .iter()
            .position(|(needle, _)| text.contains(needle.as_str()));
        match at {
            Some(i) => {
                let (_, reply) = entries.remove(i);
                Ok(CreateMessageResult::from_text("scripted", reply))
            }
            None => Err(SamplingError::Failed(format!(
                "no scripted reply for a request of {} characters",
                text.chars().count()
            ))),
        }
    }
}

impl SamplingHandler for Script {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        Box::pin(std::future::ready(self.answer(&req)))
    }
}

/// Elicitation answered in order: each `Some(content)` accepts with it, `None` declines;
/// with none left, declines.
pub struct Forms(Mutex<Vec<Option<Map<String, Value>>>>);

impl Forms {
    /// Replies in order.
    pub fn new(replies: Vec<Option<Value>>) -> Arc<Forms> {
        let replies = replies
            .into_iter()
            .rev()
            .map(|r| r.and_then(|v| v.as_object().cloned()))
            .collect();
        Arc::new(Forms(Mutex::new(replies)))
    }
}

impl ElicitationHandler for Forms {
    fn elicit(&self, _: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        let next = self.0.lock().unwrap().pop().flatten();
        let r = match next {
            Some(content) => ElicitResult::accept(content),
            None => ElicitResult::decline(),
        };
        Box::pin(std::future::ready(Ok(r)))
    }
}

/// A built-in server (`name`, built with `opts`) served in process, and a client of `era`
/// answering sampling with `sampler` and elicitation with `forms` (declared only if given).
pub async fn connect(
    name: &str,
    opts: &mcp_examples::Options,
    era: Era,
    sampler: Arc<dyn SamplingHandler>,
    forms: Option<Arc<dyn ElicitationHandler>>,
) -> Client {
    let example = mcp_examples::find(name).expect("a registered server");
    let server = (example.build)(opts).expect("the server builds");
    let (a, b) = mcp_rpc::memory();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let opts = ClientOptions {
        era: match era {
            Era::Legacy => EraChoice::Legacy,
            Era::Modern => EraChoice::Modern,
        },
        elicitation: forms,
        max_rounds: 50,
        ..ClientOptions::default()
    };
    let client = Client::connect(b, sampler, opts).await.expect("connects");
    assert_eq!(client.era(), era);
    client
}

/// Checks that every JSON pointer of `expect` has its value in `got`; the first mismatch.
pub fn matches(got: &Value, expect: &Map<String, Value>) -> Result<(), String> {
    for (pointer, want) in expect {
        match got.pointer(pointer) {
            Some(v) if v == want => {}
            Some(v) => return Err(format!("{pointer}: got {v}, want {want}")),
            None => return Err(format!("{pointer}: missing, want {want}")),
        }
    }
    Ok(())
}

/// An object from a `json!` literal.
pub fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

/// Holds every request until the whole of its round has arrived: request n waits until
/// `rounds` (cumulative sizes) says its round is complete, then `inner` answers it. If
/// the server sent a round's requests one after another, the first would never be
/// answered and the call would time out.
pub struct Gate {
    rounds: Vec<usize>,
    arrived: watch::Sender<usize>,
    inner: Arc<Script>,
}

impl Gate {
    /// A gate for rounds of these sizes, in order.
    pub fn new(rounds: &[usize], inner: Arc<Script>) -> Arc<Gate> {
        let mut total = 0;
        let rounds = rounds
            .iter()
            .map(|n| {
                total += n;
                total
            })
            .collect();
        Arc::new(Gate {
            rounds,
            arrived: watch::channel(0).0,
            inner,
        })
    }
}

impl SamplingHandler for Gate {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let mut rx = self.arrived.subscribe();
        let mut n = 0;
        self.arrived.send_modify(|a| {
            n = *a;
            *a += 1;
        });
        let want = self.rounds.iter().copied().find(|&r| r > n).unwrap_or(0);
        let inner = self.inner.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|a| *a >= want).await;
            inner.create_message(req).await
        })
    }
}
