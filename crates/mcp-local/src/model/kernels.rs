//! The arithmetic of the native forward pass: matrices kept quantized (the file's Q4_1 blocks,
//! Q8_0 for the embeddings), multiplied by f32 activations.
//!
//! Each block of 32 weights is expanded to f32 in registers and multiplied with f32
//! activations (no quantization of the activations, so the results match a dequantized f32
//! matrix up to the order of the sums). On x86-64 with AVX2 and FMA (checked at run time
//! through `pulp`, which makes the intrinsics safe to call) one block is 4 vectors of 8; a
//! prompt multiplies each expanded block with 8 tokens at once. Elsewhere plain Rust runs
//! the same arithmetic. Rows are split over rayon's threads.

use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use pulp::Simd;
#[cfg(target_arch = "x86_64")]
use pulp::{cast, f32x8, x86::V3};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::__m128i;

/// Weights per quantized block.
pub(crate) const BLOCK: usize = 32;
/// Tokens multiplied with one expanded block at a time (short prompts).
const TILE: usize = 8;
/// From this many tokens on, a product expands the whole matrix to f32 and runs a gemm.
const GEMM_FROM: usize = 32;

/// The instruction set the kernels use, found once at load.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Isa {
    /// Plain Rust.
    Scalar,
    /// AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    V3(V3),
}

impl Isa {
    /// The best available.
    pub(crate) fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = V3::try_new() {
            return Isa::V3(simd);
        }
        Isa::Scalar
    }
}

/// A matrix of `rows` x `cols` weights, `cols` a multiple of [`BLOCK`], stored by rows.
#[derive(Debug, Clone)]
pub(crate) struct QMatrix {
    rows: usize,
    cols: usize,
    blocks: Blocks,
}

#[derive(Debug, Clone)]
enum Blocks {
    /// Weight `i` of a block is `d * q + m` with `q` the low nibble of byte `i` for
    /// `i < 16`, the high nibble of byte `i - 16` after (ggml's Q4_1).
    Q4_1 {
        qs: Vec<[u8; 16]>,
        dm: Vec<[u16; 2]>,
    },
    /// Weight `i` of a block is `d * q[i]` (ggml's Q8_0).
    Q8_0 { qs: Vec<[i8; 32]>, d: Vec<u16> },
}

/// The f16 scales stay f16 in memory (decoding reads every byte of the matrices once per
/// token); this table turns them into f32 with one load.
fn f16_table() -> &'static [f32; 1 << 16] {
    static TABLE: std::sync::OnceLock<Box<[f32; 1 << 16]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let all: Vec<f32> = (0..=u16::MAX)
            .map(|b| half::f16::from_bits(b).to_f32())
            .collect();
        all.into_boxed_slice().try_into().expect("65536 entries")
    })
}

impl QMatrix {
    /// From ggml Q4_1 blocks (`d`, `m` as f16, then 16 bytes).
    pub(crate) fn from_q4_1(rows: usize, cols: usize, raw: &[u8]) -> Result<QMatrix, String> {
        let n = check_shape(rows, cols, raw.len(), 20)?;
        let mut qs = Vec::with_capacity(n);
        let mut dm = Vec::with_capacity(n);
        for b in raw.chunks_exact(20) {
            dm.push([
                u16::from_le_bytes([b[0], b[1]]),
                u16::from_le_bytes([b[2], b[3]]),
            ]);
            let mut q = [0u8; 16];
            q.copy_from_slice(&b[4..]);
            qs.push(q);
        }
        Ok(QMatrix {
            rows,
            cols,
            blocks: Blocks::Q4_1 { qs, dm },
        })
    }

    /// From ggml Q8_0 blocks (`d` as f16, then 32 signed bytes).
    pub(crate) fn from_q8_0(rows: usize, cols: usize, raw: &[u8]) -> Result<QMatrix, String> {
        let n = check_shape(rows, cols, raw.len(), 34)?;
        let mut qs = Vec::with_capacity(n);
        let mut d = Vec::with_capacity(n);
        for b in raw.chunks_exact(34) {
            d.push(u16::from_le_bytes([b[0], b[1]]));
            qs.push(std::array::from_fn(|i| b[2 + i] as i8));
        }
        Ok(QMatrix {
            rows,
            cols,
            blocks: Blocks::Q8_0 { qs, d },
        })
    }

