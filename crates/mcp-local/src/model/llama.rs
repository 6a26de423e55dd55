//! The native forward pass of a llama model (SmolLM2's architecture): the weights stay in
//! their quantized blocks ([`QMatrix`]), the KV cache grows in place (no copy per token), and
//! q/k/v and gate/up are each one product.

use super::attend::Attend;
use super::kernels::{rms_norm, Isa, QMatrix};
use candle_core::quantized::{gguf_file, GgmlDType};
use candle_core::Device;
use rayon::prelude::*;
use std::io::{Read, Seek};

/// Tokens run through the layers together: longer prompts go in slices of this size (it
/// bounds the activations' memory).
const BATCH: usize = 512;

/// The shape of the model, from the GGUF metadata.
#[derive(Debug, Clone)]
struct Config {
    dim: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    ffn: usize,
    eps: f32,
}

struct Layer {
    attn_norm: Vec<f32>,
    /// q, k and v stacked.
    qkv: QMatrix,
    wo: QMatrix,
    ffn_norm: Vec<f32>,
    /// gate and up stacked.
    gate_up: QMatrix,
    down: QMatrix,
}

/// The weights.
pub(crate) struct Llama {
    cfg: Config,
    isa: Isa,
    embed: QMatrix,
    /// `None`: tied to the embeddings.
    output: Option<QMatrix>,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    /// cos and sin of the rotary angles, `head_dim / 2` per position.
    cos: Vec<f32>,
    sin: Vec<f32>,
    context: usize,
    /// The threads of the products: a forward pass runs inside it, so that splitting a
    /// product costs no hand-over from the caller's thread (two futex calls, each time).
    pool: rayon::ThreadPool,
}

/// The keys and values of the positions run so far, per layer (`kv_heads * head_dim` per
/// position).
#[derive(Default)]
pub(crate) struct KvCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    len: usize,
}

impl KvCache {
    /// Positions held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A copy of the first `len` positions.
    pub(crate) fn prefix(&self, len: usize) -> KvCache {
        let len = len.min(self.len);
        let per = |v: &Vec<f32>| v.len() / self.len.max(1);
        let copy = |vs: &Vec<Vec<f32>>| vs.iter().map(|v| v[..per(v) * len].to_vec()).collect();
        KvCache {
            k: copy(&self.k),
            v: copy(&self.v),
            len,
        }
    }

    /// Forgets the positions from `len` on.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        let per = |v: &Vec<f32>| v.len() / self.len.max(1);
        for v in self.k.iter_mut().chain(self.v.iter_mut()) {
            let keep = per(v) * len;
            v.truncate(keep);
        }
        self.len = len;
    }
}

