//! The host's sampling pipeline: policy, approval, routing, provider, audit.
//!
//! Each stage is its own module and usable alone; [`Host`] composes them into the one
//! [`SamplingHandler`] that answers both eras:
//!
//! 1. policy admits the request (or refuses, naming the rule) and clamps `maxTokens`;
//! 2. the router picks a model and says why;
//! 3. approval decides (mode, rules, or a person, who may edit the prompt);
//! 4. the provider generates;
//! 5. a person reviews the reply when they reviewed the request (send, edit, reject);
//! 6. usage goes to the budgets, and everything to the audit log.

use crate::approval::{Approval, Mode, ReplyDecision};
use crate::audit::{AuditLog, Decision, Entry};
use crate::context::Recent;
use crate::policy::{
    input_bound, LimitStore, MemoryLimits, Policy, Refusal, Reservation, ServerPolicy, Usage,
};
use crate::routing::{ModelEntry, Route, Router};
use mcp_llm::{Completion, Provider, Timing};
use mcp_proto::clock::{Clock, SystemClock};
use mcp_proto::handler::{SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::methods::{CreateMessage, Request as _};
use mcp_proto::sampling::{self as sp, CreateMessageParams, CreateMessageResult};
use mcp_proto::BoxFuture;
use mcp_proto::{Content, OneOrMany};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;

/// What the pipeline did, step by step (for a person watching, such as the demo). Every
/// approved request ends with [`Event::Replied`] or [`Event::Failed`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A request arrived.
    Request {
        /// Server.
        server: String,
        /// The tool call it serves.
        tool: Option<String>,
        /// The last user text, shortened.
        prompt: String,
        /// `maxTokens` asked.
        max_tokens: u64,
    },
    /// Policy refused it.
    Refused(String),
    /// A model was chosen.
    Routed {
        /// `provider:id`.
        model: String,
        /// Why.
        reason: String,
    },
    /// Approval decided.
    Decided {
        /// Approved or not.
        approved: bool,
        /// By whom.
        by: String,
    },
    /// The model answered.
    Replied {
        /// The reply text, shortened.
        text: String,
        /// Tokens in and out.
        tokens: (u64, u64),
        /// Milliseconds, end to end (the provider's call).
        latency_ms: u64,
        /// Prompt and generation times, when the provider can tell them apart (the
        /// embedded model can; an HTTP API without streaming cannot).
        timing: Option<Timing>,
    },
    /// The request failed after approval.
    Failed(String),
    /// The request was dropped before it was answered: the server cancelled it, or the
    /// connection to it ended (the server exited or was killed).
    Withdrawn {
        /// Server.
        server: String,
    },
}

/// The outcome recorded for a request dropped before its answer.
pub const WITHDRAWN: &str =
    "withdrawn before it was answered: the server cancelled it or its connection ended";

type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

struct Inner {
    policy: Policy,
    approval: Approval,
    router: Router,
    providers: HashMap<String, Arc<dyn Provider>>,
    audit: Option<Arc<AuditLog>>,
    observer: Option<Observer>,
    clock: Arc<dyn Clock>,
    recent: Recent,
}

/// The composed pipeline. Cheap to clone; implements [`SamplingHandler`].
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

/// Builds a [`Host`].
pub struct HostBuilder {
    default_policy: ServerPolicy,
    server_policies: HashMap<String, ServerPolicy>,
    approval: Option<Approval>,
    catalog: Vec<ModelEntry>,
    providers: HashMap<String, Arc<dyn Provider>>,
    audit: Option<Arc<AuditLog>>,
    observer: Option<Observer>,
    clock: Arc<dyn Clock>,
}

