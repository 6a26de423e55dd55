//! Model routing: which model answers a sampling request, and why.
//!
//! Hints are tried in order as substrings of the allowed models' ids; a hint that names a
//! family (`haiku`, `sonnet`, `gpt-4o-mini`, ...) also matches other providers' models of
//! the same class, so a `haiku` hint can pick another provider's small fast model. Without a
//! matching hint, the priorities (cost, speed, intelligence) score the allowed models. Models
//! that cannot serve the request (no tools, no images, too small a context) are never picked.

use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::Content;
use serde::{Deserialize, Serialize};

/// Size classes that let a hint for one provider's model match another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Small and fast (haiku, gpt-4o-mini, flash, local models).
    Small,
    /// Balanced (sonnet, gpt-4o, pro).
    Medium,
    /// Largest (opus, o1, gpt-4.5, ultra).
    Large,
}

/// One model the host can use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// Provider name (`local`, `openai`, `anthropic`, `fixed`, ...).
    pub provider: String,
    /// The provider's model id.
    pub id: String,
    /// USD per million input tokens.
    #[serde(default)]
    pub price_in: f64,
    /// USD per million output tokens.
    #[serde(default)]
    pub price_out: f64,
    /// 0..1, higher is faster.
    pub speed: f64,
    /// 0..1, higher is more capable.
    pub intelligence: f64,
    /// Context window in tokens.
    pub context: u64,
    /// Whether it can call tools.
    #[serde(default)]
    pub tools: bool,
    /// Whether it accepts images.
    #[serde(default)]
    pub images: bool,
    /// Its size class, for cross-provider hints.
    pub class: Class,
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Class::Small => "small",
            Class::Medium => "medium",
            Class::Large => "large",
        })
    }
}

impl ModelEntry {
    /// `provider:id`.
    pub fn spec(&self) -> String {
        format!("{}:{}", self.provider, self.id)
    }
}

/// Family words in hints, and the class each stands for.
const FAMILIES: &[(&str, Class)] = &[
    ("haiku", Class::Small),
    ("mini", Class::Small),
    ("flash", Class::Small),
    ("nano", Class::Small),
    ("small", Class::Small),
    ("smol", Class::Small),
    ("sonnet", Class::Medium),
    ("gpt-4o", Class::Medium),
    ("gpt-4.1", Class::Medium),
    ("pro", Class::Medium),
    ("medium", Class::Medium),
    ("opus", Class::Large),
    ("o1", Class::Large),
    ("o3", Class::Large),
    ("ultra", Class::Large),
    ("large", Class::Large),
];

fn family_of(hint: &str) -> Option<Class> {
    // Size words decide before family names: "gpt-4o-mini" is small, not medium.
    [Class::Small, Class::Large, Class::Medium]
        .into_iter()
        .find(|c| FAMILIES.iter().any(|(w, fc)| fc == c && hint.contains(w)))
}

/// What the request needs of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Tools in the request.
    pub tools: bool,
    /// Images in the messages.
    pub images: bool,
    /// Rough prompt tokens plus `maxTokens`.
    pub tokens: u64,
}

impl Needs {
    /// Reads the needs off a request.
    pub fn of(params: &CreateMessageParams) -> Needs {
        let mut images = false;
        let mut chars = params.system_prompt.as_ref().map_or(0, |s| s.len());
        for m in &params.messages {
            for c in m.content.as_slice() {
                match c {
                    Content::Image { .. } => images = true,
                    Content::Text { text, .. } => chars += text.len(),
                    _ => chars += 64,
                }
            }
        }
        Needs {
            tools: params.tools.is_some(),
            images,
            tokens: chars as u64 / 4 + params.max_tokens,
        }
    }
}

/// A routing decision and its reason (recorded in the audit log).
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The model chosen.
    pub model: ModelEntry,
    /// Why, in a sentence.
    pub reason: String,
}

/// Why no model could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The catalog has no model the host may use.
    #[error("no model is available (the catalog is empty or no provider is configured)")]
    Empty,
    /// No model can serve this request.
    #[error("no available model can serve this request: {0}")]
    Unservable(String),
}

/// Picks models from a catalog.
#[derive(Debug, Clone, Default)]
pub struct Router {
    catalog: Vec<ModelEntry>,
}

impl Router {
    /// A router over these models (only those whose provider is configured should be given).
    pub fn new(catalog: Vec<ModelEntry>) -> Router {
        Router { catalog }
    }

