//! Answers that must be one of a list of choices (the typed-output extension's `choices`):
//! greedy decoding masked to the choices' tokens. After the prompt, only tokens that
//! continue some choice may come (and the end of the turn where a choice is complete); as
//! soon as one choice is left it is the answer, so choices that differ in their first
//! token cost one prompt pass.
//!
//! A small model leans to some labels whatever the input. With a `prior` (the scores of
//! the first tokens after content-free inputs, see [`LocalModel::first_token_scores`]), the
//! first decision compares each choice's score minus its prior: contextual calibration
//! (Zhao et al., 2021), which divides out what the prompt alone makes likely.

use super::LocalModel;
use crate::LocalError;
use mcp_llm::ProviderError;
use mcp_proto::content::Content;
use mcp_proto::sampling::{CreateMessageParams, Role};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
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
    /// Prompt tokens whose keys and values were reused from the previous run.
    pub reused_tokens: usize,
}

impl LocalModel {
    /// Picks one of `choices` after `prompt` (blocking; CPU-bound), calibrated by `prior`
    /// (one score per choice, subtracted at the first token) when given. An empty choice
    /// list is an error; `cancel` is checked before every step.
    pub fn choose(
        &self,
        prompt: &[u32],
        choices: &[String],
        prior: Option<&[f32]>,
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
        if cancel.load(Ordering::Relaxed) {
            return Err(LocalError::Cancelled);
        }
        let mut logits = session.feed(prompt)?;
        let prompt_time = start.elapsed();
        let reused_tokens = session.reused();
        let mut step = |tokens: &[u32]| -> Result<Vec<f32>, LocalError> {
            if cancel.load(Ordering::Relaxed) {
                return Err(LocalError::Cancelled);
            }
            session.feed(tokens)
        };
        let mut alive: Vec<usize> = (0..seqs.len()).collect();
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
                let bias = match prior {
                    Some(p) if k == 0 => p.get(i).copied().unwrap_or(0.0),
                    _ => 0.0,
                };
                let s = seqs[i].get(k).map_or(end, |&t| score(t)) - bias;
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
            reused_tokens,
        })
    }
}

impl LocalModel {
    /// The model's logits for the token after `prompt` (one prompt pass; blocking).
    pub fn next_logits(&self, prompt: &[u32], cancel: &AtomicBool) -> Result<Vec<f32>, LocalError> {
        self.next_logits_counted(prompt, cancel).map(|(l, _)| l)
    }

    /// [`LocalModel::next_logits`] and how many of the prompt's tokens were reused.
    fn next_logits_counted(
        &self,
        prompt: &[u32],
        cancel: &AtomicBool,
    ) -> Result<(Vec<f32>, usize), LocalError> {
        let inner = &*self.inner;
        if prompt.is_empty() || prompt.len() + 1 >= inner.context_length {
            return Err(LocalError::ContextFull {
                prompt_tokens: prompt.len(),
                context_length: inner.context_length,
            });
        }
        let mut session = self.session();
        if cancel.load(Ordering::Relaxed) {
            return Err(LocalError::Cancelled);
        }
        let logits = session.feed(prompt)?;
        Ok((logits, session.reused()))
    }

    /// The model's logit for the first token of each choice after `prompt` (one prompt pass):
    /// the prior that [`LocalModel::choose`] subtracts when `prompt` is content-free.
    pub fn first_token_scores(
        &self,
        prompt: &[u32],
        choices: &[String],
        cancel: &AtomicBool,
    ) -> Result<Vec<f32>, LocalError> {
        self.first_token_scores_counted(prompt, choices, cancel)
            .map(|(s, _)| s)
    }

    /// [`LocalModel::first_token_scores`] and how many prompt tokens were computed.
    fn first_token_scores_counted(
        &self,
        prompt: &[u32],
        choices: &[String],
        cancel: &AtomicBool,
    ) -> Result<(Vec<f32>, usize), LocalError> {
        let (logits, reused) = self.next_logits_counted(prompt, cancel)?;
        let tokenizer = &self.inner.tokenizer;
        let scores = choices
            .iter()
            .map(|c| {
                let first = tokenizer.encode(c).first().copied();
                first
                    .and_then(|t| logits.get(t as usize).copied())
                    .unwrap_or(0.0)
            })
            .collect();
        Ok((scores, prompt.len().saturating_sub(reused)))
    }
}