    /// Quantizes f32 weights to Q8_0 (for the formats without a kernel of their own).
    pub(crate) fn quantize_q8_0(rows: usize, cols: usize, w: &[f32]) -> Result<QMatrix, String> {
        let n = check_shape(rows, cols, w.len() * 34 / BLOCK, 34)?;
        let mut qs = Vec::with_capacity(n);
        let mut d = Vec::with_capacity(n);
        for b in w.chunks_exact(BLOCK) {
            let max = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = max / 127.0;
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            d.push(half::f16::from_f32(scale).to_bits());
            qs.push(std::array::from_fn(|i| (b[i] * inv).round() as i8));
        }
        Ok(QMatrix {
            rows,
            cols,
            blocks: Blocks::Q8_0 { qs, d },
        })
    }

    /// The matrices' rows one after the other (all of one format and width), so that one
    /// product computes them all (q, k and v; gate and up).
    pub(crate) fn stack(parts: Vec<QMatrix>) -> Result<QMatrix, String> {
        let mut parts = parts.into_iter();
        let mut all = parts.next().ok_or("nothing to stack")?;
        for p in parts {
            if p.cols != all.cols {
                return Err(format!("cannot stack {} with {} columns", p.cols, all.cols));
            }
            match (&mut all.blocks, p.blocks) {
                (Blocks::Q4_1 { qs, dm }, Blocks::Q4_1 { qs: q2, dm: d2 }) => {
                    qs.extend(q2);
                    dm.extend(d2);
                }
                (Blocks::Q8_0 { qs, d }, Blocks::Q8_0 { qs: q2, d: d2 }) => {
                    qs.extend(q2);
                    d.extend(d2);
                }
                _ => return Err("cannot stack matrices of different formats".into()),
            }
            all.rows += p.rows;
        }
        Ok(all)
    }

    /// Rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` as f32 (an embedding).
    pub(crate) fn row(&self, r: usize, out: &mut [f32]) {
        let per = self.cols / BLOCK;
        let f16 = f16_table();
        for (b, o) in (r * per..(r + 1) * per).zip(out.chunks_exact_mut(BLOCK)) {
            match &self.blocks {
                Blocks::Q4_1 { qs, dm } => {
                    let [d, m] = dm[b].map(|h| f16[usize::from(h)]);
                    for (i, o) in o.iter_mut().enumerate() {
                        *o = d * f32::from(nibble(&qs[b], i)) + m;
                    }
                }
                Blocks::Q8_0 { qs, d } => {
                    for (o, &q) in o.iter_mut().zip(&qs[b]) {
                        *o = f16[usize::from(d[b])] * f32::from(q);
                    }
                }
            }
        }
    }

