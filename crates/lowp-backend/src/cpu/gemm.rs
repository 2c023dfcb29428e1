//! Quantized GEMM on the CPU (SEMANTICS.md §9): the reference loops of lowp-formats
//! ([`CpuPath::Scalar`](super::CpuPath)) and the fast path.
//!
//! The fast path splits `C` into blocks of [`R`] rows (rayon tasks over output tiles) and each
//! block into tiles of [`W`] columns. A tile keeps its `R × W` accumulators in stack arrays and
//! walks k strictly ascending from 0 in chunks of [`KC`] steps (A's rows packed into a `KC × R`
//! panel, B's columns read in place or, when transposed or ragged, packed into a `KC × W` panel:
//! both cache-resident), updating all `W` columns of a row at each step with vectorised lane
//! loops. Every output element therefore sees exactly the sequence of binary32 operations,
//! roundings and random words of the reference, whatever the tiling or the number of threads.
//!
//! Two kernels:
//! - *fused* (sequential or blocked accumulation; every step format fp32 or round-to-nearest on a
//!   float/P3109 grid): one vectorised loop per row and step computing
//!   `acc = Qadd(acc + Qmul(a·b))` (or `Qadd(fma(a, b, acc))`) with the branch-free
//!   [`nearest_lane`] quantizers inlined; fp32 steps are not quantized at all;
//! - *general* (everything else: directed and stochastic rounding, fixed point, compensated
//!   accumulation, superfp and block formats): the same tiles, each step a few passes over the
//!   row (products, quantize, sums, quantize), the quantize passes running the branch-free lane
//!   kernels of [`super::fast`] (or the scalar `quantize_step` where they do not apply) and the
//!   Philox words of §3 computed for the whole row in structure-of-arrays form.
//!
//! Both are compiled for AVX-512, AVX2+FMA and the target's baseline and picked at run time.

use super::fast::{
    NearestKernel, StepKernel, dispatch_nearest, gemm_word_lanes, nearest_lane, quantize_lanes,
};
use super::{CpuBackend, CpuPath};
use crate::{BackendError, Result};
use lowp_formats::{Accumulation, GemmSpec, Rounding};

/// Output columns per tile (lanes of one row update).
const W: usize = 64;
/// Output rows per tile and per task.
const R: usize = 4;
/// Steps of k per packed panel.
const KC: usize = 256;

type Row = [f32; W];
type Words = [[u32; W]; 4];

/// `C = A · B` as `spec` describes.
pub(crate) fn qgemm(
    backend: &CpuBackend,
    a: &[f32],
    b: &[f32],
    spec: &GemmSpec,
) -> Result<Vec<f32>> {
    if backend.path() == CpuPath::Scalar {
        return Ok(lowp_formats::gemm::reference(a, b, spec)?);
    }
    spec.validate()?;
    let (a_len, b_len, c_len) = spec.sizes();
    if a.len() != a_len || b.len() != b_len {
        return Err(BackendError::Shape(format!(
            "gemm {}×{}×{}×{}: A needs {a_len} elements (has {}), B needs {b_len} (has {})",
            spec.batch,
            spec.m,
            spec.k,
            spec.n,
            a.len(),
            b.len()
        )));
    }
    let mut c = Vec::new();
    c.try_reserve_exact(c_len).map_err(|_| {
        BackendError::Shape(format!(
            "gemm output of {c_len} elements does not fit in memory"
        ))
    })?;
    c.resize(c_len, 0f32);
    if c_len == 0 || spec.k == 0 {
        // No steps: every accumulator stays +0.
        return Ok(c);
    }
    let plan = Plan::new(spec);
    let isa = Isa::detect();
    let parallel = backend.parallel();
    backend.run(|| compute(&plan, isa, a, b, &mut c, parallel));
    Ok(c)
}

/// The step kernels of one GEMM, resolved once.
struct Plan {
    spec: GemmSpec,
    mul: StepKernel,
    add: StepKernel,
    /// Blocked accumulation: the outer kernel and the chunk length.
    outer: Option<(StepKernel, usize)>,
    compensated: bool,
    stochastic: bool,
    /// The fused kernel's (mul, add) quantizers, when it applies.
    fused: Option<(FusedLane, FusedLane)>,
}

#[derive(Clone, Copy)]
enum FusedLane {
    Identity,
    Nearest(NearestKernel),
}

impl FusedLane {
    fn of(kernel: &StepKernel) -> Option<Self> {
        match kernel {
            StepKernel::Identity => Some(FusedLane::Identity),
            StepKernel::Nearest(k) => Some(FusedLane::Nearest(*k)),
            _ => None,
        }
    }
}

