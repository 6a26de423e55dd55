//! Approval: who lets a sampling request through, and its reply back.
//!
//! Modes `ask`, `auto`, `deny`, and rules evaluated in order (the first that matches
//! decides), for example "auto-approve server X when maxTokens is under 200 and there are no
//! tools or images; otherwise ask". A person asked can approve, edit the prompt, reject, or
//! trust the server for the rest of the session; after generation they see the reply and
//! can send, edit or reject it.

use mcp_proto::handler::SamplingRequest;
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
use mcp_proto::BoxFuture;
use mcp_proto::Content;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// An approval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A person reviews the request and the reply.
    Ask,
    /// Approved without asking.
    Auto,
    /// Rejected without asking.
    Deny,
}

/// A rule: when every condition given holds, `action` decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The server's name (exact), or any server when absent.
    #[serde(default)]
    pub server: Option<String>,
    /// Holds when `maxTokens` is below this.
    #[serde(default)]
    pub max_tokens_below: Option<u64>,
    /// Holds when the request has no tools.
    #[serde(default)]
    pub no_tools: bool,
    /// Holds when the messages have no images or audio.
    #[serde(default)]
    pub no_media: bool,
    /// What to do.
    pub action: Mode,
}

impl Rule {
    fn matches(&self, server: &str, p: &CreateMessageParams) -> bool {
        self.server.as_deref().is_none_or(|s| s == server)
            && self.max_tokens_below.is_none_or(|n| p.max_tokens < n)
            && (!self.no_tools || p.tools.is_none())
            && (!self.no_media || !has_media(p))
    }
}

fn has_media(p: &CreateMessageParams) -> bool {
    p.messages
        .iter()
        .flat_map(|m| m.content.as_slice())
        .any(|c| matches!(c, Content::Image { .. } | Content::Audio { .. }))
}

/// A person's answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestDecision {
    /// Go ahead, with the request as it is or as edited.
    Approve(Option<Box<CreateMessageParams>>),
    /// Go ahead, and do not ask again for this server in this session.
    TrustServer,
    /// Refuse, with a reason.
    Reject(String),
}

/// A person's answer to a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyDecision {
    /// Send it to the server.
    Send,
    /// Send this text instead.
    Edit(String),
    /// Send nothing; the request fails.
    Reject(String),
}

/// Something that asks a person (a terminal, a GUI, a test script).
///
/// Each question comes with a [`Withdrawal`]: when the future is dropped (another reviewer
/// answered first, or the request was cancelled), it says why, so that a reviewer that can
/// tell its person does; one that cannot ignores it.
pub trait Reviewer: Send + Sync + 'static {
    /// Shows the request (with the routed model) and asks what to do.
    fn review_request_in(
        &self,
        req: &SamplingRequest,
        model: &str,
        withdrawal: Withdrawal,
    ) -> BoxFuture<RequestDecision>;
    /// Shows the reply and asks what to do.
    fn review_reply_in(
        &self,
        req: &SamplingRequest,
        reply: &CreateMessageResult,
        withdrawal: Withdrawal,
    ) -> BoxFuture<ReplyDecision>;
    /// Where this reviewer asks, for the others' notices ("the terminal", "the console").
    fn place(&self) -> &'static str {
        "another reviewer"
    }
    /// [`Reviewer::review_request_in`] with nobody to tell of a withdrawal.
    fn review_request(&self, req: &SamplingRequest, model: &str) -> BoxFuture<RequestDecision> {
        self.review_request_in(req, model, Withdrawal::default())
    }
    /// [`Reviewer::review_reply_in`] with nobody to tell of a withdrawal.
    fn review_reply(
        &self,
        req: &SamplingRequest,
        reply: &CreateMessageResult,
    ) -> BoxFuture<ReplyDecision> {
        self.review_reply_in(req, reply, Withdrawal::default())
    }
}