    /// `out = x W^T`: `x` is `n` rows of `cols`, `out` `n` rows of `rows`.
    pub(crate) fn matmul(&self, isa: Isa, x: &[f32], n: usize, out: &mut [f32]) {
        debug_assert_eq!(x.len(), n * self.cols);
        debug_assert_eq!(out.len(), n * self.rows);
        if n == 1 {
            // One token: the rows are split over the threads.
            let threads = rayon::current_num_threads().max(1);
            let chunk = self.rows.div_ceil(4 * threads).max(16);
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(c, o)| self.rows_into(isa, c * chunk, o.len(), x, o));
        } else if n >= GEMM_FROM && self.matmul_gemm(isa, x, n, out).is_ok() {
            // A long prompt: as f32 through candle's gemm.
        } else {
            // A short prompt: tiles of tokens are split over the threads, each through every
            // row (the matrix stays in the shared cache).
            out.par_chunks_mut(TILE * self.rows)
                .zip(x.par_chunks(TILE * self.cols))
                .for_each(|(o, x)| self.rows_into(isa, 0, self.rows, x, o));
        }
    }

    /// `out = x W^T` with `W` expanded to f32 and candle's matrix product (`gemm`, which
    /// picks its own SIMD kernels and packs panels for the caches): for many tokens, faster
    /// than expanding each block for every tile of tokens.
    fn matmul_gemm(
        &self,
        isa: Isa,
        x: &[f32],
        n: usize,
        out: &mut [f32],
    ) -> candle_core::Result<()> {
        use candle_core::{Device, Tensor};
        let mut w = vec![0f32; self.rows * self.cols];
        let per_row = self.cols;
        w.par_chunks_mut(per_row * 16)
            .enumerate()
            .for_each(|(c, w)| self.expand_rows(isa, c * 16, w));
        let w = Tensor::from_vec(w, (self.rows, self.cols), &Device::Cpu)?;
        let x = Tensor::from_slice(x, (n, self.cols), &Device::Cpu)?;
        let y = x.matmul(&w.t()?)?.flatten_all()?.to_vec1::<f32>()?;
        out.copy_from_slice(&y);
        Ok(())
    }

    /// Rows `r0..` (as many as `w` holds) as f32.
    fn expand_rows(&self, isa: Isa, r0: usize, w: &mut [f32]) {
        let per = self.cols / BLOCK;
        let k0 = r0 * per;
        let (out, _) = pulp::as_arrays_mut::<BLOCK, f32>(w);
        match (&self.blocks, isa) {
            #[cfg(target_arch = "x86_64")]
            (Blocks::Q4_1 { qs, dm }, Isa::V3(simd)) => simd.vectorize(ExpandRowsV3 {
                simd,
                out,
                w: Q41(&qs[k0..], &dm[k0..], f16_table()),
            }),
            #[cfg(target_arch = "x86_64")]
            (Blocks::Q8_0 { qs, d }, Isa::V3(simd)) => simd.vectorize(ExpandRowsV3 {
                simd,
                out,
                w: Q80(&qs[k0..], &d[k0..], f16_table()),
            }),
            _ => {
                for (i, row) in w.chunks_exact_mut(self.cols).enumerate() {
                    self.row(r0 + i, row);
                }
            }
        }
    }

    /// Rows `r0..r0 + rows` times every token of `x`, into `o[token][row]`.
    fn rows_into(&self, isa: Isa, r0: usize, rows: usize, x: &[f32], o: &mut [f32]) {
        let per = self.cols / BLOCK;
        let xs: Vec<&[[f32; BLOCK]]> = x
            .chunks_exact(self.cols)
            .map(|row| pulp::as_arrays::<BLOCK, f32>(row).0)
            .collect();
        let b = r0 * per..(r0 + rows) * per;
        match (&self.blocks, isa) {
            #[cfg(target_arch = "x86_64")]
            (Blocks::Q4_1 { qs, dm }, Isa::V3(simd)) => simd.vectorize(RowsV3 {
                simd,
                o,
                xs: &xs,
                w: Q41(&qs[b.clone()], &dm[b], f16_table()),
            }),
            #[cfg(target_arch = "x86_64")]
            (Blocks::Q8_0 { qs, d }, Isa::V3(simd)) => simd.vectorize(RowsV3 {
                simd,
                o,
                xs: &xs,
                w: Q80(&qs[b.clone()], &d[b], f16_table()),
            }),
            (Blocks::Q4_1 { qs, dm }, Isa::Scalar) => {
                let (qs, dm, f16) = (&qs[b.clone()], &dm[b], f16_table());
                rows_scalar(o, &xs, |k, i| {
                    let [d, m] = dm[k].map(|h| f16[usize::from(h)]);
                    d * f32::from(nibble(&qs[k], i)) + m
                });
            }
            (Blocks::Q8_0 { qs, d }, Isa::Scalar) => {
                let (qs, d, f16) = (&qs[b.clone()], &d[b], f16_table());
                rows_scalar(o, &xs, |k, i| f16[usize::from(d[k])] * f32::from(qs[k][i]));
            }
        }
    }
}

fn check_shape(
    rows: usize,
    cols: usize,
    bytes: usize,
    block_bytes: usize,
) -> Result<usize, String> {
    if !cols.is_multiple_of(BLOCK) {
        return Err(format!("a row of {cols} weights is not whole blocks"));
    }
    let n = rows * cols / BLOCK;
    if n * block_bytes != bytes {
        return Err(format!("{rows}x{cols} weights do not fill {bytes} bytes"));
    }
    Ok(n)
}