impl Plan {
    fn new(spec: &GemmSpec) -> Self {
        let stochastic = matches!(spec.rounding, Rounding::Stochastic { .. });
        let with_bits = |bits: u32| {
            if stochastic {
                Rounding::Stochastic { bits }
            } else {
                spec.rounding
            }
        };
        let mul = StepKernel::new(&spec.mul, with_bits(spec.mul_bits));
        let add = StepKernel::new(&spec.add, with_bits(spec.add_bits));
        let (outer, compensated) = match spec.accumulation {
            Accumulation::Sequential => (None, false),
            Accumulation::Compensated => (None, true),
            Accumulation::Blocked {
                chunk,
                outer,
                outer_bits,
            } => (
                Some((StepKernel::new(&outer, with_bits(outer_bits)), chunk)),
                false,
            ),
        };
        // FMA mode has no Qmul: any mul format will do.
        let mul_lane = if spec.fma {
            Some(FusedLane::Identity)
        } else {
            FusedLane::of(&mul)
        };
        let fused = match &outer {
            _ if compensated => None,
            Some((outer, _)) if FusedLane::of(outer).is_none() => None,
            _ => mul_lane.zip(FusedLane::of(&add)),
        };
        Self {
            spec: *spec,
            mul,
            add,
            outer,
            compensated,
            stochastic,
            fused,
        }
    }
}

/// The accumulators of one `R × W` tile, carried across the k panels.
struct TileState {
    acc: [Row; R],
    compensation: [Row; R],
    outer: [Row; R],
}

impl TileState {
    fn new() -> Self {
        Self {
            acc: [[0f32; W]; R],
            compensation: [[0f32; W]; R],
            outer: [[0f32; W]; R],
        }
    }
}

/// One panel step range of a tile: rows of A packed as `a[kk * R + r]`, rows of B as
/// `b[kk * stride ..][..W]`, for `kk` in `0..len` = absolute steps `k0..k0 + len`.
struct Panel<'a> {
    a: &'a [f32],
    b: &'a [f32],
    stride: usize,
    k0: usize,
    len: usize,
    rows: usize,
    /// Flat output index of column 0 of each row of the tile (for the Philox words).
    first: [u64; R],
}

impl Panel<'_> {
    /// The steps `start .. start + len` of this panel.
    fn sub(&self, start: usize, len: usize) -> Panel<'_> {
        Panel {
            a: &self.a[start * R..(start + len) * R],
            b: &self.b[start * self.stride..],
            stride: self.stride,
            k0: self.k0 + start,
            len,
            rows: self.rows,
            first: self.first,
        }
    }

    #[inline(always)]
    fn b_row(&self, kk: usize) -> &Row {
        let start = kk * self.stride;
        self.b[start..start + W]
            .try_into()
            .expect("panel rows hold W values")
    }
}

/// Runs every tile of `C`; `c` holds batch × M × N zeros.
fn compute(plan: &Plan, isa: Isa, a: &[f32], b: &[f32], c: &mut [f32], parallel: bool) {
    let spec = &plan.spec;
    let (m, n) = (spec.m, spec.n);
    let mut tasks: Vec<(usize, usize, &mut [f32])> = Vec::new();
    for (batch, c_batch) in c.chunks_mut(m * n).enumerate() {
        for (block, c_rows) in c_batch.chunks_mut(R * n).enumerate() {
            tasks.push((batch, block * R, c_rows));
        }
    }
    let body = |(batch, i0, c_rows): (usize, usize, &mut [f32])| {
        row_block(plan, isa, a, b, batch, i0, c_rows)
    };
    #[cfg(feature = "rayon")]
    if parallel {
        use rayon::prelude::*;
        tasks.into_par_iter().for_each(body);
        return;
    }
    let _ = parallel;
    tasks.into_iter().for_each(body);
}