impl Llama {
    /// Reads the weights of a llama GGUF; `context` caps the positions.
    pub(crate) fn from_gguf<R: Read + Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        context: usize,
    ) -> Result<Llama, String> {
        let md = |key: &str| {
            content
                .metadata
                .get(key)
                .ok_or_else(|| format!("the GGUF has no {key}"))
        };
        let int = |key: &str| -> Result<usize, String> {
            md(key)?
                .to_u32()
                .map(|v| v as usize)
                .map_err(|e| format!("{key}: {e}"))
        };
        let float = |key: &str| -> Result<f32, String> {
            md(key)?.to_f32().map_err(|e| format!("{key}: {e}"))
        };
        let dim = int("llama.embedding_length")?;
        let heads = int("llama.attention.head_count")?;
        let kv_heads = int("llama.attention.head_count_kv").unwrap_or(heads);
        let layers = int("llama.block_count")?;
        if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
            return Err(format!("{heads} heads, {kv_heads} kv heads, width {dim}"));
        }
        let head_dim = dim / heads;
        let rope_dim = int("llama.rope.dimension_count").unwrap_or(head_dim);
        if rope_dim != head_dim || head_dim % 2 != 0 {
            return Err(format!("rotary width {rope_dim} with heads of {head_dim}"));
        }
        let cfg = Config {
            dim,
            heads,
            kv_heads,
            head_dim,
            ffn: int("llama.feed_forward_length")?,
            eps: float("llama.attention.layer_norm_rms_epsilon")?,
        };
        let base = float("llama.rope.freq_base").unwrap_or(10_000.0);

        let mut get = |name: &str| read_tensor(content, reader, name);
        let embed = get("token_embd.weight")?.matrix()?;
        let output = match content.tensor_infos.contains_key("output.weight") {
            true => Some(get("output.weight")?.matrix()?),
            false => None,
        };
        let norm = get("output_norm.weight")?.vector()?;
        let mut all = Vec::with_capacity(layers);
        for l in 0..layers {
            let mut w = |part: &str| get(&format!("blk.{l}.{part}.weight"));
            let qkv = QMatrix::stack(vec![
                w("attn_q")?.matrix()?,
                w("attn_k")?.matrix()?,
                w("attn_v")?.matrix()?,
            ])?;
            let gate_up = QMatrix::stack(vec![w("ffn_gate")?.matrix()?, w("ffn_up")?.matrix()?])?;
            all.push(Layer {
                attn_norm: w("attn_norm")?.vector()?,
                qkv,
                wo: w("attn_output")?.matrix()?,
                ffn_norm: w("ffn_norm")?.vector()?,
                gate_up,
                down: w("ffn_down")?.matrix()?,
            });
        }
        let kv = cfg.kv_heads * cfg.head_dim;
        for l in &all {
            let shapes = [
                (l.qkv.rows(), l.qkv.cols(), dim + 2 * kv, dim),
                (l.wo.rows(), l.wo.cols(), dim, dim),
                (l.gate_up.rows(), l.gate_up.cols(), 2 * cfg.ffn, dim),
                (l.down.rows(), l.down.cols(), dim, cfg.ffn),
            ];
            if shapes.iter().any(|(r, c, er, ec)| r != er || c != ec) {
                return Err("a layer's matrices do not have the model's shape".into());
            }
        }
        if embed.cols() != dim || output.as_ref().is_some_and(|o| o.cols() != dim) {
            return Err("the embeddings do not have the model's width".into());
        }

        // Rotary tables, computed as candle computes them (f32 throughout).
        let half = head_dim / 2;
        let theta: Vec<f32> = (0..head_dim)
            .step_by(2)
            .map(|i| 1f32 / base.powf(i as f32 / head_dim as f32))
            .collect();
        let mut cos = Vec::with_capacity(context * half);
        let mut sin = Vec::with_capacity(context * half);
        for p in 0..context {
            for t in &theta {
                let a = p as f32 * t;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        // As many threads as rayon's global pool would have (RAYON_NUM_THREADS or the cores).
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("mcp-local-{i}"))
            .build()
            .map_err(|e| format!("cannot start the model's threads: {e}"))?;
        Ok(Llama {
            pool,
            cfg,
            isa: Isa::detect(),
            embed,
            output,
            layers: all,
            norm,
            cos,
            sin,
            context,
        })
    }

    /// Runs `tokens` after the cache's positions and returns the logits of the last one.
    pub(crate) fn forward(&self, cache: &mut KvCache, tokens: &[u32]) -> Result<Vec<f32>, String> {
        let mut all = self
            .pool
            .install(|| self.forward_here(cache, tokens, false))?;
        all.pop().ok_or_else(|| "nothing to run".to_string())
    }

    /// Runs `tokens` after the cache's positions and returns the logits after each of them.
    pub(crate) fn forward_each(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
    ) -> Result<Vec<Vec<f32>>, String> {
        self.pool.install(|| self.forward_here(cache, tokens, true))
    }

    fn forward_here(
        &self,
        cache: &mut KvCache,
        tokens: &[u32],
        each: bool,
    ) -> Result<Vec<Vec<f32>>, String> {
        if tokens.is_empty() {
            return Err("nothing to run".into());
        }
        if cache.len + tokens.len() > self.context {
            return Err(format!(
                "{} positions do not fit the context of {}",
                cache.len + tokens.len(),
                self.context
            ));
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize >= self.embed.rows()) {
            return Err(format!("token {t} is not in the vocabulary"));
        }
        if cache.k.len() != self.layers.len() {
            *cache = KvCache {
                k: vec![Vec::new(); self.layers.len()],
                v: vec![Vec::new(); self.layers.len()],
                len: 0,
            };
        }
        let dim = self.cfg.dim;
        let mut logits = Vec::new();
        let count = tokens.len().div_ceil(BATCH);
        for (b, batch) in tokens.chunks(BATCH).enumerate() {
            let hidden = self.batch(cache, batch);
            if each {
                logits.extend(self.logits(&hidden));
            } else if b + 1 == count {
                logits.extend(self.logits(&hidden[(batch.len() - 1) * dim..]));
            }
        }
        Ok(logits)
    }

    /// The logits after each hidden state (`hidden` holds one or more rows).
    fn logits(&self, hidden: &[f32]) -> Vec<Vec<f32>> {
        let n = hidden.len() / self.cfg.dim;
        let mut x = vec![0f32; hidden.len()];
        rms_norm(hidden, &self.norm, self.cfg.eps, &mut x);
        let head = self.output.as_ref().unwrap_or(&self.embed);
        let mut logits = vec![0f32; n * head.rows()];
        head.matmul(self.isa, &x, n, &mut logits);
        logits
            .chunks_exact(head.rows())
            .map(<[f32]>::to_vec)
            .collect()
    }

    /// One batch through every layer; returns the hidden states (one row per token).
    fn batch(&self, cache: &mut KvCache, tokens: &[u32]) -> Vec<f32> {
        let Config { dim, ffn, eps, .. } = self.cfg;
        let n = tokens.len();
        let mut x = vec![0f32; n * dim];
        for (t, x) in tokens.iter().zip(x.chunks_exact_mut(dim)) {
            self.embed.row(*t as usize, x);
        }
        let kv = self.cfg.kv_heads * self.cfg.head_dim;
        let mut h = vec![0f32; n * dim];
        let mut qkv = vec![0f32; n * (dim + 2 * kv)];
        let mut att = vec![0f32; n * dim];
        let mut o = vec![0f32; n * dim];
        let mut gu = vec![0f32; n * 2 * ffn];
        let mut act = vec![0f32; n * ffn];
        for (l, layer) in self.layers.iter().enumerate() {
            rms_norm(&x, &layer.attn_norm, eps, &mut h);
            layer.qkv.matmul(self.isa, &h, n, &mut qkv);
            let (k_cache, v_cache) = (&mut cache.k[l], &mut cache.v[l]);
            for (i, row) in qkv.chunks_exact_mut(dim + 2 * kv).enumerate() {
                let pos = cache.len + i;
                let (q, rest) = row.split_at_mut(dim);
                let (k, v) = rest.split_at_mut(kv);
                self.rope(q, pos);
                self.rope(k, pos);
                k_cache.extend_from_slice(k);
                v_cache.extend_from_slice(v);
            }
            self.attention(&qkv, k_cache, v_cache, cache.len, &mut att);
            layer.wo.matmul(self.isa, &att, n, &mut o);
            x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);

            rms_norm(&x, &layer.ffn_norm, eps, &mut h);
            layer.gate_up.matmul(self.isa, &h, n, &mut gu);
            for (gu, a) in gu.chunks_exact(2 * ffn).zip(act.chunks_exact_mut(ffn)) {
                let (g, u) = gu.split_at(ffn);
                for ((a, g), u) in a.iter_mut().zip(g).zip(u) {
                    *a = g / (1.0 + (-g).exp()) * u;
                }
            }
            layer.down.matmul(self.isa, &act, n, &mut o);
            x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);
        }
        cache.len += n;
        x
    }

    /// Rotates consecutive pairs of each head (GGUF llama's layout) for position `pos`.
    fn rope(&self, x: &mut [f32], pos: usize) {
        let half = self.cfg.head_dim / 2;
        let (cos, sin) = (
            &self.cos[pos * half..(pos + 1) * half],
            &self.sin[pos * half..(pos + 1) * half],
        );
        for head in x.chunks_exact_mut(self.cfg.head_dim) {
            for ((pair, c), s) in head.chunks_exact_mut(2).zip(cos).zip(sin) {
                let (a, b) = (pair[0], pair[1]);
                pair[0] = a * c - b * s;
                pair[1] = a * s + b * c;
            }
        }
    }

    /// Causal attention of the batch's queries (in `qkv`, tokens from position `start`) over
    /// the cache, into `att`; tokens run in parallel.
    fn attention(&self, qkv: &[f32], keys: &[f32], values: &[f32], start: usize, att: &mut [f32]) {
        let Config {
            dim,
            heads,
            kv_heads,
            head_dim,
            ..
        } = self.cfg;
        let kv = kv_heads * head_dim;
        let group = heads / kv_heads;
        let scale = 1.0 / (head_dim as f32).sqrt();
        let isa = self.isa;
        att.par_chunks_mut(dim)
            .zip(qkv.par_chunks(dim + 2 * kv))
            .enumerate()
            .for_each_init(Vec::new, |scores, (i, (out, row))| {
                let q = &row[..dim];
                for (g, out) in out.chunks_exact_mut(group * head_dim).enumerate() {
                    Attend {
                        q: &q[g * group * head_dim..(g + 1) * group * head_dim],
                        head_dim,
                        keys,
                        values,
                        stride: kv,
                        offset: g * head_dim,
                        n: start + i + 1,
                        scale,
                        scores,
                        out,
                    }
                    .run(isa);
                }
            });
    }
}

