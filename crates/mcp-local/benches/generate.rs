//! Load time, prompt and generation speed, time to first token and peak memory of the local
//! model, as JSON lines (`scripts/bench-model.sh` runs it beside llama.cpp and prints a table).
//!
//! `cargo bench -p mcp-local --bench generate`: two prompts (a ~300-token classifier prompt
//! with worked examples, like smart-search's, and a short one), each from an empty cache,
//! greedy, 64 generated tokens (end tokens do not stop it), best of `MCP_LOCAL_REPEATS` (3)
//! runs; then the classifier prompt with another query after the first, which reuses the
//! shared prefix. `MCP_LOCAL_BACKEND=candle` measures the reference backend instead;
//! `MCP_LOCAL_PROMPTS=FILE` also writes the prompts' tokens for the peer. Run without
//! `--bench` (as `cargo test --benches` does) it is a smoke run: one token from a one-token
//! prompt.

use mcp_local::{Backend, LocalModel};
use mcp_proto::sampling::{CreateMessageParams, SamplingMessage};
use std::time::{Duration, Instant};

const GENERATE: usize = 64;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let Some(path) = mcp_local::installed_model_path() else {
        eprintln!(
            "model not installed: run `mcp-sampling model install` (or scripts/test.sh); looked in {}",
            mcp_local::default_model_dir().display()
        );
        std::process::exit(1);
    };
    let backend = match std::env::var("MCP_LOCAL_BACKEND").as_deref() {
        Ok("candle") => Backend::Candle,
        _ => Backend::Native,
    };
    let rss_before = rss_mb("VmRSS");
    let start = Instant::now();
    let model = LocalModel::load_with(&path, backend).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let load_ms = ms(start.elapsed());
    let name = format!("{backend:?}").to_lowercase();
    if !bench {
        let prompt = model.tokenizer().encode("Hello");
        let logits = model.session().feed(&prompt).expect("a forward pass");
        assert_eq!(logits.len(), model.tokenizer().vocab_size());
        println!("{{\"bench\":\"mcp-local/generate\",\"mode\":\"smoke\",\"impl\":\"{name}\",\"load_ms\":{load_ms:.1}}}");
        return;
    }
    let repeats: usize = std::env::var("MCP_LOCAL_REPEATS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);

    let classify = model
        .chat_prompt(&classifier("a tent for two people"))
        .expect("prompt");
    let story = CreateMessageParams::new(
        vec![SamplingMessage::user(
            "Write a long story about a dragon who learns to fly.",
        )],
        64,
    );
    let short = model.chat_prompt(&story).expect("prompt");
    let prompts = [("classify", classify), ("short", short)];
    if let Ok(file) = std::env::var("MCP_LOCAL_PROMPTS") {
        let list: Vec<_> = prompts
            .iter()
            .map(|(n, t)| serde_json::json!({"name": n, "tokens": t, "generate": GENERATE}))
            .collect();
        let all = serde_json::json!({ "model": path, "prompts": list });
        std::fs::write(&file, all.to_string()).expect("write the prompts");
    }
    for (prompt_name, tokens) in &prompts {
        let best = (0..repeats)
            .map(|_| run(&model, tokens, true))
            .min_by(|a, b| (a.ttft + a.gen).cmp(&(b.ttft + b.gen)))
            .expect("at least one run");
        print_run(&name, prompt_name, tokens.len(), &best);
    }
    // The same system prompt and examples with another query: only the rest runs.
    let other = model
        .chat_prompt(&classifier("refund order 123"))
        .expect("prompt");
    let best = (0..repeats)
        .map(|_| {
            run(&model, &prompts[0].1, true);
            run(&model, &other, false)
        })
        .min_by(|a, b| (a.ttft + a.gen).cmp(&(b.ttft + b.gen)))
        .expect("at least one run");
    print_run(&name, "classify-warm", other.len(), &best);
    println!(
        "{{\"impl\":\"{name}\",\"load_ms\":{load_ms:.1},\"rss_before_mb\":{rss_before:.1},\"peak_rss_mb\":{:.1},\"threads\":{}}}",
        rss_mb("VmHWM"),
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    );
}

