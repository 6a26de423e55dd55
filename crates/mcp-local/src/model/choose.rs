//! Answers that must be one of a list of choices (the typed-output extension's `choices`):
//! greedy decoding masked to the choices' tokens. After the prompt, only tokens that
//! continue some choice may come (and the end of the turn where a choice is complete); as
//! soon as one choice is left it is the answer, so choices that differ in their first
//! token cost one prompt pass.

use super::LocalModel;
use crate::LocalError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The choice made, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// Index into the choices.
    pub index: usize,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Tokens decided after the prompt.
    pub generated_tokens: usize,
    /// Time to process the prompt.
    pub prompt_time: Duration,
    /// Time after it.
    pub generation_time: Duration,
}

impl LocalModel {
    /// Picks one of `choices` after `prompt` (blocking; CPU-bound). An empty choice list is
    /// an error; `cancel` is checked before every step.
    pub fn choose(
        &self,
        prompt: &[u32],
        choices: &[String],
        cancel: &AtomicBool,
    ) -> Result<Chosen, LocalError> {
        let inner = &*self.inner;
        let seqs: Vec<Vec<u32>> = choices.iter().map(|c| inner.tokenizer.encode(c)).collect();
        let longest =
            seqs.iter().map(Vec::len).max().ok_or_else(|| {
                LocalError::Generation("a choice needs at least one option".into())
            })?;
        if prompt.is_empty() || prompt.len() + longest + 1 >= inner.context_length {
            return Err(LocalError::ContextFull {
                prompt_tokens: prompt.len(),
                context_length: inner.context_length,
            });
        }
        let mut session = self.session();
        let start = Instant::now();
        let mut step = |tokens: &[u32]| -> Result<Vec<f32>, LocalError> {
            if cancel.load(Ordering::Relaxed) {
                return Err(LocalError::Cancelled);
            }
            session.feed(tokens)
        };
        let mut alive: Vec<usize> = (0..seqs.len()).collect();
        let mut logits = step(prompt)?;
        let prompt_time = start.elapsed();
        let mut k = 0;
        let index = loop {
            if let [only] = alive[..] {
                break only;
            }
            let score = |t: u32| logits.get(t as usize).copied().unwrap_or(f32::MIN);
            let end = inner
                .end_tokens
                .iter()
                .map(|&t| score(t))
                .fold(f32::MIN, f32::max);
            let mut best: Option<(f32, usize)> = None;
            for &i in &alive {
                let s = seqs[i].get(k).map_or(end, |&t| score(t));
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, i));
                }
            }
            let Some((_, winner)) = best else {
                return Err(LocalError::Generation("no choice is left".into()));
            };
            let Some(&token) = seqs[winner].get(k) else {
                break winner;
            };
            alive.retain(|&i| seqs[i].get(k) == Some(&token));
            k += 1;
            if alive.len() > 1 {
                logits = step(&[token])?;
            }
        };
        let elapsed = start.elapsed();
        Ok(Chosen {
            index,
            prompt_tokens: prompt.len(),
            generated_tokens: k,
            prompt_time,
            generation_time: elapsed.saturating_sub(prompt_time),
        })
    }
}
