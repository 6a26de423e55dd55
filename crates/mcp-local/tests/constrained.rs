//! Typed answers from the embedded model: with a JSON Schema in the typed-output extension,
//! the reply is JSON that validates, whatever the schema (generated here) and the prompt;
//! with choices, the reply is one of them.

mod common;

use mcp_llm::Provider;
use mcp_local::{GenerateOptions, LocalError, Stop, MODEL_ID};
use mcp_proto::ext::ExpectedOutput;
use mcp_proto::sampling::{CreateMessageParams, SamplingMessage, StopReason};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::sync::atomic::AtomicBool;

const PROMPTS: [&str; 5] = [
    "Describe the red running shoes the shop sells.",
    "Triage this ticket: the checkout page returns error 500 since this morning.",
    "Summarise: orders ship within two business days; delivery takes three to five days.",
    "Give me a short list of camping gear for two people.",
    "hello",
];

const KEYS: [&str; 8] = [
    "name", "category", "priority", "items", "reason", "count", "ok", "detail",
];

const WORDS: [&str; 6] = ["products", "users", "orders", "docs", "P1", "low risk"];

/// Values whose JSON has a bounded length (strings with a maximum length, an enum or a
/// pattern; integers in a range; arrays with a maximum size), and free strings.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "boolean"})),
        (-50i64..50, 1i64..1000)
            .prop_map(|(lo, span)| json!({"type": "integer", "minimum": lo, "maximum": lo + span})),
        (1u32..40).prop_map(|n| json!({"type": "string", "maxLength": n})),
        (1u32..5, 5u32..30)
            .prop_map(|(lo, hi)| json!({"type": "string", "minLength": lo, "maxLength": hi})),
        proptest::sample::subsequence(WORDS.to_vec(), 1..5)
            .prop_map(|w| json!({"type": "string", "enum": w})),
        Just(json!({"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"})),
        Just(json!({"type": "null"})),
        Just(json!({"const": "fixed"})),
        // Unbounded: the grammar bounds it (MAX_FREE_STRING).
        Just(json!({"type": "string"})),
    ]
}

fn schema() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            (
                proptest::collection::vec(inner.clone(), 1..4),
                proptest::sample::subsequence(KEYS.to_vec(), 3),
                any::<bool>(),
            )
                .prop_map(|(values, keys, strict)| {
                    let props: serde_json::Map<String, Value> = keys
                        .iter()
                        .zip(values)
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                    let required: Vec<&String> = props.keys().collect();
                    json!({"type": "object", "properties": props, "required": required,
                           "additionalProperties": !strict})
                }),
            (inner.clone(), 0u32..2, 1u32..4).prop_map(
                |(items, min, extra)| json!({"type": "array", "items": items, "minItems": min, "maxItems": min + extra})
            ),
            (inner.clone(), inner).prop_map(|(a, b)| json!({"anyOf": [a, b]})),
        ]
    })
}

fn validates(schema: &Value, text: &str) -> Result<(), String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text:?}"))?;
    let validator = jsonschema::validator_for(schema).map_err(|e| format!("bad schema: {e}"))?;
    let first = validator.iter_errors(&value).next().map(|e| e.to_string());
    match first {
        Some(e) => Err(format!("{text} does not validate: {e}")),
        None => Ok(()),
    }
}

