//! `triage`: support tickets triaged and kept in SQLite. `triage_ticket` gives a priority
//! (P1-P4), a category, a short rationale and a suggested first reply; `list_tickets` and
//! `ticket_stats` read the store back.
//!
//! Code decides what it can: an empty ticket is refused; a security incident is P1 whoever
//! sends it; an outage or data loss reported by a customer on an SLA plan is P1 (the rules
//! are in `rules.rs`). The model judges the rest with typed output (one repair round), and
//! when it answers garbage or the client cannot sample, a keyword fallback decides. The
//! triage is stored after the last sampling request, so the modern era's replays store it
//! once. The store is in memory unless `--db FILE` names a file (created if missing).

mod rules;
mod store;

pub use store::{Customer, Stats, Ticket};

use mcp_server::{Args, Ctx, DecidedBy, ExtractError, Json, Sampling, Server, State, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex};
use store::{Filter, NewTicket, Store};

/// How urgent a ticket is: P1 (drop everything) to P4 (when there is time).
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Urgent: an outage, data loss or a security incident.
    P1,
    /// High: a major function broken for many users, no workaround.
    P2,
    /// Normal: a bug with a workaround, billing or account trouble.
    P3,
    /// Low: a question or a feature request.
    P4,
}

/// What a ticket is about.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The service, or a part of it, is down.
    Outage,
    /// A breach, a compromised account, a vulnerability.
    Security,
    /// Data lost or deleted.
    DataLoss,
    /// Something works wrongly.
    Bug,
    /// Invoices, charges, refunds, plans.
    Billing,
    /// Logging in, passwords, users and permissions.
    Account,
    /// A request for something new.
    FeatureRequest,
    /// A question on how to do something.
    Question,
}

const PRIORITIES: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];
const CATEGORIES: [Category; 8] = [
    Category::Outage,
    Category::Security,
    Category::DataLoss,
    Category::Bug,
    Category::Billing,
    Category::Account,
    Category::FeatureRequest,
    Category::Question,
];

impl Priority {
    /// `P1`..`P4`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    /// The priority named `s` (case aside).
    pub fn parse(s: &str) -> Option<Priority> {
        PRIORITIES
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl Category {
    /// The category's name (`feature_request`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Outage => "outage",
            Category::Security => "security",
            Category::DataLoss => "data_loss",
            Category::Bug => "bug",
            Category::Billing => "billing",
            Category::Account => "account",
            Category::FeatureRequest => "feature_request",
            Category::Question => "question",
        }
    }

    /// The category named `s`.
    pub fn parse(s: &str) -> Option<Category> {
        CATEGORIES.into_iter().find(|c| c.as_str() == s.trim())
    }
}

/// Most characters of a subject and of a body.
const SUBJECT_CHARS: usize = 300;
const BODY_CHARS: usize = 20_000;

#[derive(Deserialize, JsonSchema)]
struct TicketArgs {
    /// The ticket's subject line.
    subject: String,
    /// The ticket's text, as the customer wrote it.
    body: String,
    /// Who sent it: a customer's name or e-mail address (an organisation's customers are
    /// also known by their e-mail domain). Unknown senders have no plan and no SLA.
    customer: Option<String>,
}

/// The model's judgment of a ticket.
#[derive(Deserialize, JsonSchema, Debug)]
pub struct Judgment {
    /// P1 (outage, data loss, security: now) to P4 (question, feature request: later).
    pub priority: Priority,
    /// What the ticket is about.
    pub category: Category,
    /// Why this priority and category, in one or two sentences.
    pub rationale: String,
    /// A short, polite first reply to send the customer.
    pub first_reply: String,
}

/// What `triage_ticket` returns.
#[derive(Serialize, JsonSchema, Debug)]
pub struct Triaged {
    /// The stored ticket's number.
    pub id: i64,
    /// The priority.
    pub priority: Priority,
    /// The category.
    pub category: Category,
    /// Why.
    pub rationale: String,
    /// A suggested first reply.
    pub first_reply: String,
    /// Who decided: `rule`, `model:NAME` or `fallback (WHY)`.
    pub decided_by: DecidedBy,
    /// The customer on file, if the sender is known.
    pub customer: Option<Customer>,
}

