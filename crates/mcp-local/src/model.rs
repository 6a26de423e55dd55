//! The model: loading the GGUF (read with candle's GGUF reader), the chat prompt, generation,
//! and the [`mcp_llm::Provider`] implementation ([`provider`]). The forward pass is ours ([`llama`], on the
//! [`kernels`]), run through a [`Session`]; candle's `quantized_llama` stays as the reference
//! ([`Backend::Candle`]).

mod attend;
mod by_example;
mod choose;
mod constrain;
mod kernels;
mod llama;
mod provider;
mod session;

use crate::tokenizer::Tokenizer;
use crate::{LocalError, MODEL_ID};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::ModelWeights;
pub use choose::Chosen;
pub use constrain::MAX_FREE_STRING;
use mcp_llm::ProviderError;
use mcp_proto::content::Content;
use mcp_proto::sampling::{CreateMessageParams, Role, ToolChoiceMode};
use session::State;
pub use session::{Backend, Session};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The system prompt of SmolLM2's chat template, used when a request has none.
pub const DEFAULT_SYSTEM_PROMPT: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// Nucleus sampling's `p` when a request has a temperature.
pub const TOP_P: f64 = 0.9;

/// The most positions (prompt and reply) the model runs, whatever the file allows: the KV
/// cache takes 46 KB per position (SmolLM2-135M), grown as needed.
pub const MAX_CONTEXT: usize = 4096;

/// The embedded model. Cheap to clone (an `Arc`); clones share the weights.
///
/// One generation runs at a time (the weights and their KV cache sit behind a mutex, taken by
/// a [`Session`]; on two cores, concurrent generations would only slow each other down):
/// other requests wait.
#[derive(Clone)]
pub struct LocalModel {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Whether a generation holds the weights; see [`LocalModel::watch_busy`].
    busy: watch::Sender<bool>,
    tokenizer: Tokenizer,
    /// Prompt plus generated tokens: the GGUF's context length, capped by [`MAX_CONTEXT`].
    context_length: usize,
    /// Tokens that end the assistant's turn.
    end_tokens: Vec<u32>,
    im_start: u32,
    im_end: u32,
    load_time: Duration,
    path: PathBuf,
    /// The vocabulary compiled for JSON-constrained answers, on first use.
    grammars: OnceLock<Result<constrain::Grammars, String>>,
    /// Whether choices are calibrated ([`LocalModel::set_calibrated_choices`]).
    calibrate: AtomicBool,
    /// Whether worked examples decide choices ([`LocalModel::set_choices_by_example`]).
    by_example: AtomicBool,
    /// Calibration priors by prompt template (see `choose.rs`).
    priors: Mutex<HashMap<u64, Vec<f32>>>,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("path", &self.inner.path)
            .field("context_length", &self.inner.context_length)
            .field("load_time", &self.inner.load_time)
            .finish_non_exhaustive()
    }
}

/// How to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// The most tokens to generate (the end-of-turn token counts as one).
    pub max_tokens: usize,
    /// `None` or not above 0: greedy. Otherwise softmax sampling at this temperature with
    /// nucleus `top_p`.
    pub temperature: Option<f64>,
    /// Nucleus sampling's `p`.
    pub top_p: f64,
    /// The sampler's seed.
    pub seed: u64,
    /// Generation stops as soon as the text contains one of these; the text is cut before it.
    pub stop_sequences: Vec<String>,
}

impl GenerateOptions {
    /// Greedy generation of at most `max_tokens`.
    pub fn greedy(max_tokens: usize) -> Self {
        GenerateOptions {
            max_tokens,
            temperature: None,
            top_p: TOP_P,
            seed: 0,
            stop_sequences: Vec::new(),
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The model ended its turn (`<|im_end|>` or `<|endoftext|>`).
    EndTurn,
    /// The text met this stop sequence.
    StopSequence(String),
    /// `max_tokens` were generated, or the context window is full.
    MaxTokens,
}

/// A generation's text and figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The generated text (without the end token, cut before a stop sequence).
    pub text: String,
    /// Why it stopped.
    pub stop: Stop,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Tokens generated (sampled), the end token included.
    pub generated_tokens: usize,
    /// Prompt tokens whose keys and values were reused from the previous run (a shared
    /// prefix), not computed again.
    pub reused_tokens: usize,
    /// Time to process the prompt (up to the first sampled token).
    pub prompt_time: Duration,
    /// Time of the generation loop after the prompt.
    pub generation_time: Duration,
}

impl LocalModel {
    /// Loads a GGUF model (llama architecture, GPT-2 style BPE vocabulary) on the CPU, run
    /// by the native forward pass ([`Backend::Native`]).
    pub fn load(path: &Path) -> Result<LocalModel, LocalError> {
        LocalModel::load_with(path, Backend::default())
    }

