//! Policy, per server: whether it may sample at all, how often, how much, with what.
//!
//! Every refusal names the rule it applies, and reaches the server as a clear error.
//!
//! The counts behind the limits live in a [`LimitStore`]: rate limiters and the day's use,
//! and reservations. A request reserves what it could use at most (its prompt's bound and
//! its `maxTokens`, priced) before it is sent, and settles what it did use after, so a
//! budget is never overspent, by one process or many sharing the audit log.

use mcp_proto::clock::{Clock, SystemClock};
use mcp_proto::sampling::{CreateMessageParams, IncludeContext};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

mod reservation;
mod store;

pub use reservation::{input_bound, Reservation};
pub use store::{fits, LimitStore, MemoryLimits, Rate, Reserved, StoreError, Usage};

/// What `includeContext` a server may ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextAllow {
    /// Only `none` (the default): no server sees another's data.
    #[default]
    None,
    /// `thisServer` too.
    ThisServer,
    /// `allServers` too: other servers' data, only by explicit choice.
    AllServers,
}

/// The rules for one server. Every limit is on by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerPolicy {
    /// Whether the server may sample at all.
    pub allow: bool,
    /// Sustained rate, requests per minute.
    pub requests_per_minute: u32,
    /// How many requests may come at once above the rate.
    pub burst: u32,
    /// Most sampling requests of this server being answered at once (more wait).
    pub max_concurrent: u32,
    /// `maxTokens` is lowered to this.
    pub max_tokens_cap: u64,
    /// Tokens (in + out) per UTC day; `0` = no limit.
    pub daily_token_budget: u64,
    /// USD per UTC day; `0` = no limit.
    pub daily_cost_budget: f64,
    /// Whether requests may carry tools.
    pub allow_tools: bool,
    /// Which `includeContext` values are honoured.
    pub allow_context: ContextAllow,
    /// Deepest nesting: sampling inside a tool call made while answering sampling, ...
    pub max_depth: u32,
}

impl Default for ServerPolicy {
    fn default() -> Self {
        ServerPolicy {
            allow: true,
            requests_per_minute: 30,
            burst: 10,
            max_concurrent: 4,
            max_tokens_cap: 4096,
            daily_token_budget: 500_000,
            daily_cost_budget: 2.0,
            allow_tools: true,
            allow_context: ContextAllow::None,
            max_depth: 2,
        }
    }
}

impl ServerPolicy {
    /// The rate limit: `requests_per_minute` sustained, `burst` at once (at most
    /// `requests_per_minute`); `None` when `requests_per_minute` is 0 (no limit).
    pub fn rate(&self) -> Option<Rate> {
        (self.requests_per_minute > 0).then(|| Rate {
            interval_us: 60_000_000 / i64::from(self.requests_per_minute),
            burst: self.burst.clamp(1, self.requests_per_minute),
        })
    }

    /// The daily budgets as a [`Usage`] limit (`0` fields: no limit).
    pub fn budget(&self) -> Usage {
        Usage {
            tokens: self.daily_token_budget,
            cost: self.daily_cost_budget,
        }
    }
}

/// A refusal, naming the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("policy for {server:?} refuses: {rule}")]
pub struct Refusal {
    /// The server.
    pub server: String,
    /// The rule and the numbers.
    pub rule: String,
}

struct ServerState {
    slots: Arc<Semaphore>,
}

/// The policy stage.
pub struct Policy {
    default: ServerPolicy,
    servers: HashMap<String, ServerPolicy>,
    state: Mutex<HashMap<String, Arc<ServerState>>>,
    store: Arc<dyn LimitStore>,
    clock: Arc<dyn Clock>,
}

/// Holds a concurrency slot while a request is answered.
#[derive(Debug)]
pub struct Admitted {
    _slot: OwnedSemaphorePermit,
    /// Whether `maxTokens` was lowered, and from what.
    pub clamped_from: Option<u64>,
}