fn nibble(q: &[u8; 16], i: usize) -> u8 {
    if i < 16 {
        q[i] & 0x0f
    } else {
        q[i - 16] >> 4
    }
}

/// Weight rows (block `k` of the rows, one after the other, is `weight(k, i)`) times every
/// token, into `o[token][row]`.
fn rows_scalar(o: &mut [f32], xs: &[&[[f32; BLOCK]]], weight: impl Fn(usize, usize) -> f32) {
    let per = xs.first().map_or(0, |x| x.len());
    let rows = o.len() / xs.len().max(1);
    for (o, x) in o.chunks_exact_mut(rows.max(1)).zip(xs) {
        for (r, o) in o.iter_mut().enumerate() {
            let mut acc = 0f32;
            for (k, x) in x.iter().enumerate() {
                for (i, x) in x.iter().enumerate() {
                    acc += weight(r * per + k, i) * x;
                }
            }
            *o = acc;
        }
    }
}

/// Block `k` of a matrix as 4 vectors of 8 f32.
#[cfg(target_arch = "x86_64")]
trait ExpandV3: Copy {
    fn expand(self, simd: V3, k: usize) -> [f32x8; 4];
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Q41<'a>(&'a [[u8; 16]], &'a [[u16; 2]], &'a [f32; 1 << 16]);

#[cfg(target_arch = "x86_64")]
impl ExpandV3 for Q41<'_> {
    #[inline(always)]
    fn expand(self, simd: V3, k: usize) -> [f32x8; 4] {
        let [d, m] = self.1[k];
        let f16 = self.2;
        q4_1_v3(simd, &self.0[k], [f16[usize::from(d)], f16[usize::from(m)]])
    }
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Q80<'a>(&'a [[i8; 32]], &'a [u16], &'a [f32; 1 << 16]);

#[cfg(target_arch = "x86_64")]
impl ExpandV3 for Q80<'_> {
    #[inline(always)]
    fn expand(self, simd: V3, k: usize) -> [f32x8; 4] {
        q8_0_v3(simd, &self.0[k], self.2[usize::from(self.1[k])])
    }
}

/// Weight rows times every token, into `o[token][row]`, with AVX2 (a struct rather than a
/// closure so that everything inlines into the function `vectorize` compiles for AVX2).
#[cfg(target_arch = "x86_64")]
struct RowsV3<'a, W> {
    simd: V3,
    o: &'a mut [f32],
    xs: &'a [&'a [[f32; BLOCK]]],
    w: W,
}

#[cfg(target_arch = "x86_64")]
impl<W: ExpandV3> pulp::NullaryFnOnce for RowsV3<'_, W> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let RowsV3 { simd, o, xs, w } = self;
        let per = xs.first().map_or(0, |x| x.len());
        let n = xs.len();
        let rows = o.len() / n.max(1);
        let mut done = 0;
        while n - done >= TILE {
            // Each block is expanded once for a tile of tokens.
            let x: &[&[[f32; BLOCK]]; TILE] = xs[done..done + TILE].try_into().expect("a tile");
            for r in 0..rows {
                let mut acc = [simd.splat_f32x8(0.0); TILE];
                for k in 0..per {
                    let w = w.expand(simd, r * per + k);
                    for (acc, x) in acc.iter_mut().zip(x) {
                        let x: [f32x8; 4] = cast(x[k]);
                        let mut a = *acc;
                        for (w, x) in w.iter().zip(x) {
                            a = simd.mul_add_f32x8(*w, x, a);
                        }
                        *acc = a;
                    }
                }
                for (t, a) in acc.into_iter().enumerate() {
                    o[(done + t) * rows + r] = simd.reduce_sum_f32s(a);
                }
            }
            done += TILE;
        }
        for (j, x) in xs.iter().enumerate().skip(done) {
            for (r, o) in o[j * rows..(j + 1) * rows].iter_mut().enumerate() {
                // One token: four independent sums.
                let mut acc = [simd.splat_f32x8(0.0); 4];
                for (k, x) in x.iter().enumerate() {
                    let w = w.expand(simd, r * per + k);
                    let x: [f32x8; 4] = cast(*x);
                    for ((a, w), x) in acc.iter_mut().zip(w).zip(x) {
                        *a = simd.mul_add_f32x8(w, x, *a);
                    }
                }
                let s = simd.add_f32x8(
                    simd.add_f32x8(acc[0], acc[1]),
                    simd.add_f32x8(acc[2], acc[3]),
                );
                *o = simd.reduce_sum_f32s(s);
            }
        }
    }
}

