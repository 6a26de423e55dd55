//! [`Reservation`]: a request's claim on its server's daily budgets, from before it is sent
//! until what it used is known.

use super::store::{LimitStore, Reserved, Usage};
use super::{dollars, Policy, Refusal};
use mcp_proto::clock::Clock;
use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::Content;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// How long an unsettled reservation counts: past this, its process is taken to have died.
pub const RESERVATION_TTL: Duration = Duration::from_secs(3600);

/// What one image may count as, in tokens (providers charge an image by its size, about a
/// thousand or two tokens at the largest).
const IMAGE_TOKENS: u64 = 2_000;

/// The most input tokens a request can count: a token covers at least one byte of text, plus
/// room for each message's and the request's framing. Images count [`IMAGE_TOKENS`]; other
/// content its JSON size.
pub fn input_bound(params: &CreateMessageParams) -> u64 {
    let bytes = |s: &str| s.len() as u64;
    let content = |c: &Content| match c {
        Content::Text { text, .. } => bytes(text),
        Content::Image { .. } => IMAGE_TOKENS,
        other => serde_json::to_string(other).map_or(0, |j| bytes(&j)),
    };
    let messages: u64 = params
        .messages
        .iter()
        .map(|m| 8 + m.content.as_slice().iter().map(content).sum::<u64>())
        .sum();
    let tools = params
        .tools
        .as_ref()
        .and_then(|t| serde_json::to_string(t).ok())
        .map_or(0, |j| bytes(&j));
    16 + params.system_prompt.as_deref().map_or(0, bytes) + messages + tools
}

/// A request's claim on its server's daily budgets. Settle it with what the request used;
/// dropped unsettled, it counts everything it holds once [`Reservation::sent`] was called
/// (the model may have used it all), else nothing.
pub struct Reservation {
    store: Arc<dyn LimitStore>,
    clock: Arc<dyn Clock>,
    server: String,
    day: String,
    limit: Usage,
    ids: Vec<u64>,
    held: Usage,
    sent: bool,
    settled: bool,
}

fn ms(clock: &dyn Clock) -> i64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Reservation {
    pub(super) fn take(p: &Policy, server: &str, want: Usage) -> Result<Reservation, Refusal> {
        let mut r = Reservation {
            store: p.store.clone(),
            clock: p.clock.clone(),
            server: server.to_owned(),
            day: p.today(),
            limit: p.rules(server).budget(),
            ids: Vec::new(),
            held: Usage::default(),
            sent: false,
            settled: false,
        };
        r.grow(want)?;
        Ok(r)
    }

    /// What it holds.
    pub fn held(&self) -> Usage {
        self.held
    }

    /// Holds `to` in all, reserving the difference when that is more than it holds (an
    /// edited request may be longer), or refuses when that does not fit.
    pub fn grow(&mut self, to: Usage) -> Result<(), Refusal> {
        let extra = Usage {
            tokens: to.tokens.saturating_sub(self.held.tokens),
            cost: (to.cost - self.held.cost).max(0.0),
        };
        // Nothing to hold against: no budget, or nothing more wanted.
        let unlimited = self.limit.tokens == 0 && self.limit.cost <= 0.0;
        if unlimited || (extra.tokens == 0 && extra.cost <= 0.0 && !self.ids.is_empty()) {
            self.held = self.held.plus(extra);
            return Ok(());
        }
        let now = ms(self.clock.as_ref());
        let expires = now + RESERVATION_TTL.as_millis() as i64;
        let refuse = |rule: String| Refusal {
            server: self.server.clone(),
            rule,
        };
        let got = self
            .store
            .reserve(&self.server, &self.day, extra, self.limit, expires, now)
            .map_err(|e| {
                refuse(format!(
                    "its budget cannot be counted ({e}), so nothing is sent"
                ))
            })?;
        match got {
            Reserved::Id(id) => {
                self.ids.push(id);
                self.held = self.held.plus(extra);
                Ok(())
            }
            Reserved::Over(taken) => Err(refuse(self.over(to, taken))),
        }
    }

    fn over(&self, want: Usage, taken: Usage) -> String {
        let taken = Usage {
            tokens: taken.tokens.saturating_sub(self.held.tokens),
            cost: (taken.cost - self.held.cost).max(0.0),
        };
        if self.limit.tokens > 0 && taken.tokens + want.tokens > self.limit.tokens {
            format!(
                "daily token budget of {}: this request may use up to {} tokens (its prompt and maxTokens), and {} are used or reserved today",
                self.limit.tokens, want.tokens, taken.tokens
            )
        } else {
            format!(
                "daily cost budget of {}: this request may cost up to {} (its prompt and maxTokens), and {} is used or reserved today",
                dollars(self.limit.cost),
                dollars(want.cost),
                dollars(taken.cost)
            )
        }
    }

    /// Notes that the request went to the model: from now on, all it holds may be used.
    pub fn sent(&mut self) {
        self.sent = true;
    }

    /// Ends the reservation: `used` counts, what was held and not used is free again.
    pub fn settle(mut self, used: Usage) {
        self.finish(used);
    }

    fn finish(&mut self, used: Usage) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        if let Err(e) = self.store.settle(&self.server, &self.day, &self.ids, used) {
            tracing::error!(server = %self.server, "cannot settle a budget reservation: {e}");
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let used = if self.sent {
            self.held
        } else {
            Usage::default()
        };
        self.finish(used);
    }
}
