//! Quantized GEMM (SEMANTICS.md §9): the description of one batched product and its reference
//! implementation, plain loops in the order the specification states.

use crate::error::{FormatError, Result, invalid};
use crate::format::Format;
use crate::math::fma;
use crate::philox::{philox4x32_10, seed_key};
use crate::rounding::Rounding;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

/// How the products of one output element are accumulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accumulation {
    /// `acc = Qadd(acc + p)`, k ascending from 0, acc starting at +0.
    Sequential,
    /// Kahan summation per output element:
    /// `y = Qadd(p - c); t = Qadd(acc + y); c = Qadd(Qadd(t - acc) - y); acc = t`.
    Compensated,
    /// The inner sum restarts at +0 every `chunk` steps of k and is added into an outer
    /// accumulator after each chunk: `outer = Qouter(outer + inner)`.
    Blocked {
        /// Steps of k per chunk (>= 1).
        chunk: usize,
        /// The outer accumulator's format.
        outer: Format,
        /// Random bits of the outer rounding under stochastic rounding.
        outer_bits: u32,
    },
}

/// One batched quantized GEMM `C[b] = A[b] · B[b]` (`A` is M×K, `B` is K×N, row-major, or their
/// transposes when `transpose_a` / `transpose_b`), every step rounded as §9 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GemmSpec {
    /// Number of independent products.
    pub batch: usize,
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `A`, rows of `B`: the reduction length.
    pub k: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// `A` is stored K×M (so `A = storedᵀ`).
    pub transpose_a: bool,
    /// `B` is stored N×K.
    pub transpose_b: bool,
    /// Format of each product `Qmul(a*b)` (ignored in FMA mode).
    pub mul: Format,
    /// Format of each accumulation step `Qadd(...)`.
    pub add: Format,
    /// Rounding mode of every step (stochastic: see `mul_bits`, `add_bits`).
    pub rounding: Rounding,
    /// Random bits of the product rounding under stochastic rounding.
    pub mul_bits: u32,
    /// Random bits of the accumulation roundings under stochastic rounding.
    pub add_bits: u32,
    /// Fused multiply-add: `acc = Qadd(fma(a, b, acc))`, one binary32 rounding, no `Qmul`.
    pub fma: bool,
    /// How the products are accumulated.
    pub accumulation: Accumulation,
    /// Seed of the Philox words (§3).
    pub seed: u64,
}

impl GemmSpec {
    /// A GEMM with round-to-nearest, sequential accumulation and no transposes.
    pub fn new(batch: usize, m: usize, k: usize, n: usize, mul: Format, add: Format) -> Self {
        Self {
            batch,
            m,
            k,
            n,
            transpose_a: false,
            transpose_b: false,
            mul,
            add,
            rounding: Rounding::Nearest,
            mul_bits: mul.default_stochastic_bits(),
            add_bits: add.default_stochastic_bits(),
            fma: false,
            accumulation: Accumulation::Sequential,
            seed: 0,
        }
    }

    /// Elements of `A`, `B` and `C`.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.batch * self.m * self.k,
            self.batch * self.k * self.n,
            self.batch * self.m * self.n,
        )
    }

    /// Checks the spec: superfp only rounds to nearest, random bits in 1..=32, chunk >= 1, sizes
    /// that fit in memory.
    pub fn validate(&self) -> Result<()> {
        let formats = [
            Some(self.mul),
            Some(self.add),
            match self.accumulation {
                Accumulation::Blocked { outer, .. } => Some(outer),
                _ => None,
            },
        ];
        for format in formats.into_iter().flatten() {
            if matches!(format, Format::SuperFp(_)) && self.rounding != Rounding::Nearest {
                return Err(FormatError::UnsupportedRounding {
                    rounding: self.rounding.name(),
                    format: format.to_string(),
                });
            }
        }
        if matches!(self.rounding, Rounding::Stochastic { .. }) {
            let outer_bits = match self.accumulation {
                Accumulation::Blocked { outer_bits, .. } => outer_bits,
                _ => 1,
            };
            for bits in [self.mul_bits, self.add_bits, outer_bits] {
                Rounding::stochastic(bits)?;
            }
        }
        if let Accumulation::Blocked { chunk: 0, .. } = self.accumulation {
            return Err(invalid("gemm", "blocked accumulation needs chunk >= 1"));
        }
        let overflow = || invalid("gemm", "batch * m * k * n overflows the address space");
        for (x, y) in [(self.m, self.k), (self.k, self.n), (self.m, self.n)] {
            x.checked_mul(y)
                .and_then(|p| p.checked_mul(self.batch))
                .ok_or_else(overflow)?;
        }
        Ok(())
    }

    /// Index of `A[b][i][kk]` in its buffer.
    #[inline(always)]
    pub fn a_index(&self, b: usize, i: usize, kk: usize) -> usize {
        if self.transpose_a {
            (b * self.k + kk) * self.m + i
        } else {
            (b * self.m + i) * self.k + kk
        }
    }

    /// Index of `B[b][kk][j]` in its buffer.
    #[inline(always)]
    pub fn b_index(&self, b: usize, kk: usize, j: usize) -> usize {
        if self.transpose_b {
            (b * self.n + j) * self.k + kk
        } else {
            (b * self.k + kk) * self.n + j
        }
    }
}