/// Blocks expanded to f32 in memory, with AVX2.
#[cfg(target_arch = "x86_64")]
struct ExpandRowsV3<'a, W> {
    simd: V3,
    out: &'a mut [[f32; BLOCK]],
    w: W,
}

#[cfg(target_arch = "x86_64")]
impl<W: ExpandV3> pulp::NullaryFnOnce for ExpandRowsV3<'_, W> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let ExpandRowsV3 { simd, out, w } = self;
        for (k, o) in out.iter_mut().enumerate() {
            *o = cast(w.expand(simd, k));
        }
    }
}

/// A Q4_1 block as 4 vectors of 8 f32.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn q4_1_v3(simd: V3, q: &[u8; 16], [d, m]: [f32; 2]) -> [f32x8; 4] {
    let v: __m128i = cast(*q);
    let mask = simd.sse2._mm_set1_epi8(0x0f);
    let lo = simd.sse2._mm_and_si128(v, mask);
    let hi = simd
        .sse2
        ._mm_and_si128(simd.sse2._mm_srli_epi16::<4>(v), mask);
    let (d, m) = (simd.splat_f32x8(d), simd.splat_f32x8(m));
    [
        simd.mul_add_f32x8(u8_f32(simd, lo), d, m),
        simd.mul_add_f32x8(u8_f32(simd, simd.sse2._mm_bsrli_si128::<8>(lo)), d, m),
        simd.mul_add_f32x8(u8_f32(simd, hi), d, m),
        simd.mul_add_f32x8(u8_f32(simd, simd.sse2._mm_bsrli_si128::<8>(hi)), d, m),
    ]
}

/// The low 8 bytes (unsigned) as f32.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn u8_f32(simd: V3, b: __m128i) -> f32x8 {
    cast(
        simd.avx
            ._mm256_cvtepi32_ps(simd.avx2._mm256_cvtepu8_epi32(b)),
    )
}

/// The low 8 bytes (signed) as f32.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn i8_f32(simd: V3, b: __m128i) -> f32x8 {
    cast(
        simd.avx
            ._mm256_cvtepi32_ps(simd.avx2._mm256_cvtepi8_epi32(b)),
    )
}

/// A Q8_0 block as 4 vectors of 8 f32.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn q8_0_v3(simd: V3, q: &[i8; 32], d: f32) -> [f32x8; 4] {
    let [a, b]: [__m128i; 2] = cast(*q);
    let d = simd.splat_f32x8(d);
    [
        simd.mul_f32x8(i8_f32(simd, a), d),
        simd.mul_f32x8(i8_f32(simd, simd.sse2._mm_bsrli_si128::<8>(a)), d),
        simd.mul_f32x8(i8_f32(simd, b), d),
        simd.mul_f32x8(i8_f32(simd, simd.sse2._mm_bsrli_si128::<8>(b)), d),
    ]
}

/// `sum(a[i] * b[i])`.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Attention for one query position and one key/value head: the `q` heads that share it
/// (`q.len() / head_dim` of them, one after the other). `keys` and `values` hold `n`
/// positions, the head's vector at `offset` of each row of `stride`; each head's part of `out`
/// gets the average of the values weighted by the softmax of `scale * q . key`.
pub(crate) struct Attend<'a> {
    pub q: &'a [f32],
    pub head_dim: usize,
    pub keys: &'a [f32],
    pub values: &'a [f32],
    pub stride: usize,
    pub offset: usize,
    pub n: usize,
    pub scale: f32,
    /// Scratch space.
    pub scores: &'a mut Vec<f32>,
    pub out: &'a mut [f32],
}