/// The store, shared by every call.
#[derive(Clone)]
struct Shared(Arc<Mutex<Store>>);

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&Store) -> rusqlite::Result<R>) -> Result<R, ToolError> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&guard).map_err(|e| ToolError::failed(format!("the ticket database failed: {e}")))
    }
}

fn request(subject: &str, body: &str, customer: Option<&Customer>) -> Sampling {
    let who = match customer {
        Some(c) => match c.sla_hours {
            Some(h) => format!(
                "{} ({} plan, SLA: first response within {h} h)",
                c.name, c.plan
            ),
            None => format!("{} ({} plan, no SLA)", c.name, c.plan),
        },
        None => "an unknown sender (no plan, no SLA)".to_owned(),
    };
    let system = "You triage support tickets for a software-as-a-service product. \
        Priorities: P1 = outage, data loss or security incident; P2 = a major function broken \
        with no workaround; P3 = a bug with a workaround, billing or account trouble; P4 = a \
        question or feature request. Customers on an SLA plan weigh more. \
        Give the priority, the category, a one-sentence rationale and a short first reply.";
    Sampling::user(format!("From: {who}\nSubject: {subject}\n\n{body}"))
        .system(system)
        .max_tokens(400)
        .temperature(0.0)
        .hint("haiku")
}

/// The model's judgment, checked: a rationale and a reply of sensible length.
fn check(j: &Judgment) -> Result<(), String> {
    let (r, f) = (j.rationale.trim(), j.first_reply.trim());
    if r.is_empty() || f.is_empty() {
        return Err("the rationale and the first reply must not be empty".into());
    }
    if r.chars().count() > 600 || f.chars().count() > 2_000 {
        return Err("the rationale must be under 600 characters and the reply under 2000".into());
    }
    Ok(())
}

/// Who sent the ticket, if on file.
fn lookup(store: &Shared, who: Option<&str>) -> Result<Option<Customer>, ToolError> {
    match who.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => store.with(|s| s.customer(w)),
        None => Ok(None),
    }
}

struct Decision {
    priority: Priority,
    category: Category,
    rationale: String,
    first_reply: String,
    decided_by: DecidedBy,
}

async fn decide(
    ctx: &Ctx,
    subject: &str,
    body: &str,
    customer: Option<&Customer>,
) -> Result<Decision, ToolError> {
    let name = customer.map(|c| c.name.as_str());
    let plan = customer.map(|c| (c.plan.as_str(), c.sla_hours));
    if let Some(r) = rules::hard_rule(subject, body, plan) {
        return Ok(Decision {
            first_reply: rules::template_reply(name, r.priority, r.category),
            priority: r.priority,
            category: r.category,
            rationale: r.rationale,
            decided_by: DecidedBy::Rule,
        });
    }
    let why = match ctx
        .extract_checked(request(subject, body, customer), check)
        .await
    {
        Ok(j) => {
            return Ok(Decision {
                priority: j.value.priority,
                category: j.value.category,
                rationale: j.value.rationale.trim().to_owned(),
                first_reply: j.value.first_reply.trim().to_owned(),
                decided_by: DecidedBy::Model(j.model),
            })
        }
        Err(ExtractError::Sample(
            e @ (mcp_server::SampleError::Limit(_) | mcp_server::SampleError::Closed),
        )) => return Err(ToolError::Sampling(e)),
        Err(ExtractError::Sample(mcp_server::SampleError::NotSupported)) => {
            "the client cannot sample".to_owned()
        }
        Err(ExtractError::Sample(e)) => e.to_string(),
        Err(ExtractError::Invalid { error, .. }) => {
            format!("the model's answer is invalid: {error}")
        }
    };
    let sla = customer.is_some_and(|c| c.sla_hours.is_some());
    let (priority, category, guess) = rules::by_keywords(subject, body, sla);
    Ok(Decision {
        priority,
        category,
        rationale: format!("Fallback: {guess}."),
        first_reply: rules::template_reply(name, priority, category),
        decided_by: DecidedBy::Fallback(why),
    })
}

