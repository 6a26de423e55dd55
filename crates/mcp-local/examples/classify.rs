//! Asks the local model to classify search queries (greedy, 5 tokens) and prints its answers.
//!
//! `cargo run --release -p mcp-local --example classify [--few-shot] [QUERY...]`
//!
//! `--few-shot` puts one worked example per label before the query (as earlier user and
//! assistant turns), which this small model needs to answer with a label at all.

use mcp_llm::Provider;
use mcp_local::{LocalModel, MODEL_ID};
use mcp_proto::sampling::{CreateMessageParams, SamplingMessage};
use std::time::Instant;

const SYSTEM: &str =
    "You classify search queries. Answer with exactly one word: products, users, orders or docs.";

const QUERIES: &[(&str, &str)] = &[
    ("products", "red running shoes size 42"),
    ("products", "wireless noise cancelling headphones"),
    ("products", "cheap 4k tv 55 inch"),
    ("products", "organic green tea 500g"),
    ("products", "leather office chair black"),
    ("products", "iphone 15 case"),
    ("users", "john smith"),
    ("users", "user with email anna@example.com"),
    ("users", "customers who signed up last week"),
    ("users", "account of maria garcia"),
    ("users", "admin users in berlin"),
    ("users", "profile jdoe42"),
    ("orders", "order #18342"),
    ("orders", "orders shipped yesterday"),
    ("orders", "refund status for order 5521"),
    ("orders", "unpaid invoices march"),
    ("orders", "where is my package"),
    ("orders", "cancelled orders this month"),
    ("docs", "how to reset my password"),
    ("docs", "api rate limits documentation"),
    ("docs", "return policy"),
    ("docs", "installation guide for the sdk"),
    ("docs", "what is two factor authentication"),
    ("docs", "shipping times faq"),
];

/// One example per label (none of them among the queries above).
const EXAMPLES: &[(&str, &str)] = &[
    ("blue denim jacket", "products"),
    ("orders placed by customer 4411", "orders"),
    ("how do I export my data", "docs"),
    ("user named peter jones", "users"),
];

#[tokio::main]
async fn main() {
    let model = LocalModel::load_installed().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    eprintln!("loaded in {} ms", model.load_time().as_millis());
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let few_shot = args.iter().any(|a| a == "--few-shot");
    args.retain(|a| a != "--few-shot");
    let queries: Vec<(&str, &str)> = if args.is_empty() {
        QUERIES.to_vec()
    } else {
        args.iter().map(|q| ("?", q.as_str())).collect()
    };
    let mut right = 0;
    for (want, q) in &queries {
        let mut messages = Vec::new();
        if few_shot {
            for (query, label) in EXAMPLES {
                messages.push(SamplingMessage::user(format!("Query: {query}")));
                messages.push(SamplingMessage::assistant(*label));
            }
        }
        messages.push(SamplingMessage::user(format!("Query: {q}")));
        let mut params = CreateMessageParams::new(messages, 5);
        params.system_prompt = Some(SYSTEM.into());
        params.temperature = Some(0.0);
        let start = Instant::now();
        let c = model.complete(MODEL_ID, &params).await.expect("completion");
        let text = c.result.text();
        let got = text.trim().trim_end_matches('.').to_lowercase();
        if got == *want {
            right += 1;
        }
        println!(
            "{want:>8} | {q:<40} | {text:?} ({:?}, {}+{} tokens, {} ms)",
            c.result.stop_reason.unwrap(),
            c.usage.input_tokens,
            c.usage.output_tokens,
            start.elapsed().as_millis()
        );
    }
    println!("{right}/{} exactly right", queries.len());
}
