//! The measurements behind `lowp bench`: ns per element of quantize and ns per multiply-accumulate
//! of qgemm on a backend, for the formats and rounding modes of docs/performance.md. The CPU rows
//! ([`quantize_rows`], [`qgemm_rows`]) are measured on one thread and on all threads; any backend's
//! rows come from [`quantize_rows_on`] and [`qgemm_rows_on`].
//!
//! What is timed depends on the backend. The CPU backend's operations are complete when they
//! return, so a CPU figure is the operation alone. Any other backend (wgpu) may return before its
//! device has finished, so its figure is the operation followed by a download of the result
//! (`pollster::block_on`): a download-inclusive time, which also counts the copy back to the host.
//! The CUDA rows (module `cuda`, `--features cuda`) synchronise the device instead.

use crate::backend::{Backend, CpuBackend};
use crate::formats::{BinaryOp, Format, Quantizer, Rounding};
use serde::Serialize;
use std::time::Instant;

/// One measured configuration (one JSON row of `lowp bench --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BenchRow {
    /// The operation: `quantize`; `add`, the element-wise `x + x` with its output rounded to the
    /// format (an element-wise operation and its output quantizer in one pass); or `copy`, the
    /// CUDA device-to-device copy.
    pub op: &'static str,
    /// The backend's name.
    pub backend: String,
    /// The format's SPEC.
    pub format: String,
    /// The rounding mode's name.
    pub rounding: String,
    /// CPU threads used; `0` means not applicable (a device backend such as wgpu).
    pub threads: usize,
    /// Elements per call.
    pub n: usize,
    /// Best time over the repetitions divided by `n`, in nanoseconds (for backends other than
    /// the CPU, the time includes downloading the result: see the module documentation).
    pub ns_per_element: f64,
}

/// The formats of the quantize bench: e4m3, bf16, fp16, binary8 P=3 and fixed(8,4).
pub const QUANTIZE_BENCH_FORMATS: [&str; 5] =
    ["e4m3", "bf16", "fp16", "binary8(p=3)", "fixed(wl=8,fl=4)"];

/// The format of the `add` rows: element-wise `x + x` rounded to it, nearest and stochastic.
pub const ADD_BENCH_FORMAT: &str = "e4m3";

/// The output quantizers of the `add` rows: [`ADD_BENCH_FORMAT`] with round to nearest and with
/// stochastic rounding (the format's default bits).
pub fn add_bench_quantizers() -> crate::formats::Result<Vec<Quantizer>> {
    let format: Format = ADD_BENCH_FORMAT.parse()?;
    [
        Rounding::Nearest,
        Rounding::stochastic(format.default_stochastic_bits())?,
    ]
    .into_iter()
    .map(|rounding| Quantizer::new(format, rounding, 1))
    .collect()
}

/// `n` pseudo-random binary32 values (xorshift from `state`) of both signs with biased exponents
/// `lowest .. lowest + exponents` and random significands.
fn xorshift_values(n: usize, mut state: u64, lowest: u32, exponents: u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let exponent = ((state >> 40) % exponents) as u32;
            let mantissa = (state as u32) & 0x007F_FFFF;
            let sign = ((state >> 63) as u32) << 31;
            f32::from_bits(sign | ((lowest + exponent) << 23) | mantissa)
        })
        .collect()
}

/// Deterministic benchmark input: `n` values spread over many binades (xorshift, fixed seed),
/// normal-distributed-looking magnitudes between 2^-20 and 2^20 with both signs.
pub fn bench_input(n: usize) -> Vec<f32> {
    xorshift_values(n, 0x2545_F491_4F6C_DD1D, 107, 41)
}

/// Whether timing an operation on `backend` must include downloading its result: true for every
/// backend but the CPU, whose operations are complete when they return.
fn waits_by_download<B: Backend>(backend: &B) -> bool {
    backend.name() != "cpu"
}