impl Attend<'_> {
    /// Runs it.
    pub(crate) fn run(self, isa: Isa) {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::V3(simd) if self.head_dim.is_multiple_of(8) => {
                simd.vectorize(AttendV3 { simd, a: self })
            }
            _ => self.scalar(),
        }
    }

    fn row(&self, j: usize) -> std::ops::Range<usize> {
        let at = j * self.stride + self.offset;
        at..at + self.head_dim
    }

    fn scalar(self) {
        let (hd, n) = (self.head_dim, self.n);
        self.scores.clear();
        for q in self.q.chunks_exact(hd) {
            for j in 0..n {
                let s = dot(q, &self.keys[self.row(j)]) * self.scale;
                self.scores.push(s);
            }
        }
        self.out.fill(0.0);
        for (p, out) in self
            .scores
            .chunks_exact_mut(n.max(1))
            .zip(self.out.chunks_exact_mut(hd))
        {
            softmax(p);
            for (j, &p) in p.iter().enumerate() {
                let at = j * self.stride + self.offset;
                for (o, v) in out.iter_mut().zip(&self.values[at..at + hd]) {
                    *o += p * v;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
struct AttendV3<'a> {
    simd: V3,
    a: Attend<'a>,
}

#[cfg(target_arch = "x86_64")]
impl pulp::NullaryFnOnce for AttendV3<'_> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        let AttendV3 { simd, a } = self;
        if a.head_dim == 64 {
            return attend_fixed::<8>(simd, a);
        }
        let (hd, n) = (a.head_dim, a.n);
        let heads = a.q.len() / hd;
        a.scores.clear();
        a.scores.resize(heads * n, 0.0);
        // Each key is loaded once for the heads that share it.
        for j in 0..n {
            let (k, _) = pulp::as_arrays::<8, f32>(&a.keys[a.row(j)]);
            for (h, q) in a.q.chunks_exact(hd).enumerate() {
                let (q, _) = pulp::as_arrays::<8, f32>(q);
                let mut acc = simd.splat_f32x8(0.0);
                for (q, k) in q.iter().zip(k) {
                    acc = simd.mul_add_f32x8(cast(*q), cast(*k), acc);
                }
                a.scores[h * n + j] = simd.reduce_sum_f32s(acc) * a.scale;
            }
        }
        for p in a.scores.chunks_exact_mut(n.max(1)) {
            softmax_v3(simd, p);
        }
        a.out.fill(0.0);
        for j in 0..n {
            let (v, _) = pulp::as_arrays::<8, f32>(&a.values[a.row(j)]);
            for (h, out) in a.out.chunks_exact_mut(hd).enumerate() {
                let p = simd.splat_f32x8(a.scores[h * n + j]);
                let (out, _) = pulp::as_arrays_mut::<8, f32>(out);
                for (o, v) in out.iter_mut().zip(v) {
                    *o = cast(simd.mul_add_f32x8(p, cast(*v), cast(*o)));
                }
            }
        }
    }
}

/// [`AttendV3`] for heads of `8 * N`: a head's query and output stay in registers, and two
/// keys are scored at a time (two independent sums).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn attend_fixed<const N: usize>(simd: V3, a: Attend<'_>) {
    let (hd, n) = (a.head_dim, a.n);
    let heads = a.q.len() / hd;
    let rows = |m: &[f32], j: usize| -> [f32x8; N] {
        let at = j * a.stride + a.offset;
        let (v, _) = pulp::as_arrays::<8, f32>(&m[at..at + hd]);
        std::array::from_fn(|i| cast(v[i]))
    };
    a.scores.clear();
    a.scores.resize(heads * n, 0.0);
    for (h, (s, out)) in a
        .scores
        .chunks_exact_mut(n.max(1))
        .zip(a.out.chunks_exact_mut(hd))
        .enumerate()
    {
        let (q, _) = pulp::as_arrays::<8, f32>(&a.q[h * hd..(h + 1) * hd]);
        let q: [f32x8; N] = std::array::from_fn(|i| cast(q[i]));
        let mut j = 0;
        while j + 2 <= n {
            let (k0, k1) = (rows(a.keys, j), rows(a.keys, j + 1));
            let (mut s0, mut s1) = (simd.splat_f32x8(0.0), simd.splat_f32x8(0.0));
            for i in 0..N {
                s0 = simd.mul_add_f32x8(q[i], k0[i], s0);
                s1 = simd.mul_add_f32x8(q[i], k1[i], s1);
            }
            s[j] = simd.reduce_sum_f32s(s0) * a.scale;
            s[j + 1] = simd.reduce_sum_f32s(s1) * a.scale;
            j += 2;
        }
        if j < n {
            let k = rows(a.keys, j);
            let mut s0 = simd.splat_f32x8(0.0);
            for i in 0..N {
                s0 = simd.mul_add_f32x8(q[i], k[i], s0);
            }
            s[j] = simd.reduce_sum_f32s(s0) * a.scale;
        }
        softmax_v3(simd, s);
        let mut acc = [simd.splat_f32x8(0.0); N];
        for (j, &p) in s.iter().enumerate() {
            let (p, v) = (simd.splat_f32x8(p), rows(a.values, j));
            for i in 0..N {
                acc[i] = simd.mul_add_f32x8(p, v[i], acc[i]);
            }
        }
        let (out, _) = pulp::as_arrays_mut::<8, f32>(out);
        for (o, a) in out.iter_mut().zip(acc) {
            *o = cast(a);
        }
    }
}

