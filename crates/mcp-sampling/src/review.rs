//! The terminal review of sampling requests and replies (`--approve ask`).
//!
//! It talks to the controlling terminal (`/dev/tty`), not to stdin/stdout, so it works when
//! those carry protocol traffic (as in `bridge`). One review at a time.

use mcp_host::approval::{ReplyDecision, RequestDecision, Reviewer, Withdrawal};
use mcp_host::inspect::{self, reveal};
use mcp_host::SamplingRequest;
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
use mcp_proto::{Content, OneOrMany};
use mcp_rpc::BoxFuture;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One prompt at a time on the terminal, across the reviewer and the elicitation form.
pub(crate) static TTY_TURN: Mutex<()> = Mutex::new(());

/// Reviews on the controlling terminal.
pub struct TerminalReviewer {
    tty: Arc<Mutex<Option<Tty>>>,
}

/// The terminal's input and output.
type Tty = (BufReader<File>, File);

impl TerminalReviewer {
    /// Opens `/dev/tty`; `None` when there is no terminal.
    pub fn open() -> Option<TerminalReviewer> {
        let r = OpenOptions::new().read(true).open("/dev/tty").ok()?;
        let w = OpenOptions::new().write(true).open("/dev/tty").ok()?;
        Some(TerminalReviewer {
            tty: Arc::new(Mutex::new(Some((BufReader::new(r), w)))),
        })
    }

    /// Asks with `f` when the terminal is free. Withdrawn before that (answered in the
    /// console), it never asks; withdrawn while asking, it says so on the terminal (the
    /// blocking read then ends with the person's next Enter, and its answer is dropped).
    fn ask<T: Send + Clone + 'static>(
        &self,
        f: impl FnOnce(&mut BufReader<File>, &mut File) -> std::io::Result<T> + Send + 'static,
        fallback: T,
        withdrawal: Withdrawal,
        withdrawn: Arc<AtomicBool>,
    ) -> BoxFuture<T> {
        let tty = self.tty.clone();
        let notice = Notice {
            withdrawal,
            withdrawn,
            asking: Arc::new(AtomicBool::new(false)),
            done: false,
        };
        let (withdrawn, asking) = (notice.withdrawn.clone(), notice.asking.clone());
        Box::pin(async move {
            let mut notice = notice;
            let joined = tokio::task::spawn_blocking(move || {
                let _turn = TTY_TURN.lock().unwrap_or_else(|p| p.into_inner());
                if withdrawn.load(Ordering::SeqCst) {
                    return None;
                }
                asking.store(true, Ordering::SeqCst);
                let mut guard = tty.lock().unwrap_or_else(|p| p.into_inner());
                let answer = match guard.as_mut() {
                    Some((r, w)) => f(r, w).ok(),
                    None => None,
                };
                asking.store(false, Ordering::SeqCst);
                answer
            })
            .await;
            notice.done = true;
            joined.ok().flatten().unwrap_or(fallback)
        })
    }
}

/// Held by a question's future: dropped before the answer, the question was withdrawn.
struct Notice {
    withdrawal: Withdrawal,
    withdrawn: Arc<AtomicBool>,
    /// The question is on the terminal now.
    asking: Arc<AtomicBool>,
    done: bool,
}

impl Drop for Notice {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.withdrawn.store(true, Ordering::SeqCst);
        if self.asking.load(Ordering::SeqCst) {
            if let Ok(mut w) = OpenOptions::new().write(true).open("/dev/tty") {
                let why = self.withdrawal.reason();
                let _ = writeln!(w, "\n└─ {why} (press Enter to go on)");
            }
        }
    }
}

fn show_request(w: &mut File, req: &SamplingRequest, model: &str) -> std::io::Result<()> {
    let p = &req.params;
    writeln!(
        w,
        "\n┌─ sampling request from server {:?} ({} era)",
        reveal(&req.server),
        req.era
    )?;
    for warning in inspect::warnings(req) {
        writeln!(w, "│ ⚠ {warning}")?;
    }
    if let Some(t) = &req.tool_call {
        let args = serde_json::Value::Object(t.arguments.clone()).to_string();
        writeln!(w, "│ for tool call: {} {}", reveal(&t.name), reveal(&args))?;
    }
    writeln!(
        w,
        "│ (every message below is written by the server, the user ones too)"
    )?;
    if let Some(s) = &p.system_prompt {
        writeln!(w, "│ system: {}", framed(s))?;
    }
    for m in &p.messages {
        let role = match m.role {
            mcp_proto::sampling::Role::User => "user",
            mcp_proto::sampling::Role::Assistant => "assistant",
        };
        for c in m.content.as_slice() {
            writeln!(w, "│ {role}: {}", framed(&describe(c)))?;
        }
    }
    if let Some(prefs) = &p.model_preferences {
        let prefs = serde_json::to_string(prefs).unwrap_or_default();
        writeln!(w, "│ model preferences: {}", reveal(&prefs))?;
    }
    writeln!(w, "│ maxTokens: {}   routed to: {model}", p.max_tokens)?;
    for t in p.tools.iter().flatten() {
        writeln!(w, "│ tool offered to the model: {}", reveal(&t.name))?;
        if let Some(d) = &t.description {
            writeln!(w, "│   {}", framed(d))?;
        }
        writeln!(w, "│   input: {}", reveal(&t.input_schema.to_string()))?;
    }
    write!(
        w,
        "└─ [a]pprove  [e]dit prompt  [r]eject  [t]rust this server for the session > "
    )?;
    w.flush()
}

