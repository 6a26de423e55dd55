//! What code decides about a ticket: the hard rules (a security incident, an outage or data
//! loss for a customer with an SLA), the fallback when the model does not decide (keywords),
//! and the first replies written from templates.

use super::{Category, Priority};

/// Words that make a ticket a security incident, whoever sends it.
const SECURITY: [&str; 16] = [
    "security breach",
    "data breach",
    "breached",
    "hacked",
    "compromised",
    "unauthorized access",
    "unauthorised access",
    "account takeover",
    "leaked",
    "stolen credentials",
    "stolen password",
    "ransomware",
    "malware",
    "phishing",
    "vulnerability",
    "sql injection",
];

/// Words of a service that is down.
const OUTAGE: [&str; 14] = [
    "outage",
    "is down",
    "are down",
    "went down",
    "goes down",
    "down since",
    "down for",
    "unreachable",
    "not responding",
    "offline",
    "503",
    "502",
    "cannot connect",
    "can't connect",
];

/// Words of data that is gone.
const DATA_LOSS: [&str; 9] = [
    "data loss",
    "lost data",
    "lost all",
    "data is gone",
    "data are gone",
    "deleted all",
    "disappeared",
    "wiped",
    "missing data",
];

/// Keywords for the fallback's category guess, strongest category first.
const KEYWORDS: [(Category, &[&str]); 6] = [
    (
        Category::Billing,
        &[
            "invoice",
            "charged",
            "refund",
            "billing",
            "payment",
            "credit card",
            "subscription",
            "price",
            "receipt",
        ],
    ),
    (
        Category::Account,
        &[
            "password",
            "log in",
            "login",
            "sign in",
            "2fa",
            "two-factor",
            "locked out",
            "username",
            "email address",
        ],
    ),
    (
        Category::Bug,
        &[
            "error",
            "bug",
            "crash",
            "broken",
            "fails",
            "doesn't work",
            "does not work",
            "wrong",
            "exception",
            "slow",
        ],
    ),
    (
        Category::FeatureRequest,
        &[
            "feature",
            "would be nice",
            "could you add",
            "please add",
            "wish",
            "suggestion",
            "support for",
        ],
    ),
    (Category::Outage, &OUTAGE),
    (Category::DataLoss, &DATA_LOSS),
];

/// Lower case, one space between words.
fn normalise(s: &str) -> String {
    s.to_lowercase()
        .replace('’', "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first of `phrases` found in `text` as whole words.
fn found<'a>(text: &str, phrases: &[&'a str]) -> Option<&'a str> {
    phrases.iter().copied().find(|p| {
        text.match_indices(p).any(|(i, _)| {
            let before = text.get(..i).and_then(|s| s.chars().next_back());
            let after = text.get(i + p.len()..).and_then(|s| s.chars().next());
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    })
}

/// A decision code makes without the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruled {
    /// The priority.
    pub priority: Priority,
    /// The category.
    pub category: Category,
    /// Why, in a sentence.
    pub rationale: String,
}

/// The hard rules: a security incident is P1 for anyone; an outage or data loss is P1 for a
/// customer with an SLA. `sla` is the customer's response time in hours, if any.
pub fn hard_rule(subject: &str, body: &str, plan: Option<(&str, Option<u32>)>) -> Option<Ruled> {
    let text = normalise(&format!("{subject}\n{body}"));
    if let Some(word) = found(&text, &SECURITY) {
        return Some(Ruled {
            priority: Priority::P1,
            category: Category::Security,
            rationale: format!("Rule: the ticket reports a possible security incident ({word:?}); every security report is P1."),
        });
    }
    let (plan, hours) = match plan {
        Some((plan, Some(hours))) => (plan, hours),
        _ => return None,
    };
    let (category, word) = match (found(&text, &DATA_LOSS), found(&text, &OUTAGE)) {
        (Some(w), _) => (Category::DataLoss, w),
        (None, Some(w)) => (Category::Outage, w),
        (None, None) => return None,
    };
    let what = if category == Category::DataLoss {
        "data loss"
    } else {
        "an outage"
    };
    Some(Ruled {
        priority: Priority::P1,
        category,
        rationale: format!(
            "Rule: {what} ({word:?}) reported by a customer on the {plan} plan, whose SLA promises a response within {hours} h."
        ),
    })
}

