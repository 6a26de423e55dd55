//! One question to the local model: `cargo run --release -p mcp-local --example chat -- \
//! [--system TEXT] [--max N] [--temperature T] QUESTION`.

use mcp_llm::Provider;
use mcp_local::{LocalModel, MODEL_ID};
use mcp_proto::sampling::{CreateMessageParams, SamplingMessage};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut system, mut max, mut temperature, mut question) = (None, 128u64, None, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--system" => system = args.next(),
            "--max" => max = args.next().and_then(|v| v.parse().ok()).unwrap_or(max),
            "--temperature" => temperature = args.next().and_then(|v| v.parse().ok()),
            _ => question.push(a),
        }
    }
    let model = LocalModel::load_installed().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    eprintln!("loaded in {} ms", model.load_time().as_millis());
    let mut params = CreateMessageParams::new(vec![SamplingMessage::user(question.join(" "))], max);
    params.system_prompt = system;
    params.temperature = temperature;
    let start = Instant::now();
    match model.complete(MODEL_ID, &params).await {
        Ok(c) => {
            println!("{}", c.result.text());
            eprintln!(
                "[{:?}, {} prompt + {} generated tokens, {} ms]",
                c.result.stop_reason.unwrap(),
                c.usage.input_tokens,
                c.usage.output_tokens,
                start.elapsed().as_millis()
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
