//! The model itself: a short classification, limits, stop sequences, refusals,
//! cancellation. Greedy decoding (temperature 0) keeps the answers deterministic.

mod common;

use mcp_llm::{Provider, ProviderError};
use mcp_local::{GenerateOptions, LocalError, Stop, MODEL_ID, PROVIDER_NAME};
use mcp_proto::content::{Content, OneOrMany};
use mcp_proto::sampling::{
    CreateMessageParams, SamplingMessage, SamplingTool, StopReason, ToolChoice, ToolChoiceMode,
};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const LABELS: [&str; 4] = ["products", "users", "orders", "docs"];
const CLASSIFY: &str =
    "You classify search queries. Answer with exactly one word: products, users, orders or docs.";

fn request(system: Option<&str>, user: &str, max_tokens: u64) -> CreateMessageParams {
    let mut p = CreateMessageParams::new(vec![SamplingMessage::user(user)], max_tokens);
    p.system_prompt = system.map(str::to_string);
    p.temperature = Some(0.0);
    p
}

#[tokio::test]
async fn answers_a_classification_prompt() {
    let model = common::model();
    assert_eq!(model.name(), PROVIDER_NAME);
    // A model this small answers with a label only once its reply is started for it (asked
    // plainly it chats: "You can use the following"), so the reply is prefilled up to the
    // opening quote; the model continues it with the label.
    let mut params = request(Some(CLASSIFY), "Query: red running shoes size 42", 5);
    params
        .messages
        .push(SamplingMessage::assistant("The category is \""));
    let c = model.complete(MODEL_ID, &params).await.unwrap();
    let text = c.result.text();
    eprintln!("answer: {text:?} ({:?})", c.result.stop_reason);
    let label = text.split('"').next().unwrap_or_default().trim();
    assert!(
        LABELS.contains(&label),
        "the answer {text:?} does not start with one of {LABELS:?}"
    );
    assert_eq!(c.result.model, MODEL_ID);
    assert_eq!(
        c.usage.input_tokens,
        model.chat_prompt(&params).unwrap().len() as u64
    );
    assert!((1..=5).contains(&c.usage.output_tokens), "{:?}", c.usage);
    match c.result.stop_reason {
        Some(StopReason::MaxTokens) => assert_eq!(c.usage.output_tokens, 5),
        Some(StopReason::EndTurn) => {}
        other => panic!("unexpected stop reason {other:?}"),
    }
    // Greedy is deterministic.
    let again = model.complete(MODEL_ID, &params).await.unwrap();
    assert_eq!(again.result.text(), text);
}

#[tokio::test]
async fn max_tokens_is_a_hard_limit() {
    let model = common::model();
    let c = model
        .complete(MODEL_ID, &request(None, "Write a poem about the sea.", 1))
        .await
        .unwrap();
    assert_eq!(c.usage.output_tokens, 1);
    assert_eq!(c.result.stop_reason, Some(StopReason::MaxTokens));
    // Greedy: the one token is how the longer answer starts.
    let first = c.result.text();
    let longer = model
        .complete(MODEL_ID, &request(None, "Write a poem about the sea.", 8))
        .await
        .unwrap();
    assert!(
        !first.is_empty() && longer.result.text().starts_with(&first),
        "{first:?} does not start {:?}",
        longer.result.text()
    );
}

#[test]
fn stops_at_a_stop_sequence() {
    let model = common::model();
    let never = AtomicBool::new(false);
    let prompt = model
        .chat_prompt(&request(
            None,
            "Count from 1 to 20, separated by commas.",
            12,
        ))
        .unwrap();
    let free = model
        .generate(&prompt, &GenerateOptions::greedy(12), &never)
        .unwrap();
    eprintln!("without stop sequences: {:?} ({:?})", free.text, free.stop);
    // A stop sequence from the middle of what the model says anyway.
    let chars: Vec<char> = free.text.chars().collect();
    assert!(chars.len() >= 6, "too short to test: {:?}", free.text);
    let stop: String = chars[chars.len() / 2..chars.len() / 2 + 2].iter().collect();
    let at = free.text.find(&stop).unwrap();

    let mut opts = GenerateOptions::greedy(12);
    opts.stop_sequences = vec!["never appears \u{1f984}".into(), stop.clone()];
    let cut = model.generate(&prompt, &opts, &never).unwrap();
    assert_eq!(cut.stop, Stop::StopSequence(stop.clone()));
    assert_eq!(cut.text, free.text[..at]);
    assert!(cut.generated_tokens <= free.generated_tokens);

    // The same through the provider: stopReason stopSequence.
    let mut params = request(None, "Count from 1 to 20, separated by commas.", 12);
    params.stop_sequences = Some(vec![stop]);
    let never = AtomicBool::new(false);
    let c = model.complete_blocking(&params, &never).unwrap();
    assert_eq!(c.result.stop_reason, Some(StopReason::StopSequence));
    assert_eq!(c.result.text(), free.text[..at]);
}

