//! The measurements behind `lowp bench`: ns per element of quantize on a backend, for the formats
//! and rounding modes of docs/performance.md, single thread and all threads.

use crate::backend::{Backend, CpuBackend};
use crate::formats::{Format, Quantizer, Rounding};
use serde::Serialize;
use std::time::Instant;

/// One measured configuration (one JSON row of `lowp bench --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BenchRow {
    /// The operation (`quantize`).
    pub op: &'static str,
    /// The backend's name.
    pub backend: String,
    /// The format's SPEC.
    pub format: String,
    /// The rounding mode's name.
    pub rounding: String,
    /// Threads used.
    pub threads: usize,
    /// Elements per call.
    pub n: usize,
    /// Best time over the repetitions divided by `n`, in nanoseconds.
    pub ns_per_element: f64,
}

/// The formats of the quantize bench: e4m3, bf16, fp16, binary8 P=3 and fixed(8,4).
pub const QUANTIZE_BENCH_FORMATS: [&str; 5] =
    ["e4m3", "bf16", "fp16", "binary8(p=3)", "fixed(wl=8,fl=4)"];

/// Deterministic benchmark input: `n` values spread over many binades (xorshift, fixed seed),
/// normal-distributed-looking magnitudes between 2^-20 and 2^20 with both signs.
pub fn bench_input(n: usize) -> Vec<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let exponent = (state >> 40) % 41;
            let mantissa = (state as u32) & 0x007F_FFFF;
            let sign = ((state >> 63) as u32) << 31;
            f32::from_bits(sign | ((107 + exponent as u32) << 23) | mantissa)
        })
        .collect()
}

/// Times `quantizer` over `input` on `backend`: the best of `repetitions` calls after one warm-up,
/// in nanoseconds per element.
pub fn time_quantize<B: Backend>(
    backend: &B,
    input: &B::Buffer,
    n: usize,
    quantizer: &Quantizer,
    repetitions: usize,
) -> crate::backend::Result<f64> {
    let shape = [n];
    backend.quantize(input, &shape, quantizer)?;
    let mut best = f64::INFINITY;
    for _ in 0..repetitions.max(1) {
        let start = Instant::now();
        let out = backend.quantize(input, &shape, quantizer)?;
        let elapsed = start.elapsed().as_secs_f64();
        drop(out);
        best = best.min(elapsed);
    }
    Ok(best * 1e9 / n as f64)
}

/// The CPU quantize rows: every format of [`QUANTIZE_BENCH_FORMATS`] with nearest and stochastic
/// rounding (the format's default bits), on 1 thread and on all threads, over `n` elements.
pub fn quantize_rows(n: usize) -> crate::backend::Result<Vec<BenchRow>> {
    let input_values = bench_input(n);
    let all_threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let mut thread_counts = vec![1];
    if all_threads > 1 {
        thread_counts.push(all_threads);
    }
    let mut rows = Vec::new();
    for threads in thread_counts {
        let backend = CpuBackend::with_threads(threads);
        let input = backend.upload(&input_values)?;
        for spec in QUANTIZE_BENCH_FORMATS {
            let format: Format = spec.parse()?;
            for rounding in [
                Rounding::Nearest,
                Rounding::stochastic(format.default_stochastic_bits())?,
            ] {
                let quantizer = Quantizer::new(format, rounding, 1)?;
                let ns_per_element = time_quantize(&backend, &input, n, &quantizer, 5)?;
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
    }
    Ok(rows)
}
