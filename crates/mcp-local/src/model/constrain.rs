//! Answers that must match a JSON Schema (the typed-output extension's `schema`): decoding
//! constrained by a grammar compiled from the schema with llguidance. Before each token the
//! grammar gives the set of tokens that keep the text a prefix of some valid answer; the
//! model's choice is made among those only, the end of the turn is allowed only once the
//! answer is complete, and tokens the grammar forces (`{"`, a property name) are fed without
//! asking the model. Whitespace is fixed (`", "`, `": "`, no newlines), so the model cannot
//! spend its budget on indentation.
//!
//! A small model given room repeats itself until its budget runs out, so the grammar is
//! tighter than the schema (every answer it allows still validates): an object with declared
//! properties gets no others, and a free string at most [`MAX_FREE_STRING`] characters.

use super::{short, GenerateOptions, Generation, LocalModel, Stop};
use crate::tokenizer::Tokenizer;
use crate::LocalError;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};
use llguidance::{JsonCompileOptions, Matcher, ParserFactory};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The longest string the grammar allows where the schema sets no bound (characters).
pub const MAX_FREE_STRING: u64 = 300;

/// Narrows `schema` to answers a small model can finish (see the module docs). Subschemas of
/// `allOf` keep their extra properties, which their siblings may declare.
fn tighten(schema: &mut Value, in_all_of: bool) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let has_props = obj.get("properties").is_some_and(Value::is_object);
    let open = obj
        .get("additionalProperties")
        .is_none_or(|a| a == &Value::Bool(true));
    if has_props && open && !in_all_of && !obj.contains_key("patternProperties") {
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
    let free_string = obj.get("type").and_then(Value::as_str) == Some("string")
        && !["maxLength", "enum", "const", "pattern", "format"]
            .iter()
            .any(|k| obj.contains_key(*k));
    if free_string {
        obj.insert("maxLength".into(), Value::from(MAX_FREE_STRING));
    }
    for (key, value) in obj.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" | "definitions" => {
                if let Some(map) = value.as_object_mut() {
                    map.values_mut().for_each(|v| tighten(v, false));
                }
            }
            // Not `not`: narrowing what it excludes would widen the schema.
            "items" | "additionalProperties" => tighten(value, false),
            "anyOf" | "oneOf" | "prefixItems" | "allOf" => {
                if let Some(list) = value.as_array_mut() {
                    let all = key == "allOf";
                    list.iter_mut().for_each(|v| tighten(v, all));
                }
            }
            _ => {}
        }
    }
}

/// The compiled vocabulary, shared by every schema: built once per model, on first use.
pub(crate) struct Grammars {
    factory: ParserFactory,
}

/// The vocabulary as llguidance sees it: the token bytes, special tokens marked so that no
/// text can produce them, and our own BPE for the text it needs tokenised.
struct Vocabulary {
    trie: TokTrie,
    tokenizer: Tokenizer,
}

impl TokenizerEnv for Vocabulary {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        match std::str::from_utf8(s) {
            Ok(text) => self.tokenizer.encode(text),
            Err(_) => self.trie.greedy_tokenize(s),
        }
    }

    fn tokenize_is_canonical(&self) -> bool {
        true
    }
}

impl Grammars {
    /// Compiles the vocabulary. `end_tokens` end the answer (the first is the main one).
    pub(crate) fn new(tokenizer: &Tokenizer, end_tokens: &[u32]) -> Result<Grammars, String> {
        let first_end = *end_tokens.first().ok_or("the model has no end token")?;
        let words: Vec<Vec<u8>> = (0..tokenizer.vocab_size() as u32)
            .map(|id| {
                let bytes = tokenizer.token_bytes(id);
                if tokenizer.is_special(id) {
                    let mut marked = vec![TokTrie::SPECIAL_TOKEN_MARKER];
                    marked.extend_from_slice(bytes);
                    marked
                } else {
                    bytes.to_vec()
                }
            })
            .collect();
        let vocab_size = u32::try_from(words.len()).map_err(|_| "the vocabulary is too large")?;
        let info = TokRxInfo::new(vocab_size, first_end);
        let trie = TokTrie::from(&info, &words).with_eos_tokens(end_tokens);
        let env: TokEnv = Arc::new(Vocabulary {
            trie,
            tokenizer: tokenizer.clone(),
        });
        let mut factory = ParserFactory::new_simple(&env).map_err(|e| e.to_string())?;
        // Grammar warnings go to our logs, not to stderr.
        factory.set_stderr_log_level(0);
        Ok(Grammars { factory })
    }

    /// A fresh matcher for answers that validate against `schema`.
    pub(crate) fn matcher(&self, schema: &Value) -> Result<Matcher, String> {
        let mut schema = schema.clone();
        if !schema.is_object() {
            return Err("the schema is not a JSON object".into());
        }
        tighten(&mut schema, false);
        JsonCompileOptions {
            item_separator: ", ".into(),
            key_separator: ": ".into(),
            whitespace_flexible: false,
            ..JsonCompileOptions::default()
        }
        .apply_to(&mut schema);
        let grammar = TopLevelGrammar::from_json_schema(schema);
        let parser = self
            .factory
            .create_parser(grammar)
            .map_err(|e| short(&e.to_string()))?;
        let matcher = Matcher::new(Ok(parser));
        match matcher.get_error() {
            Some(e) => Err(short(&e)),
            None => Ok(matcher),
        }
    }
}

/// Why constrained decoding could not give an answer.
fn grammar_err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Generation(format!(
        "the answer's grammar failed: {}",
        short(&e.to_string())
    ))
}