#[tokio::test]
async fn refuses_what_it_cannot_do() {
    let model = common::model();
    let unsupported = |r: Result<_, ProviderError>| match r {
        Err(ProviderError::Unsupported(m)) => m,
        other => panic!("expected Unsupported, got {other:?}"),
    };

    let mut image = request(None, "What is in this picture?", 5);
    image.messages[0].content = OneOrMany::Many(vec![
        Content::text("What is this?"),
        Content::Image {
            data: "iVBORw0KGgo=".into(),
            mime_type: "image/png".into(),
            annotations: None,
            meta: None,
        },
    ]);
    let m = unsupported(model.complete(MODEL_ID, &image).await);
    assert!(m.contains("text only") && m.contains("image"), "{m}");

    let mut tools = request(None, "What is the weather in Paris?", 5);
    tools.tools = Some(vec![SamplingTool {
        name: "weather".into(),
        description: None,
        input_schema: serde_json::json!({"type": "object"}),
        extra: Default::default(),
    }]);
    let m = unsupported(model.complete(MODEL_ID, &tools).await);
    assert!(m.contains("cannot call tools"), "{m}");
    // With toolChoice none the tools are not needed: the prompt builds, as without them.
    tools.tool_choice = Some(ToolChoice {
        mode: Some(ToolChoiceMode::None),
    });
    let without = request(None, "What is the weather in Paris?", 5);
    assert_eq!(
        model.chat_prompt(&tools).unwrap(),
        model.chat_prompt(&without).unwrap()
    );

    let m = unsupported(model.complete("gpt-4o", &request(None, "hi", 5)).await);
    assert!(m.contains(MODEL_ID), "{m}");

    // A prompt beyond the context window is refused before any work.
    let long = "word ".repeat(model.context_length() + 10);
    let start = Instant::now();
    let m = unsupported(model.complete(MODEL_ID, &request(None, &long, 5)).await);
    assert!(m.contains("context window"), "{m}");
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn prompt_follows_the_chat_template() {
    let model = common::model();
    let t = model.tokenizer();
    let decode = |p: &CreateMessageParams| t.decode(&model.chat_prompt(p).unwrap());
    assert_eq!(
        decode(&request(Some("Be brief."), "Hi", 5)),
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    // No system prompt: the template's default.
    assert!(decode(&request(None, "Hi", 5)).starts_with(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    ));
    // A last assistant message is continued (prefill).
    let mut p = request(Some("S"), "Q", 5);
    p.messages.push(SamplingMessage::assistant("The answer is"));
    assert!(decode(&p).ends_with("<|im_start|>assistant\nThe answer is"));
    // Markers inside a message are text, not template tokens.
    let ids = model
        .chat_prompt(&request(Some("S"), "x<|im_end|>y", 5))
        .unwrap();
    assert_eq!(
        ids.iter().filter(|&&i| i == 2).count(),
        2,
        "only the template's two ends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_stops_generation() {
    // Its own instance, so that `busy` reflects this test's generation only.
    let model = &mcp_local::LocalModel::load(&common::model_path()).unwrap();
    // Already cancelled: nothing runs.
    let prompt = model.chat_prompt(&request(None, "Hi", 5)).unwrap();
    let err = model
        .generate(&prompt, &GenerateOptions::greedy(5), &AtomicBool::new(true))
        .unwrap_err();
    assert_eq!(err, LocalError::Cancelled);

    // A long generation, abandoned once it runs.
    let mut busy = model.watch_busy();
    assert!(!*busy.borrow(), "nothing runs yet");
    let mut params = request(Some("Be creative."), "Tell a long story.", 4000);
    params.temperature = Some(0.8);
    let mut fut = model.complete(MODEL_ID, &params);
    tokio::select! {
        r = &mut fut => panic!("finished before it was dropped: {r:?}"),
        taken = busy.wait_for(|b| *b) => {
            taken.expect("the model is alive");
        }
    }
    drop(fut);
    let start = Instant::now();
    // 4000 tokens take minutes; stopping before the next token takes milliseconds.
    tokio::time::timeout(Duration::from_secs(120), busy.wait_for(|b| !*b))
        .await
        .expect("generation still running 120 s after its future was dropped")
        .expect("the model is alive");
    eprintln!("stopped {} ms after the drop", start.elapsed().as_millis());
}
