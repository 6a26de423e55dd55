//! Load time and generation speed of the local model, as one JSON line.
//!
//! `cargo bench -p mcp-local`: a 64-token greedy generation. Run without `--bench` (as
//! `cargo test --benches` does) it is a smoke run: one token from a one-token prompt, with
//! the weights as stored (converting them in an unoptimised build takes half a minute).

use mcp_local::{GenerateOptions, LocalModel, WeightFormat};
use mcp_proto::sampling::{CreateMessageParams, SamplingMessage};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let Some(path) = mcp_local::installed_model_path() else {
        eprintln!(
            "model not installed: run `mcp-sampling model install` (or scripts/test.sh); looked in {}",
            mcp_local::default_model_dir().display()
        );
        std::process::exit(1);
    };
    let start = Instant::now();
    // MCP_LOCAL_WEIGHTS=as-stored|q8_0|f32 compares the weight formats (default f32). The
    // smoke run keeps them as stored: converting them unoptimised takes half a minute.
    let format = match std::env::var("MCP_LOCAL_WEIGHTS").as_deref() {
        Ok("as-stored") => WeightFormat::AsStored,
        Ok("q8_0") => WeightFormat::Q8_0,
        Ok(_) | Err(_) if !bench => WeightFormat::AsStored,
        _ => WeightFormat::F32,
    };
    let model = LocalModel::load_with(&path, format).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let load_ms = start.elapsed().as_secs_f64() * 1e3;

    let (prompt, max_tokens) = if bench {
        let user = "Write a long story about a dragon who learns to fly.";
        let params = CreateMessageParams::new(vec![SamplingMessage::user(user)], 64);
        (model.chat_prompt(&params).expect("prompt"), 64)
    } else {
        (model.tokenizer().encode("Hello"), 1)
    };
    let never = AtomicBool::new(false);
    let g = model
        .generate(
            &prompt,
            &GenerateOptions::greedy(max_tokens as usize),
            &never,
        )
        .expect("generation");
    let secs = |d: std::time::Duration| d.as_secs_f64();
    // Every generated token after the first costs one forward pass of the generation phase.
    let decode_tokens = g.generated_tokens.saturating_sub(1);
    let tokens_per_s = if decode_tokens > 0 {
        decode_tokens as f64 / secs(g.generation_time)
    } else {
        0.0
    };
    println!(
        "{{\"bench\":\"mcp-local/generate\",\"mode\":\"{}\",\"load_ms\":{:.1},\"prompt_tokens\":{},\"prompt_ms\":{:.1},\"generated_tokens\":{},\"generation_ms\":{:.1},\"tokens_per_s\":{:.1},\"stop\":\"{:?}\",\"threads\":{},\"weights\":\"{:?}\"}}",
        if bench { "bench" } else { "smoke" },
        load_ms,
        g.prompt_tokens,
        secs(g.prompt_time) * 1e3,
        g.generated_tokens,
        secs(g.generation_time) * 1e3,
        tokens_per_s,
        g.stop,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        format,
    );
}