async fn triage_ticket(
    Args(a): Args<TicketArgs>,
    State(store): State<Shared>,
    ctx: Ctx,
) -> Result<Json<Triaged>, ToolError> {
    let (subject, body) = (a.subject.trim(), a.body.trim());
    if subject.is_empty() && body.is_empty() {
        return Err(ToolError::failed(
            "the ticket is empty: give a subject or a body",
        ));
    }
    if subject.chars().count() > SUBJECT_CHARS || body.chars().count() > BODY_CHARS {
        return Err(ToolError::failed(format!(
            "the ticket is too long: at most {SUBJECT_CHARS} characters of subject and {BODY_CHARS} of body"
        )));
    }
    let customer = lookup(&store, a.customer.as_deref())?;
    let d = decide(&ctx, subject, body, customer.as_ref()).await?;
    // Stored after the last sampling request: a modern replay reaches here once.
    let decided_by = d.decided_by.to_string();
    let (id, _) = store.with(|s| {
        s.insert(&NewTicket {
            subject,
            body,
            customer: a
                .customer
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty()),
            customer_id: customer.as_ref().map(|c| c.id),
            priority: d.priority,
            category: d.category,
            rationale: &d.rationale,
            first_reply: &d.first_reply,
            decided_by: &decided_by,
        })
    })?;
    Ok(Json(Triaged {
        id,
        priority: d.priority,
        category: d.category,
        rationale: d.rationale,
        first_reply: d.first_reply,
        decided_by: d.decided_by,
        customer,
    }))
}

#[derive(Deserialize, JsonSchema)]
struct ListArgs {
    /// Only tickets of this priority.
    priority: Option<Priority>,
    /// Only tickets of this category.
    category: Option<Category>,
    /// Only tickets from this customer (name or e-mail, as given or on file).
    customer: Option<String>,
    /// Most tickets to return, newest first (1-100, default 20).
    limit: Option<u32>,
}

/// What `list_tickets` returns.
#[derive(Serialize, JsonSchema)]
pub struct Listed {
    /// The tickets, newest first.
    pub tickets: Vec<Ticket>,
    /// How many are returned.
    pub count: usize,
}

async fn list_tickets(
    Args(a): Args<ListArgs>,
    State(store): State<Shared>,
) -> Result<Json<Listed>, ToolError> {
    let limit = a.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ToolError::failed("limit must be between 1 and 100"));
    }
    let filter = Filter {
        priority: a.priority,
        category: a.category,
        customer: a
            .customer
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty()),
        limit,
    };
    let tickets = store.with(|s| s.list(&filter))?;
    Ok(Json(Listed {
        count: tickets.len(),
        tickets,
    }))
}

async fn ticket_stats(State(store): State<Shared>) -> Result<Json<Stats>, ToolError> {
    store.with(Store::stats).map(Json)
}

/// The `triage` server, its tickets kept in `db` (created if missing) or in memory.
pub fn server(db: Option<&Path>) -> Result<Server, crate::BuildError> {
    let store = Store::open(db).map_err(crate::BuildError)?;
    let where_kept = match db {
        Some(p) => format!("kept in {}", p.display()),
        None => "kept in memory until the server stops (pass --db FILE to keep them)".to_owned(),
    };
    let shared = Shared(Arc::new(Mutex::new(store)));
    let customers = shared.clone();
    Ok(Server::builder("triage")
        .instructions(format!(
            "Triages support tickets: priority P1-P4, category, rationale and a first reply. \
             Security incidents, and outages or data loss for SLA customers, are decided by rules; \
             the client's LLM judges the rest. Tickets are {where_kept}. Customers and plans: \
             the resource triage://customers."
        ))
        .state(shared)
        .tool("triage_ticket", "Triage a support ticket: priority P1-P4, category, rationale and a suggested first reply (hard rules first, the client's LLM for the rest); the ticket is stored", triage_ticket)
        .tool("list_tickets", "List stored tickets, newest first, filtered by priority, category or customer", list_tickets)
        .tool("ticket_stats", "Count stored tickets by priority, category and who decided (rule, model, fallback)", ticket_stats)
        .resource("triage://customers", "customers", "application/json", move || {
            let listed = customers.with(Store::customers);
            async move {
                let list = listed?;
                serde_json::to_string_pretty(&list).map_err(|e| ToolError::failed(e.to_string()))
            }
        })
        .build())
}