/// Runs `operation` on `backend` once as a warm-up, then `repetitions` times, and returns the best
/// time in seconds. With `download`, each timed call is followed by a (blocking) download of its
/// result, so that the time covers the device's work and not only its submission.
fn best_time<B: Backend>(
    backend: &B,
    repetitions: usize,
    download: bool,
    operation: impl Fn() -> crate::backend::Result<B::Buffer>,
) -> crate::backend::Result<f64> {
    let warm_up = operation()?;
    if download {
        pollster::block_on(backend.download(&warm_up))?;
    }
    drop(warm_up);
    let mut best = f64::INFINITY;
    for _ in 0..repetitions.max(1) {
        let start = Instant::now();
        let out = operation()?;
        if download {
            std::hint::black_box(pollster::block_on(backend.download(&out))?);
        }
        let elapsed = start.elapsed().as_secs_f64();
        drop(out);
        best = best.min(elapsed);
    }
    Ok(best)
}

/// Times `quantizer` over `input` on `backend`: the best of `repetitions` calls after one warm-up,
/// in nanoseconds per element. On the CPU a call is the quantize alone; on any other backend it is
/// the quantize followed by the download of its result (a download-inclusive figure, see the
/// module documentation).
pub fn time_quantize<B: Backend>(
    backend: &B,
    input: &B::Buffer,
    n: usize,
    quantizer: &Quantizer,
    repetitions: usize,
) -> crate::backend::Result<f64> {
    let shape = [n];
    let best = best_time(backend, repetitions, waits_by_download(backend), || {
        backend.quantize(input, &shape, quantizer)
    })?;
    Ok(best * 1e9 / n.max(1) as f64)
}

/// The thread counts of the CPU rows: 1 and, when the machine has more, all of them.
fn cpu_thread_counts() -> Vec<usize> {
    let all_threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let mut thread_counts = vec![1];
    if all_threads > 1 {
        thread_counts.push(all_threads);
    }
    thread_counts
}

/// The quantize rows of `backend`: every format of [`QUANTIZE_BENCH_FORMATS`] with nearest and
/// stochastic rounding (the format's default bits), over `n` elements, then the two `add` rows
/// ([`add_bench_quantizers`]). `threads` is only reported
/// in the rows' `threads` field: the CPU backend's thread count, or `0` (not applicable) for a
/// device backend. Each row's `backend` is `backend.name()`; see [`time_quantize`] for what is
/// timed.
pub fn quantize_rows_on<B: Backend>(
    backend: &B,
    threads: usize,
    n: usize,
) -> crate::backend::Result<Vec<BenchRow>> {
    quantize_rows_with(backend, threads, &bench_input(n))
}

/// [`quantize_rows_on`] with the input values already generated.
fn quantize_rows_with<B: Backend>(
    backend: &B,
    threads: usize,
    input_values: &[f32],
) -> crate::backend::Result<Vec<BenchRow>> {
    let n = input_values.len();
    let input = backend.upload(input_values)?;
    let mut rows = Vec::new();
    for spec in QUANTIZE_BENCH_FORMATS {
        let format: Format = spec.parse()?;
        for rounding in [
            Rounding::Nearest,
            Rounding::stochastic(format.default_stochastic_bits())?,
        ] {
            let quantizer = Quantizer::new(format, rounding, 1)?;
            let ns_per_element = time_quantize(backend, &input, n, &quantizer, 5)?;
            rows.push(BenchRow {
                op: "quantize",
                backend: backend.name().to_string(),
                format: spec.to_string(),
                rounding: rounding.name().to_string(),
                threads,
                n,
                ns_per_element,
            });
        }
    }
    let shape = [n];
    for quantizer in add_bench_quantizers()? {
        let best = best_time(backend, 5, waits_by_download(backend), || {
            backend.binary(BinaryOp::Add, &input, &input, &shape, Some(&quantizer))
        })?;
        rows.push(BenchRow {
            op: "add",
            backend: backend.name().to_string(),
            format: ADD_BENCH_FORMAT.to_string(),
            rounding: quantizer.rounding().name().to_string(),
            threads,
            n,
            ns_per_element: best * 1e9 / n.max(1) as f64,
        });
    }
    Ok(rows)
}