/// Why a reviewer's question went away: set (by [`crate::FirstOf`]) before its future is
/// dropped; unset, the request was cancelled.
#[derive(Debug, Clone, Default)]
pub struct Withdrawal {
    why: Arc<Mutex<Option<String>>>,
    /// Where the reason comes from when none is set here (a question inside another).
    outer: Option<Arc<Withdrawal>>,
}

impl Withdrawal {
    /// A withdrawal for a question asked on behalf of `outer`'s: without a reason of its
    /// own, it gives `outer`'s.
    pub fn within(outer: &Withdrawal) -> Withdrawal {
        Withdrawal {
            why: Arc::default(),
            outer: Some(Arc::new(outer.clone())),
        }
    }

    /// Records that the question was answered in `place` ("the terminal").
    pub fn answered_in(&self, place: &str) {
        *self.why.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("answered in {place}"));
    }

    /// Why the question went away, as a short sentence: "answered in the console", or
    /// "cancelled" when nobody said.
    pub fn reason(&self) -> String {
        let own = self.why.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match (own, &self.outer) {
            (Some(why), _) => why,
            (None, Some(outer)) => outer.reason(),
            (None, None) => "cancelled".into(),
        }
    }
}

/// The decision for a request, and who made it (for the audit log).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Approved (possibly edited) or rejected.
    pub outcome: Result<Option<Box<CreateMessageParams>>, String>,
    /// `mode auto`, `rule 2`, `user`, `session trust`, ...
    pub by: String,
    /// Whether the reply must be reviewed too.
    pub review_reply: bool,
}

/// The approval stage.
pub struct Approval {
    mode: Mode,
    rules: Vec<Rule>,
    reviewer: Option<Arc<dyn Reviewer>>,
    trusted: Mutex<HashSet<String>>,
    /// Why the default mode is what it is, said when it denies.
    mode_why: Option<String>,
}

impl Approval {
    /// A stage with a default mode, rules, and who to ask (needed for `ask`).
    pub fn new(mode: Mode, rules: Vec<Rule>, reviewer: Option<Arc<dyn Reviewer>>) -> Approval {
        Approval {
            mode,
            rules,
            reviewer,
            trusted: Mutex::new(HashSet::new()),
            mode_why: None,
        }
    }

    /// Says why the default mode is what it is ("no terminal and no console to ask"): a
    /// request it denies is told so.
    pub fn mode_because(mut self, why: impl Into<String>) -> Approval {
        self.mode_why = Some(why.into());
        self
    }

    /// Decides on a request.
    pub async fn decide(&self, req: &SamplingRequest, model: &str) -> Verdict {
        let server = &*req.server;
        if self
            .trusted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(server)
        {
            return Verdict {
                outcome: Ok(None),
                by: "session trust".into(),
                review_reply: false,
            };
        }
        let (mode, by, why) = match self
            .rules
            .iter()
            .position(|r| r.matches(server, &req.params))
        {
            Some(i) => (self.rules[i].action, format!("rule {}", i + 1), None),
            None => (
                self.mode,
                format!("mode {}", mode_name(self.mode)),
                self.mode_why.as_deref(),
            ),
        };
        match mode {
            Mode::Auto => Verdict {
                outcome: Ok(None),
                by,
                review_reply: false,
            },
            Mode::Deny => Verdict {
                outcome: Err(match why {
                    Some(why) => {
                        format!("sampling for {server} is denied by the host ({by}: {why})")
                    }
                    None => format!("sampling for {server} is denied by the host ({by})"),
                }),
                by,
                review_reply: false,
            },
            Mode::Ask => {
                let Some(reviewer) = &self.reviewer else {
                    return Verdict {
                        outcome: Err("approval needs a person, but no terminal is available to ask (use --approve auto or deny, or a rule)".into()),
                        by,
                        review_reply: false,
                    };
                };
                match reviewer.review_request(req, model).await {
                    RequestDecision::Approve(edited) => Verdict {
                        outcome: Ok(edited),
                        by: "user".into(),
                        review_reply: true,
                    },
                    RequestDecision::TrustServer => {
                        self.trusted
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(server.to_owned());
                        Verdict {
                            outcome: Ok(None),
                            by: "user (trusted for the session)".into(),
                            review_reply: false,
                        }
                    }
                    RequestDecision::Reject(why) => Verdict {
                        outcome: Err(why),
                        by: "user".into(),
                        review_reply: false,
                    },
                }
            }
        }
    }