impl LocalModel {
    /// The compiled vocabulary (built on first use; about a tenth of a second).
    fn grammars(&self) -> Result<&Grammars, LocalError> {
        let inner = &*self.inner;
        inner
            .grammars
            .get_or_init(|| Grammars::new(&inner.tokenizer, &inner.end_tokens))
            .as_ref()
            .map_err(|e| LocalError::Generation(format!("cannot compile the vocabulary: {e}")))
    }

    /// Whether `schema` can constrain an answer; `Err` says why not (an unsupported keyword,
    /// a schema no value matches).
    pub fn check_schema(&self, schema: &Value) -> Result<(), String> {
        self.grammars()
            .map_err(|e| e.to_string())?
            .matcher(schema)
            .map(drop)
    }

    /// Generates an answer that validates against `schema` (blocking; CPU-bound). Stop
    /// sequences do not apply (they could cut the JSON). If `max_tokens` runs out first the
    /// text is not a complete answer and [`Generation::stop`] is [`Stop::MaxTokens`].
    pub fn generate_json(
        &self,
        prompt: &[u32],
        schema: &Value,
        opts: &GenerateOptions,
        cancel: &AtomicBool,
    ) -> Result<Generation, LocalError> {
        let mut matcher = self
            .grammars()?
            .matcher(schema)
            .map_err(|e| LocalError::Schema(e.to_string()))?;
        let inner = &*self.inner;
        if prompt.is_empty() || prompt.len() >= inner.context_length {
            return Err(LocalError::ContextFull {
                prompt_tokens: prompt.len(),
                context_length: inner.context_length,
            });
        }
        let budget = opts.max_tokens.min(inner.context_length - prompt.len());
        let sampling = match opts.temperature {
            Some(t) if t > 0.0 => Sampling::TopP {
                p: opts.top_p,
                temperature: t,
            },
            _ => Sampling::ArgMax,
        };
        let mut sampler = LogitsProcessor::from_sampling(opts.seed, sampling);
        let gen_err = |e: candle_core::Error| LocalError::Generation(short(&e.to_string()));
        let mut session = self.session();
        let start = Instant::now();
        let mut prompt_time = None;
        let mut pending: Vec<u32> = prompt.to_vec();
        let mut out: Vec<u32> = Vec::new();
        let mut reused_tokens = None;
        let stop = loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(LocalError::Cancelled);
            }
            // The prompt (its shared prefix reused), then each chosen token with those the
            // grammar forces after it, in one batch.
            let logits = session.feed(&pending)?;
            reused_tokens.get_or_insert_with(|| session.reused());
            prompt_time.get_or_insert_with(|| start.elapsed());
            if out.len() >= budget {
                break Stop::MaxTokens;
            }
            let mask = matcher.compute_mask().map_err(grammar_err)?;
            let mut masked = vec![f32::NEG_INFINITY; logits.len()];
            let mut any = false;
            mask.iter_set_entries(|i| {
                if let (Some(m), Some(&l)) = (masked.get_mut(i), logits.get(i)) {
                    *m = l;
                    any = true;
                }
            });
            if !any {
                return Err(grammar_err("no token can continue the answer"));
            }
            let token = Tensor::new(masked.as_slice(), &Device::Cpu)
                .and_then(|t| sampler.sample(&t))
                .map_err(gen_err)?;
            if !mask.is_allowed(token) {
                return Err(grammar_err("the sampler chose a token the grammar forbids"));
            }
            if inner.end_tokens.contains(&token) {
                break Stop::EndTurn;
            }
            matcher.consume_token(token).map_err(grammar_err)?;
            out.push(token);
            pending.clear();
            pending.push(token);
            if matcher.is_stopped() {
                break Stop::EndTurn;
            }
            // Tokens the grammar forces, fed in one batch.
            let forced = matcher.consume_ff_tokens();
            let room = budget.saturating_sub(out.len());
            if forced.len() > room {
                out.extend_from_slice(&forced[..room]);
                break Stop::MaxTokens;
            }
            out.extend_from_slice(&forced);
            pending.extend_from_slice(&forced);
            if matcher.is_stopped() {
                break Stop::EndTurn;
            }
        };
        drop(session);
        let elapsed = start.elapsed();
        let prompt_time = prompt_time.unwrap_or(elapsed);
        let mut bytes = Vec::new();
        for &t in &out {
            bytes.extend_from_slice(inner.tokenizer.token_bytes(t));
        }
        let generated_tokens = out.len() + usize::from(stop == Stop::EndTurn);
        Ok(Generation {
            text: super::utf8_text(bytes),
            stop,
            prompt_tokens: prompt.len(),
            generated_tokens,
            reused_tokens: reused_tokens.unwrap_or(0),
            prompt_time,
            generation_time: elapsed.saturating_sub(prompt_time),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tightening_only_narrows() {
        let mut s = json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string", "maxLength": 3}},
            "$defs": {"x": {"type": "object", "properties": {"c": {"type": "integer"}},
                            "additionalProperties": true}},
            "allOf": [{"properties": {"d": {"type": "string"}}}],
            "not": {"type": "object", "properties": {"e": {}}}
        });
        tighten(&mut s, false);
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["a"]["maxLength"], json!(MAX_FREE_STRING));
        assert_eq!(s["properties"]["b"]["maxLength"], json!(3));
        assert_eq!(s["$defs"]["x"]["additionalProperties"], json!(false));
        assert!(s["allOf"][0].get("additionalProperties").is_none());
        assert_eq!(
            s["allOf"][0]["properties"]["d"]["maxLength"],
            json!(MAX_FREE_STRING)
        );
        assert!(s["not"].get("additionalProperties").is_none());
    }
}