/// Softmax in place, 8 at a time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn softmax_v3(simd: V3, x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (head, tail) = pulp::as_arrays_mut::<8, f32>(x);
    let m = simd.splat_f32x8(max);
    let mut sum = simd.splat_f32x8(0.0);
    for v in head.iter_mut() {
        let e = exp_v3(simd, simd.sub_f32x8(cast(*v), m));
        sum = simd.add_f32x8(sum, e);
        *v = cast(e);
    }
    let mut sum = simd.reduce_sum_f32s(sum);
    for v in tail.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    let (head, tail) = pulp::as_arrays_mut::<8, f32>(x);
    let inv8 = simd.splat_f32x8(inv);
    for v in head.iter_mut() {
        *v = cast(simd.mul_f32x8(cast(*v), inv8));
    }
    for v in tail.iter_mut() {
        *v *= inv;
    }
}

/// `e^x` for 8 values at once (Cephes' `expf`: `2^n e^r` with `|r| <= ln 2 / 2` and a degree-6
/// polynomial; within 2 ulp of the library's, 0 below -87).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn exp_v3(simd: V3, x: f32x8) -> f32x8 {
    use std::arch::x86_64::__m256;
    let splat = |v: f32| simd.splat_f32x8(v);
    let x: __m256 = cast(x);
    let x = simd.avx._mm256_max_ps(x, cast(splat(-87.0)));
    let x: f32x8 = cast(simd.avx._mm256_min_ps(x, cast(splat(88.0))));
    let n: f32x8 = cast(
        simd.avx
            ._mm256_round_ps::<0x08>(cast(simd.mul_f32x8(x, splat(std::f32::consts::LOG2_E)))),
    );
    let r = simd.mul_add_f32x8(n, splat(-0.693_359_4), x);
    let r = simd.mul_add_f32x8(n, splat(2.121_944_4e-4), r);
    let mut p = splat(1.987_569_1e-4);
    for c in [1.398_2e-3, 8.333_452e-3, 4.166_579_6e-2, 0.166_666_65, 0.5] {
        p = simd.mul_add_f32x8(p, r, splat(c));
    }
    let p = simd.mul_add_f32x8(p, simd.mul_f32x8(r, r), simd.add_f32x8(r, splat(1.0)));
    let n = simd.avx._mm256_cvtps_epi32(cast(n));
    let bias = simd.avx._mm256_set1_epi32(127);
    let pow2n = simd
        .avx2
        ._mm256_slli_epi32::<23>(simd.avx2._mm256_add_epi32(n, bias));
    simd.mul_f32x8(p, cast(pow2n))
}

