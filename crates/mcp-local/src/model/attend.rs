//! Attention for the native forward pass: one query position against the KV cache, the query
//! heads of one key/value head together, with AVX2/FMA through `pulp` (a vectorised softmax)
//! or plain Rust.

use super::kernels::{dot, Isa};
#[cfg(target_arch = "x86_64")]
use pulp::{cast, f32x8, x86::V3, Simd};

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
    use crate::model::kernels::tests::sample;

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
}