/// Computes rows `i0 ..` (as many as `c_rows` holds) of product `batch`.
fn row_block(
    plan: &Plan,
    isa: Isa,
    a: &[f32],
    b: &[f32],
    batch: usize,
    i0: usize,
    c_rows: &mut [f32],
) {
    let spec = &plan.spec;
    let (m, k, n) = (spec.m, spec.k, spec.n);
    let rows = c_rows.len() / n;
    let mut a_panel = vec![0f32; KC * R];
    let mut b_panel = Vec::new();
    for j0 in (0..n).step_by(W) {
        let cols = W.min(n - j0);
        // Full columns of a row-major B are read in place; the others are packed.
        let direct = !spec.transpose_b && cols == W;
        let mut state = TileState::new();
        let mut first = [0u64; R];
        for (r, f) in first.iter_mut().enumerate() {
            *f = ((batch * m + i0 + r) * n + j0) as u64;
        }
        for k0 in (0..k).step_by(KC) {
            let len = KC.min(k - k0);
            // A(i, k0 + kk) of row i sits at a_index(i, k0) + kk · step; rows past the end of
            // the matrix stay 0.
            let step = if spec.transpose_a { m } else { 1 };
            for r in 0..rows {
                let start = spec.a_index(batch, i0 + r, k0);
                for kk in 0..len {
                    a_panel[kk * R + r] = a[start + kk * step];
                }
            }
            let (b_view, stride): (&[f32], usize) = if direct {
                (&b[spec.b_index(batch, k0, j0)..], n)
            } else {
                b_panel.clear();
                b_panel.resize(len * W, 0f32);
                if spec.transpose_b {
                    for jj in 0..cols {
                        let column = &b[spec.b_index(batch, k0, j0 + jj)..][..len];
                        for (kk, &value) in column.iter().enumerate() {
                            b_panel[kk * W + jj] = value;
                        }
                    }
                } else {
                    for (kk, row) in b_panel.chunks_exact_mut(W).enumerate() {
                        row[..cols].copy_from_slice(&b[spec.b_index(batch, k0 + kk, j0)..][..cols]);
                    }
                }
                (&b_panel, W)
            };
            let panel = Panel {
                a: &a_panel[..len * R],
                b: b_view,
                stride,
                k0,
                len,
                rows,
                first,
            };
            isa.tile(plan, &panel, &mut state);
        }
        let out = if plan.outer.is_some() {
            &state.outer
        } else {
            &state.acc
        };
        for (r, values) in out.iter().enumerate().take(rows) {
            c_rows[r * n + j0..r * n + j0 + cols].copy_from_slice(&values[..cols]);
        }
    }
}