    /// Reviews a reply when the verdict asks for it.
    pub async fn review_reply(
        &self,
        req: &SamplingRequest,
        reply: &CreateMessageResult,
    ) -> ReplyDecision {
        match &self.reviewer {
            Some(r) => r.review_reply(req, reply).await,
            None => ReplyDecision::Send,
        }
    }
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Ask => "ask",
        Mode::Auto => "auto",
        Mode::Deny => "deny",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_proto::{Era, SamplingMessage};

    fn req(server: &str, max_tokens: u64) -> SamplingRequest {
        SamplingRequest {
            params: CreateMessageParams::new(vec![SamplingMessage::user("hi")], max_tokens),
            server: server.into(),
            claims: None,
            era: Era::Legacy,
            protocol_version: "2025-11-25".into(),
            tool_call: None,
        }
    }

    struct Scripted(Mutex<Vec<RequestDecision>>);
    impl Reviewer for Scripted {
        fn review_request_in(
            &self,
            _r: &SamplingRequest,
            _m: &str,
            _w: Withdrawal,
        ) -> BoxFuture<RequestDecision> {
            let d = self.0.lock().unwrap().remove(0);
            Box::pin(async move { d })
        }
        fn review_reply_in(
            &self,
            _r: &SamplingRequest,
            _c: &CreateMessageResult,
            _w: Withdrawal,
        ) -> BoxFuture<ReplyDecision> {
            Box::pin(async { ReplyDecision::Send })
        }
    }

    #[tokio::test]
    async fn rules_decide_in_order_then_the_mode() {
        let rules = vec![
            Rule {
                server: Some("trusted".into()),
                max_tokens_below: Some(200),
                no_tools: true,
                no_media: true,
                action: Mode::Auto,
            },
            Rule {
                server: Some("evil".into()),
                max_tokens_below: None,
                no_tools: false,
                no_media: false,
                action: Mode::Deny,
            },
        ];
        let a = Approval::new(Mode::Ask, rules, None);
        let v = a.decide(&req("trusted", 100), "m").await;
        assert_eq!((v.outcome.is_ok(), v.by.as_str()), (true, "rule 1"));
        let v = a.decide(&req("evil", 100), "m").await;
        assert!(v.outcome.unwrap_err().contains("denied"));
        // Not matched: the mode is ask, and there is nobody to ask.
        let v = a.decide(&req("trusted", 500), "m").await;
        assert!(v.outcome.unwrap_err().contains("no terminal"));
    }

    #[tokio::test]
    async fn a_default_deny_says_why() {
        let a = Approval::new(Mode::Deny, vec![], None).mode_because("nobody to ask");
        let v = a.decide(&req("s", 5), "m").await;
        assert_eq!(
            v.outcome.unwrap_err(),
            "sampling for s is denied by the host (mode deny: nobody to ask)"
        );
    }

    #[tokio::test]
    async fn a_trusted_server_is_not_asked_again() {
        let script = Scripted(Mutex::new(vec![
            RequestDecision::TrustServer,
            RequestDecision::Reject("no".into()),
        ]));
        let a = Approval::new(Mode::Ask, vec![], Some(Arc::new(script)));
        assert_eq!(
            a.decide(&req("s", 5), "m").await.by,
            "user (trusted for the session)"
        );
        assert_eq!(a.decide(&req("s", 5), "m").await.by, "session trust");
        assert!(a.decide(&req("other", 5), "m").await.outcome.is_err());
    }
}
