//! Policy, per server: whether it may sample at all, how often, how much, with what.
//!
//! Every refusal names the rule it applies, and reaches the server as a clear error.

use mcp_proto::clock::{Clock, SystemClock};
use mcp_proto::sampling::{CreateMessageParams, IncludeContext};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// Token and cost totals per server and UTC day, kept where a restart does not lose them.
pub trait BudgetStore: Send + Sync + 'static {
    /// Tokens and USD used by `server` on `day` (`YYYY-MM-DD`).
    fn used(&self, server: &str, day: &str) -> (u64, f64);
    /// Adds to them.
    fn add(&self, server: &str, day: &str, tokens: u64, cost: f64);
}

/// Budgets in memory (tests; hosts that want no persistence).
#[derive(Default)]
pub struct MemoryBudgets(Mutex<HashMap<(String, String), (u64, f64)>>);

impl BudgetStore for MemoryBudgets {
    fn used(&self, server: &str, day: &str) -> (u64, f64) {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&(server.to_owned(), day.to_owned()))
            .copied()
            .unwrap_or((0, 0.0))
    }
    fn add(&self, server: &str, day: &str, tokens: u64, cost: f64) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let e = m
            .entry((server.to_owned(), day.to_owned()))
            .or_insert((0, 0.0));
        e.0 += tokens;
        e.1 += cost;
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

/// The policy's [`Clock`] as governor's: its monotonic reading.
#[derive(Debug, Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl governor::clock::Clock for LimiterClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.0.monotonic()
    }
}

type Limiter = governor::RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    LimiterClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

struct ServerState {
    limiter: Option<Limiter>,
    slots: Arc<Semaphore>,
}

/// The policy stage.
pub struct Policy {
    default: ServerPolicy,
    servers: HashMap<String, ServerPolicy>,
    state: Mutex<HashMap<String, Arc<ServerState>>>,
    budgets: Arc<dyn BudgetStore>,
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
    /// A policy with a default for all servers, overrides by server name, and a budget store;
    /// on the system clock.
    pub fn new(
        default: ServerPolicy,
        servers: HashMap<String, ServerPolicy>,
        budgets: Arc<dyn BudgetStore>,
    ) -> Policy {
        Policy {
            default,
            servers,
            state: Mutex::new(HashMap::new()),
            budgets,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same policy on another clock: the budgets' UTC day is read from its wall clock,
    /// the rate limits from its monotonic reading. Set it before the first request.
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
                let limiter = NonZeroU32::new(rules.requests_per_minute).map(|rate| {
                    let burst = NonZeroU32::new(rules.burst.max(1)).unwrap_or(NonZeroU32::MIN);
                    governor::RateLimiter::direct_with_clock(
                        governor::Quota::per_minute(rate).allow_burst(burst),
                        LimiterClock(self.clock.clone()),
                    )
                });
                Arc::new(ServerState {
                    limiter,
                    slots: Arc::new(Semaphore::new(rules.max_concurrent.max(1) as usize)),
                })
            })
            .clone()
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
        if !r.allow {
            return Err(refuse("sampling is not allowed for this server".into()));
        }
        if params.tools.is_some() && !r.allow_tools {
            return Err(refuse(
                "tools in sampling requests are not allowed for this server".into(),
            ));
        }
        let needed = match params.include_context {
            None | Some(IncludeContext::None) => ContextAllow::None,
            Some(IncludeContext::ThisServer) => ContextAllow::ThisServer,
            Some(IncludeContext::AllServers) => ContextAllow::AllServers,
        };
        if needed > r.allow_context {
            return Err(refuse(format!(
                "includeContext {:?} is not allowed (allowed up to {:?})",
                needed, r.allow_context
            )));
        }
        if depth > r.max_depth {
            return Err(refuse(format!(
                "nested sampling depth {depth} exceeds the limit of {}",
                r.max_depth
            )));
        }
        let (tokens, cost) = self.budgets.used(server, &self.today());
        if r.daily_token_budget > 0 && tokens >= r.daily_token_budget {
            return Err(refuse(format!(
                "daily token budget of {} is used up ({tokens} used today)",
                r.daily_token_budget
            )));
        }
        if r.daily_cost_budget > 0.0 && cost >= r.daily_cost_budget {
            return Err(refuse(format!(
                "daily cost budget of {} is used up ({} used today)",
                dollars(r.daily_cost_budget),
                dollars(cost)
            )));
        }
        let state = self.state(server);
        if let Some(l) = &state.limiter {
            if l.check().is_err() {
                return Err(refuse(format!(
                    "rate limit of {} requests per minute (burst {}) exceeded",
                    r.requests_per_minute, r.burst
                )));
            }
        }
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