/// The Philox words of output element `o` at step `k` for stream `stream` (§3):
/// counter `(lo32(o), hi32(o), k, stream)`; stream 1 rounds the product (word 0) and the
/// accumulation (word 1, compensated: words 1–3), stream 3 the compensated inner difference
/// (word 0) and the blocked outer rounding (word 1).
#[inline(always)]
pub fn gemm_words(seed: u64, output: u64, k: u32, stream: u32) -> [u32; 4] {
    philox4x32_10(
        [output as u32, (output >> 32) as u32, k, stream],
        seed_key(seed),
    )
}

/// Quantizes one value of a GEMM step. Block formats treat the value as a block of its own.
#[inline(always)]
pub fn quantize_step(format: &Format, rounding: Rounding, x: f32, word: u32) -> f32 {
    let bits = x.to_bits();
    f32::from_bits(match format {
        Format::Float(f) => f.grid().quantize_bits(bits, rounding, word),
        Format::P3109(p) => p.grid().quantize_bits(bits, rounding, word),
        Format::Fixed(f) => f.quantize_bits(bits, rounding, word),
        Format::SuperFp(s) => s.quantize_bits(bits),
        Format::Block(b) => {
            let magnitude = bits & 0x7FFF_FFFF;
            let shared = if magnitude < 0x7F80_0000 {
                crate::block::BlockFloatingPoint::shared_exponent(magnitude)
            } else {
                None
            };
            b.quantize_element(bits, shared, rounding, word)
        }
    })
}

/// The reference GEMM: plain loops over b, i, j and k ascending, exactly §9.
/// `a` and `b` hold `spec.sizes()` elements; returns `C` (batch × M × N, row-major).
pub fn reference(a: &[f32], b: &[f32], spec: &GemmSpec) -> Result<Vec<f32>> {
    spec.validate()?;
    let (a_len, b_len, c_len) = spec.sizes();
    if a.len() != a_len || b.len() != b_len {
        return Err(FormatError::Shape(alloc::format!(
            "gemm {}×{}×{}×{}: A needs {a_len} elements (has {}), B needs {b_len} (has {})",
            spec.batch,
            spec.m,
            spec.k,
            spec.n,
            a.len(),
            b.len()
        )));
    }
    let with_bits = |bits: u32| match spec.rounding {
        Rounding::Stochastic { .. } => Rounding::Stochastic { bits },
        other => other,
    };
    let (mul_mode, add_mode) = (with_bits(spec.mul_bits), with_bits(spec.add_bits));
    let qmul = |x: f32, word: u32| quantize_step(&spec.mul, mul_mode, x, word);
    let qadd = |x: f32, word: u32| quantize_step(&spec.add, add_mode, x, word);
    let stochastic = matches!(spec.rounding, Rounding::Stochastic { .. });
    let mut c = vec![0f32; c_len];
    for batch in 0..spec.batch {
        for i in 0..spec.m {
            for j in 0..spec.n {
                let o = ((batch * spec.m + i) * spec.n + j) as u64;
                let mut acc = 0f32;
                let mut compensation = 0f32;
                let mut outer = 0f32;
                for kk in 0..spec.k {
                    let words = if stochastic {
                        gemm_words(spec.seed, o, kk as u32, 1)
                    } else {
                        [0; 4]
                    };
                    let x = a[spec.a_index(batch, i, kk)];
                    let y = b[spec.b_index(batch, kk, j)];
                    match spec.accumulation {
                        Accumulation::Compensated => {
                            let inner = if stochastic {
                                gemm_words(spec.seed, o, kk as u32, 3)
                            } else {
                                [0; 4]
                            };
                            let corrected = if spec.fma {
                                qadd(fma(x, y, -compensation), words[2])
                            } else {
                                qadd(qmul(x * y, words[0]) - compensation, words[2])
                            };
                            let total = qadd(acc + corrected, words[1]);
                            compensation = qadd(qadd(total - acc, inner[0]) - corrected, words[3]);
                            acc = total;
                        }
                        _ => {
                            acc = if spec.fma {
                                qadd(fma(x, y, acc), words[1])
                            } else {
                                qadd(acc + qmul(x * y, words[0]), words[1])
                            };
                        }
                    }
                    if let Accumulation::Blocked {
                        chunk,
                        outer: format,
                        outer_bits,
                    } = spec.accumulation
                        && ((kk + 1) % chunk == 0 || kk + 1 == spec.k)
                    {
                        let word = if stochastic {
                            gemm_words(spec.seed, o, kk as u32, 3)[1]
                        } else {
                            0
                        };
                        outer = quantize_step(&format, with_bits(outer_bits), outer + acc, word);
                        acc = 0.0;
                    }
                }
                c[o as usize] = match spec.accumulation {
                    Accumulation::Blocked { .. } => outer,
                    _ => acc,
                };
            }
        }
    }
    Ok(c)
}
