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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Deterministic values in [-0.5, 0.5) for the kernels' tests (a linear congruential
    /// sequence from `seed`).
    pub(crate) fn sample(n: usize, seed: u32) -> Vec<f32> {
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