    /// The models.
    pub fn catalog(&self) -> &[ModelEntry] {
        &self.catalog
    }

    /// Chooses a model for a request.
    pub fn route(&self, params: &CreateMessageParams) -> Result<Route, RouteError> {
        if self.catalog.is_empty() {
            return Err(RouteError::Empty);
        }
        let needs = Needs::of(params);
        let fit: Vec<&ModelEntry> = self
            .catalog
            .iter()
            .filter(|m| {
                (!needs.tools || m.tools)
                    && (!needs.images || m.images)
                    && m.context >= needs.tokens
            })
            .collect();
        if fit.is_empty() {
            return Err(RouteError::Unservable(describe(&needs)));
        }
        let prefs = params.model_preferences.clone().unwrap_or_default();
        let weights = [
            prefs.cost_priority.unwrap_or(0.0),
            prefs.speed_priority.unwrap_or(0.0),
            prefs.intelligence_priority.unwrap_or(0.0),
        ];
        let hints: Vec<&str> = prefs
            .hints
            .iter()
            .flatten()
            .filter_map(|h| h.name.as_deref())
            .collect();
        let (model, reason) = pick(&fit, weights, &hints)?;
        let reason = format!("{reason}{}", self.alternatives(fit.len(), &needs));
        Ok(Route {
            model: model.clone(),
            reason,
        })
    }

    /// Why the other models were not in the running, when it matters.
    fn alternatives(&self, fit: usize, needs: &Needs) -> String {
        let total = self.catalog.len();
        if total == 1 {
            return " (the only model configured)".into();
        }
        match total - fit {
            0 => String::new(),
            1 => format!(
                " (1 other model cannot serve what it needs: {})",
                describe(needs)
            ),
            n => format!(
                " ({n} other models cannot serve what it needs: {})",
                describe(needs)
            ),
        }
    }
}

/// The model among `fit` for these hints and priorities, and why.
fn pick<'a>(
    fit: &[&'a ModelEntry],
    weights: [f64; 3],
    hints: &[&str],
) -> Result<(&'a ModelEntry, String), RouteError> {
    for hint in hints {
        let h = hint.to_ascii_lowercase();
        let direct: Vec<&ModelEntry> = fit
            .iter()
            .copied()
            .filter(|m| m.id.to_ascii_lowercase().contains(&h))
            .collect();
        if let Some(m) = best(&direct, weights, fit) {
            return Ok((m, format!("hint {hint:?} matches {}", m.spec())));
        }
        if let Some(class) = family_of(&h) {
            let same: Vec<&ModelEntry> = fit.iter().copied().filter(|m| m.class == class).collect();
            if let Some(m) = best(&same, weights, fit) {
                let why = format!(
                    "hint {hint:?} names the {class} class; {} is the best such model available",
                    m.spec()
                );
                return Ok((m, why));
            }
        }
    }
    let m = best(fit, weights, fit).ok_or(RouteError::Empty)?;
    let hinted = if hints.is_empty() {
        "no hints".to_owned()
    } else {
        format!("no available model matches the hints {hints:?}")
    };
    let reason = if weights.iter().all(|w| *w == 0.0) {
        format!(
            "{hinted} and no priorities given; {} is the default (balanced score)",
            m.spec()
        )
    } else {
        format!(
            "{hinted}; scored by priorities cost {:.2}, speed {:.2}, intelligence {:.2}: {} ranks first",
            weights[0],
            weights[1],
            weights[2],
            m.spec()
        )
    };
    Ok((m, reason))
}

fn describe(n: &Needs) -> String {
    let mut parts = Vec::new();
    if n.tools {
        parts.push("tool use".to_owned());
    }
    if n.images {
        parts.push("images".to_owned());
    }
    parts.push(format!("about {} tokens of context", n.tokens));
    parts.join(", ")
}

/// The best of `among` by the weighted score, normalised over `all` (ties: catalog order).
fn best<'a>(among: &[&'a ModelEntry], w: [f64; 3], all: &[&ModelEntry]) -> Option<&'a ModelEntry> {
    let max_price = all
        .iter()
        .map(|m| m.price_in + m.price_out)
        .fold(0.0, f64::max);
    let score = |m: &ModelEntry| {
        let cheap = if max_price > 0.0 {
            1.0 - (m.price_in + m.price_out) / max_price
        } else {
            1.0
        };
        if w.iter().all(|x| *x == 0.0) {
            // Balanced default.
            (cheap + m.speed + m.intelligence) / 3.0
        } else {
            w[0] * cheap + w[1] * m.speed + w[2] * m.intelligence
        }
    };
    let mut bestm: Option<(&ModelEntry, f64)> = None;
    for m in among {
        let s = score(m);
        if bestm.is_none_or(|(_, b)| s > b + 1e-9) {
            bestm = Some((m, s));
        }
    }
    bestm.map(|(m, _)| m)
}

