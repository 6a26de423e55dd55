//! Choices decided by the request's worked examples. A classifier's request shows examples
//! as earlier turns: a user message answered by an assistant message that is exactly one of
//! the choices. When every choice has at least [`MIN_EXAMPLES`] of them, each choice gets a
//! plain-text prompt listing its own examples (after the system prompt), and the answer is
//! the choice under whose examples the last user message is most likely: the sum of its
//! tokens' log-probabilities. This is generative (class-conditional) classification: it asks
//! which examples the input looks like, which a small model judges far better than which
//! label to write after it (see README, "The embedded model").
//!
//! Each choice's prompt continues its own cache slot, so a classifier's repeated requests
//! compute only the input, once per choice.

use super::choose::Chosen;
use super::LocalModel;
use crate::LocalError;
use mcp_proto::content::Content;
use mcp_proto::sampling::{CreateMessageParams, Role, SamplingMessage};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Worked examples each choice needs before its examples decide.
const MIN_EXAMPLES: usize = 2;

/// The text of a message with text content only.
fn text_of(m: &SamplingMessage) -> Option<String> {
    let parts = m.content.as_slice();
    let texts: Option<Vec<&str>> = parts.iter().map(Content::as_text).collect();
    texts.filter(|t| !t.is_empty()).map(|t| t.join("\n"))
}

/// The examples of each choice and the input, when the request is shaped as worked
/// examples for every choice followed by one user message.
fn examples_of(
    params: &CreateMessageParams,
    choices: &[String],
) -> Option<(Vec<Vec<String>>, String)> {
    let (last, earlier) = params.messages.split_last()?;
    if last.role != Role::User || earlier.is_empty() || earlier.len() % 2 != 0 {
        return None;
    }
    let mut by_choice = vec![Vec::new(); choices.len()];
    for pair in earlier.chunks_exact(2) {
        let [input, answer] = pair else { return None };
        if input.role != Role::User || answer.role != Role::Assistant {
            return None;
        }
        let label = text_of(answer)?;
        let i = choices.iter().position(|c| c == label.trim())?;
        by_choice[i].push(text_of(input)?);
    }
    if by_choice.iter().any(|e| e.len() < MIN_EXAMPLES) {
        return None;
    }
    Some((by_choice, text_of(last)?))
}

/// Log-softmax of `logits` at `token`.
fn log_prob(logits: &[f32], token: u32) -> f32 {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let sum: f32 = logits.iter().map(|x| (x - max).exp()).sum();
    logits.get(token as usize).copied().unwrap_or(f32::MIN) - max - sum.ln()
}

impl LocalModel {
    /// Whether choices with worked examples are decided by them (on by default); the judgment
    /// benchmark turns it off to measure what it brings.
    pub fn set_choices_by_example(&self, on: bool) {
        self.inner.by_example.store(on, Ordering::Relaxed);
    }

    /// Picks a choice by its worked examples (the module's docs), or `None` when the request
    /// does not have them, this is turned off, or a prompt would not fit the context.
    pub(super) fn choose_by_example(
        &self,
        params: &CreateMessageParams,
        choices: &[String],
        cancel: &AtomicBool,
    ) -> Result<Option<Chosen>, LocalError> {
        if !self.inner.by_example.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some((examples, input)) = examples_of(params, choices) else {
            return Ok(None);
        };
        let tokenizer = &self.inner.tokenizer;
        let mut prompts = Vec::with_capacity(choices.len());
        for (choice, examples) in choices.iter().zip(&examples) {
            let mut head = match params.system_prompt.as_deref() {
                Some(system) if !system.trim().is_empty() => format!("{}\n\n", system.trim()),
                _ => String::new(),
            };
            head.push_str(&format!("Inputs labelled {choice}:\n"));
            for e in examples {
                head.push_str(e);
                head.push('\n');
            }
            let full = tokenizer.encode(&format!("{head}{input}\n"));
            let start = tokenizer.encode(&head);
            let k = start.iter().zip(&full).take_while(|(a, b)| a == b).count();
            if k == 0 || k >= full.len() || full.len() + 1 >= self.inner.context_length {
                return Ok(None);
            }
            prompts.push((full, k));
        }
        let start = Instant::now();
        let (mut best, mut best_score) = (0, f32::MIN);
        let (mut prompt_tokens, mut reused_tokens) = (0, 0);
        for (i, (full, k)) in prompts.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(LocalError::Cancelled);
            }
            let mut session = self.session();
            let first = session.feed(&full[..*k])?;
            let mut score = log_prob(&first, full[*k]);
            if full.len() > k + 1 {
                let each = session.feed_each(&full[*k..full.len() - 1])?;
                score += each
                    .iter()
                    .zip(&full[k + 1..])
                    .map(|(logits, &t)| log_prob(logits, t))
                    .sum::<f32>();
            }
            prompt_tokens += full.len();
            reused_tokens += session.reused();
            if score > best_score {
                (best, best_score) = (i, score);
            }
        }
        Ok(Some(Chosen {
            index: best,
            prompt_tokens,
            generated_tokens: 0,
            prompt_time: start.elapsed(),
            generation_time: Default::default(),
            reused_tokens,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(turns: &[(&str, &str)], input: &str) -> CreateMessageParams {
        let mut messages = Vec::new();
        for (q, a) in turns {
            messages.push(SamplingMessage::user(*q));
            messages.push(SamplingMessage::assistant(*a));
        }
        messages.push(SamplingMessage::user(input));
        CreateMessageParams::new(messages, 8)
    }

    fn choices() -> Vec<String> {
        vec!["yes".into(), "no".into()]
    }

    #[test]
    fn examples_are_grouped_by_choice() {
        let p = request(
            &[("a", "yes"), ("b", "no"), ("c", " yes "), ("d", "no")],
            "e",
        );
        let (by, input) = examples_of(&p, &choices()).expect("shaped as examples");
        assert_eq!(by, vec![vec!["a", "c"], vec!["b", "d"]]);
        assert_eq!(input, "e");
    }

    #[test]
    fn too_few_examples_or_another_answer_do_not_count() {
        let one_each = request(&[("a", "yes"), ("b", "no")], "e");
        assert!(examples_of(&one_each, &choices()).is_none());
        let other = request(
            &[("a", "yes"), ("b", "no"), ("c", "maybe"), ("d", "no")],
            "e",
        );
        assert!(examples_of(&other, &choices()).is_none());
        let no_turns = request(&[], "e");
        assert!(examples_of(&no_turns, &choices()).is_none());
    }
}
