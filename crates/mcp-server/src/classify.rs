//! [`Classifier`]: decide in code first, sample only for judgment. A classification into
//! a Rust type: a rule decides when it can, the model decides the rest (its answer
//! constrained to the labels on hosts that know the typed-output extension, parsed robustly
//! on those that do not), and a fallback decides when the model answers no label, is
//! refused, or the client cannot sample. The result says who decided.

use crate::ctx::Ctx;
use crate::error::SampleError;
use crate::sampling::Sampling;
use mcp_proto::ext::ExpectedOutput;
use mcp_proto::SamplingMessage;
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

type Rule<T> = Arc<dyn Fn(&str) -> Option<T> + Send + Sync>;
type Fallback<T> = Arc<dyn Fn(&str) -> T + Send + Sync>;

/// Who made a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecidedBy {
    /// A rule in code; no model was asked.
    Rule,
    /// The model, by the name the client reported.
    Model(String),
    /// The fallback in code, and why the model did not decide.
    Fallback(String),
}

impl DecidedBy {
    /// Whether a model made the decision.
    pub fn is_model(&self) -> bool {
        matches!(self, DecidedBy::Model(_))
    }
}

impl fmt::Display for DecidedBy {
    /// `rule`, `model:NAME` or `fallback (WHY)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecidedBy::Rule => f.write_str("rule"),
            DecidedBy::Model(m) => write!(f, "model:{m}"),
            DecidedBy::Fallback(why) => write!(f, "fallback ({why})"),
        }
    }
}

impl Serialize for DecidedBy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A string in the output schema of tools that return it (`rule`, `model:NAME`,
/// `fallback (WHY)`).
impl schemars::JsonSchema for DecidedBy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DecidedBy".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Who decided: `rule`, `model:NAME` or `fallback (WHY)`."
        })
    }
}

/// What [`Classifier::classify`] decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified<T> {
    /// The class.
    pub value: T,
    /// Its label.
    pub label: String,
    /// Who decided.
    pub decided_by: DecidedBy,
}

struct Label<T> {
    value: T,
    name: String,
    description: String,
}

/// A classification into `T`, built once (typically kept in the server's state) and used
/// for every call.
///
/// ```
/// # use mcp_server::Classifier;
/// #[derive(Clone, Copy, PartialEq, Debug)]
/// enum Intent { Products, Orders }
/// let c = Classifier::new("Classify the search query of an outdoor shop.")
///     .label(Intent::Products, "products", "things the shop sells")
///     .label(Intent::Orders, "orders", "a customer's orders, shipping, refunds")
///     .example("red running shoes", Intent::Products)
///     .rule(|q| q.contains("order #").then_some(Intent::Orders))
///     .fallback(|_| Intent::Products);
/// assert_eq!(c.parse("Orders."), Some(Intent::Orders));
/// ```
pub struct Classifier<T> {
    task: String,
    labels: Vec<Label<T>>,
    examples: Vec<(String, T)>,
    rule: Option<Rule<T>>,
    fallback: Option<Fallback<T>>,
    hints: Vec<String>,
}