/// The models the host knows out of the box. Prices are USD per million tokens as published
/// by the providers (check your own contract); scores are rough relative ranks.
pub fn default_catalog() -> Vec<ModelEntry> {
    let m = |provider: &str,
             id: &str,
             pin: f64,
             pout: f64,
             speed: f64,
             intel: f64,
             context: u64,
             tools: bool,
             images: bool,
             class: Class| ModelEntry {
        provider: provider.into(),
        id: id.into(),
        price_in: pin,
        price_out: pout,
        speed,
        intelligence: intel,
        context,
        tools,
        images,
        class,
    };
    vec![
        m(
            "local",
            "smollm2-135m-instruct",
            0.0,
            0.0,
            0.9,
            0.05,
            8192,
            false,
            false,
            Class::Small,
        ),
        m(
            "anthropic",
            "claude-3-5-haiku-latest",
            0.8,
            4.0,
            0.85,
            0.55,
            200_000,
            true,
            true,
            Class::Small,
        ),
        m(
            "anthropic",
            "claude-sonnet-4-5",
            3.0,
            15.0,
            0.6,
            0.85,
            200_000,
            true,
            true,
            Class::Medium,
        ),
        m(
            "anthropic",
            "claude-opus-4-1",
            15.0,
            75.0,
            0.35,
            0.95,
            200_000,
            true,
            true,
            Class::Large,
        ),
        m(
            "openai",
            "gpt-4o-mini",
            0.15,
            0.6,
            0.85,
            0.5,
            128_000,
            true,
            true,
            Class::Small,
        ),
        m(
            "openai",
            "gpt-4o",
            2.5,
            10.0,
            0.65,
            0.75,
            128_000,
            true,
            true,
            Class::Medium,
        ),
        m(
            "openai",
            "o1",
            15.0,
            60.0,
            0.2,
            0.95,
            200_000,
            true,
            true,
            Class::Large,
        ),
    ]
}