impl Host {
    /// Starts a builder: default policy, approval `deny` until set, no providers.
    pub fn builder() -> HostBuilder {
        HostBuilder {
            default_policy: ServerPolicy::default(),
            server_policies: HashMap::new(),
            approval: None,
            catalog: Vec::new(),
            providers: HashMap::new(),
            audit: None,
            observer: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The router (its catalog lists the usable models).
    pub fn router(&self) -> &Router {
        &self.inner.router
    }

    /// Whether the policy lets some server ask for `includeContext` (a client declares
    /// `sampling.context` then; the policy still decides per server).
    pub fn honours_context(&self) -> bool {
        self.inner.policy.allows_context()
    }
}

impl HostBuilder {
    /// The policy for servers without their own.
    pub fn policy(mut self, default: ServerPolicy) -> Self {
        self.default_policy = default;
        self
    }
    /// The policy for one server.
    pub fn server_policy(mut self, server: &str, p: ServerPolicy) -> Self {
        self.server_policies.insert(server.into(), p);
        self
    }
    /// The approval stage.
    pub fn approval(mut self, a: Approval) -> Self {
        self.approval = Some(a);
        self
    }
    /// A model the router may pick, of a provider given with [`HostBuilder::provider`]
    /// (before or after). An entry for a model already listed replaces it.
    pub fn model(mut self, m: ModelEntry) -> Self {
        self.catalog
            .retain(|k| !(k.provider == m.provider && k.id == m.id));
        self.catalog.push(m);
        self
    }
    /// A provider, and the models of it the router may pick.
    pub fn provider(mut self, p: Arc<dyn Provider>, models: Vec<ModelEntry>) -> Self {
        self.catalog.extend(models);
        self.providers.insert(p.name().to_owned(), p);
        self
    }
    /// The audit log (also where budgets persist).
    pub fn audit(mut self, log: Arc<AuditLog>) -> Self {
        self.audit = Some(log);
        self
    }
    /// Watches every step.
    pub fn observe(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(f));
        self
    }
    /// Where the time comes from: the budgets' day, the rate limits, the audit log's
    /// timestamps (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Finishes the host. A model whose provider was not given is an error (it could never
    /// be used).
    pub fn build(self) -> Result<Host, BuildError> {
        let counts: Arc<dyn LimitStore> = match &self.audit {
            Some(a) => a.clone(),
            None => Arc::new(MemoryLimits::default()),
        };
        if let Some(m) = self
            .catalog
            .iter()
            .find(|m| !self.providers.contains_key(&m.provider))
        {
            return Err(BuildError::UnknownProvider {
                provider: m.provider.clone(),
                model: m.id.clone(),
                known: sorted(self.providers.keys().cloned().collect()),
            });
        }
        let catalog = self.catalog;
        Ok(Host {
            inner: Arc::new(Inner {
                policy: Policy::new(self.default_policy, self.server_policies, counts)
                    .with_clock(self.clock.clone()),
                approval: self
                    .approval
                    .unwrap_or_else(|| Approval::new(Mode::Deny, vec![], None)),
                router: Router::new(catalog),
                providers: self.providers,
                audit: self.audit,
                observer: self.observer,
                clock: self.clock,
                recent: Recent::default(),
            }),
        })
    }
}

/// Why a [`Host`] cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// A model names a provider that was not given to the builder.
    #[error("the model {provider}:{model} names the provider {provider:?}, which is not configured (configured: {})", known.join(", "))]
    UnknownProvider {
        /// The provider the model names.
        provider: String,
        /// The model's id.
        model: String,
        /// The providers that are configured.
        known: Vec<String>,
    },
}

impl SamplingHandler for Host {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let inner = self.inner.clone();
        let span = request_span(&req);
        mcp_proto::trace::follow(&span, req.params.meta.as_ref());
        Box::pin(async move { inner.answer(req).await }.instrument(span))
    }
}