impl Policy {
    /// A policy with a default for all servers, overrides by server name, and the store of
    /// its counts; on the system clock.
    pub fn new(
        default: ServerPolicy,
        servers: HashMap<String, ServerPolicy>,
        store: Arc<dyn LimitStore>,
    ) -> Policy {
        Policy {
            default,
            servers,
            state: Mutex::new(HashMap::new()),
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same policy on another clock: the budgets' UTC day and the rate limits are read
    /// from its wall clock (the one processes share). Set it before the first request.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Policy {
        self.clock = clock;
        self.state = Mutex::new(HashMap::new());
        self
    }

    /// The UTC day (`YYYY-MM-DD`) of the policy's clock: the budgets' day.
    pub fn today(&self) -> String {
        day_of(self.clock.now())
    }

    /// The rules that apply to a server.
    pub fn rules(&self, server: &str) -> &ServerPolicy {
        self.servers.get(server).unwrap_or(&self.default)
    }

    fn state(&self, server: &str) -> Arc<ServerState> {
        let rules = self.rules(server);
        let mut m = self.state.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(server.to_owned())
            .or_insert_with(|| {
                Arc::new(ServerState {
                    slots: Arc::new(Semaphore::new(rules.max_concurrent.max(1) as usize)),
                })
            })
            .clone()
    }

    fn now_us(&self) -> i64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64)
    }

    /// The counts a request must pass: the day's budgets not used up, the rate limit (the
    /// request is counted when it passes).
    fn count(&self, server: &str, r: &ServerPolicy) -> Result<(), String> {
        let budgeted = r.daily_token_budget > 0 || r.daily_cost_budget > 0.0;
        let used = if budgeted {
            self.store.used(server, &self.today())
        } else {
            Usage::default()
        };
        if r.daily_token_budget > 0 && used.tokens >= r.daily_token_budget {
            return Err(format!(
                "daily token budget of {} is used up ({} used today)",
                r.daily_token_budget, used.tokens
            ));
        }
        if r.daily_cost_budget > 0.0 && used.cost >= r.daily_cost_budget {
            return Err(format!(
                "daily cost budget of {} is used up ({} used today)",
                dollars(r.daily_cost_budget),
                dollars(used.cost)
            ));
        }
        if let Some(rate) = r.rate() {
            let over = self.store.admit(server, self.now_us(), rate).map_err(|e| {
                format!("its rate limit cannot be counted ({e}), so nothing is sent")
            })?;
            if let Some(wait) = over {
                return Err(format!(
                    "rate limit of {} requests per minute (burst {}) exceeded; the next is admitted in {:.1} s",
                    r.requests_per_minute,
                    rate.burst,
                    wait.as_secs_f64()
                ));
            }
        }
        Ok(())
    }

    /// Checks a request against the server's rules, lowers `maxTokens` to the cap, and waits
    /// for a concurrency slot. `depth` is how deep in nested sampling the request is.
    pub async fn admit(
        &self,
        server: &str,
        params: &mut CreateMessageParams,
        depth: u32,
    ) -> Result<Admitted, Refusal> {
        let r = self.rules(server);
        let refuse = |rule: String| Refusal {
            server: server.to_owned(),
            rule,
        };
        rules_allow(r, params, depth).map_err(refuse)?;
        self.count(server, r).map_err(refuse)?;
        let state = self.state(server);
        let clamped_from = (params.max_tokens > r.max_tokens_cap).then_some(params.max_tokens);
        params.max_tokens = params.max_tokens.min(r.max_tokens_cap);
        let slot = state
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| refuse("the host is shutting down".into()))?;
        Ok(Admitted {
            _slot: slot,
            clamped_from,
        })
    }

    /// Reserves `want` (what the request could use at most) of the server's daily budgets,
    /// or refuses when it does not fit in what is left. The [`Reservation`] is settled with
    /// what the request used; dropped unsettled, it counts all of `want` once the request was
    /// sent, else nothing.
    pub fn reserve(&self, server: &str, want: Usage) -> Result<Reservation, Refusal> {
        Reservation::take(self, server, want)
    }

    /// Whether some server (or every server, by default) may ask for `includeContext`.
    pub fn allows_context(&self) -> bool {
        std::iter::once(&self.default)
            .chain(self.servers.values())
            .any(|r| r.allow_context > ContextAllow::None)
    }

    /// What `server` used today (settled requests).
    pub fn used_today(&self, server: &str) -> Usage {
        self.store.used(server, &self.today())
    }
}

/// The rules a request's own content must pass (no counts): allowed at all, tools,
/// `includeContext`, nesting depth.
fn rules_allow(r: &ServerPolicy, params: &CreateMessageParams, depth: u32) -> Result<(), String> {
    if !r.allow {
        return Err("sampling is not allowed for this server".into());
    }
    if params.tools.is_some() && !r.allow_tools {
        return Err("tools in sampling requests are not allowed for this server".into());
    }
    let needed = match params.include_context {
        None | Some(IncludeContext::None) => ContextAllow::None,
        Some(IncludeContext::ThisServer) => ContextAllow::ThisServer,
        Some(IncludeContext::AllServers) => ContextAllow::AllServers,
    };
    if needed > r.allow_context {
        return Err(format!(
            "includeContext {:?} is not allowed (allowed up to {:?})",
            needed, r.allow_context
        ));
    }
    if depth > r.max_depth {
        return Err(format!(
            "nested sampling depth {depth} exceeds the limit of {}",
            r.max_depth
        ));
    }
    Ok(())
}

/// Today's UTC date as `YYYY-MM-DD` (by the system clock).
pub fn today() -> String {
    day_of(SystemTime::now())
}

/// The UTC date of `t` as `YYYY-MM-DD` (1970-01-01 for earlier times).
pub fn day_of(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date(secs / 86_400)
}

/// The date `days` after 1970-01-01 (Howard Hinnant's civil-from-days algorithm).
pub fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// An amount of dollars with its significant digits: cents for an amount of a cent or more
/// (`$1.50`), else up to three significant digits (`$0.001`, `$0.000125`), never `$0.00`
/// for an amount above zero.
pub fn dollars(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 || x >= 0.01 {
        return format!("${x:.2}");
    }
    let decimals = ((-x.log10()).ceil() as usize + 2).min(10);
    let s = format!("{x:.decimals$}");
    let trimmed = s.trim_end_matches('0');
    format!("${trimmed}")
}

#[cfg(test)]
mod tests;