/// A tensor as read from the file.
struct Raw {
    name: String,
    qt: candle_core::quantized::QTensor,
}

fn read_tensor<R: Read + Seek>(
    content: &gguf_file::Content,
    reader: &mut R,
    name: &str,
) -> Result<Raw, String> {
    let info = content
        .tensor_infos
        .get(name)
        .ok_or_else(|| format!("the GGUF has no tensor {name}"))?;
    let qt = info
        .read(reader, content.tensor_data_offset, &Device::Cpu)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(Raw {
        name: name.to_string(),
        qt,
    })
}

impl Raw {
    fn matrix(self) -> Result<QMatrix, String> {
        let [rows, cols] = self.qt.shape().dims()[..] else {
            return Err(format!("{} is not a matrix", self.name));
        };
        let data = || self.qt.data().map_err(|e| format!("{}: {e}", self.name));
        let m = match self.qt.dtype() {
            GgmlDType::Q4_1 => QMatrix::from_q4_1(rows, cols, &data()?),
            GgmlDType::Q8_0 => QMatrix::from_q8_0(rows, cols, &data()?),
            // Other formats: through f32 to Q8_0 (near-lossless).
            _ => QMatrix::quantize_q8_0(rows, cols, &self.vector()?),
        };
        m.map_err(|e| format!("{}: {e}", self.name))
    }

    fn vector(&self) -> Result<Vec<f32>, String> {
        self.qt
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("{}: {e}", self.name))
    }
}
