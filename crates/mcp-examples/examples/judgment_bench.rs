//! The judgment benchmark: every labelled case of `crates/mcp-examples/bench/NAME.jsonl`
//! run through the built-in server NAME, in process, on the legacy era, once with a
//! scripted perfect model (the case's `perfect` replies) and once with the embedded model
//! (SmolLM2-135M, installed with `mcp-sampling model install`). For each server it prints
//! the accuracy of each, and how often code decided without sampling. Not a test: the
//! figures describe the servers and the model, and nothing fails on them.
//!
//! Run: `cargo run --release -p mcp-examples --example judgment_bench [-- NAME ...]`
//! (`--perfect-only` skips the embedded model; `--free` takes the typed-output extension
//! off the requests, so the model writes freely and the server parses; `--first-token`
//! keeps choices constrained but decides them by the label's first token, not by the worked
//! examples; `--uncalibrated` does that without calibration). "by the model" is the
//! accuracy over the cases that sampled (code decided none of it).
//!
//! A case: `{"name", "tool", "args", "expect": {"/pointer": value}, "perfect": [[needle,
//! reply]], "forms": [content or null]}`: `expect` is checked against the result's
//! `structuredContent` (see `tests/common/mod.rs` for the script's needles).

#[path = "../tests/common/mod.rs"]
mod common;

use mcp_client::ElicitationHandler;
use mcp_proto::{
    BoxFuture, CreateMessageResult, Era, SamplingError, SamplingHandler, SamplingRequest,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Deserialize)]
struct Case {
    name: String,
    tool: String,
    args: Map<String, Value>,
    expect: Map<String, Value>,
    #[serde(default)]
    perfect: Vec<(String, String)>,
    #[serde(default)]
    forms: Vec<Option<Value>>,
}

/// Counts the requests a handler answers; with `free`, strips their typed-output extension.
struct Counting {
    inner: Arc<dyn SamplingHandler>,
    seen: AtomicUsize,
    free: bool,
}

impl SamplingHandler for Counting {
    fn create_message(
        &self,
        mut req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        if self.free {
            if let Some(meta) = req.params.meta.as_mut().and_then(Value::as_object_mut) {
                meta.remove(mcp_proto::ext::OUTPUT_KEY);
            }
        }
        self.inner.create_message(req)
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    right: usize,
    by_code: usize,
    /// Right among the cases that sampled.
    right_sampled: usize,
    samples: usize,
    time: Duration,
    misses: Vec<String>,
}

async fn run_case(
    server: &str,
    case: &Case,
    model: Arc<dyn SamplingHandler>,
    free: bool,
) -> (bool, usize, String) {
    let counting = Arc::new(Counting {
        inner: model,
        seen: AtomicUsize::new(0),
        free,
    });
    let forms: Option<Arc<dyn ElicitationHandler>> = Some(common::Forms::new(case.forms.clone()));
    let opts = mcp_examples::Options::default();
    let client = common::connect(server, &opts, Era::Legacy, counting.clone(), forms).await;
    let outcome = client.call_tool(&case.tool, case.args.clone()).await;
    client.close().await;
    let samples = counting.seen.load(Ordering::SeqCst);
    let verdict = match outcome {
        Ok(r) => match r.structured_content {
            Some(s) => common::matches(&s, &case.expect),
            None => Err(format!("no structured result: {:?}", r.content)),
        },
        Err(e) => Err(e.to_string()),
    };
    match verdict {
        Ok(()) => (true, samples, String::new()),
        Err(why) => (false, samples, why),
    }
}

fn load(server: &str) -> Result<Vec<Case>, String> {
    let path = format!("{}/bench/{server}.jsonl", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{path}:{}: {e}", i + 1)))
        .collect()
}

async fn bench(
    server: &str,
    cases: &[Case],
    embedded: Option<&Arc<dyn SamplingHandler>>,
    free: bool,
) {
    let mut perfect = Tally::default();
    let mut local = Tally::default();
    for case in cases {
        let script: Arc<dyn SamplingHandler> = common::Script::new(case.perfect.clone());
        let t = Instant::now();
        let (ok, n, why) = run_case(server, case, script, false).await;
        tally(&mut perfect, ok, n, t.elapsed(), &case.name, why);
        if let Some(model) = embedded {
            let t = Instant::now();
            let (ok, n, why) = run_case(server, case, model.clone(), free).await;
            tally(&mut local, ok, n, t.elapsed(), &case.name, why);
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "| {server} | {} | {:.0}% ({}/{}) | {} | {:.0}% |",
        perfect.cases,
        pct(perfect.right, perfect.cases),
        perfect.right,
        perfect.cases,
        match embedded {
            Some(_) => format!(
                "{:.0}% ({}/{}); by the model {:.0}% ({}/{}); {:.2} s/case, {:.1} samples/case",
                pct(local.right, local.cases),
                local.right,
                local.cases,
                pct(local.right_sampled, local.cases - local.by_code),
                local.right_sampled,
                local.cases - local.by_code,
                local.time.as_secs_f64() / local.cases.max(1) as f64,
                local.samples as f64 / local.cases.max(1) as f64
            ),
            None => "-".into(),
        },
        pct(perfect.by_code, perfect.cases),
    );
    for m in perfect
        .misses
        .iter()
        .map(|m| ("perfect", m))
        .chain(local.misses.iter().map(|m| ("embedded", m)))
    {
        eprintln!("  {server} {}: {}", m.0, m.1);
    }
}

fn tally(t: &mut Tally, ok: bool, samples: usize, time: Duration, name: &str, why: String) {
    t.cases += 1;
    t.right += usize::from(ok);
    t.by_code += usize::from(samples == 0);
    t.right_sampled += usize::from(ok && samples > 0);
    t.samples += samples;
    t.time += time;
    if !ok {
        t.misses.push(format!("{name}: {why}"));
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let perfect_only = args.iter().any(|a| a == "--perfect-only");
    let free = args.iter().any(|a| a == "--free");
    let uncalibrated = args.iter().any(|a| a == "--uncalibrated");
    let first_token = uncalibrated || args.iter().any(|a| a == "--first-token");
    let mut names: Vec<String> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
    if names.is_empty() {
        names = mcp_examples::REGISTRY
            .iter()
            .map(|e| e.name.to_owned())
            .filter(|n| {
                std::path::Path::new(&format!("{}/bench/{n}.jsonl", env!("CARGO_MANIFEST_DIR")))
                    .exists()
            })
            .collect();
    }
    let embedded = if perfect_only {
        None
    } else {
        let model = mcp_local::LocalModel::load_installed().map_err(|e| {
            format!("{e} (run `mcp-sampling model install`, or pass --perfect-only)")
        })?;
        model.set_calibrated_choices(!uncalibrated);
        model.set_choices_by_example(!first_token);
        Some(mcp_host::answer_with(Arc::new(model), mcp_local::MODEL_ID))
    };
    println!("| server | cases | perfect model | embedded model | decided in code |");
    println!("| --- | --- | --- | --- | --- |");
    for name in &names {
        let cases = load(name)?;
        bench(name, &cases, embedded.as_ref(), free).await;
    }
    Ok(())
}