/// The fallback's guess from keywords: a category, and a priority from it and the plan.
pub fn by_keywords(subject: &str, body: &str, sla: bool) -> (Priority, Category, String) {
    let text = normalise(&format!("{subject}\n{body}"));
    let hit = KEYWORDS
        .iter()
        .map(|(c, words)| {
            (
                *c,
                words
                    .iter()
                    .filter(|w| found(&text, &[**w]).is_some())
                    .count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n);
    let category = hit.map_or(Category::Question, |(c, _)| c);
    let priority = match category {
        Category::Security => Priority::P1,
        Category::Outage | Category::DataLoss if sla => Priority::P1,
        Category::Outage | Category::DataLoss => Priority::P2,
        Category::Bug | Category::Billing | Category::Account => Priority::P3,
        Category::FeatureRequest | Category::Question => Priority::P4,
    };
    let why = match hit {
        Some(_) => format!("keywords suggest {}", category.as_str()),
        None => "no keyword matched, so it is taken as a question".to_owned(),
    };
    (priority, category, why)
}

/// A first reply from a template, for decisions made in code.
pub fn template_reply(name: Option<&str>, priority: Priority, category: Category) -> String {
    let hello = match name {
        Some(n) => format!("Hello {n},"),
        None => "Hello,".to_owned(),
    };
    let body = match category {
        Category::Security => "thank you for reporting this. We treat it as a security incident: our security team is investigating now. Please do not share credentials in this thread; if you suspect an account was taken over, reset its password and revoke its API keys.",
        Category::Outage => "we are sorry for the disruption. We have opened an incident and an engineer is investigating; we will update you as soon as we know more.",
        Category::DataLoss => "we are sorry. Please stop any process that may write to the affected data; an engineer is checking our backups and will contact you shortly.",
        Category::Bug => "thank you for the report. Could you send the steps to reproduce it, the time it happened and any error message? We will look into it.",
        Category::Billing => "thank you for getting in touch. Our billing team will review your account and reply within one business day.",
        Category::Account => "thank you for getting in touch. We will help you regain access; please confirm the e-mail address of the account.",
        Category::FeatureRequest => "thank you for the suggestion. We have passed it to our product team.",
        Category::Question => "thank you for your question. A member of our team will answer shortly.",
    };
    format!("{hello} {body} (Priority {})", priority.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_rules_decide_security_and_sla_outages() {
        let sla = Some(("enterprise", Some(1)));
        let free = Some(("free", None));
        let r = hard_rule("We were hacked", "someone logged in as admin", free).unwrap();
        assert_eq!((r.priority, r.category), (Priority::P1, Category::Security));
        let r = hard_rule("API is down", "since 9:00 every call fails", sla).unwrap();
        assert_eq!((r.priority, r.category), (Priority::P1, Category::Outage));
        let r = hard_rule("Projects disappeared", "all our boards are empty", sla).unwrap();
        assert_eq!(r.category, Category::DataLoss);
        assert_eq!(
            hard_rule("API is down", "", free),
            None,
            "no SLA: the model decides"
        );
        assert_eq!(hard_rule("Scroll down is slow", "", sla), None);
        assert_eq!(hard_rule("Invoice", "wrong VAT number", sla), None);
    }

    #[test]
    fn keywords_guess_a_category() {
        let (p, c, _) = by_keywords("Charged twice", "my credit card was charged twice", false);
        assert_eq!((p, c), (Priority::P3, Category::Billing));
        let (p, c, _) = by_keywords("Hello", "what are your opening hours", false);
        assert_eq!((p, c), (Priority::P4, Category::Question));
        let (p, c, _) = by_keywords("Dashboard offline", "", true);
        assert_eq!((p, c), (Priority::P1, Category::Outage));
        assert!(template_reply(Some("Ada"), Priority::P3, Category::Bug).starts_with("Hello Ada,"));
    }
}