/// Priors kept (one per prompt template and choice list); the cache is emptied when full.
const MAX_PRIORS: usize = 64;

/// The content-free inputs whose scores are averaged into the prior.
const FILLERS: [&str; 3] = ["N/A", "", "?"];

/// A content-free stand-in for an input: a short `Label:` lead is kept (`Input: N/A`).
fn content_free(text: &str, filler: &str) -> String {
    match text.split_once(':') {
        Some((lead, _)) if lead.chars().count() <= 24 && !lead.contains('\n') => {
            format!("{lead}: {filler}")
        }
        _ => filler.to_string(),
    }
}

impl LocalModel {
    /// Whether choices are calibrated (on by default); the judgment benchmark turns it off to
    /// measure what it brings.
    pub fn set_calibrated_choices(&self, on: bool) {
        self.inner.calibrate.store(on, Ordering::Relaxed);
    }

    /// The prior for a choice request: the first-token log-probabilities (among the choices)
    /// after the same conversation with its last user message made content-free, averaged
    /// over [`FILLERS`]. Cached per template, so a classifier's
    /// repeated requests pay for it once. Also what it cost: its time and the prompt tokens
    /// it computed (none when cached).
    pub(super) fn choice_prior(
        &self,
        params: &CreateMessageParams,
        choices: &[String],
        cancel: &AtomicBool,
    ) -> Result<(Option<Vec<f32>>, Duration, usize), ProviderError> {
        let start = Instant::now();
        let prior = self.choice_prior_uncounted(params, choices, cancel)?;
        Ok(match prior {
            Some((p, computed)) => (Some(p), start.elapsed(), computed),
            None => (None, Duration::ZERO, 0),
        })
    }

    fn choice_prior_uncounted(
        &self,
        params: &CreateMessageParams,
        choices: &[String],
        cancel: &AtomicBool,
    ) -> Result<Option<(Vec<f32>, usize)>, ProviderError> {
        let inner = &*self.inner;
        if !inner.calibrate.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(last) = params.messages.last() else {
            return Ok(None);
        };
        if last.role != Role::User {
            return Ok(None);
        }
        let text: Vec<&str> = last
            .content
            .as_slice()
            .iter()
            .filter_map(Content::as_text)
            .collect();
        let text = text.join("\n");
        let mut prompts = Vec::new();
        for filler in FILLERS {
            let mut free = params.clone();
            if let Some(last) = free.messages.last_mut() {
                last.content = Content::text(content_free(&text, filler)).into();
            }
            prompts.push(self.chat_prompt(&free)?);
        }
        let tokens: Vec<u32> = prompts.concat();
        let mut h = DefaultHasher::new();
        (&tokens, choices).hash(&mut h);
        let key = h.finish();
        let cached = inner
            .priors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some(prior) = cached {
            return Ok(Some((prior, 0)));
        }
        let mut prior = vec![0.0f32; choices.len()];
        let mut computed = 0;
        for p in &prompts {
            let (scores, c) = self
                .first_token_scores_counted(p, choices, cancel)
                .map_err(ProviderError::from)?;
            computed += c;
            let m = scores.iter().copied().fold(f32::MIN, f32::max);
            let lse = m + scores.iter().map(|x| (x - m).exp()).sum::<f32>().ln();
            for (a, x) in prior.iter_mut().zip(&scores) {
                *a += (x - lse) / prompts.len() as f32;
            }
        }
        let mut priors = inner.priors.lock().unwrap_or_else(|p| p.into_inner());
        if priors.len() >= MAX_PRIORS {
            priors.clear();
        }
        priors.insert(key, prior.clone());
        Ok(Some((prior, computed)))
    }
}

#[cfg(test)]
mod tests {
    use super::content_free;

    #[test]
    fn content_free_keeps_a_short_lead() {
        assert_eq!(content_free("Input: red shoes", "N/A"), "Input: N/A");
        assert_eq!(content_free("red shoes", "N/A"), "N/A");
        assert_eq!(
            content_free("a very long sentence that goes on: and on", "?"),
            "?"
        );
    }
}