/// The CPU quantize rows: [`quantize_rows_on`] a [`CpuBackend`] on 1 thread and on all threads,
/// over `n` elements.
pub fn quantize_rows(n: usize) -> crate::backend::Result<Vec<BenchRow>> {
    let input_values = bench_input(n);
    let mut rows = Vec::new();
    for threads in cpu_thread_counts() {
        let backend = CpuBackend::with_threads(threads);
        rows.extend(quantize_rows_with(&backend, threads, &input_values)?);
    }
    Ok(rows)
}

/// One measured quantized GEMM configuration (one JSON row of `lowp bench --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QgemmRow {
    /// The operation: `qgemm`, or `matmul_f32` for the plain binary32 reference loop; on CUDA with
    /// `--cublas` also `qgemm_cublas` (qgemm through the non-bit-exact cuBLAS fast path) and
    /// `cublas_native` (the bare cuBLAS call).
    pub op: &'static str,
    /// The backend's name.
    pub backend: String,
    /// SPEC of the product format.
    pub mul: String,
    /// SPEC of the accumulation format.
    pub add: String,
    /// `separate` (`acc = Qadd(acc + Qmul(a·b))`) or `fma` (`acc = Qadd(fma(a, b, acc))`),
    /// round to nearest, or either followed by ` stochastic` ([`QgemmBenchConfig::mode`]); the
    /// cuBLAS rows of the CUDA bench (`qgemm_cublas`, `cublas_native`) add their fast mode:
    /// `fma fast-tf32`, `fma fast-bf16`, `fma fast-f16`.
    pub mode: &'static str,
    /// Rows of A and C.
    pub m: usize,
    /// The reduction length.
    pub k: usize,
    /// Columns of B and C.
    pub n: usize,
    /// CPU threads used; `0` means not applicable (a device backend such as wgpu).
    pub threads: usize,
    /// Best time over the repetitions divided by `m·k·n`, in nanoseconds (for backends other than
    /// the CPU, the time includes downloading the result: see the module documentation).
    pub ns_per_mac: f64,
}

/// One quantized GEMM configuration of the bench: formats, fused or separate products, and the
/// rounding of every step (sequential accumulation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QgemmBenchConfig {
    /// SPEC of the product format.
    pub mul: &'static str,
    /// SPEC of the accumulation format.
    pub add: &'static str,
    /// Fused multiply-adds (`acc = Qadd(fma(a, b, acc))`) instead of `Qadd(acc + Qmul(a·b))`.
    pub fma: bool,
    /// Stochastic rounding (each format's default random bits) instead of round to nearest.
    pub stochastic: bool,
}

impl QgemmBenchConfig {
    /// The `mode` of its rows: `separate` or `fma`, followed by ` stochastic` when it rounds
    /// stochastically.
    pub fn mode(&self) -> &'static str {
        match (self.fma, self.stochastic) {
            (false, false) => "separate",
            (true, false) => "fma",
            (false, true) => "separate stochastic",
            (true, true) => "fma stochastic",
        }
    }

    /// Its GEMM spec at `size³` (one product, seed 1).
    pub fn spec(&self, size: usize) -> crate::formats::Result<crate::formats::GemmSpec> {
        qgemm_bench_spec(size, self.mul, self.add, self.fma).map(|mut spec| {
            if self.stochastic {
                spec.rounding = crate::formats::Rounding::Stochastic {
                    bits: spec.add_bits,
                };
                spec.seed = 1;
            }
            spec
        })
    }
}

/// The quantized GEMM configurations of the bench.
pub const QGEMM_BENCH_CONFIGS: [QgemmBenchConfig; 5] = [
    QgemmBenchConfig {
        mul: "e4m3",
        add: "fp16",
        fma: false,
        stochastic: false,
    },
    QgemmBenchConfig {
        mul: "e4m3",
        add: "fp16",
        fma: true,
        stochastic: false,
    },
    QgemmBenchConfig {
        mul: "bf16",
        add: "fp32",
        fma: false,
        stochastic: false,
    },
    QgemmBenchConfig {
        mul: "fp32",
        add: "fp32",
        fma: false,
        stochastic: false,
    },
    QgemmBenchConfig {
        mul: "e4m3",
        add: "fp16",
        fma: false,
        stochastic: true,
    },
];

