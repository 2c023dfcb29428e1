//! Number-format configurations of the quantized layers (mptorch's `quant_format` module).
//!
//! `None` for a compute format means binary32 (identity); `None` for a signal quantizer means
//! no quantization. Each config owns a [`SeedStream`] for its stochastic roundings.

use crate::error::{NnError, Result};
use crate::quant::Cast;
use crate::seeds::SeedStream;
use lowp_formats::{Accumulation, Format, GemmSpec, Rounding};
use lowp_tensor::fp32;

/// The multiply-accumulate configuration of a GEMM (mptorch's `fwd_mac` / `bwd_mac`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mac {
    /// mptorch's `(fmt,)`: fused multiply-add, `acc = Qadd(fma(a, b, acc))`.
    Fma(Format),
    /// mptorch's `(add, mul)` (or a single `fmt` for both): `acc = Qadd(acc + Qmul(a*b))`.
    Separate {
        /// Accumulation format.
        add: Format,
        /// Product format.
        mul: Format,
    },
}

impl Mac {
    /// The same format for products and sums, not fused (mptorch's `fwd_mac=fmt`).
    pub fn same(format: Format) -> Self {
        Mac::Separate {
            add: format,
            mul: format,
        }
    }
    /// The accumulation format.
    pub fn add(&self) -> Format {
        match self {
            Mac::Fma(f) => *f,
            Mac::Separate { add, .. } => *add,
        }
    }
}

/// mptorch's `QAffineFormats`: the formats of linear and convolution layers and of
/// `qlinear` / `qmatmul` / `qmm`.
///
/// Forward: `x_q = Qin(x)`, `w_q = Qw(w)`, `b_q = Qb(b)`, `acc = GEMM_fwd(x_q, w_q)` (§9 with
/// `fwd_mac`, `fwd_rnd`, `rbits`, `compensated`), `y = Qout(Qadd(acc + b_q))` (add format of
/// `fwd_mac`). Backward: `g = Qgrad(grad_y)`, `grad_x = Qgrad(GEMM_bwd(g, w_q))`,
/// `grad_w = Qgrad(GEMM_bwd(gᵀ, x_q))`, `grad_b = Qgrad(sum of g over rows, each partial sum
/// in the add format of bwd_mac)`.
///
/// With `use_scaling`, inputs, weights and gradients are first multiplied by a power of two
/// `s = 2^(floor(log2(max_fmt / amax)) - scale_margin)` (amax = largest finite |value|,
/// `max_fmt` the largest value of the `*_scaled_format`, defaulting to the signal quantizer's
/// format; s = 1 when amax is 0 or not finite) and every GEMM result is divided by the product
/// of its operands' scales (exact powers of two).
#[derive(Debug, Clone)]
pub struct QAffineFormats {
    /// Forward MAC formats (None: binary32).
    pub fwd_mac: Option<Mac>,
    /// Backward MAC formats (None: binary32).
    pub bwd_mac: Option<Mac>,
    /// Forward rounding (default nearest; stochastic bits from `rbits`).
    pub fwd_rnd: Rounding,
    /// Backward rounding.
    pub bwd_rnd: Rounding,
    /// Weight quantizer.
    pub weight_quant: Option<Cast>,
    /// Bias quantizer.
    pub bias_quant: Option<Cast>,
    /// Input quantizer.
    pub input_quant: Option<Cast>,
    /// Output quantizer.
    pub output_quant: Option<Cast>,
    /// Gradient quantizer (every gradient leaving or entering the layer).
    pub grad_quant: Option<Cast>,
    /// Kahan-compensated accumulation (§9).
    pub compensated: bool,
    /// Power-of-two tensor scaling of inputs, weights and gradients.
    pub use_scaling: bool,
    /// Format whose max sets the weight scale (default: the weight quantizer's).
    pub weight_scaled_format: Option<Format>,
    /// Format whose max sets the input scale (default: the input quantizer's).
    pub input_scaled_format: Option<Format>,
    /// Format whose max sets the gradient scale (default: the gradient quantizer's).
    pub grad_scaled_format: Option<Format>,
    /// Binades of head room left by the scales.
    pub scale_margin: i32,
    /// Random bits of stochastic rounding in the GEMMs and the bias add/sum: `(add, mul)`;
    /// 0 takes each format's default (§2). The bits inside `fwd_rnd` / `bwd_rnd` are not used
    /// here (mptorch's `rbits` is the one knob).
    pub rbits: (u32, u32),
    /// Seeds of the stochastic roundings.
    pub seeds: SeedStream,
}