/// Keeps continuation lines inside the frame.
/// Hidden characters are shown by name ([`inspect::reveal`]).
fn framed(text: &str) -> String {
    reveal(text.trim_end()).replace('\n', "\n│   ")
}

fn describe(c: &Content) -> String {
    match c {
        Content::Text { text, .. } => text.clone(),
        Content::Image {
            mime_type, data, ..
        } => format!("<image {mime_type}, {} bytes base64>", data.len()),
        Content::Audio {
            mime_type, data, ..
        } => format!("<audio {mime_type}, {} bytes base64>", data.len()),
        Content::ToolUse { name, input, .. } => format!(
            "<tool use {name} {}>",
            serde_json::Value::Object(input.clone())
        ),
        Content::ToolResult { tool_use_id, .. } => format!("<tool result for {tool_use_id}>"),
        other => format!("<{}>", other.kind()),
    }
}

/// The next line, unless the question was withdrawn meanwhile (then an error: the answer
/// is not wanted any more).
fn next_line(r: &mut BufReader<File>, withdrawn: &AtomicBool) -> std::io::Result<String> {
    let line = read_line(r)?;
    if withdrawn.load(Ordering::SeqCst) {
        return Err(std::io::Error::other("answered elsewhere"));
    }
    Ok(line)
}

pub(crate) fn read_line(r: &mut BufReader<File>) -> std::io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the terminal closed",
        ));
    }
    Ok(line.trim().to_owned())
}

/// Reads lines until an empty one.
fn read_text(
    r: &mut BufReader<File>,
    w: &mut File,
    what: &str,
    withdrawn: &AtomicBool,
) -> std::io::Result<String> {
    writeln!(w, "{what} (finish with an empty line):")?;
    w.flush()?;
    let mut lines = Vec::new();
    loop {
        let l = next_line(r, withdrawn)?;
        if l.is_empty() {
            return Ok(lines.join("\n"));
        }
        lines.push(l);
    }
}

/// Replaces the text of the last user message.
fn with_prompt(p: &CreateMessageParams, text: String) -> CreateMessageParams {
    let mut p = p.clone();
    if let Some(m) = p
        .messages
        .iter_mut()
        .rev()
        .find(|m| m.role == mcp_proto::sampling::Role::User)
    {
        m.content = OneOrMany::One(Content::text(text));
    }
    p
}

impl Reviewer for TerminalReviewer {
    fn place(&self) -> &'static str {
        "the terminal"
    }

    fn review_request_in(
        &self,
        req: &SamplingRequest,
        model: &str,
        withdrawal: Withdrawal,
    ) -> BoxFuture<RequestDecision> {
        let (req, model) = (req.clone(), model.to_owned());
        let rejected = RequestDecision::Reject("no answer from the terminal".into());
        let withdrawn = Arc::new(AtomicBool::new(false));
        let gone = withdrawn.clone();
        self.ask(
            move |r, w| loop {
                show_request(w, &req, &model)?;
                match next_line(r, &gone)?.to_ascii_lowercase().as_str() {
                    "a" | "approve" | "y" | "yes" => return Ok(RequestDecision::Approve(None)),
                    "t" | "trust" => return Ok(RequestDecision::TrustServer),
                    "r" | "reject" | "n" | "no" => {
                        return Ok(RequestDecision::Reject(
                            "the user rejected the request".into(),
                        ))
                    }
                    "e" | "edit" => {
                        let text = read_text(r, w, "New text for the last user message", &gone)?;
                        return Ok(RequestDecision::Approve(Some(Box::new(with_prompt(
                            &req.params,
                            text,
                        )))));
                    }
                    other => writeln!(w, "unknown answer {other:?}")?,
                }
            },
            rejected,
            withdrawal,
            withdrawn,
        )
    }

    fn review_reply_in(
        &self,
        _req: &SamplingRequest,
        reply: &CreateMessageResult,
        withdrawal: Withdrawal,
    ) -> BoxFuture<ReplyDecision> {
        let reply = reply.clone();
        let withdrawn = Arc::new(AtomicBool::new(false));
        let gone = withdrawn.clone();
        self.ask(
            move |r, w| loop {
                let stop = reply.stop_reason.clone().map(String::from);
                let stop = stop.as_deref().unwrap_or("unknown");
                writeln!(w, "\n┌─ reply from {} (stop: {stop})", reply.model)?;
                for c in reply.content.as_slice() {
                    writeln!(w, "│ {}", framed(&describe(c)))?;
                }
                write!(w, "└─ [s]end  [e]dit  [r]eject > ")?;
                w.flush()?;
                match next_line(r, &gone)?.to_ascii_lowercase().as_str() {
                    "s" | "send" | "y" | "yes" => return Ok(ReplyDecision::Send),
                    "r" | "reject" | "n" | "no" => {
                        return Ok(ReplyDecision::Reject("the user rejected the reply".into()))
                    }
                    "e" | "edit" => {
                        return Ok(ReplyDecision::Edit(read_text(
                            r,
                            w,
                            "Reply text to send",
                            &gone,
                        )?))
                    }
                    other => writeln!(w, "unknown answer {other:?}")?,
                }
            },
            ReplyDecision::Reject("no answer from the terminal".into()),
            withdrawal,
            withdrawn,
        )
    }
}