/// The instruction sets the kernels are compiled for.
#[derive(Debug, Clone, Copy)]
enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Isa {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f")
                && has!("avx512bw")
                && has!("avx512vl")
                && has!("avx512dq")
                && has!("fma")
            {
                return Isa::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Advances `state` over the steps of `panel`.
    fn tile(self, plan: &Plan, panel: &Panel<'_>, state: &mut TileState) {
        match self {
            // SAFETY: `detect` found the features these functions are compiled for.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { x86::tile_avx512(plan, panel, state) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { x86::tile_avx2(plan, panel, state) },
            Isa::Portable => tile_body::<Portable>(plan, panel, state),
        }
    }
}

/// The non-inlined row passes of the general kernel, compiled per instruction set.
trait Simd {
    /// Quantizes a row in place (`words`: the lanes' random words).
    fn quantize(kernel: &StepKernel, values: &mut Row, words: &[u32; W]);
    /// The Philox words of the row's output elements `first ..` at step `k` of `stream`.
    fn words(seed: u64, first: u64, k: u32, stream: u32, words: &mut Words);
}

struct Portable;

impl Simd for Portable {
    #[inline(always)]
    fn quantize(kernel: &StepKernel, values: &mut Row, words: &[u32; W]) {
        quantize_row_portable(kernel, values, words)
    }
    #[inline(always)]
    fn words(seed: u64, first: u64, k: u32, stream: u32, words: &mut Words) {
        words_portable(seed, first, k, stream, words)
    }
}

#[inline(never)]
fn quantize_row_portable(kernel: &StepKernel, values: &mut Row, words: &[u32; W]) {
    quantize_lanes(kernel, values, words)
}

#[inline(never)]
fn words_portable(seed: u64, first: u64, k: u32, stream: u32, words: &mut Words) {
    gemm_word_lanes(seed, first, k, stream, words)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    macro_rules! isa {
        ($marker:ident, $features:literal, $tile:ident, $quantize:ident, $words:ident, $word_lanes:path) => {
            pub(super) struct $marker;

            impl Simd for $marker {
                #[inline(always)]
                fn quantize(kernel: &StepKernel, values: &mut Row, words: &[u32; W]) {
                    // SAFETY: the marker is only used inside `$tile`, which runs after
                    // `Isa::detect` found the features.
                    unsafe { $quantize(kernel, values, words) }
                }
                #[inline(always)]
                fn words(seed: u64, first: u64, k: u32, stream: u32, words: &mut Words) {
                    // SAFETY: as above.
                    unsafe { $words(seed, first, k, stream, words) }
                }
            }

            #[target_feature(enable = $features)]
            #[inline(never)]
            fn $quantize(kernel: &StepKernel, values: &mut Row, words: &[u32; W]) {
                quantize_lanes(kernel, values, words)
            }

            #[target_feature(enable = $features)]
            #[inline(never)]
            fn $words(seed: u64, first: u64, k: u32, stream: u32, words: &mut Words) {
                $word_lanes(seed, first, k, stream, words)
            }

            #[target_feature(enable = $features)]
            pub(super) fn $tile(plan: &Plan, panel: &Panel<'_>, state: &mut TileState) {
                tile_body::<$marker>(plan, panel, state)
            }
        };
    }

    isa!(
        Avx512,
        "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma",
        tile_avx512,
        quantize_row_avx512,
        words_avx512,
        crate::cpu::philox_avx512::gemm_words
    );
    isa!(
        Avx2,
        "avx2,fma",
        tile_avx2,
        quantize_row_avx2,
        words_avx2,
        gemm_word_lanes
    );
}

#[inline(always)]
fn tile_body<S: Simd>(plan: &Plan, panel: &Panel<'_>, state: &mut TileState) {
    let Some((mul, add)) = plan.fused else {
        return general::<S>(plan, panel, state);
    };
    let Some((outer, chunk)) = &plan.outer else {
        return fused_steps(plan.spec.fma, mul, add, panel, &mut state.acc);
    };
    // Blocked: fused runs up to each chunk end, then outer = Qouter(outer + inner), inner = +0.
    // (The outer kernel is fp32 or round-to-nearest: no random words.)
    let k = plan.spec.k;
    let mut kk = 0;
    while kk < panel.len {
        let step = panel.k0 + kk;
        let end = step + (chunk - step % chunk).min(k - step);
        let len = (end - step).min(panel.len - kk);
        fused_steps(plan.spec.fma, mul, add, &panel.sub(kk, len), &mut state.acc);
        kk += len;
        if panel.k0 + kk == end {
            for r in 0..panel.rows {
                let (inner, sum) = (&mut state.acc[r], &mut state.outer[r]);
                for (s, i) in sum.iter_mut().zip(inner.iter()) {
                    *s += *i;
                }
                S::quantize(outer, sum, &[0; W]);
                *inner = [0f32; W];
            }
        }
    }
}

/// The fused kernel over the steps of `panel`.
#[inline(always)]
fn fused_steps(fma: bool, mul: FusedLane, add: FusedLane, panel: &Panel<'_>, acc: &mut [Row; R]) {
    match (fma, mul) {
        (true, _) => fused_add::<Id, true>(Id, add, panel, acc),
        (false, FusedLane::Identity) => fused_add::<Id, false>(Id, add, panel, acc),
        (false, FusedLane::Nearest(k)) => {
            dispatch_nearest!(k, fused_nearest_mul, k, add, panel, acc)
        }
    }
}

/// A quantizer of the fused kernel.
trait Lane: Copy {
    fn q(&self, x: f32) -> f32;
}

#[derive(Clone, Copy)]
struct Id;

impl Lane for Id {
    #[inline(always)]
    fn q(&self, x: f32) -> f32 {
        x
    }
}

/// [`nearest_lane`] with its flags as type parameters.
#[derive(Clone, Copy)]
struct Near<const SIMPLE: bool, const ADDITIVE: bool>(NearestKernel);

impl<const SIMPLE: bool, const ADDITIVE: bool> Lane for Near<SIMPLE, ADDITIVE> {
    #[inline(always)]
    fn q(&self, x: f32) -> f32 {
        nearest_lane::<SIMPLE, ADDITIVE>(&self.0, x)
    }
}

#[inline(always)]
fn fused_nearest_mul<const SIMPLE: bool, const ADDITIVE: bool>(
    k: NearestKernel,
    add: FusedLane,
    panel: &Panel<'_>,
    acc: &mut [Row; R],
) {
    fused_add::<Near<SIMPLE, ADDITIVE>, false>(Near(k), add, panel, acc)
}

#[inline(always)]
fn fused_add<M: Lane, const FMA: bool>(
    mul: M,
    add: FusedLane,
    panel: &Panel<'_>,
    acc: &mut [Row; R],
) {
    #[inline(always)]
    fn near<M: Lane, const FMA: bool, const SIMPLE: bool, const ADDITIVE: bool>(
        mul: M,
        k: NearestKernel,
        panel: &Panel<'_>,
        acc: &mut [Row; R],
    ) {
        fused::<M, Near<SIMPLE, ADDITIVE>, FMA>(mul, Near(k), panel, acc)
    }
    match add {
        FusedLane::Identity => fused::<M, Id, FMA>(mul, Id, panel, acc),
        FusedLane::Nearest(k) => match (k.simple(), k.additive()) {
            (true, true) => near::<M, FMA, true, true>(mul, k, panel, acc),
            (true, false) => near::<M, FMA, true, false>(mul, k, panel, acc),
            (false, true) => near::<M, FMA, false, true>(mul, k, panel, acc),
            (false, false) => near::<M, FMA, false, false>(mul, k, panel, acc),
        },
    }
}

/// The fused kernel: for each step and row, all `W` columns of
/// `acc = Qadd(acc + Qmul(a·b))` (FMA: `acc = Qadd(fma(a, b, acc))`) in one vectorised loop.
#[inline(always)]
fn fused<M: Lane, A: Lane, const FMA: bool>(mul: M, add: A, panel: &Panel<'_>, acc: &mut [Row; R]) {
    for kk in 0..panel.len {
        let b_row = panel.b_row(kk);
        let a_col = &panel.a[kk * R..kk * R + R];
        for (&x, acc_row) in a_col.iter().zip(acc.iter_mut()).take(panel.rows) {
            for (acc, &y) in acc_row.iter_mut().zip(b_row) {
                *acc = if FMA {
                    add.q(x.mul_add(y, *acc))
                } else {
                    add.q(*acc + mul.q(x * y))
                };
            }
        }
    }
}

/// The general kernel: every mode of §9, one row pass at a time.
#[inline(always)]
fn general<S: Simd>(plan: &Plan, panel: &Panel<'_>, state: &mut TileState) {
    let spec = &plan.spec;
    let k = spec.k;
    let mut words: Words = [[0u32; W]; 4];
    let mut extra: Words = [[0u32; W]; 4];
    for kk in 0..panel.len {
        let step = panel.k0 + kk;
        let b_row = panel.b_row(kk);
        let chunk_end = match plan.outer {
            Some((_, chunk)) => (step + 1).is_multiple_of(chunk) || step + 1 == k,
            None => false,
        };
        for r in 0..panel.rows {
            let x = panel.a[kk * R + r];
            if plan.stochastic {
                S::words(spec.seed, panel.first[r], step as u32, 1, &mut words);
                if plan.compensated || chunk_end {
                    S::words(spec.seed, panel.first[r], step as u32, 3, &mut extra);
                }
            }
            let acc = &mut state.acc[r];
            if plan.compensated {
                let c = &mut state.compensation[r];
                // y = Qadd(Qmul(a·b) - c)   (FMA: y = Qadd(fma(a, b, -c)))
                let mut y = [0f32; W];
                if spec.fma {
                    for j in 0..W {
                        y[j] = x.mul_add(b_row[j], -c[j]);
                    }
                } else {
                    for j in 0..W {
                        y[j] = x * b_row[j];
                    }
                    S::quantize(&plan.mul, &mut y, &words[0]);
                    for j in 0..W {
                        y[j] -= c[j];
                    }
                }
                S::quantize(&plan.add, &mut y, &words[2]);
                // t = Qadd(acc + y)
                let mut t = [0f32; W];
                for j in 0..W {
                    t[j] = acc[j] + y[j];
                }
                S::quantize(&plan.add, &mut t, &words[1]);
                // c = Qadd(Qadd(t - acc) - y)
                for j in 0..W {
                    c[j] = t[j] - acc[j];
                }
                S::quantize(&plan.add, c, &extra[0]);
                for j in 0..W {
                    c[j] -= y[j];
                }
                S::quantize(&plan.add, c, &words[3]);
                *acc = t;
            } else {
                if spec.fma {
                    for j in 0..W {
                        acc[j] = x.mul_add(b_row[j], acc[j]);
                    }
                } else {
                    let mut p = [0f32; W];
                    for j in 0..W {
                        p[j] = x * b_row[j];
                    }
                    S::quantize(&plan.mul, &mut p, &words[0]);
                    for j in 0..W {
                        acc[j] += p[j];
                    }
                }
                S::quantize(&plan.add, acc, &words[1]);
                if chunk_end && let Some((outer_kernel, _)) = &plan.outer {
                    let outer = &mut state.outer[r];
                    for j in 0..W {
                        outer[j] += acc[j];
                    }
                    S::quantize(outer_kernel, outer, &extra[1]);
                    *acc = [0f32; W];
                }
            }
        }
    }
}