#[test]
fn json_answers_always_validate() {
    let model = common::model();
    let mut runner = TestRunner::new(Config {
        cases: 32,
        // Each case runs the model: report the first failure as it is.
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    });
    let cases = (schema(), 0..PROMPTS.len(), any::<u64>(), any::<bool>());
    runner
        .run(&cases, |(schema, prompt, seed, sampled)| {
            let system =
                format!("Answer with JSON that matches this schema: {schema}. Only the JSON.",);
            let mut p = CreateMessageParams::new(vec![SamplingMessage::user(PROMPTS[prompt])], 400);
            p.system_prompt = Some(system);
            let tokens = model
                .chat_prompt(&p)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let opts = GenerateOptions {
                temperature: sampled.then_some(1.0),
                seed,
                ..GenerateOptions::greedy(400)
            };
            let g = model
                .generate_json(&tokens, &schema, &opts, &AtomicBool::new(false))
                .map_err(|e| TestCaseError::fail(format!("{schema}: {e}")))?;
            eprintln!("{schema} -> {} ({} tokens)", g.text, g.generated_tokens);
            // A sampled answer may spend the whole budget inside a free string (digits are a
            // token each): then it is cut, honestly reported as such; otherwise it is whole.
            if g.stop == Stop::MaxTokens {
                prop_assert_eq!(g.generated_tokens, 400, "{} -> {:?}", schema, g.text);
                return Ok(());
            }
            prop_assert_eq!(&g.stop, &Stop::EndTurn, "{} -> {:?}", schema, g.text);
            validates(&schema, &g.text).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}

/// Through the provider: the schema rides in the request's `_meta`, the reply is its JSON.
#[tokio::test]
async fn the_provider_answers_a_typed_request_with_valid_json() {
    let model = common::model();
    let schema = json!({
        "type": "object",
        "properties": {
            "priority": {"type": "string", "enum": ["P1", "P2", "P3", "P4"]},
            "category": {"type": "string", "enum": ["billing", "bug", "account", "other"]},
            "rationale": {"type": "string", "maxLength": 120}
        },
        "required": ["priority", "category", "rationale"],
        "additionalProperties": false
    });
    let mut p = CreateMessageParams::new(
        vec![SamplingMessage::user(
            "Ticket: I was charged twice for order 10421, please refund one payment.",
        )],
        200,
    );
    p.system_prompt = Some("You triage support tickets. Answer in JSON.".into());
    ExpectedOutput::Schema(schema.clone()).write_to(&mut p.meta);
    let c = model.complete(MODEL_ID, &p).await.unwrap();
    assert_eq!(c.result.stop_reason, Some(StopReason::EndTurn));
    let text = c.result.content.as_slice()[0]
        .as_text()
        .unwrap()
        .to_string();
    validates(&schema, &text).unwrap();
    assert!(c.usage.output_tokens > 0);
}

/// A budget too small for any complete answer ends with max tokens, never with a text
/// claimed complete.
#[test]
fn a_short_budget_says_max_tokens() {
    let model = common::model();
    let schema = json!({"type": "object", "properties": {"detail": {"type": "string", "minLength": 30, "maxLength": 40}}, "required": ["detail"]});
    let p = CreateMessageParams::new(vec![SamplingMessage::user("Say something.")], 5);
    let tokens = model.chat_prompt(&p).unwrap();
    let g = model
        .generate_json(
            &tokens,
            &schema,
            &GenerateOptions::greedy(5),
            &AtomicBool::new(false),
        )
        .unwrap();
    assert_eq!(g.stop, Stop::MaxTokens);
    assert!(g.generated_tokens <= 5, "{g:?}");
    assert!(g.text.starts_with("{\"detail\": \""), "{:?}", g.text);
}

/// A schema no value matches is refused with a reason; the provider then answers freely.
#[test]
fn an_unsatisfiable_schema_is_refused_clearly() {
    let model = common::model();
    let schema = json!({"type": "integer", "minimum": 5, "maximum": 1});
    let p = CreateMessageParams::new(vec![SamplingMessage::user("A number.")], 5);
    let tokens = model.chat_prompt(&p).unwrap();
    let err = model
        .generate_json(
            &tokens,
            &schema,
            &GenerateOptions::greedy(5),
            &AtomicBool::new(false),
        )
        .unwrap_err();
    assert!(matches!(err, LocalError::Schema(_)), "{err}");
    assert!(model.check_schema(&schema).is_err());
    assert!(model.check_schema(&json!({"type": "string"})).is_ok());
}