/// The span of one sampling request through the pipeline: a child of the server's span of
/// the request when its `_meta` carries one ([`mcp_proto::trace`]), else of the current
/// span. The routed model, the decision, the outcome and the tokens are recorded on it at
/// the end. Disabled (no cost beyond a check) unless a subscriber wants `mcp_host` spans at
/// INFO.
fn request_span(req: &SamplingRequest) -> tracing::Span {
    tracing::info_span!(
        "mcp.host.sampling",
        otel.name = CreateMessage::METHOD,
        otel.kind = "server",
        mcp.method.name = CreateMessage::METHOD,
        mcp.server = %req.server,
        mcp.era = %req.era,
        gen_ai.tool.name = req.tool_call.as_ref().map(|t| t.name.as_str()),
        gen_ai.request.model = tracing::field::Empty,
        mcp.host.decision = tracing::field::Empty,
        mcp.host.outcome = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

/// Records what became of the request on its span (the current one, see `request_span`);
/// a request not answered is an error of type `rejected`, `invalid` or `failed`.
fn record_on_span(entry: &Entry, outcome: &str, error: Option<&SamplingError>) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    if let Some(e) = error {
        let kind = match e {
            SamplingError::Rejected(_) => "rejected",
            SamplingError::Invalid(_) => "invalid",
            SamplingError::Failed(_) => "failed",
        };
        span.record("error.type", kind);
        span.record("otel.status_code", "ERROR");
    }
    if let Some(model) = &entry.model {
        span.record("gen_ai.request.model", model.as_str());
    }
    span.record(
        "mcp.host.decision",
        tracing::field::display(&entry.decision),
    );
    span.record("mcp.host.outcome", outcome);
    span.record("gen_ai.usage.input_tokens", entry.tokens_in);
    span.record("gen_ai.usage.output_tokens", entry.tokens_out);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn shorten(s: &str, n: usize) -> String {
    let s = s.trim().replace('\n', " ");
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

fn last_user_text(p: &CreateMessageParams) -> String {
    p.messages
        .iter()
        .rev()
        .flat_map(|m| m.content.as_slice())
        .find_map(|c| c.as_text())
        .unwrap_or("")
        .to_owned()
}

impl Inner {
    fn emit(&self, e: Event) {
        if let Some(o) = &self.observer {
            o(&e);
        }
    }

    async fn answer(&self, req: SamplingRequest) -> Result<CreateMessageResult, SamplingError> {
        let mut pending = Pending {
            host: self,
            entry: self.new_entry(&req),
            started: Instant::now(),
            open: true,
        };
        self.emit(Event::Request {
            server: req.server.to_string(),
            tool: req.tool_call.as_ref().map(|t| t.name.clone()),
            prompt: shorten(&last_user_text(&req.params), 120),
            max_tokens: req.params.max_tokens,
        });
        let outcome = self.run(&req, &mut pending.entry).await;
        let said = match &outcome {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        };
        record_on_span(&pending.entry, &said, outcome.as_ref().err());
        // Answered only once its row is committed: no answer the server saw is missing from
        // the log (see `audit::writer`). A reply whose row cannot be written is not sent (an
        // error is, which says why); an error stays the error it was.
        match pending.finish(said).await {
            Ok(()) => outcome,
            Err(e) if outcome.is_err() => {
                tracing::error!("{e}");
                outcome
            }
            Err(e) => {
                let why = format!("the request is not answered: it could not be recorded ({e})");
                self.emit(Event::Failed(why.clone()));
                Err(SamplingError::Failed(why))
            }
        }
    }

    fn new_entry(&self, req: &SamplingRequest) -> Entry {
        let prompt = serde_json::json!({"systemPrompt": req.params.system_prompt, "messages": req.params.messages}).to_string();
        let (prompt_sha256, prompt_bytes, prompt) = match &self.audit {
            Some(a) => a.fingerprint(&prompt),
            None => (String::new(), prompt.len() as i64, None),
        };
        Entry {
            at_ms: self
                .clock
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            server: req.server.to_string(),
            tool_call: req.tool_call.as_ref().map(|t| {
                format!(
                    "{} {}",
                    t.name,
                    serde_json::Value::Object(t.arguments.clone())
                )
            }),
            era: req.era.to_string(),
            prompt_sha256,
            prompt_bytes,
            prompt,
            ..Default::default()
        }
    }

    async fn run(
        &self,
        req: &SamplingRequest,
        entry: &mut Entry,
    ) -> Result<CreateMessageResult, SamplingError> {
        let server = &*req.server;
        let mut params = req.params.clone();
        // The deeper of what this host knows of the call and what the server reports.
        let known = req.tool_call.as_ref().map_or(0, |t| t.depth);
        let reported = mcp_proto::ext::depth_from_meta(params.meta.as_ref()).unwrap_or(0);
        let depth = known.max(reported);
        let _admitted = match self.policy.admit(server, &mut params, depth).await {
            Ok(a) => a,
            Err(refusal) => return Err(self.refused(entry, refusal)),
        };
        self.recent.apply(server, &mut params);
        let route = self.route(&params, entry)?;
        let mut held = self
            .policy
            .reserve(server, want(&route, &params))
            .map_err(|r| self.refused(entry, r))?;
        let review = SamplingRequest {
            params: params.clone(),
            ..req.clone()
        };
        let verdict = self.approval.decide(&review, &route.model.spec()).await;
        entry.decided_by = verdict.by.clone();
        self.emit(Event::Decided {
            approved: verdict.outcome.is_ok(),
            by: verdict.by.clone(),
        });
        match verdict.outcome {
            Err(why) => {
                entry.decision = Decision::Rejected;
                return Err(SamplingError::Rejected(why));
            }
            Ok(Some(edited)) => {
                entry.decision = Decision::Edited;
                if let Err(e) = sp::validate(&edited, None) {
                    let why = format!("the edited request: {e}");
                    self.emit(Event::Failed(why.clone()));
                    return Err(SamplingError::Invalid(why));
                }
                params = *edited;
                held.grow(want(&route, &params))
                    .map_err(|r| self.refused(entry, r))?;
            }
            Ok(None) => entry.decision = Decision::Approved,
        }
        let done = self.generate(&route, &params, entry, held).await?;
        let mut result = done.result;
        if verdict.review_reply {
            match self.approval.review_reply(&review, &result).await {
                ReplyDecision::Send => {}
                ReplyDecision::Edit(text) => {
                    entry.decision = Decision::ReplyEdited;
                    result.content = OneOrMany::One(Content::text(text));
                }
                ReplyDecision::Reject(why) => {
                    entry.decision = Decision::ReplyRejected;
                    return Err(SamplingError::Rejected(why));
                }
            }
        }
        // Kept only where some server may ask for it.
        if self.policy.allows_context() {
            self.recent
                .note(server, &last_user_text(&params), &result.text());
        }
        Ok(result)
    }

    fn record(&self, entry: &mut Entry, started: Instant, outcome: String) {
        entry.latency_ms = started.elapsed().as_millis() as i64;
        entry.outcome = outcome;
        if let Some(a) = &self.audit {
            a.record(entry);
        }
    }

    /// Notes a policy's refusal in the entry and the events; the error for the server.
    fn refused(&self, entry: &mut Entry, refusal: Refusal) -> SamplingError {
        (entry.decision, entry.decided_by) = (Decision::Refused, "policy".into());
        self.emit(Event::Refused(refusal.to_string()));
        SamplingError::Rejected(refusal.to_string())
    }

    fn route(
        &self,
        params: &CreateMessageParams,
        entry: &mut Entry,
    ) -> Result<Route, SamplingError> {
        match self.router.route(params) {
            Ok(r) => {
                entry.model = Some(r.model.spec());
                entry.route_reason = Some(r.reason.clone());
                self.emit(Event::Routed {
                    model: r.model.spec(),
                    reason: r.reason.clone(),
                });
                Ok(r)
            }
            Err(e) => {
                (entry.decision, entry.decided_by) = (Decision::Refused, "router".into());
                self.emit(Event::Refused(e.to_string()));
                Err(SamplingError::Failed(e.to_string()))
            }
        }
    }

    async fn generate(
        &self,
        route: &Route,
        params: &CreateMessageParams,
        entry: &mut Entry,
        mut held: Reservation,
    ) -> Result<Completion, SamplingError> {
        let started = Instant::now();
        let Some(provider) = self.providers.get(&route.model.provider) else {
            let why = format!("no provider {:?} is configured", route.model.provider);
            self.emit(Event::Failed(why.clone()));
            return Err(SamplingError::Failed(why));
        };
        held.sent();
        let (done, timing) = match provider.complete_timed(&route.model.id, params).await {
            Ok(t) => (t.completion, t.timing),
            Err(e) => {
                self.emit(Event::Failed(e.to_string()));
                return Err(SamplingError::Failed(e.to_string()));
            }
        };
        let (tin, tout) = (done.usage.input_tokens, done.usage.output_tokens);
        let cost = (tin as f64 * route.model.price_in + tout as f64 * route.model.price_out) / 1e6;
        (entry.tokens_in, entry.tokens_out, entry.cost) = (tin as i64, tout as i64, cost);
        held.settle(Usage {
            tokens: tin + tout,
            cost,
        });
        self.emit(Event::Replied {
            text: shorten(&done.result.text(), 160),
            tokens: (tin, tout),
            latency_ms: started.elapsed().as_millis() as u64,
            timing,
        });
        Ok(done)
    }
}

/// A request's audit entry until it is recorded: by its answer, or, when the request is
/// dropped first (cancelled, its connection gone), as [`WITHDRAWN`].
struct Pending<'a> {
    host: &'a Inner,
    entry: Entry,
    started: Instant,
    open: bool,
}

impl Pending<'_> {
    /// Records the entry through the audit log's writer and waits for its commit. Dropped
    /// while it waits for room in the queue, the request is recorded as withdrawn instead.
    async fn finish(&mut self, outcome: String) -> Result<(), crate::audit::AuditError> {
        let host = self.host;
        self.entry.latency_ms = self.started.elapsed().as_millis() as i64;
        self.entry.outcome = outcome;
        let Some(audit) = &host.audit else {
            self.open = false;
            return Ok(());
        };
        let slot = audit.slot().await;
        self.open = false;
        slot.commit(std::mem::take(&mut self.entry)).await
    }

    /// Records the entry at once (a request dropped before its answer, which no server will
    /// see answered: written directly, in its own transaction).
    fn close(&mut self, outcome: String) {
        if std::mem::replace(&mut self.open, false) {
            self.host.record(&mut self.entry, self.started, outcome);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.open {
            self.close(WITHDRAWN.into());
            self.host.emit(Event::Withdrawn {
                server: self.entry.server.clone(),
            });
        }
    }
}

/// The most a request can use on `route`: its prompt's bound and all of its `maxTokens`,
/// priced.
fn want(route: &Route, params: &CreateMessageParams) -> Usage {
    let (input, output) = (input_bound(params), params.max_tokens);
    Usage {
        tokens: input.saturating_add(output),
        cost: (input as f64 * route.model.price_in + output as f64 * route.model.price_out) / 1e6,
    }
}
