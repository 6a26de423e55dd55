//! The step API: a [`Session`] holds the model and runs one sequence a few tokens at a time,
//! reusing the keys and values of whatever prefix it shares with the previous run.

use super::llama::{KvCache, Llama};
use super::{short, Inner, LocalModel};
use crate::LocalError;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use std::sync::MutexGuard;
use tokio::sync::watch;

/// Which implementation runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Our own forward pass ([`LocalModel`]'s docs): the weights stay in the file's quantized
    /// blocks (about 100 MB), SIMD kernels are picked at run time, the KV cache grows in place
    /// and a shared prefix is reused. The default.
    #[default]
    Native,
    /// candle's `quantized_llama` with the weights dequantized to f32 (about 0.6 GB, 1.3 GB
    /// while loading; decoding 2-3 times slower; no prefix reuse): the reference the native
    /// pass is tested against.
    Candle,
}

/// Sequences whose keys and values are kept at most (a classifier's prompts, one per label,
/// each continue their own).
const MAX_SLOTS: usize = 8;

/// Tokens kept in all slots but the one in use (about 46 KB each for SmolLM2-135M): what the
/// extra slots may cost in memory.
const MAX_KEPT: usize = 1024;

/// The loaded weights and what their caches hold.
pub(crate) struct State {
    weights: Weights,
    /// The sequences kept, least recently used first; a session runs on the last.
    slots: Vec<Slot>,
}

/// One kept sequence: its tokens and (native backend) their keys and values.
#[derive(Default)]
struct Slot {
    tokens: Vec<u32>,
    kv: KvCache,
}

enum Weights {
    Native(Box<Llama>),
    Candle(Box<ModelWeights>),
}

impl State {
    pub(crate) fn native(model: Llama) -> State {
        State {
            weights: Weights::Native(Box::new(model)),
            slots: Vec::new(),
        }
    }

    pub(crate) fn candle(model: ModelWeights) -> State {
        State {
            weights: Weights::Candle(Box::new(model)),
            slots: Vec::new(),
        }
    }

    /// Makes the slot that shares the longest prefix with `tokens` the last (the one in use):
    /// one that `tokens` continue is taken as it is; one that they leave part way is copied
    /// up to where they part (so that it stays for its own continuation). The least recently
    /// used slots go when there are too many or they hold too many tokens.
    fn pick_slot(&mut self, tokens: &[u32]) {
        let max = match self.weights {
            Weights::Native(_) => MAX_SLOTS,
            // candle's own cache is one sequence.
            Weights::Candle(_) => 1,
        };
        let common = |s: &Slot| {
            s.tokens
                .iter()
                .zip(tokens)
                .take_while(|(a, b)| a == b)
                .count()
        };
        // The most recent of the longest.
        let best = (0..self.slots.len())
            .max_by_key(|&i| common(&self.slots[i]))
            .map(|i| (i, common(&self.slots[i])));
        let slot = match best {
            Some((i, n)) if n == self.slots[i].tokens.len() || max == 1 => self.slots.remove(i),
            Some((i, n)) if n > 0 => {
                let slot = &self.slots[i];
                Slot {
                    tokens: slot.tokens[..n].to_vec(),
                    kv: slot.kv.prefix(n),
                }
            }
            _ => Slot::default(),
        };
        if self.slots.len() >= max {
            self.slots.remove(0);
        }
        self.slots.push(slot);
        let mut others: usize = self
            .slots
            .iter()
            .rev()
            .skip(1)
            .map(|s| s.tokens.len())
            .sum();
        while others > MAX_KEPT && self.slots.len() > 1 {
            others -= self.slots.remove(0).tokens.len();
        }
    }
}

/// One sequence run on the model: [`Session::feed`] appends tokens and returns the logits
/// that follow the last one. The session holds the model (one at a time; others wait in
/// [`LocalModel::session`]).
///
/// The model remembers the tokens of its last few runs: when a session's tokens start the
/// same way as one of them (the same system prompt and examples), their keys and values are
/// reused and only the rest is computed. The results are the same as from a cold start.
pub struct Session<'a> {
    held: Held<'a>,
    context: usize,
    /// Tokens fed so far.
    len: usize,
    /// Of which reused from the previous run.
    reused: usize,
}

impl LocalModel {
    /// Waits for the model and starts a sequence on it.
    pub fn session(&self) -> Session<'_> {
        Session {
            held: Held::take(&self.inner),
            context: self.inner.context_length,
            len: 0,
            reused: 0,
        }
    }
}