/// Deterministic GEMM bench operands: `n` values of magnitude between 2^-4 and 2^2 with both
/// signs (xorshift, seed `seed`), so that e4m3 products and fp16 sums stay mostly finite.
pub fn gemm_bench_input(n: usize, seed: u64) -> Vec<f32> {
    let state = 0x2545_F491_4F6C_DD1Du64 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    xorshift_values(n, state, 123, 6)
}

/// The GEMM spec of a bench configuration: `size³`, one product, round to nearest.
pub fn qgemm_bench_spec(
    size: usize,
    mul: &str,
    add: &str,
    fma: bool,
) -> crate::formats::Result<crate::formats::GemmSpec> {
    let mut spec = crate::formats::GemmSpec::new(1, size, size, size, mul.parse()?, add.parse()?);
    spec.fma = fma;
    Ok(spec)
}

/// Times `spec` on `backend` (inputs already uploaded): the best of `repetitions` calls after one
/// warm-up, in nanoseconds per multiply-accumulate. On the CPU a call is the qgemm alone; on any
/// other backend it is the qgemm followed by the download of C (a download-inclusive figure, see
/// the module documentation).
pub fn time_qgemm<B: Backend>(
    backend: &B,
    a: &B::Buffer,
    b: &B::Buffer,
    spec: &crate::formats::GemmSpec,
    repetitions: usize,
) -> crate::backend::Result<f64> {
    let best = best_time(backend, repetitions, waits_by_download(backend), || {
        backend.qgemm(a, b, spec)
    })?;
    let macs = (spec.batch * spec.m * spec.k * spec.n).max(1) as f64;
    Ok(best * 1e9 / macs)
}

/// Repetitions of a GEMM measurement at `size³`.
fn qgemm_repetitions(size: usize) -> usize {
    if size >= 512 { 3 } else { 5 }
}

/// The qgemm rows of `backend`: every configuration of [`QGEMM_BENCH_CONFIGS`] at `size³` for each
/// of `sizes` (no [`matmul_f32`] rows: that reference loop is CPU code). `threads` is only
/// reported in the rows' `threads` field: the CPU backend's thread count, or `0` (not applicable)
/// for a device backend. Each row's `backend` is `backend.name()`; see [`time_qgemm`] for what is
/// timed.
pub fn qgemm_rows_on<B: Backend>(
    backend: &B,
    threads: usize,
    sizes: &[usize],
) -> crate::backend::Result<Vec<QgemmRow>> {
    let mut rows = Vec::new();
    for &size in sizes {
        let a_values = gemm_bench_input(size * size, 1);
        let b_values = gemm_bench_input(size * size, 2);
        rows.extend(qgemm_rows_with(
            backend, threads, size, &a_values, &b_values,
        )?);
    }
    Ok(rows)
}

/// The qgemm rows of `backend` at `size³` on the given operands.
fn qgemm_rows_with<B: Backend>(
    backend: &B,
    threads: usize,
    size: usize,
    a_values: &[f32],
    b_values: &[f32],
) -> crate::backend::Result<Vec<QgemmRow>> {
    let a = backend.upload(a_values)?;
    let b = backend.upload(b_values)?;
    let mut rows = Vec::new();
    for config in QGEMM_BENCH_CONFIGS {
        let spec = config.spec(size)?;
        rows.push(QgemmRow {
            op: "qgemm",
            backend: backend.name().to_string(),
            mul: config.mul.to_string(),
            add: config.add.to_string(),
            mode: config.mode(),
            m: size,
            k: size,
            n: size,
            threads,
            ns_per_mac: time_qgemm(backend, &a, &b, &spec, qgemm_repetitions(size))?,
        });
    }
    Ok(rows)
}