impl<T: Clone + PartialEq + Send + Sync + 'static> Classifier<T> {
    /// A classifier for `task`, one sentence telling the model what it classifies.
    pub fn new(task: impl Into<String>) -> Self {
        Classifier {
            task: task.into(),
            labels: Vec::new(),
            examples: Vec::new(),
            rule: None,
            fallback: None,
            hints: Vec::new(),
        }
    }

    /// Adds a class: its value, its label (what the model answers) and a description
    /// (may be empty).
    pub fn label(
        mut self,
        value: T,
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.labels.push(Label {
            value,
            name: name.into(),
            description: description.into(),
        });
        self
    }

    /// Adds a worked example, shown to the model as an earlier turn (small models follow a
    /// pattern better than an instruction).
    pub fn example(mut self, input: impl Into<String>, value: T) -> Self {
        self.examples.push((input.into(), value));
        self
    }

    /// A rule tried before the model: when it returns a class, no model is asked.
    pub fn rule(mut self, f: impl Fn(&str) -> Option<T> + Send + Sync + 'static) -> Self {
        self.rule = Some(Arc::new(f));
        self
    }

    /// The decision when the model gives none (no label in its reply, a refusal, a client
    /// that cannot sample, a failed request). Without one, those cases are errors.
    pub fn fallback(mut self, f: impl Fn(&str) -> T + Send + Sync + 'static) -> Self {
        self.fallback = Some(Arc::new(f));
        self
    }

    /// Adds a model hint (`modelPreferences.hints`).
    pub fn hint(mut self, name: impl Into<String>) -> Self {
        self.hints.push(name.into());
        self
    }

    /// The labels, in the order added.
    pub fn labels(&self) -> Vec<&str> {
        self.labels.iter().map(|l| l.name.as_str()).collect()
    }

    /// The label of `value`.
    pub fn label_of(&self, value: &T) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| &l.value == value)
            .map(|l| l.name.as_str())
    }

    /// The class a model's reply names: the whole reply if it is a label (case, quotes,
    /// punctuation and `_`/`-` aside), else the label that occurs first in it as a word
    /// (a plural label also matches its singular).
    pub fn parse(&self, reply: &str) -> Option<T> {
        let reply = normalise(reply);
        if let Some(l) = self.labels.iter().find(|l| normalise(&l.name) == reply) {
            return Some(l.value.clone());
        }
        let mut best: Option<(usize, usize, &Label<T>)> = None;
        for l in &self.labels {
            let name = normalise(&l.name);
            let singular = name.strip_suffix('s').filter(|s| s.chars().count() >= 3);
            for form in std::iter::once(name.as_str()).chain(singular) {
                if let Some(at) = find_word(&reply, form) {
                    let key = (at, usize::MAX - form.len());
                    if best.is_none_or(|(a, b, _)| key < (a, b)) {
                        best = Some((key.0, key.1, l));
                    }
                }
            }
        }
        best.map(|(_, _, l)| l.value.clone())
    }

    /// The sampling request sent for `input`: the task and the labels as the system
    /// prompt, the worked examples as earlier turns, the labels as the expected output.
    pub fn request(&self, input: &str) -> Sampling {
        let mut system = format!(
            "{}\nAnswer with exactly one label and nothing else.",
            self.task
        );
        system.push_str("\nLabels:");
        for l in &self.labels {
            system.push_str("\n- ");
            system.push_str(&l.name);
            if !l.description.is_empty() {
                system.push_str(": ");
                system.push_str(&l.description);
            }
        }
        let mut turns = Vec::new();
        for (example, value) in &self.examples {
            if let Some(label) = self.label_of(value) {
                turns.push(SamplingMessage::user(format!("Input: {example}")));
                turns.push(SamplingMessage::assistant(label));
            }
        }
        turns.push(SamplingMessage::user(format!("Input: {input}")));
        let longest = self.labels.iter().map(|l| l.name.chars().count());
        let max_tokens = longest.max().unwrap_or(1) as u64 / 2 + 6;
        let choices = self.labels.iter().map(|l| l.name.clone()).collect();
        let mut req = Sampling::messages(turns)
            .system(system)
            .max_tokens(max_tokens)
            .temperature(0.0)
            .stop("\n")
            .expect(ExpectedOutput::Choices(choices));
        for h in &self.hints {
            req = req.hint(h.clone());
        }
        req
    }

    /// Classifies `input`: the rule, else the model, else the fallback.
    ///
    /// Errors: a limit of the server, a closed connection or an invalid request; and,
    /// without a fallback, whatever kept the model from deciding.
    pub async fn classify(&self, ctx: &Ctx, input: &str) -> Result<Classified<T>, SampleError> {
        if let Some(value) = self.rule.as_ref().and_then(|r| r(input)) {
            return Ok(self.decided(value, DecidedBy::Rule));
        }
        let why = match ctx.sample(self.request(input)).await {
            Ok(reply) => match self.parse(&reply.text()) {
                Some(value) => return Ok(self.decided(value, DecidedBy::Model(reply.model))),
                None => {
                    let text = reply.text();
                    let why = format!("the model answered {:?}, none of the labels", clip(&text));
                    if self.fallback.is_none() {
                        return Err(SampleError::BadReply(why));
                    }
                    why
                }
            },
            Err(e @ (SampleError::Limit(_) | SampleError::Closed | SampleError::Invalid(_))) => {
                return Err(e)
            }
            Err(e) if self.fallback.is_none() => return Err(e),
            Err(SampleError::NotSupported) => "the client cannot sample".to_owned(),
            Err(e) => e.to_string(),
        };
        let fallback = self.fallback.as_ref().map(|f| f(input));
        match fallback {
            Some(value) => Ok(self.decided(value, DecidedBy::Fallback(why))),
            None => Err(SampleError::BadReply(why)),
        }
    }

    fn decided(&self, value: T, decided_by: DecidedBy) -> Classified<T> {
        let label = self.label_of(&value).unwrap_or_default().to_owned();
        Classified {
            value,
            label,
            decided_by,
        }
    }
}