    /// Loads a GGUF model run by `backend`.
    pub fn load_with(path: &Path, backend: Backend) -> Result<LocalModel, LocalError> {
        let start = Instant::now();
        let load_err = |message: String| LocalError::Load {
            path: path.to_path_buf(),
            message,
        };
        let file = File::open(path).map_err(|e| load_err(e.to_string()))?;
        let mut reader = BufReader::new(file);
        let content =
            gguf_file::Content::read(&mut reader).map_err(|e| load_err(short(&e.to_string())))?;
        let tokenizer = tokenizer_from_gguf(&content).map_err(load_err)?;
        let context_length = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(MAX_CONTEXT, |n| n as usize)
            .min(MAX_CONTEXT);
        let state = match backend {
            Backend::Native => llama::Llama::from_gguf(&content, &mut reader, context_length)
                .map(State::native)
                .map_err(|e| load_err(short(&e)))?,
            // An f32 copy of the file (exactly the dequantized weights: the reference).
            Backend::Candle => convert(content, &mut reader, GgmlDType::F32)
                .and_then(|(content, mut memory)| {
                    ModelWeights::from_gguf(content, &mut memory, &Device::Cpu)
                })
                .map(State::candle)
                .map_err(|e| load_err(short(&e.to_string())))?,
        };

        let need = |text: &str| {
            tokenizer
                .special(text)
                .ok_or_else(|| load_err(format!("the vocabulary has no {text} token")))
        };
        let im_start = need("<|im_start|>")?;
        let im_end = need("<|im_end|>")?;
        let mut end_tokens = vec![im_end];
        end_tokens.extend(tokenizer.eos());
        end_tokens.extend(tokenizer.special("<|endoftext|>"));
        end_tokens.sort_unstable();
        end_tokens.dedup();

        let load_time = start.elapsed();
        tracing::info!(
            path = %path.display(),
            load_ms = load_time.as_millis() as u64,
            context_length,
            "loaded the local model"
        );
        Ok(LocalModel {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                busy: watch::Sender::new(false),
                tokenizer,
                context_length,
                end_tokens,
                im_start,
                im_end,
                load_time,
                path: path.to_path_buf(),
                grammars: OnceLock::new(),
                calibrate: AtomicBool::new(true),
                by_example: AtomicBool::new(true),
                priors: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Loads the installed model ([`crate::installed_model_path`]), or says how to install it.
    pub fn load_installed() -> Result<LocalModel, LocalError> {
        match crate::installed_model_path() {
            Some(path) => LocalModel::load(&path),
            None => Err(LocalError::NotInstalled {
                dir: crate::default_model_dir(),
            }),
        }
    }

    /// How long [`LocalModel::load`] took.
    pub fn load_time(&self) -> Duration {
        self.inner.load_time
    }

    /// The most tokens of prompt and reply together.
    pub fn context_length(&self) -> usize {
        self.inner.context_length
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether a generation is running (or holds the model) right now.
    pub fn busy(&self) -> bool {
        matches!(
            self.inner.state.try_lock(),
            Err(std::sync::TryLockError::WouldBlock)
        )
    }

    /// Follows whether a generation holds the model: the receiver sees `true` when one takes
    /// it and `false` as it leaves (just before the next can take it), so that a caller can
    /// wait for either instead of polling [`LocalModel::busy`].
    pub fn watch_busy(&self) -> watch::Receiver<bool> {
        self.inner.busy.subscribe()
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.inner.tokenizer
    }

    /// The prompt for a sampling request, as tokens: SmolLM2's ChatML template (the default
    /// system prompt when the request has none), ending with the assistant's header, or
    /// continuing the last message when it is the assistant's (a prefill).
    ///
    /// Text only: images and audio are refused, and so are tools (this model cannot call
    /// them) unless `toolChoice` is `none`.
    pub fn chat_prompt(&self, params: &CreateMessageParams) -> Result<Vec<u32>, ProviderError> {
        if params.messages.is_empty() {
            return Err(ProviderError::Unsupported(
                "a sampling request needs at least one message".into(),
            ));
        }
        let tools_offered = params.tools.as_ref().is_some_and(|t| !t.is_empty());
        let tools_off = params
            .tool_choice
            .as_ref()
            .is_some_and(|c| c.mode == Some(ToolChoiceMode::None));
        if tools_offered && !tools_off {
            return Err(ProviderError::Unsupported(format!(
                "the local model ({MODEL_ID}) cannot call tools; send the request without tools, \
                 or with toolChoice none, or route it to a larger model"
            )));
        }

        // Text between special tokens is joined before it is encoded, as when the template is
        // rendered to a string and tokenized (pre-tokenisation sees the same runs).
        let mut parts = Prompt::default();
        let system = params
            .system_prompt
            .as_deref()
            .unwrap_or(DEFAULT_SYSTEM_PROMPT);
        parts.turn(
            self.inner.im_start,
            self.inner.im_end,
            "system",
            system,
            true,
        );
        let last = params.messages.len() - 1;
        for (i, m) in params.messages.iter().enumerate() {
            let mut text = String::new();
            for block in m.content.as_slice() {
                match block {
                    Content::Text { text: t, .. } => {
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(t);
                    }
                    Content::Image { .. } | Content::Audio { .. } => {
                        return Err(ProviderError::Unsupported(format!(
                            "the local model ({MODEL_ID}) reads text only; message {i} has an \
                             {} block",
                            block.kind()
                        )))
                    }
                    Content::ToolUse { .. } | Content::ToolResult { .. } => {
                        return Err(ProviderError::Unsupported(format!(
                            "the local model ({MODEL_ID}) cannot call tools; message {i} has a \
                             {} block",
                            block.kind()
                        )))
                    }
                    other => {
                        return Err(ProviderError::Unsupported(format!(
                            "message {i} has a {} block, which sampling messages cannot carry",
                            other.kind()
                        )))
                    }
                }
            }
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            let prefill = i == last && m.role == Role::Assistant;
            parts.turn(
                self.inner.im_start,
                self.inner.im_end,
                role,
                &text,
                !prefill,
            );
        }
        if params.messages[last].role != Role::Assistant {
            parts.special(self.inner.im_start);
            parts.text("assistant\n");
        }
        Ok(parts.encode(&self.inner.tokenizer))
    }

    /// Generates from `prompt` (blocking; CPU-bound). `cancel` is checked before every token:
    /// once set, generation stops with [`LocalError::Cancelled`].
    pub fn generate(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        cancel: &AtomicBool,
    ) -> Result<Generation, LocalError> {
        let inner = &*self.inner;
        if prompt.is_empty() {
            return Err(LocalError::Generation("the prompt is empty".into()));
        }
        if prompt.len() >= inner.context_length {
            return Err(LocalError::ContextFull {
                prompt_tokens: prompt.len(),
                context_length: inner.context_length,
            });
        }
        // The context window caps the reply too.
        let budget = opts.max_tokens.min(inner.context_length - prompt.len());
        let mut session = self.session();
        if cancel.load(Ordering::Relaxed) {
            return Err(LocalError::Cancelled);
        }
        let sampling = match opts.temperature {
            Some(t) if t > 0.0 => Sampling::TopP {
                p: opts.top_p,
                temperature: t,
            },
            _ => Sampling::ArgMax,
        };
        let mut sampler = LogitsProcessor::from_sampling(opts.seed, sampling);
        let stops: Vec<&str> = opts
            .stop_sequences
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        let mut sample = |logits: Vec<f32>| {
            let n = logits.len();
            Tensor::from_vec(logits, n, &Device::Cpu)
                .and_then(|l| sampler.sample(&l))
                .map_err(|e| LocalError::Generation(short(&e.to_string())))
        };

        let start = Instant::now();
        let mut logits = session.feed(prompt)?;
        let mut prompt_time = None;
        let mut bytes: Vec<u8> = Vec::new();
        let mut generated = 0usize;
        let mut stop = Stop::MaxTokens;
        let mut cut = None;
        while generated < budget {
            if cancel.load(Ordering::Relaxed) {
                return Err(LocalError::Cancelled);
            }
            let token = sample(logits)?;
            prompt_time.get_or_insert_with(|| start.elapsed());
            generated += 1;
            // A new header also ends the turn: the model is done with its own.
            if inner.end_tokens.contains(&token) || token == inner.im_start {
                stop = Stop::EndTurn;
                break;
            }
            let before = bytes.len();
            bytes.extend_from_slice(inner.tokenizer.token_bytes(token));
            if let Some((at, s)) = find_stop(&bytes, before, &stops) {
                cut = Some(at);
                stop = Stop::StopSequence(s.to_string());
                break;
            }
            if generated == budget {
                break;
            }
            logits = session.feed(&[token])?;
        }
        let reused_tokens = session.reused();
        drop(session);
        if let Some(at) = cut {
            bytes.truncate(at);
        }
        let elapsed = start.elapsed();
        let prompt_time = prompt_time.unwrap_or(elapsed);
        Ok(Generation {
            text: utf8_text(bytes),
            stop,
            prompt_tokens: prompt.len(),
            generated_tokens: generated,
            reused_tokens,
            prompt_time,
            generation_time: elapsed.saturating_sub(prompt_time),
        })
    }
}

/// The prompt as runs of text and special tokens.
#[derive(Default)]
struct Prompt {
    parts: Vec<Part>,
}

enum Part {
    Text(String),
    Special(u32),
}

impl Prompt {
    fn text(&mut self, s: &str) {
        match self.parts.last_mut() {
            Some(Part::Text(t)) => t.push_str(s),
            _ => self.parts.push(Part::Text(s.to_string())),
        }
    }

    fn special(&mut self, id: u32) {
        self.parts.push(Part::Special(id));
    }

    /// `<|im_start|>role\ncontent<|im_end|>\n`, or without the end for a prefill.
    fn turn(&mut self, start: u32, end: u32, role: &str, content: &str, close: bool) {
        self.special(start);
        self.text(role);
        self.text("\n");
        self.text(content);
        if close {
            self.special(end);
            self.text("\n");
        }
    }

    fn encode(&self, tokenizer: &Tokenizer) -> Vec<u32> {
        let mut ids = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => ids.extend(tokenizer.encode(t)),
                Part::Special(id) => ids.push(*id),
            }
        }
        ids
    }
}

/// The earliest stop sequence in `bytes` that ends after `before` (the new token's start).
fn find_stop<'s>(bytes: &[u8], before: usize, stops: &[&'s str]) -> Option<(usize, &'s str)> {
    let mut best: Option<(usize, &str)> = None;
    for s in stops {
        let s_bytes = s.as_bytes();
        let from = before.saturating_sub(s_bytes.len().saturating_sub(1));
        if let Some(at) = bytes[from..]
            .windows(s_bytes.len())
            .position(|w| w == s_bytes)
        {
            let at = from + at;
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, s));
            }
        }
    }
    best
}

