//! `includeContext`: what the host adds to a request that asks for context. The host keeps
//! each server's last few exchanges (what it asked, what the model answered) in memory; a
//! request with `thisServer` gets its own server's, one with `allServers` every server's,
//! appended to its system prompt, so the person reviewing sees exactly what is sent. The
//! policy decides first whether a server may ask ([`crate::policy::ContextAllow`]).

use mcp_proto::sampling::{CreateMessageParams, IncludeContext};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Exchanges kept per server.
pub const KEPT: usize = 5;
/// Characters kept of each question and answer.
pub const CHARS: usize = 1_000;

struct Exchange {
    asked: String,
    answered: String,
}

/// The recent exchanges of every server.
#[derive(Default)]
pub struct Recent(Mutex<HashMap<String, VecDeque<Exchange>>>);

fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(CHARS).collect();
    if text.chars().nth(CHARS).is_some() {
        out.push('…');
    }
    out
}

impl Recent {
    /// Notes an answered exchange of `server`: its last user text and the reply's text.
    pub fn note(&self, server: &str, asked: &str, answered: &str) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let q = m.entry(server.to_owned()).or_default();
        if q.len() == KEPT {
            q.pop_front();
        }
        q.push_back(Exchange {
            asked: clip(asked),
            answered: clip(answered),
        });
    }

    /// Adds the context `params` asks for (from `server`'s point of view) to its system
    /// prompt; nothing when it asks for none or there is none yet.
    pub fn apply(&self, server: &str, params: &mut CreateMessageParams) {
        let all = match params.include_context {
            None | Some(IncludeContext::None) => return,
            Some(IncludeContext::ThisServer) => false,
            Some(IncludeContext::AllServers) => true,
        };
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut servers: Vec<&String> = m.keys().filter(|s| all || *s == server).collect();
        servers.sort();
        let mut block = String::new();
        for s in servers {
            for e in m.get(s).into_iter().flatten() {
                block.push_str(&format!(
                    "\n[{s}] asked: {}\n[{s}] answer: {}",
                    e.asked, e.answered
                ));
            }
        }
        if block.is_empty() {
            return;
        }
        let head = "Earlier exchanges, included by the host (includeContext):";
        let system = params.system_prompt.take().unwrap_or_default();
        let sep = if system.is_empty() { "" } else { "\n\n" };
        params.system_prompt = Some(format!("{system}{sep}{head}{block}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_proto::SamplingMessage;

    fn req(ctx: Option<IncludeContext>) -> CreateMessageParams {
        let mut p = CreateMessageParams::new(vec![SamplingMessage::user("next")], 10);
        p.system_prompt = Some("Be brief.".into());
        p.include_context = ctx;
        p
    }

    #[test]
    fn this_server_sees_its_own_exchanges_only() {
        let r = Recent::default();
        r.note("a", "q1", "r1");
        r.note("b", "secret question", "secret answer");
        let mut p = req(Some(IncludeContext::ThisServer));
        r.apply("a", &mut p);
        let sys = p.system_prompt.unwrap();
        assert!(sys.starts_with("Be brief.\n\nEarlier exchanges"), "{sys}");
        assert!(sys.contains("[a] asked: q1\n[a] answer: r1"), "{sys}");
        assert!(!sys.contains("secret"), "{sys}");
        let mut p = req(Some(IncludeContext::AllServers));
        r.apply("a", &mut p);
        assert!(p
            .system_prompt
            .unwrap()
            .contains("[b] asked: secret question"));
        let mut p = req(None);
        r.apply("a", &mut p);
        assert_eq!(p.system_prompt.as_deref(), Some("Be brief."));
    }

    #[test]
    fn only_the_last_few_are_kept_and_clipped() {
        let r = Recent::default();
        for i in 0..KEPT + 2 {
            r.note("a", &format!("q{i}"), &"é".repeat(CHARS + 5));
        }
        let mut p = req(Some(IncludeContext::ThisServer));
        r.apply("a", &mut p);
        let sys = p.system_prompt.unwrap();
        assert!(
            !sys.contains("q0") && !sys.contains("q1\n") && sys.contains("q2"),
            "{sys}"
        );
        assert!(
            sys.contains(&format!("{}…", "é".repeat(CHARS))),
            "clipped by characters"
        );
    }
}