/// The catalog entry for `provider:id`: the built-in one when [`default_catalog`] knows the
/// model, else a neutral one (medium class, no prices, able to take tools and images).
pub fn catalog_entry(provider: &str, id: &str) -> ModelEntry {
    let known = default_catalog()
        .into_iter()
        .find(|m| m.provider == provider && m.id == id);
    known.unwrap_or(ModelEntry {
        provider: provider.into(),
        id: id.into(),
        price_in: 0.0,
        price_out: 0.0,
        speed: 0.5,
        intelligence: 0.5,
        context: 128_000,
        tools: true,
        images: true,
        class: Class::Medium,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_proto::sampling::{ModelHint, ModelPreferences, SamplingTool};
    use mcp_proto::SamplingMessage;

    fn req(hints: &[&str], prio: Option<(f64, f64, f64)>) -> CreateMessageParams {
        let mut p = CreateMessageParams::new(vec![SamplingMessage::user("hello")], 100);
        let mut prefs = ModelPreferences::default();
        if !hints.is_empty() {
            prefs.hints = Some(
                hints
                    .iter()
                    .map(|h| ModelHint {
                        name: Some((*h).into()),
                    })
                    .collect(),
            );
        }
        if let Some((c, s, i)) = prio {
            (
                prefs.cost_priority,
                prefs.speed_priority,
                prefs.intelligence_priority,
            ) = (Some(c), Some(s), Some(i));
        }
        p.model_preferences = Some(prefs);
        p
    }

    fn only(providers: &[&str]) -> Router {
        Router::new(
            default_catalog()
                .into_iter()
                .filter(|m| providers.contains(&m.provider.as_str()))
                .collect(),
        )
    }

    /// (case, providers available, request, expected model, words the reason must contain)
    #[test]
    fn routing_table() {
        let all = ["local", "openai", "anthropic"];
        let mut with_tools = req(&[], None);
        with_tools.tools = Some(vec![SamplingTool {
            name: "t".into(),
            description: None,
            input_schema: serde_json::json!({"type":"object"}),
            extra: Default::default(),
        }]);
        let mut with_image = req(&["smol"], None);
        with_image.messages[0].content = Content::Image {
            data: "aGk=".into(),
            mime_type: "image/png".into(),
            annotations: None,
            meta: None,
        }
        .into();
        let mut huge = req(&[], None);
        huge.max_tokens = 150_000;
        let cases: Vec<(&str, &[&str], CreateMessageParams, &str, &str)> = vec![
            (
                "exact hint",
                &all,
                req(&["claude-sonnet-4-5"], None),
                "anthropic:claude-sonnet-4-5",
                "matches",
            ),
            (
                "substring hint",
                &all,
                req(&["sonnet"], None),
                "anthropic:claude-sonnet-4-5",
                "matches",
            ),
            (
                "first matching hint wins",
                &all,
                req(&["nonexistent", "gpt-4o-mini", "opus"], None),
                "openai:gpt-4o-mini",
                "gpt-4o-mini",
            ),
            (
                "haiku hint without Anthropic picks another small model",
                &["openai"],
                req(&["claude-3-haiku"], Some((0.0, 1.0, 0.0))),
                "openai:gpt-4o-mini",
                "small class",
            ),
            (
                "opus hint without Anthropic picks a large model",
                &["openai", "local"],
                req(&["claude-opus"], None),
                "openai:o1",
                "large class",
            ),
            (
                "sonnet hint on local only falls to the priorities",
                &["local"],
                req(&["sonnet"], None),
                "local:smollm2-135m-instruct",
                "default",
            ),
            (
                "cost first",
                &all,
                req(&[], Some((1.0, 0.0, 0.0))),
                "local:smollm2-135m-instruct",
                "cost 1.00",
            ),
            (
                "intelligence first",
                &all,
                req(&[], Some((0.0, 0.0, 1.0))),
                "anthropic:claude-opus-4-1",
                "intelligence 1.00",
            ),
            (
                "speed and intelligence, Anthropic only",
                &["anthropic"],
                req(&[], Some((0.0, 0.5, 0.5))),
                "anthropic:claude-sonnet-4-5",
                "priorities",
            ),
            (
                "tools exclude the local model",
                &all,
                {
                    let mut w = with_tools.clone();
                    w.model_preferences = req(&[], Some((1.0, 0.0, 0.0))).model_preferences;
                    w
                },
                "openai:gpt-4o-mini",
                "cost",
            ),
            (
                "images exclude the local model even when hinted",
                &all,
                with_image,
                "anthropic:claude-3-5-haiku-latest",
                "small class",
            ),
            (
                "a long context excludes 128k models",
                &["openai"],
                huge,
                "openai:o1",
                "default",
            ),
        ];
        assert!(cases.len() >= 10);
        for (name, providers, params, want, why) in cases {
            let route = only(providers)
                .route(&params)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(route.model.spec(), want, "{name}: {}", route.reason);
            assert!(
                route.reason.contains(why),
                "{name}: reason {:?} lacks {why:?}",
                route.reason
            );
        }
    }

    #[test]
    fn reasons_say_why_other_models_lost() {
        let r = only(&["local"]).route(&req(&[], None)).unwrap();
        assert!(
            r.reason.contains("no hints and no priorities"),
            "{}",
            r.reason
        );
        assert!(
            r.reason.ends_with("(the only model configured)"),
            "{}",
            r.reason
        );
        let mut with_tools = req(&["zzz"], None);
        with_tools.tools = Some(vec![]);
        let r = only(&["local", "openai"]).route(&with_tools).unwrap();
        assert!(
            r.reason
                .contains("no available model matches the hints [\"zzz\"]"),
            "{}",
            r.reason
        );
        assert!(
            r.reason
                .contains("1 other model cannot serve what it needs: tool use"),
            "{}",
            r.reason
        );
        let r = only(&["local", "openai"])
            .route(&req(&["smol"], None))
            .unwrap();
        assert!(!r.reason.contains("cannot serve"), "{}", r.reason);
    }

    #[test]
    fn nothing_fits() {
        let mut p = req(&[], None);
        p.tools = Some(vec![]);
        let e = only(&["local"]).route(&p).unwrap_err();
        assert!(e.to_string().contains("tool use"), "{e}");
        assert_eq!(Router::new(vec![]).route(&p), Err(RouteError::Empty));
    }
}
