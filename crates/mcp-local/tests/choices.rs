//! Answers that must be one of a list of choices: decided by the request's worked examples
//! when every choice has enough of them, else by the first token of each choice. Either way
//! the reply is exactly one of the choices.

mod common;

use mcp_llm::Provider;
use mcp_local::MODEL_ID;
use mcp_proto::ext::ExpectedOutput;
use mcp_proto::sampling::{CreateMessageParams, SamplingMessage};

/// Labels that say nothing of their own: only the examples tell them apart.
const CHOICES: [&str; 2] = ["kiwi", "plum"];

fn request(examples: &[(&str, &str)], input: &str) -> CreateMessageParams {
    let mut messages = Vec::new();
    for (text, label) in examples {
        messages.push(SamplingMessage::user(format!("Input: {text}")));
        messages.push(SamplingMessage::assistant(*label));
    }
    messages.push(SamplingMessage::user(format!("Input: {input}")));
    let mut p = CreateMessageParams::new(messages, 4);
    p.system_prompt = Some("Label each input. Answer with exactly one label.".into());
    p.temperature = Some(0.0);
    ExpectedOutput::Choices(CHOICES.iter().map(|c| c.to_string()).collect()).write_to(&mut p.meta);
    p
}

async fn answer(p: &CreateMessageParams) -> (String, u64) {
    let c = common::model().complete(MODEL_ID, p).await.unwrap();
    let text = c.result.content.as_slice()[0]
        .as_text()
        .unwrap()
        .to_string();
    (text, c.usage.input_tokens)
}

const EXAMPLES: [(&str, &str); 8] = [
    ("12", "kiwi"),
    ("red", "plum"),
    ("47", "kiwi"),
    ("blue", "plum"),
    ("305", "kiwi"),
    ("green", "plum"),
    ("8", "kiwi"),
    ("yellow", "plum"),
];

#[tokio::test]
async fn worked_examples_decide_the_choice() {
    for (input, want) in [
        ("purple", "plum"),
        ("63", "kiwi"),
        ("orange", "plum"),
        ("1999", "kiwi"),
    ] {
        let p = request(&EXAMPLES, input);
        let (got, input_tokens) = answer(&p).await;
        assert_eq!(got, want, "{input:?}");
        // Each choice's own prompt was read, not the chat prompt.
        let chat = common::model().chat_prompt(&p).unwrap().len() as u64;
        assert_ne!(input_tokens, chat);
    }
}

#[tokio::test]
async fn too_few_examples_leave_it_to_the_first_token() {
    // One example each: the choice comes from the chat prompt's next token.
    let p = request(&EXAMPLES[..2], "purple");
    let (got, input_tokens) = answer(&p).await;
    assert!(CHOICES.contains(&got.as_str()), "{got:?}");
    assert_eq!(
        input_tokens,
        common::model().chat_prompt(&p).unwrap().len() as u64
    );
    // Turned off, the same request with every example goes the same way.
    let model = mcp_local::LocalModel::load(&common::model_path()).unwrap();
    model.set_choices_by_example(false);
    let p = request(&EXAMPLES, "purple");
    let c = model.complete(MODEL_ID, &p).await.unwrap();
    assert_eq!(
        c.usage.input_tokens,
        model.chat_prompt(&p).unwrap().len() as u64
    );
}
