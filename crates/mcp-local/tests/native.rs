//! The native forward pass against candle's `quantized_llama` (the reference), the reuse of
//! a shared prefix against a cold run, the cache slots of alternating prompts, and the
//! logits of every position (`feed_each`) against feeding one token at a time.
//!
//! Both compute in f32 from the same dequantized weights; only the order of the sums differs.

mod common;

use mcp_local::{Backend, GenerateOptions, LocalModel};
use mcp_proto::sampling::{CreateMessageParams, SamplingMessage};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

fn candle() -> &'static LocalModel {
    static MODEL: OnceLock<LocalModel> = OnceLock::new();
    MODEL.get_or_init(|| LocalModel::load_with(&common::model_path(), Backend::Candle).unwrap())
}

fn prompt(model: &LocalModel, system: &str, user: &str) -> Vec<u32> {
    let mut p = CreateMessageParams::new(vec![SamplingMessage::user(user)], 16);
    p.system_prompt = Some(system.into());
    model.chat_prompt(&p).unwrap()
}

const SYSTEM: &str = "You classify search queries for an outdoor shop. Answer with exactly one \
                      label: products, users, orders or docs.";

/// The largest difference between two logit vectors, relative to the largest logit.
fn distance(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale
}

#[test]
fn logits_match_candle() {
    let native = common::model();
    for user in [
        "Query: red running shoes size 42",
        "Hi",
        "Write a haiku about rain.",
    ] {
        let p = prompt(native, SYSTEM, user);
        let mut ours = native.session();
        ours.forget();
        let mut reference = candle().session();
        let mut a = ours.feed(&p).unwrap();
        let mut b = reference.feed(&p).unwrap();
        // The prompt, then a few tokens one at a time (candle's own next token each time).
        for step in 0..4 {
            let d = distance(&a, &b);
            eprintln!("{user:?} step {step}: {d}");
            assert!(
                d < 1e-4,
                "{user:?} step {step}: logits differ by {d} (relative)"
            );
            let next = argmax(&b);
            assert_eq!(argmax(&a), next, "{user:?} step {step}: another top token");
            a = ours.feed(&[next]).unwrap();
            b = reference.feed(&[next]).unwrap();
        }
    }
}

#[test]
fn greedy_tokens_match_candle() {
    let native = common::model();
    let never = AtomicBool::new(false);
    for user in ["Count from 1 to 10.", "What is the capital of France?"] {
        let p = prompt(native, "You are a helpful assistant.", user);
        let ours = native
            .generate(&p, &GenerateOptions::greedy(24), &never)
            .unwrap();
        let reference = candle()
            .generate(&p, &GenerateOptions::greedy(24), &never)
            .unwrap();
        assert_eq!(ours.text, reference.text, "{user:?}");
        assert_eq!(ours.generated_tokens, reference.generated_tokens);
    }
}

#[test]
fn a_shared_prefix_gives_what_a_cold_run_gives() {
    // Its own instance: the cache is this test's alone.
    let model = LocalModel::load(&common::model_path()).unwrap();
    let first = prompt(&model, SYSTEM, "Query: waterproof boots");
    let second = prompt(&model, SYSTEM, "Query: where is my order 42");
    let shared = first
        .iter()
        .zip(&second)
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        shared > 10 && shared < second.len(),
        "{shared} tokens shared"
    );

    let never = AtomicBool::new(false);
    let opts = GenerateOptions::greedy(12);
    model.generate(&first, &opts, &never).unwrap();
    let warm = model.generate(&second, &opts, &never).unwrap();
    assert_eq!(warm.reused_tokens, shared);

    let warm_logits = {
        let mut s = model.session();
        let l = s.feed(&second).unwrap();
        // The whole prompt but its last token was cached.
        assert_eq!(s.reused(), second.len() - 1);
        l
    };
    let cold_logits = {
        let mut s = model.session();
        s.forget();
        let l = s.feed(&second).unwrap();
        assert_eq!(s.reused(), 0);
        l
    };
    let d = distance(&warm_logits, &cold_logits);
    eprintln!("warm vs cold: {d}");
    assert!(d < 1e-4, "logits differ by {d} (relative)");
    assert_eq!(argmax(&warm_logits), argmax(&cold_logits));
    let cold = {
        model.session().forget();
        model.generate(&second, &opts, &never).unwrap()
    };
    assert_eq!(cold.reused_tokens, 0);
    assert_eq!(warm.text, cold.text);

    // A session that continues past the cached tokens, then diverges, still matches.
    let mut s = model.session();
    s.feed(&second[..shared]).unwrap();
    let l = s.feed(&first[shared..]).unwrap();
    drop(s);
    let mut s = model.session();
    s.forget();
    let c = s.feed(&first).unwrap();
    assert!(distance(&l, &c) < 1e-4);
    assert_eq!(argmax(&l), argmax(&c));
}