/// Lower case, `_` and `-` as spaces, outer quotes, backticks and punctuation gone, one
/// space between words; a leading `label:` or `answer:` dropped.
fn normalise(s: &str) -> String {
    let lower = s.to_lowercase().replace(['_', '-'], " ");
    let words: Vec<&str> = lower.split_whitespace().collect();
    let joined = words.join(" ");
    let trimmed = joined.trim_matches(|c: char| !c.is_alphanumeric());
    let trimmed = ["label:", "answer:", "category:", "class:"]
        .iter()
        .find_map(|p| trimmed.strip_prefix(p))
        .unwrap_or(trimmed);
    trimmed
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_owned()
}

/// Where `word` first occurs in `text` as a whole word (not inside another word).
fn find_word(text: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    text.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// At most 80 characters of a reply, for messages.
fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= 80 {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(80).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Kind {
        Bug,
        Feature,
        Docs,
    }

    fn classifier() -> Classifier<Kind> {
        Classifier::new("Classify the change.")
            .label(Kind::Bug, "bug_fix", "fixes wrong behaviour")
            .label(Kind::Feature, "feature", "")
            .label(Kind::Docs, "docs", "")
            .example("fix crash on empty input", Kind::Bug)
    }

    #[test]
    fn parses_replies_robustly() {
        let c = classifier();
        assert_eq!(c.parse("bug_fix"), Some(Kind::Bug));
        assert_eq!(c.parse(" \"Bug fix\". "), Some(Kind::Bug));
        assert_eq!(c.parse("Label: FEATURE"), Some(Kind::Feature));
        assert_eq!(
            c.parse("It is a doc change, not a feature"),
            Some(Kind::Docs)
        );
        assert_eq!(c.parse("featureless"), None);
        assert_eq!(c.parse("ドキュメント"), None);
        assert_eq!(c.parse(""), None);
    }

    #[test]
    fn the_request_carries_labels_examples_and_choices() {
        let req = classifier().request("add dark mode");
        let p = req.params();
        let system = p.system_prompt.as_deref().unwrap();
        assert!(system.contains("- bug_fix: fixes wrong behaviour"));
        assert_eq!(p.messages.len(), 3);
        assert_eq!(
            ExpectedOutput::from_meta(p.meta.as_ref()),
            Some(ExpectedOutput::Choices(vec![
                "bug_fix".into(),
                "feature".into(),
                "docs".into()
            ]))
        );
        assert_eq!(DecidedBy::Model("m".into()).to_string(), "model:m");
        assert_eq!(
            serde_json::to_value(DecidedBy::Fallback("x".into())).unwrap(),
            "fallback (x)"
        );
    }
}