/// A plain binary32 matrix product `C = A·B` (row-major, M×K times K×N), the reference row of
/// the GEMM bench: for each row of C, a register block of columns accumulates `a[i][k]·b[k][j]`
/// for k ascending (binary32 multiply, then add: the same operations as fp32/fp32 qgemm),
/// vectorised across columns (AVX-512 or AVX2 when the CPU has them) and split over `threads`
/// threads by rows.
pub fn matmul_f32(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, threads: usize) -> Vec<f32> {
    assert!(
        a.len() == m * k && b.len() == k * n,
        "matmul_f32: buffer sizes"
    );
    let mut c = vec![0f32; m * n];
    if m == 0 || n == 0 {
        return c;
    }
    let rows_per_thread = m.div_ceil(threads.max(1));
    std::thread::scope(|scope| {
        for (part, c_part) in c.chunks_mut(rows_per_thread * n).enumerate() {
            let i0 = part * rows_per_thread;
            scope.spawn(move || matmul_rows(a, b, k, n, i0, c_part));
        }
    });
    c
}

fn matmul_rows(a: &[f32], b: &[f32], k: usize, n: usize, i0: usize, c: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { matmul_rows_avx512(a, b, k, n, i0, c) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { matmul_rows_avx2(a, b, k, n, i0, c) };
        }
    }
    matmul_rows_body(a, b, k, n, i0, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
fn matmul_rows_avx512(a: &[f32], b: &[f32], k: usize, n: usize, i0: usize, c: &mut [f32]) {
    matmul_rows_body(a, b, k, n, i0, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn matmul_rows_avx2(a: &[f32], b: &[f32], k: usize, n: usize, i0: usize, c: &mut [f32]) {
    matmul_rows_body(a, b, k, n, i0, c)
}

#[inline(always)]
fn matmul_rows_body(a: &[f32], b: &[f32], k: usize, n: usize, i0: usize, c: &mut [f32]) {
    const BLOCK: usize = 128;
    for (r, c_row) in c.chunks_exact_mut(n).enumerate() {
        let a_row = &a[(i0 + r) * k..(i0 + r + 1) * k];
        for j0 in (0..n).step_by(BLOCK) {
            let cols = BLOCK.min(n - j0);
            let mut acc = [0f32; BLOCK];
            for (kk, &x) in a_row.iter().enumerate() {
                let b_row = &b[kk * n + j0..kk * n + j0 + cols];
                for (s, &y) in acc.iter_mut().zip(b_row) {
                    *s += x * y;
                }
            }
            c_row[j0..j0 + cols].copy_from_slice(&acc[..cols]);
        }
    }
}

/// The CPU GEMM rows: [`qgemm_rows_on`] a [`CpuBackend`] and the plain [`matmul_f32`] loop, on
/// 1 thread and on all threads, at `size³` for each of `sizes`.
pub fn qgemm_rows(sizes: &[usize]) -> crate::backend::Result<Vec<QgemmRow>> {
    let thread_counts = cpu_thread_counts();
    let mut rows = Vec::new();
    for &size in sizes {
        let a_values = gemm_bench_input(size * size, 1);
        let b_values = gemm_bench_input(size * size, 2);
        let repetitions = qgemm_repetitions(size);
        let macs = (size * size * size).max(1) as f64;
        for &threads in &thread_counts {
            let backend = CpuBackend::with_threads(threads);
            rows.extend(qgemm_rows_with(
                &backend, threads, size, &a_values, &b_values,
            )?);
            let mut best = f64::INFINITY;
            for _ in 0..=repetitions {
                let start = Instant::now();
                let c = matmul_f32(&a_values, &b_values, size, size, size, threads);
                best = best.min(start.elapsed().as_secs_f64());
                drop(std::hint::black_box(c));
            }
            rows.push(QgemmRow {
                op: "matmul_f32",
                backend: "cpu".to_string(),
                mul: "fp32".to_string(),
                add: "fp32".to_string(),
                mode: "separate",
                m: size,
                k: size,
                n: size,
                threads,
                ns_per_mac: best * 1e9 / macs,
            });
        }
    }
    Ok(rows)
}

/// The CUDA rows of `lowp bench` (`--features cuda`). Unlike the generic device rows, these wait
/// for the device with [`lowp_cuda::CudaBackend::synchronize`] instead of downloading the result,
/// so they measure the kernels alone (the result stays on the device).
#[cfg(feature = "cuda")]
pub mod cuda {
    use super::{
        ADD_BENCH_FORMAT, BenchRow, QGEMM_BENCH_CONFIGS, QUANTIZE_BENCH_FORMATS, QgemmRow,
        add_bench_quantizers, bench_input, gemm_bench_input, qgemm_bench_spec,
    };
    use crate::backend::{Backend, Result};
    use crate::formats::{BinaryOp, Format, Quantizer, Rounding};
    use lowp_cuda::{CublasAcceleration, CudaBackend, FastMode};
    use std::time::Instant;

    /// Sizes from which only the first configuration of [`QGEMM_BENCH_CONFIGS`] (e4m3 products,
    /// fp16 sums, separate) is measured, to keep the bench short.
    pub const LARGE_GEMM: usize = 2048;

    /// The best of `repetitions` calls of `operation` after one warm-up, each followed by a
    /// device synchronisation, in seconds.
    fn best_time<T>(
        backend: &CudaBackend,
        repetitions: usize,
        mut operation: impl FnMut() -> Result<T>,
    ) -> Result<f64> {
        drop(operation()?);
        backend.synchronize()?;
        let mut best = f64::INFINITY;
        for _ in 0..repetitions.max(1) {
            let start = Instant::now();
            let out = operation()?;
            backend.synchronize()?;
            best = best.min(start.elapsed().as_secs_f64());
            drop(out);
        }
        Ok(best)
    }

    /// The quantize rows (every format of [`QUANTIZE_BENCH_FORMATS`], nearest and stochastic, over
    /// `n` elements; threads reported as 0), the two `add` rows ([`add_bench_quantizers`]) and
    /// one `copy` row: a device-to-device copy of the
    /// same `n` binary32 values (format `fp32`, rounding `none`), whose `ns_per_element` gives the
    /// memory bandwidth as `8 / ns_per_element` GB/s (4 bytes read and 4 written per element).
    pub fn quantize_rows(backend: &CudaBackend, n: usize) -> Result<Vec<BenchRow>> {
        let input = backend.upload(&bench_input(n))?;
        let mut rows = Vec::new();
        let row = |format: &str, rounding: &str, seconds: f64| BenchRow {
            op: "quantize",
            backend: "cuda".to_string(),
            format: format.to_string(),
            rounding: rounding.to_string(),
            threads: 0,
            n,
            ns_per_element: seconds * 1e9 / n.max(1) as f64,
        };
        for spec in QUANTIZE_BENCH_FORMATS {
            let format: Format = spec.parse()?;
            for rounding in [
                Rounding::Nearest,
                Rounding::stochastic(format.default_stochastic_bits())?,
            ] {
                let quantizer = Quantizer::new(format, rounding, 1)?;
                let seconds =
                    best_time(backend, 10, || backend.quantize(&input, &[n], &quantizer))?;
                rows.push(row(spec, rounding.name(), seconds));
            }
        }
        for quantizer in add_bench_quantizers()? {
            let seconds = best_time(backend, 10, || {
                backend.binary(BinaryOp::Add, &input, &input, &[n], Some(&quantizer))
            })?;
            rows.push(BenchRow {
                op: "add",
                ..row(ADD_BENCH_FORMAT, quantizer.rounding().name(), seconds)
            });
        }
        let seconds = best_time(backend, 10, || backend.copy(&input))?;
        rows.push(BenchRow {
            op: "copy",
            ..row("fp32", "none", seconds)
        });
        Ok(rows)
    }

    /// The qgemm rows at `size³` for each of `sizes`: every configuration of
    /// [`QGEMM_BENCH_CONFIGS`] below [`LARGE_GEMM`], only the first from there on.
    pub fn qgemm_rows(backend: &CudaBackend, sizes: &[usize]) -> Result<Vec<QgemmRow>> {
        let mut rows = Vec::new();
        for &size in sizes {
            let a = backend.upload(&gemm_bench_input(size * size, 1))?;
            let b = backend.upload(&gemm_bench_input(size * size, 2))?;
            let configs = if size >= LARGE_GEMM {
                &QGEMM_BENCH_CONFIGS[..1]
            } else {
                &QGEMM_BENCH_CONFIGS[..]
            };
            for config in configs {
                let spec = config.spec(size)?;
                let repetitions = if size >= LARGE_GEMM { 2 } else { 5 };
                let seconds = best_time(backend, repetitions, || backend.qgemm(&a, &b, &spec))?;
                rows.push(QgemmRow {
                    op: "qgemm",
                    backend: "cuda".to_string(),
                    mul: config.mul.to_string(),
                    add: config.add.to_string(),
                    mode: config.mode(),
                    m: size,
                    k: size,
                    n: size,
                    threads: 0,
                    ns_per_mac: seconds * 1e9 / (size * size * size).max(1) as f64,
                });
            }
        }
        Ok(rows)
    }

    /// The cuBLAS fast path's bench configurations `(mul, add, fast mode)`, all fused and
    /// round-to-nearest: every route of `lowp_cuda::cublas` (tf32/fp32 is fp32/fp32 with fast
    /// mode tf32).
    pub const CUBLAS_BENCH_CONFIGS: [(&str, &str, Option<FastMode>); 7] = [
        ("fp32", "fp32", None),
        ("fp32", "fp32", Some(FastMode::Tf32)),
        ("fp32", "fp32", Some(FastMode::Bf16)),
        ("fp32", "fp32", Some(FastMode::F16)),
        ("fp16", "fp32", None),
        ("fp16", "fp16", None),
        ("bf16", "fp32", None),
    ];

    /// The `mode` of a cuBLAS row: `fma`, or `fma fast-MODE` with a fast mode.
    fn cublas_mode(fast_mode: Option<FastMode>) -> &'static str {
        match fast_mode {
            None => "fma",
            Some(FastMode::F16) => "fma fast-f16",
            Some(FastMode::Bf16) => "fma fast-bf16",
            Some(FastMode::Tf32) => "fma fast-tf32",
        }
    }

    /// The cuBLAS rows at `size³` for each of `sizes`, for every configuration of
    /// [`CUBLAS_BENCH_CONFIGS`]: `qgemm_cublas`, lowp's qgemm through the fast path (input
    /// conversions, the cuBLAS call, widening a binary16 C), and `cublas_native`, the bare cuBLAS
    /// call on operands already in its types (what a program calling cuBLAS itself pays). Timed
    /// like the qgemm rows; the backend's cuBLAS setting is restored afterwards. Needs libcublas
    /// (`Unavailable` without it).
    pub fn cublas_rows(backend: &CudaBackend, sizes: &[usize]) -> Result<Vec<QgemmRow>> {
        let setting = backend.cublas_acceleration();
        let rows = cublas_rows_with(backend, sizes);
        backend.set_cublas_acceleration(setting)?;
        rows
    }

    fn cublas_rows_with(backend: &CudaBackend, sizes: &[usize]) -> Result<Vec<QgemmRow>> {
        let mut rows = Vec::new();
        for &size in sizes {
            let a = backend.upload(&gemm_bench_input(size * size, 1))?;
            let b = backend.upload(&gemm_bench_input(size * size, 2))?;
            for (mul, add, fast_mode) in CUBLAS_BENCH_CONFIGS {
                backend.set_cublas_acceleration(CublasAcceleration {
                    enabled: true,
                    fast_mode,
                })?;
                let spec = qgemm_bench_spec(size, mul, add, true)?;
                let before = backend.cublas_gemms();
                let fast = best_time(backend, 5, || backend.qgemm(&a, &b, &spec))?;
                if backend.cublas_gemms() == before {
                    return Err(crate::backend::BackendError::Device {
                        backend: "cuda",
                        message: format!("{mul}/{add} fma did not take the cuBLAS fast path"),
                    });
                }
                let mut operands = backend.cublas_operands(&a, &b, &spec)?;
                let native = best_time(backend, 5, || backend.cublas_native(&mut operands))?;
                let macs = (size * size * size).max(1) as f64;
                for (op, seconds) in [("qgemm_cublas", fast), ("cublas_native", native)] {
                    rows.push(QgemmRow {
                        op,
                        backend: "cuda".to_string(),
                        mul: mul.to_string(),
                        add: add.to_string(),
                        mode: cublas_mode(fast_mode),
                        m: size,
                        k: size,
                        n: size,
                        threads: 0,
                        ns_per_mac: seconds * 1e9 / macs,
                    });
                }
            }
        }
        Ok(rows)
    }
}