    /// Records what an answered request used.
    pub fn record(&self, server: &str, tokens: u64, cost: f64) {
        self.budgets.add(server, &self.today(), tokens, cost);
    }
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
mod tests {
    use super::*;
    use mcp_proto::clock::ManualClock;
    use mcp_proto::SamplingMessage;

    #[test]
    fn small_amounts_keep_their_digits() {
        assert_eq!(dollars(1.5), "$1.50");
        assert_eq!(dollars(0.01), "$0.01");
        assert_eq!(dollars(0.001), "$0.001");
        assert_eq!(dollars(0.000125), "$0.000125");
        assert_eq!(dollars(0.0012345), "$0.00123");
        assert_eq!(dollars(0.0), "$0.00");
    }
    use std::future::Future;
    use std::task::Poll;

    fn req(max_tokens: u64) -> CreateMessageParams {
        CreateMessageParams::new(vec![SamplingMessage::user("hi")], max_tokens)
    }

    fn policy(r: ServerPolicy) -> Policy {
        Policy::new(r, HashMap::new(), Arc::new(MemoryBudgets::default()))
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_778), "2026-11-21");
        assert_eq!(civil_date(11_016), "2000-02-29");
        let t = UNIX_EPOCH + Duration::from_secs(20_778 * 86_400);
        assert_eq!(day_of(t - Duration::from_secs(1)), "2026-11-20");
        assert_eq!(day_of(t), "2026-11-21");
        assert_eq!(day_of(UNIX_EPOCH - Duration::from_secs(1)), "1970-01-01");
    }

    /// A clock one minute before midnight UTC, 2026-11-21.
    fn before_midnight() -> ManualClock {
        ManualClock::new(UNIX_EPOCH + Duration::from_secs(20_779 * 86_400 - 60))
    }

    #[tokio::test]
    async fn rules_refuse_and_clamp() {
        let p = policy(ServerPolicy {
            max_tokens_cap: 100,
            ..Default::default()
        });
        let mut r = req(1000);
        let a = p.admit("s", &mut r, 0).await.unwrap();
        assert_eq!((r.max_tokens, a.clamped_from), (100, Some(1000)));
        let p = policy(ServerPolicy {
            allow: false,
            ..Default::default()
        });
        assert!(p
            .admit("s", &mut req(5), 0)
            .await
            .unwrap_err()
            .rule
            .contains("not allowed"));
        let p = policy(ServerPolicy::default());
        let mut r = req(5);
        r.include_context = Some(IncludeContext::AllServers);
        assert!(p
            .admit("s", &mut r, 0)
            .await
            .unwrap_err()
            .rule
            .contains("includeContext"));
        assert!(p
            .admit("s", &mut req(5), 3)
            .await
            .unwrap_err()
            .rule
            .contains("depth 3"));
    }

    #[tokio::test]
    async fn rate_limit_refuses_the_excess() {
        let p = policy(ServerPolicy {
            requests_per_minute: 60,
            burst: 3,
            ..Default::default()
        });
        for _ in 0..3 {
            p.admit("s", &mut req(5), 0).await.unwrap();
        }
        let e = p.admit("s", &mut req(5), 0).await.unwrap_err();
        assert!(
            e.rule
                .contains("rate limit of 60 requests per minute (burst 3)"),
            "{e}"
        );
        // Another server has its own limiter.
        p.admit("other", &mut req(5), 0).await.unwrap();
    }

    #[tokio::test]
    async fn the_rate_limit_lets_one_more_through_each_interval() {
        let clock = before_midnight();
        let p = policy(ServerPolicy {
            requests_per_minute: 60,
            burst: 2,
            ..Default::default()
        })
        .with_clock(Arc::new(clock.clone()));
        for _ in 0..2 {
            p.admit("s", &mut req(5), 0).await.unwrap();
        }
        assert!(p.admit("s", &mut req(5), 0).await.is_err());
        // 60 a minute: one more each second, not before.
        clock.advance(Duration::from_millis(999));
        assert!(p.admit("s", &mut req(5), 0).await.is_err());
        clock.advance(Duration::from_millis(1));
        p.admit("s", &mut req(5), 0).await.unwrap();
        assert!(p.admit("s", &mut req(5), 0).await.is_err());
        // A quiet minute refills the burst, and no more.
        clock.advance(Duration::from_secs(60));
        for _ in 0..2 {
            p.admit("s", &mut req(5), 0).await.unwrap();
        }
        assert!(p.admit("s", &mut req(5), 0).await.is_err());
    }

    #[tokio::test]
    async fn budgets_refuse_once_used_up() {
        let p = policy(ServerPolicy {
            daily_token_budget: 100,
            ..Default::default()
        });
        p.admit("s", &mut req(5), 0).await.unwrap();
        p.record("s", 100, 0.0);
        let e = p.admit("s", &mut req(5), 0).await.unwrap_err();
        assert!(
            e.rule.contains("daily token budget of 100 is used up"),
            "{e}"
        );
        let p = policy(ServerPolicy {
            daily_cost_budget: 0.01,
            ..Default::default()
        });
        p.record("s", 1, 0.02);
        assert!(p
            .admit("s", &mut req(5), 0)
            .await
            .unwrap_err()
            .rule
            .contains("daily cost budget"));
    }

    #[tokio::test]
    async fn budgets_start_again_at_midnight_utc() {
        let clock = before_midnight();
        let p = policy(ServerPolicy {
            daily_token_budget: 100,
            ..Default::default()
        })
        .with_clock(Arc::new(clock.clone()));
        assert_eq!(p.today(), "2026-11-21");
        p.admit("s", &mut req(5), 0).await.unwrap();
        p.record("s", 100, 0.0);
        let e = p.admit("s", &mut req(5), 0).await.unwrap_err();
        assert!(e.rule.contains("(100 used today)"), "{e}");
        // Still the same day one second before midnight.
        clock.advance(Duration::from_secs(59));
        assert!(p.admit("s", &mut req(5), 0).await.is_err());
        clock.advance(Duration::from_secs(1));
        assert_eq!(p.today(), "2026-11-22");
        p.admit("s", &mut req(5), 0).await.unwrap();
        p.record("s", 40, 0.0);
        let budgets = &p.budgets;
        assert_eq!(budgets.used("s", "2026-11-21"), (100, 0.0));
        assert_eq!(budgets.used("s", "2026-11-22"), (40, 0.0));
    }

    #[tokio::test]
    async fn concurrency_waits_for_a_slot() {
        let p = Arc::new(policy(ServerPolicy {
            max_concurrent: 1,
            ..Default::default()
        }));
        let first = p.admit("s", &mut req(5), 0).await.unwrap();
        let mut r = req(5);
        let mut second = std::pin::pin!(p.admit("s", &mut r, 0));
        let polled = std::future::poll_fn(|cx| Poll::Ready(second.as_mut().poll(cx))).await;
        assert!(
            polled.is_pending(),
            "the second waits while the first holds the slot"
        );
        drop(first);
        second.await.unwrap();
    }
}