impl Default for Mac {
    fn default() -> Self {
        Mac::same(fp32())
    }
}

/// Rounding roles of the affine ops (see [`crate::seeds`]).
pub(crate) mod affine_role {
    pub const INPUT: u64 = 0;
    pub const WEIGHT: u64 = 1;
    pub const BIAS: u64 = 2;
    pub const FWD_GEMM: u64 = 3;
    pub const FWD_BIAS_ADD: u64 = 4;
    pub const OUTPUT: u64 = 5;
    pub const GRAD_OUTPUT: u64 = 6;
    pub const BWD_GEMM_INPUT: u64 = 7;
    pub const BWD_GEMM_WEIGHT: u64 = 8;
    pub const BWD_BIAS_SUM: u64 = 9;
    pub const GRAD_INPUT: u64 = 10;
    pub const GRAD_WEIGHT: u64 = 11;
    pub const GRAD_BIAS: u64 = 12;
    pub const BWD_BATCH_SUM: u64 = 13;
}

impl QAffineFormats {
    /// Every compute format binary32 and no signal quantization (a plain fp32 layer).
    pub fn fp32() -> Self {
        Self::default()
    }

    /// The same config with seeds from base seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seeds = SeedStream::new(seed);
        self
    }

    /// Checks the config: stochastic bits, rounding modes the formats support, scaling formats.
    pub fn validate(&self) -> Result<()> {
        self.gemm(true, 0)?.validate()?;
        self.gemm(false, 0)?.validate()?;
        if self.use_scaling {
            for (name, scaled, quant) in [
                ("weight", self.weight_scaled_format, self.weight_quant),
                ("input", self.input_scaled_format, self.input_quant),
                ("grad", self.grad_scaled_format, self.grad_quant),
            ] {
                if scaled.or(quant.map(|c| c.format)).is_none() {
                    return Err(NnError::config(
                        "QAffineFormats",
                        format!("use_scaling needs {name}_scaled_format or {name}_quant"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The GEMM template (sizes filled in by the op) of the forward (`forward`) or backward
    /// pass, with stochastic-rounding seed `seed`.
    pub fn gemm(&self, forward: bool, seed: u64) -> Result<GemmSpec> {
        let (mac, rounding) = if forward {
            (self.fwd_mac, self.fwd_rnd)
        } else {
            (self.bwd_mac, self.bwd_rnd)
        };
        let mac = mac.unwrap_or_default();
        let (add, mul, fma) = match mac {
            Mac::Fma(f) => (f, f, true),
            Mac::Separate { add, mul } => (add, mul, false),
        };
        let mut spec = GemmSpec::new(1, 1, 1, 1, mul, add);
        spec.fma = fma;
        spec.rounding = match rounding {
            Rounding::Stochastic { .. } => Rounding::Stochastic { bits: 1 },
            other => other,
        };
        let bits = |configured: u32, format: &Format| {
            if configured > 0 {
                configured
            } else {
                format.default_stochastic_bits()
            }
        };
        spec.add_bits = bits(self.rbits.0, &add);
        spec.mul_bits = bits(self.rbits.1, &mul);
        if self.compensated {
            spec.accumulation = Accumulation::Compensated;
        }
        spec.seed = seed;
        Ok(spec)
    }

    /// The add format and rounding of the forward or backward pass (bias add, bias gradient).
    pub(crate) fn add_step(&self, forward: bool) -> (Format, Rounding) {
        let (mac, rounding) = if forward {
            (self.fwd_mac, self.fwd_rnd)
        } else {
            (self.bwd_mac, self.bwd_rnd)
        };
        let add = mac.unwrap_or_default().add();
        let rounding = match rounding {
            Rounding::Stochastic { .. } if self.rbits.0 > 0 => {
                Rounding::Stochastic { bits: self.rbits.0 }
            }
            Rounding::Stochastic { .. } => Rounding::Stochastic {
                bits: add.default_stochastic_bits(),
            },
            other => other,
        };
        (add, rounding)
    }
}

/// mptorch's `QSoftmaxFormats`. Regular softmax (when `fwd_lse` is None):
/// `m = max_j x_j`, `d_j = Qoff(x_j - m)`, `e_j = Qexp(exp(d_j))`, `s = Σ_j e_j` (each partial
/// sum `Qacc`), `y_j = Qacc(e_j / s)`. LSE softmax (when `fwd_lse` is set):
/// `d_j = Qoff(x_j - m)`, `L = Qlse(log(exp(L) + exp(d_j)))` iterated from `L = d_0`,
/// `y_j = Qexp(exp(Qoff(d_j - L)))`. Backward: `g = Qgrad(grad_y)`,
/// `p_j = Qmul(g_j * y_j)`, `t = Σ_j p_j` (partial sums `Qadd`),
/// `grad_x_j = Qgrad(Qmul(y_j * Qadd(g_j - t)))`.
#[derive(Debug, Clone)]
pub struct QSoftmaxFormats {
    /// Format of the offset `x - max`.
    pub fwd_off: Option<Format>,
    /// Format of the exponentials.
    pub fwd_exp: Option<Format>,
    /// Format of the sum and the division (regular softmax).
    pub fwd_acc: Option<Format>,
    /// Format of the LogSumExp iteration (selects the LSE variant).
    pub fwd_lse: Option<Format>,
    /// Backward add format.
    pub bwd_add: Option<Format>,
    /// Backward multiply format.
    pub bwd_mul: Option<Format>,
    /// Forward rounding.
    pub fwd_rnd: Rounding,
    /// Backward rounding.
    pub bwd_rnd: Rounding,
    /// Input quantizer.
    pub input_quant: Option<Cast>,
    /// Output quantizer.
    pub output_quant: Option<Cast>,
    /// Gradient quantizer.
    pub grad_quant: Option<Cast>,
    /// Seeds of the stochastic roundings.
    pub seeds: SeedStream,
}

impl QSoftmaxFormats {
    /// The same config with seeds from base seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seeds = SeedStream::new(seed);
        self
    }
}

/// mptorch's `QLayerNormFormats`. Forward over the normalized axes (length n):
/// `μ = Qacc(Σx / n)` (partial sums `Qacc`), `d = Qacc(x - μ)`, `v = Qacc(Σ Qmul(d·d) / n)`,
/// `σ = Qsqrt(sqrt(Qacc(v + ε)))`, `x̂ = Qdiv(d / σ)`, `y = Qacc(Qmul(x̂·γ) + β)`.
/// Backward (the full LayerNorm gradient, including the terms through μ and σ):
/// `g = Qgrad(grad_y)`, `gx̂ = Qmul(g·γ)`, `a = Σ gx̂` and `b = Σ Qmul(gx̂·x̂)` (partial sums
/// `Qbacc`), `grad_x = Qgrad(Qdiv(Qbacc(Qbacc(gx̂ - Qdiv(a / n)) - Qmul(x̂ · Qdiv(b / n))) / σ))`,
/// `grad_γ = Qgrad(Σ_rows Qmul(g·x̂))`, `grad_β = Qgrad(Σ_rows g)`.
#[derive(Debug, Clone)]
pub struct QLayerNormFormats {
    /// Forward add format.
    pub fwd_acc: Option<Format>,
    /// Forward multiply format.
    pub fwd_mul: Option<Format>,
    /// Forward divide format.
    pub fwd_div: Option<Format>,
    /// Forward square-root format.
    pub fwd_sqrt: Option<Format>,
    /// Backward add format.
    pub bwd_acc: Option<Format>,
    /// Backward multiply format.
    pub bwd_mul: Option<Format>,
    /// Backward divide format.
    pub bwd_div: Option<Format>,
    /// Forward rounding.
    pub fwd_rnd: Rounding,
    /// Backward rounding.
    pub bwd_rnd: Rounding,
    /// Input quantizer.
    pub input_quant: Option<Cast>,
    /// Output quantizer.
    pub output_quant: Option<Cast>,
    /// Gradient quantizer.
    pub grad_quant: Option<Cast>,
    /// Weight (γ) quantizer.
    pub weight_quant: Option<Cast>,
    /// Bias (β) quantizer.
    pub bias_quant: Option<Cast>,
    /// Seeds of the stochastic roundings.
    pub seeds: SeedStream,
}

impl QLayerNormFormats {
    /// The same config with seeds from base seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seeds = SeedStream::new(seed);
        self
    }
}

/// mptorch's `QGELUFormats`. Forward (`approximate = none`): `x_q = Qin(x)`,
/// `t = Qinter(erf(Qinter(x_q · 2^-1/2)))`, `y = Qout(Qinter(Qinter(0.5·x_q) · Qinter(1 + t)))`.
/// Forward (`tanh`): `u = Qinter(√(2/π) · Qinter(x + Qinter(0.044715 · Qinter(x³))))`,
/// `t = Qinter(tanh u)`, `y = Qout(Qinter(Qinter(0.5·x) · Qinter(1 + t)))`.
/// Backward: `g = Qgrad(grad_y)`, `grad_x = Qgrad(g · GELU'(x_q))` with the exact derivative of
/// the chosen form (for tanh: `0.5(1+t) + 0.5·x·(1-t²)·√(2/π)·(1 + 3·0.044715·x²)`), each
/// intermediate quantized with `Qinter`.
#[derive(Debug, Clone, Default)]
pub struct QGELUFormats {
    /// Input quantizer.
    pub input_quant: Option<Cast>,
    /// Quantizer of every intermediate.
    pub inter_quant: Option<Cast>,
    /// Output quantizer.
    pub output_quant: Option<Cast>,
    /// Gradient quantizer.
    pub grad_quant: Option<Cast>,
    /// Seeds of the stochastic roundings.
    pub seeds: SeedStream,
}

impl QGELUFormats {
    /// The same config with seeds from base seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seeds = SeedStream::new(seed);
        self
    }
}

impl Default for QAffineFormats {
    fn default() -> Self {
        Self {
            fwd_mac: None,
            bwd_mac: None,
            fwd_rnd: Rounding::Nearest,
            bwd_rnd: Rounding::Nearest,
            weight_quant: None,
            bias_quant: None,
            input_quant: None,
            output_quant: None,
            grad_quant: None,
            compensated: false,
            use_scaling: false,
            weight_scaled_format: None,
            input_scaled_format: None,
            grad_scaled_format: None,
            scale_margin: 0,
            rbits: (0, 0),
            seeds: SeedStream::default(),
        }
    }
}

impl Default for QSoftmaxFormats {
    fn default() -> Self {
        Self {
            fwd_off: None,
            fwd_exp: None,
            fwd_acc: None,
            fwd_lse: None,
            bwd_add: None,
            bwd_mul: None,
            fwd_rnd: Rounding::Nearest,
            bwd_rnd: Rounding::Nearest,
            input_quant: None,
            output_quant: None,
            grad_quant: None,
            seeds: SeedStream::default(),
        }
    }
}

impl Default for QLayerNormFormats {
    fn default() -> Self {
        Self {
            fwd_acc: None,
            fwd_mul: None,
            fwd_div: None,
            fwd_sqrt: None,
            bwd_acc: None,
            bwd_mul: None,
            bwd_div: None,
            fwd_rnd: Rounding::Nearest,
            bwd_rnd: Rounding::Nearest,
            input_quant: None,
            output_quant: None,
            grad_quant: None,
            weight_quant: None,
            bias_quant: None,
            seeds: SeedStream::default(),
        }
    }
}