/// RMS norm of each row of `x` (rows of `w.len()`), scaled by `w`, into `out`.
pub(crate) fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    for (x, o) in x.chunks_exact(w.len()).zip(out.chunks_exact_mut(w.len())) {
        let ms = x.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        let scale = 1.0 / (ms + eps).sqrt();
        for ((o, x), w) in o.iter_mut().zip(x).zip(w) {
            *o = x * scale * w;
        }
    }
}

/// Softmax in place.
pub(crate) fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    fn q4_1(rows: usize, cols: usize) -> QMatrix {
        let raw: Vec<u8> = (0..rows * cols / BLOCK)
            .flat_map(|b| {
                let d = half::f16::from_f32(0.01 + b as f32 * 1e-4)
                    .to_bits()
                    .to_le_bytes();
                let m = half::f16::from_f32(-0.05).to_bits().to_le_bytes();
                let q = (0..16).map(move |i| ((b * 7 + i * 13) % 256) as u8);
                d.into_iter().chain(m).chain(q)
            })
            .collect();
        QMatrix::from_q4_1(rows, cols, &raw).unwrap()
    }

    /// The reference: every row dequantized, then plain dot products.
    fn reference(m: &QMatrix, x: &[f32], n: usize) -> Vec<f32> {
        let mut row = vec![0f32; m.cols];
        let mut out = vec![0f32; n * m.rows];
        for r in 0..m.rows {
            m.row(r, &mut row);
            for j in 0..n {
                out[j * m.rows + r] = dot(&row, &x[j * m.cols..(j + 1) * m.cols]);
            }
        }
        out
    }

    #[test]
    fn products_match_the_dequantized_matrix() {
        let (rows, cols) = (40, 96);
        let w = sample(rows * cols, 7);
        for m in [
            q4_1(rows, cols),
            QMatrix::quantize_q8_0(rows, cols, &w).unwrap(),
        ] {
            // 11 tokens: one tile of 8 and three single ones; 40: through the gemm.
            for n in [1, 11, 40] {
                let x = sample(n * cols, 3);
                let want = reference(&m, &x, n);
                for isa in [Isa::Scalar, Isa::detect()] {
                    let mut out = vec![0f32; n * rows];
                    m.matmul(isa, &x, n, &mut out);
                    for (a, b) in out.iter().zip(&want) {
                        assert!((a - b).abs() < 1e-4, "{isa:?} n={n}: {a} vs {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn attention_kernels_agree() {
        // 3 query heads on one key/value head of 64 (the fixed-size kernel) and of 16.
        for hd in [64, 16] {
            let (n, stride, offset) = (13, 3 * hd, hd);
            let q = sample(3 * hd, 1);
            let keys = sample(n * stride, 2);
            let values = sample(n * stride, 3);
            let run = |isa| {
                let mut out = vec![0f32; 3 * hd];
                Attend {
                    q: &q,
                    head_dim: hd,
                    keys: &keys,
                    values: &values,
                    stride,
                    offset,
                    n,
                    scale: 0.125,
                    scores: &mut Vec::new(),
                    out: &mut out,
                }
                .run(isa);
                out
            };
            let (want, got) = (run(Isa::Scalar), run(Isa::detect()));
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "head of {hd}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn vector_softmax_matches_the_scalar_one() {
        #[cfg(target_arch = "x86_64")]
        if let Isa::V3(simd) = Isa::detect() {
            let mut x: Vec<f32> = sample(37, 5).iter().map(|v| v * 60.0).collect();
            x[3] = -200.0;
            let mut want = x.clone();
            softmax(&mut want);
            simd.vectorize(|| softmax_v3(simd, &mut x));
            for (a, b) in x.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-6 * b.abs() + 1e-30, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn q8_0_round_trips() {
        let w = sample(64, 1);
        let m = QMatrix::quantize_q8_0(2, 32, &w).unwrap();
        let mut row = vec![0f32; 32];
        m.row(1, &mut row);
        for (a, b) in row.iter().zip(&w[32..]) {
            assert!((a - b).abs() < 0.5 / 127.0 + 1e-6);
        }
    }
}