/// A classifier prompt in smart-search's shape, with more worked examples (~300 tokens).
fn classifier(query: &str) -> CreateMessageParams {
    let system = "You classify search queries for an outdoor shop.\nAnswer with exactly one \
                  label and nothing else.\nLabels:\n- products: things the shop sells\n- users: \
                  people: customers, their e-mail or city\n- orders: an order, its shipping, \
                  status or refund\n- docs: policies and guides: returns, shipping times, \
                  sizing, warranty";
    let examples = [
        ("waterproof hiking boots", "products"),
        ("has my package been shipped", "orders"),
        ("email address of Grace Hopper", "users"),
        ("how do I clean my tent", "docs"),
        ("lightweight sleeping bag for winter", "products"),
        ("where is order 5521", "orders"),
        ("customers living in Manchester", "users"),
        ("what is the warranty on stoves", "docs"),
        ("trekking poles carbon", "products"),
        ("cancel my last order", "orders"),
        ("who is alan@example.com", "users"),
        ("how long does shipping to Norway take", "docs"),
        ("headlamp with red light", "products"),
        ("refund status for order 88", "orders"),
        ("size chart for rain jackets", "docs"),
    ];
    let mut turns = Vec::new();
    for (q, label) in examples {
        turns.push(SamplingMessage::user(format!("Input: {q}")));
        turns.push(SamplingMessage::assistant(label));
    }
    turns.push(SamplingMessage::user(format!("Input: {query}")));
    let mut p = CreateMessageParams::new(turns, 64);
    p.system_prompt = Some(system.into());
    p
}

struct Run {
    ttft: Duration,
    gen: Duration,
    /// CPU time (all threads) of the prompt and of the generation.
    ttft_cpu: Duration,
    gen_cpu: Duration,
    generated: usize,
    reused: usize,
}

/// The prompt, then greedy tokens up to [`GENERATE`]; `cold` first forgets the cache.
fn run(model: &LocalModel, prompt: &[u32], cold: bool) -> Run {
    let mut session = model.session();
    if cold {
        session.forget();
    }
    let (start, cpu0) = (Instant::now(), cpu_time());
    let mut logits = session.feed(prompt).expect("the prompt runs");
    let mut token = argmax(&logits);
    let (ttft, cpu1) = (start.elapsed(), cpu_time());
    let mut generated = 1;
    while generated < GENERATE {
        logits = session.feed(&[token]).expect("a token runs");
        token = argmax(&logits);
        generated += 1;
    }
    Run {
        ttft,
        gen: start.elapsed() - ttft,
        ttft_cpu: cpu1.saturating_sub(cpu0),
        gen_cpu: cpu_time().saturating_sub(cpu1),
        generated,
        reused: session.reused(),
    }
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

fn print_run(name: &str, prompt: &str, prompt_tokens: usize, r: &Run) {
    println!(
        "{{\"impl\":\"{name}\",\"prompt\":\"{prompt}\",\"prompt_tokens\":{prompt_tokens},\"reused\":{},\"ttft_ms\":{:.1},\"prompt_tok_s\":{:.1},\"generated\":{},\"gen_tok_s\":{:.1},\"prompt_cpu_ms\":{:.0},\"gen_cpu_ms_per_token\":{:.2}}}",
        r.reused,
        ms(r.ttft),
        prompt_tokens as f64 / r.ttft.as_secs_f64(),
        r.generated,
        (r.generated - 1) as f64 / r.gen.as_secs_f64(),
        ms(r.ttft_cpu),
        ms(r.gen_cpu) / (r.generated - 1) as f64,
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU time of the process so far (user and system, all threads; 10 ms steps), from
/// /proc/self/stat.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses): utime is the 12th.
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse().ok())
                .collect();
            Some(f.iter().sum::<u64>())
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// A figure of /proc/self/status in MB (0 where there is none).
fn rss_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::to_string))
        })
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