/// The text of the generated bytes: an incomplete UTF-8 sequence at the end (the token limit
/// fell inside a character) is dropped; invalid bytes elsewhere are replaced.
fn utf8_text(mut bytes: Vec<u8>) -> String {
    match std::str::from_utf8(&bytes) {
        Ok(_) => String::from_utf8(bytes).expect("checked"),
        Err(e) if e.error_len().is_none() => {
            bytes.truncate(e.valid_up_to());
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// candle's errors may print whole metadata values; keep messages readable.
fn short(message: &str) -> String {
    const MAX: usize = 400;
    if message.len() <= MAX {
        return message.to_string();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// The GGUF with its quantized matrices re-encoded as `target`, in memory: `from_gguf` reads
/// it as it reads a file (candle's `QMatMul` keeps float matrices as plain f32 tensors).
fn convert<R: Read + Seek>(
    content: gguf_file::Content,
    reader: &mut R,
    target: GgmlDType,
) -> candle_core::Result<(gguf_file::Content, Cursor<Vec<u8>>)> {
    const ALIGN: usize = 32;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut data: Vec<u8> = Vec::new();
    let mut infos = HashMap::with_capacity(names.len());
    for name in names {
        let info = &content.tensor_infos[name];
        let t = info.read(reader, content.tensor_data_offset, &Device::Cpu)?;
        let keep = matches!(t.dtype(), GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16)
            || t.dtype() == target
            // Block formats need whole blocks along the last dimension.
            || t.shape().dims().last().is_none_or(|&d| d % target.block_size() != 0);
        let t = if keep {
            t
        } else {
            QTensor::quantize(&t.dequantize(&Device::Cpu)?, target)?
        };
        data.resize(data.len().next_multiple_of(ALIGN), 0);
        let offset = data.len() as u64;
        data.extend_from_slice(&t.data()?);
        infos.insert(
            name.clone(),
            gguf_file::TensorInfo {
                ggml_dtype: t.dtype(),
                shape: t.shape().clone(),
                offset,
            },
        );
    }
    let content = gguf_file::Content {
        magic: content.magic,
        metadata: content.metadata,
        tensor_infos: infos,
        tensor_data_offset: 0,
    };
    Ok((content, Cursor::new(data)))
}

/// Builds the tokenizer from `tokenizer.ggml.*` metadata.
fn tokenizer_from_gguf(content: &gguf_file::Content) -> Result<Tokenizer, String> {
    let md = &content.metadata;
    let get = |key: &str| md.get(key).ok_or_else(|| format!("the GGUF has no {key}"));
    let model = get("tokenizer.ggml.model")?
        .to_string()
        .map_err(|_| "tokenizer.ggml.model is not a string".to_string())?;
    if model != "gpt2" {
        return Err(format!(
            "the GGUF's tokenizer is {model:?}; only GPT-2 style byte-level BPE (\"gpt2\") is \
             supported"
        ));
    }
    let strings = |key: &str| -> Result<Vec<String>, String> {
        get(key)?
            .to_vec()
            .map_err(|_| format!("{key} is not an array"))?
            .iter()
            .map(|v| {
                v.to_string()
                    .cloned()
                    .map_err(|_| format!("{key} holds a value that is not a string"))
            })
            .collect()
    };
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges = strings("tokenizer.ggml.merges")?;
    let types = match md.get("tokenizer.ggml.token_type") {
        None => None,
        Some(v) => Some(
            v.to_vec()
                .map_err(|_| "tokenizer.ggml.token_type is not an array".to_string())?
                .iter()
                .map(|t| {
                    t.to_i32()
                        .map_err(|_| "tokenizer.ggml.token_type holds a non-i32".to_string())
                })
                .collect::<Result<Vec<i32>, String>>()?,
        ),
    };
    let id = |key: &str| md.get(key).and_then(|v| v.to_u32().ok());
    Tokenizer::new(
        tokens,
        types,
        &merges,
        id("tokenizer.ggml.bos_token_id"),
        id("tokenizer.ggml.eos_token_id"),
        id("tokenizer.ggml.unknown_token_id"),
    )
    .map_err(|e| e.to_string())
}

/// Reads only the tokenizer of a GGUF file (no weights): for tests and tools.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer, LocalError> {
    let load_err = |message: String| LocalError::Load {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|e| load_err(e.to_string()))?;
    let content = gguf_file::Content::read(&mut BufReader::new(file))
        .map_err(|e| load_err(short(&e.to_string())))?;
    tokenizer_from_gguf(&content).map_err(load_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_sequences_across_tokens() {
        let b = b"hello wor".to_vec();
        assert_eq!(find_stop(&b, 6, &["lo w"]), Some((3, "lo w")));
        assert_eq!(find_stop(&b, 9, &["lo w"]), None, "already seen before");
        assert_eq!(find_stop(&b, 6, &["xyz", "o", "wor"]), Some((6, "wor")));
    }

    #[test]
    fn incomplete_utf8_is_dropped() {
        let mut b = "né".as_bytes().to_vec();
        b.pop();
        assert_eq!(utf8_text(b), "n");
        assert_eq!(utf8_text(vec![0xff, b'a']), "\u{fffd}a");
    }
}
