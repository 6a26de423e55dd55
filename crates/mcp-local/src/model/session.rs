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

/// The loaded weights and what their cache holds.
pub(crate) struct State {
    weights: Weights,
    /// The tokens whose keys and values the cache holds, in order.
    cached: Vec<u32>,
}

enum Weights {
    Native(Box<Llama>, KvCache),
    Candle(Box<ModelWeights>),
}

impl State {
    pub(crate) fn native(model: Llama) -> State {
        State {
            weights: Weights::Native(Box::new(model), KvCache::default()),
            cached: Vec::new(),
        }
    }

    pub(crate) fn candle(model: ModelWeights) -> State {
        State {
            weights: Weights::Candle(Box::new(model)),
            cached: Vec::new(),
        }
    }
}

/// One sequence run on the model: [`Session::feed`] appends tokens and returns the logits
/// that follow the last one. The session holds the model (one at a time; others wait in
/// [`LocalModel::session`]).
///
/// The model remembers the tokens of its last run: when a session's tokens start the same
/// way (the same system prompt and examples), their keys and values are reused and only the
/// rest is computed. The results are the same as from a cold start.
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
        let result = feed(state, self.len, tokens);
        match result {
            Ok((logits, reused)) => {
                self.reused += reused;
                self.len = total;
                Ok(logits)
            }
            Err(e) => {
                // Whatever the cache holds now is not trusted.
                state.cached.clear();
                if let Weights::Native(_, cache) = &mut state.weights {
                    cache.truncate(0);
                }
                Err(LocalError::Generation(e))
            }
        }
    }

    /// Forgets what the cache holds beyond this session's tokens: the next tokens are
    /// computed even where they repeat the previous run (for measurements).
    pub fn forget(&mut self) {
        let len = self.len;
        let state = self.held.state();
        state.cached.truncate(len);
        if let Weights::Native(_, cache) = &mut state.weights {
            cache.truncate(len);
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

/// Runs `tokens` after the first `len` cached tokens (this session's so far); returns the
/// logits and how many tokens were reused.
fn feed(state: &mut State, len: usize, tokens: &[u32]) -> Result<(Vec<f32>, usize), String> {
    let same = state.cached.get(len..).map_or(0, |rest| {
        rest.iter().zip(tokens).take_while(|(a, b)| a == b).count()
    });
    match &mut state.weights {
        Weights::Native(model, cache) => {
            // At least the last token runs: its logits are the answer.
            let reuse = same.min(tokens.len() - 1);
            state.cached.truncate(len + reuse);
            cache.truncate(len + reuse);
            debug_assert_eq!(cache.len(), state.cached.len());
            let logits = model.forward(cache, &tokens[reuse..])?;
            state.cached.extend_from_slice(&tokens[reuse..]);
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
            if len > 0 && state.cached.len() == len {
                for (i, &t) in tokens.iter().enumerate() {
                    logits = run(model, &[t], len + i)?;
                }
            } else {
                state.cached.truncate(len);
                let all: Vec<u32> = state.cached.iter().chain(tokens).copied().collect();
                logits = run(model, &all, 0)?;
            }
            state.cached.extend_from_slice(tokens);
            Ok((logits, 0))
        }
    }
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