impl Session<'_> {
    /// Appends `tokens` to the sequence and returns the logits of the next token (one per
    /// vocabulary entry). The sequence may not outgrow the context window.
    pub fn feed(&mut self, tokens: &[u32]) -> Result<Vec<f32>, LocalError> {
        if tokens.is_empty() {
            return Err(LocalError::Generation("no tokens to feed".into()));
        }
        let total = self.len + tokens.len();
        if total > self.context {
            return Err(LocalError::ContextFull {
                prompt_tokens: total,
                context_length: self.context,
            });
        }
        let state = self.held.state();
        if self.len == 0 {
            state.pick_slot(tokens);
        }
        match feed(state, self.len, tokens) {
            Ok((logits, reused)) => {
                self.reused += reused;
                self.len = total;
                Ok(logits)
            }
            Err(e) => {
                // Whatever the slot holds now is not trusted.
                state.slots.pop();
                Err(LocalError::Generation(e))
            }
        }
    }

    /// Appends `tokens` and returns the logits after each of them (to score a given
    /// continuation); a sequence's first tokens go through [`Session::feed`]. These tokens
    /// are computed even where the cache holds them.
    pub fn feed_each(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>, LocalError> {
        if tokens.is_empty() || self.len == 0 {
            return Err(LocalError::Generation(
                "feed_each continues a started sequence with at least one token".into(),
            ));
        }
        let total = self.len + tokens.len();
        if total > self.context {
            return Err(LocalError::ContextFull {
                prompt_tokens: total,
                context_length: self.context,
            });
        }
        let len = self.len;
        let state = self.held.state();
        let result = feed_each(state, len, tokens);
        if result.is_ok() {
            self.len = total;
        } else {
            state.slots.pop();
        }
        result.map_err(LocalError::Generation)
    }

    /// Forgets what the caches hold beyond this session's tokens: the next tokens are
    /// computed even where they repeat an earlier run (for measurements).
    pub fn forget(&mut self) {
        let len = self.len;
        let state = self.held.state();
        // Before its first tokens no slot is this session's.
        let others = state.slots.len().saturating_sub(usize::from(len > 0));
        state.slots.drain(..others);
        if let Some(slot) = state.slots.last_mut() {
            slot.tokens.truncate(len);
            slot.kv.truncate(len);
        }
    }

    /// Tokens fed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Of the tokens fed, how many came from the previous run's cache.
    pub fn reused(&self) -> usize {
        self.reused
    }
}

/// Runs `tokens` after the first `len` tokens of the last slot (this session's so far);
/// returns the logits and how many tokens were reused.
fn feed(state: &mut State, len: usize, tokens: &[u32]) -> Result<(Vec<f32>, usize), String> {
    let Some(slot) = state.slots.last_mut() else {
        return Err("no sequence was started".into());
    };
    let same = slot.tokens.get(len..).map_or(0, |rest| {
        rest.iter().zip(tokens).take_while(|(a, b)| a == b).count()
    });
    match &mut state.weights {
        Weights::Native(model) => {
            // At least the last token runs: its logits are the answer.
            let reuse = same.min(tokens.len() - 1);
            slot.tokens.truncate(len + reuse);
            slot.kv.truncate(len + reuse);
            debug_assert_eq!(slot.kv.len(), slot.tokens.len());
            let logits = model.forward(&mut slot.kv, &tokens[reuse..])?;
            slot.tokens.extend_from_slice(&tokens[reuse..]);
            Ok((logits, reuse))
        }
        Weights::Candle(model) => {
            // candle's cache restarts at position 0 or takes one token at a time.
            let run = |model: &mut ModelWeights, t: &[u32], pos: usize| {
                Tensor::new(t, &Device::Cpu)
                    .and_then(|t| t.unsqueeze(0))
                    .and_then(|t| model.forward(&t, pos))
                    .and_then(|l| l.squeeze(0))
                    .and_then(|l| l.to_dtype(DType::F32))
                    .and_then(|l| l.to_vec1::<f32>())
                    .map_err(|e| short(&e.to_string()))
            };
            let mut logits = Vec::new();
            if len > 0 && slot.tokens.len() == len {
                for (i, &t) in tokens.iter().enumerate() {
                    logits = run(model, &[t], len + i)?;
                }
            } else {
                slot.tokens.truncate(len);
                let all: Vec<u32> = slot.tokens.iter().chain(tokens).copied().collect();
                logits = run(model, &all, 0)?;
            }
            slot.tokens.extend_from_slice(tokens);
            Ok((logits, 0))
        }
    }
}

/// Runs `tokens` after the first `len` tokens of the last slot; returns the logits after
/// each of them.
fn feed_each(state: &mut State, len: usize, tokens: &[u32]) -> Result<Vec<Vec<f32>>, String> {
    if let (Weights::Native(model), Some(slot)) = (&mut state.weights, state.slots.last_mut()) {
        slot.tokens.truncate(len);
        slot.kv.truncate(len);
        let logits = model.forward_each(&mut slot.kv, tokens)?;
        slot.tokens.extend_from_slice(tokens);
        return Ok(logits);
    }
    // One at a time (candle's reference pass).
    let mut all = Vec::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        all.push(feed(state, len + i, std::slice::from_ref(t))?.0);
    }
    Ok(all)
}

/// The model, held by one session; tells [`LocalModel::watch_busy`] when it is taken and,
/// just before it is released, when it is left.
struct Held<'a> {
    state: Option<MutexGuard<'a, State>>,
    busy: &'a watch::Sender<bool>,
}

impl<'a> Held<'a> {
    /// Waits for the model and takes it.
    fn take(inner: &'a Inner) -> Held<'a> {
        let state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
        inner.busy.send_replace(true);
        Held {
            state: Some(state),
            busy: &inner.busy,
        }
    }

    fn state(&mut self) -> &mut State {
        self.state.as_deref_mut().expect("held until dropped")
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // Before the release: the next holder's `true` comes after this `false`.
        self.busy.send_replace(false);
        self.state = None;
    }
}