#[test]
fn alternating_prompts_keep_their_own_caches() {
    let model = LocalModel::load(&common::model_path()).unwrap();
    // One prompt per label, as worked examples are scored: a shared head, then each its own.
    let prompts: Vec<Vec<u32>> = ["products", "users", "orders", "docs"]
        .iter()
        .map(|l| {
            prompt(
                &model,
                SYSTEM,
                &format!("Inputs labelled {l}:\nsocks\nhats"),
            )
        })
        .collect();
    let cold: Vec<Vec<f32>> = prompts
        .iter()
        .map(|p| {
            let mut s = model.session();
            s.forget();
            s.feed(p).unwrap()
        })
        .collect();
    // (Each cold run forgot the others.) The first round shares the head with the slot of
    // the last prompt run and copies it; in the second each prompt finds its own slot.
    for round in 0..2 {
        for (p, cold) in prompts.iter().zip(&cold) {
            let mut s = model.session();
            let warm = s.feed(p).unwrap();
            if round == 0 {
                assert!(s.reused() > 10, "{} reused", s.reused());
            } else {
                // All but the last token, which runs for its logits.
                assert_eq!(s.reused(), p.len() - 1);
            }
            assert!(distance(&warm, cold) < 1e-4);
        }
    }
    // A new prompt that shares only the head takes a copy of it, and the others stay.
    let other = prompt(&model, SYSTEM, "Something else entirely");
    let mut s = model.session();
    s.feed(&other).unwrap();
    assert!(s.reused() > 10, "{} reused", s.reused());
    drop(s);
    let mut s = model.session();
    s.feed(&prompts[0]).unwrap();
    assert_eq!(s.reused(), prompts[0].len() - 1);
}

#[test]
fn feed_each_gives_the_logits_of_one_token_at_a_time() {
    let native = common::model();
    let p = prompt(native, SYSTEM, "Query: a tent for two people");
    let (head, rest) = p.split_at(p.len() - 6);
    let each = {
        let mut s = native.session();
        s.feed(head).unwrap();
        s.feed_each(rest).unwrap()
    };
    assert_eq!(each.len(), rest.len());
    let mut s = native.session();
    s.forget();
    s.feed(head).unwrap();
    for (i, &t) in rest.iter().enumerate() {
        let one = s.feed(&[t]).unwrap();
        let d = distance(&each[i], &one);
        assert!(d < 1e-4, "position {i}: logits differ by {d} (relative)");
    }
    drop(s);
    // The reference agrees (it runs them one at a time).
    let mut r = candle().session();
    r.feed(head).unwrap();
    let theirs = r.feed_each(rest).unwrap();
    for (i, (a, b)) in each.iter().zip(&theirs).enumerate() {
        let d = distance(a, b);
        assert!(
            d < 1e-4,
            "position {i}: candle's logits differ by {d} (relative)"
        );
    }
    // A sequence starts with feed.
    assert!(native.session().feed_each(rest).is_err());
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
