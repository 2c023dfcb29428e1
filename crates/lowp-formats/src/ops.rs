//! Element-wise operations and reductions (SEMANTICS.md §1, §10): what each computes in binary32
//! before its output is quantized.

use crate::error::{FormatError, Result};
use crate::format::Format;
use crate::math;
use crate::philox::{philox4x32_10, seed_key};
use crate::quantizer::Quantizer;
use alloc::string::ToString;
use alloc::vec::Vec;

/// A one-input element-wise operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `|x|`.
    Abs,
    /// Correctly rounded square root.
    Sqrt,
    /// `e^x` (lowp's portable routine, see docs/semantics-notes.md).
    Exp,
    /// Natural logarithm (portable routine).
    Log,
    /// Hyperbolic tangent (portable routine).
    Tanh,
    /// Error function (portable routine).
    Erf,
}

/// A two-input element-wise operation on inputs of the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `x + y`.
    Add,
    /// `x - y`.
    Sub,
    /// `x * y`.
    Mul,
    /// Correctly rounded `x / y`.
    Div,
    /// `x^y` (portable routine).
    Pow,
    /// `max(x, y)` (NaN if either is NaN).
    Max,
    /// `min(x, y)` (NaN if either is NaN).
    Min,
    /// `1.0` if `x > y` else `0.0`.
    Greater,
    /// `1.0` if `x >= y` else `0.0`.
    GreaterEqual,
    /// `1.0` if `x < y` else `0.0`.
    Less,
    /// `1.0` if `x <= y` else `0.0`.
    LessEqual,
    /// `1.0` if `x == y` else `0.0`.
    Equal,
}

/// A reduction along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// `acc = Q(acc + x[k])`, k ascending, acc from +0.
    Sum,
    /// The quantized sum, then `Q(sum / count)`.
    Mean,
    /// The largest element (NaN if any is NaN), quantized.
    Max,
}

impl UnaryOp {
    /// Every unary operation, in declaration order.
    pub const ALL: [UnaryOp; 7] = [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Sqrt,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Tanh,
        UnaryOp::Erf,
    ];
}

impl BinaryOp {
    /// Every binary operation, in declaration order.
    pub const ALL: [BinaryOp; 12] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Greater,
        BinaryOp::GreaterEqual,
        BinaryOp::Less,
        BinaryOp::LessEqual,
        BinaryOp::Equal,
    ];
}

impl ReduceOp {
    /// Every reduction, in declaration order.
    pub const ALL: [ReduceOp; 3] = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max];
}

// ---------------------------------------------------------------------------------------------
// Scalar semantics
// ---------------------------------------------------------------------------------------------

const SIGN: u32 = 0x8000_0000;
const QUIET: u32 = 0x0040_0000;

/// `x` with the quiet bit set if it is a NaN.
#[inline(always)]
fn quiet_if_nan(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | QUIET)
    } else {
        x
    }
}

/// `1.0` or `0.0`.
#[inline(always)]
fn indicator(condition: bool) -> f32 {
    if condition { 1.0 } else { 0.0 }
}

impl UnaryOp {
    /// The binary32 result of the operation, before any output quantization (SEMANTICS.md §1):
    ///
    /// * `Neg`, `Abs`: flip / clear the sign bit (exact; `-0` and `+0` are kept apart; a NaN input
    ///   gives that NaN with the quiet bit set).
    /// * `Sqrt`: [`math::sqrt`], correctly rounded (`sqrt(-0) = -0`, negative inputs give NaN).
    /// * `Exp`, `Log`, `Tanh`, `Erf`: lowp's portable routines [`math::exp`], [`math::log`],
    ///   [`math::tanh`], [`math::erf`] (accuracy in docs/math-accuracy.md; bit-identical on
    ///   every backend).
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            UnaryOp::Neg => quiet_if_nan(f32::from_bits(x.to_bits() ^ SIGN)),
            UnaryOp::Abs => quiet_if_nan(f32::from_bits(x.to_bits() & !SIGN)),
            UnaryOp::Sqrt => math::sqrt(x),
            UnaryOp::Exp => math::exp(x),
            UnaryOp::Log => math::log(x),
            UnaryOp::Tanh => math::tanh(x),
            UnaryOp::Erf => math::erf(x),
        }
    }
}

impl BinaryOp {
    /// The binary32 result of the operation, before any output quantization (SEMANTICS.md §1):
    ///
    /// * `Add`, `Sub`, `Mul`: one IEEE binary32 operation, round to nearest even, subnormals kept.
    /// * `Div`: [`math::div`], correctly rounded (equal to IEEE binary32 division).
    /// * `Pow`: [`math::pow`] (C99 special cases, see its documentation).
    /// * `Max`, `Min`: NaN if either input is NaN (that NaN, quieted; `x` first);
    ///   `max(-0, +0) = max(+0, -0) = +0`, `min(-0, +0) = min(+0, -0) = -0`.
    /// * `Greater`, `GreaterEqual`, `Less`, `LessEqual`, `Equal`: `1.0` if the IEEE comparison
    ///   holds, else `0.0`; every comparison with a NaN is false (so `Equal(NaN, NaN) = 0`), and
    ///   `-0 == +0`.
    #[inline]
    pub fn apply(self, x: f32, y: f32) -> f32 {
        match self {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => math::div(x, y),
            BinaryOp::Pow => math::pow(x, y),
            BinaryOp::Max | BinaryOp::Min => {
                if x.is_nan() {
                    return quiet_if_nan(x);
                }
                if y.is_nan() {
                    return quiet_if_nan(y);
                }
                let max = self == BinaryOp::Max;
                if x > y {
                    if max { x } else { y }
                } else if y > x {
                    if max { y } else { x }
                } else if max {
                    // Equal values: only +-0 differ in their bits.
                    f32::from_bits(x.to_bits() & y.to_bits())
                } else {
                    f32::from_bits(x.to_bits() | y.to_bits())
                }
            }
            BinaryOp::Greater => indicator(x > y),
            BinaryOp::GreaterEqual => indicator(x >= y),
            BinaryOp::Less => indicator(x < y),
            BinaryOp::LessEqual => indicator(x <= y),
            BinaryOp::Equal => indicator(x == y),
        }
    }
}

/// The random word of reduction step `step` of output element `output` (SEMANTICS.md §3):
/// Philox4x32-10 keyed by `seed`, counter `(lo32(output), hi32(output), step, 2)`, word 0.
#[inline]
pub fn reduction_word(seed: u64, output: u64, step: u32) -> u32 {
    philox4x32_10(
        [output as u32, (output >> 32) as u32, step, 2],
        seed_key(seed),
    )[0]
}

/// Rounds `value` with `quantizer` (if any) using reduction step `step`'s word.
#[inline(always)]
fn reduction_round(
    quantizer: Option<&Quantizer>,
    value: f32,
    output: u64,
    step: u32,
) -> Result<f32> {
    match quantizer {
        None => Ok(value),
        Some(q) => {
            let word = if q.is_stochastic() {
                reduction_word(q.seed(), output, step)
            } else {
                0
            };
            q.quantize_bits(value.to_bits(), word).map(f32::from_bits)
        }
    }
}

/// The error of a block-format quantizer in a reduction.
fn block_in_reduction() -> FormatError {
    FormatError::Shape(
        "reductions quantize every partial result on its own: block formats (shared exponent \
         per block) are not element-wise and cannot be used"
            .to_string(),
    )
}

impl ReduceOp {
    /// Reduces one lane of `len` values (`value(k)` is the element at position `k` of the
    /// reduced axis) into output element `output` (its flat row-major index in the output),
    /// with the rules of [`reduce_reference`]. Block-format quantizers are an error.
    pub fn reduce_lane(
        self,
        output: u64,
        len: usize,
        value: impl Fn(usize) -> f32,
        quantizer: Option<&Quantizer>,
    ) -> Result<f32> {
        if let Some(q) = quantizer
            && matches!(q.format(), Format::Block(_))
        {
            return Err(block_in_reduction());
        }
        match self {
            ReduceOp::Sum | ReduceOp::Mean => {
                let mut acc = 0.0f32;
                for k in 0..len {
                    acc = reduction_round(quantizer, acc + value(k), output, k as u32)?;
                }
                if self == ReduceOp::Sum {
                    return Ok(acc);
                }
                let mean = math::div(acc, len as f32);
                reduction_round(quantizer, mean, output, len as u32)
            }
            ReduceOp::Max => {
                let mut acc = f32::NEG_INFINITY;
                for k in 0..len {
                    acc = BinaryOp::Max.apply(acc, value(k));
                }
                reduction_round(quantizer, acc, output, len as u32)
            }
        }
    }
}

/// The scalar reference of a reduction along `axis` of the row-major tensor `x` of `shape`
/// (SEMANTICS.md §3, §10). The output has `shape` without `axis` (row-major; a reduced 1-D
/// tensor gives one value). With `outer` = product of the axes before `axis`, `len` =
/// `shape[axis]` and `inner` = product of the axes after it, output element
/// `o = i * inner + j` reduces `x[(i * len + k) * inner + j]` for `k = 0, 1, ..., len - 1` in
/// that order:
///
/// * `Sum`: `acc = +0`, then for each k `acc = Q(acc + x_k)` (one binary32 addition, then the
///   quantizer). Without a quantizer this is the plain sequential binary32 sum. An empty axis
///   gives `+0`.
/// * `Mean`: the quantized sum as above, then `Q(sum / len)` (binary32 division, [`math::div`],
///   `len` converted to binary32). An empty axis gives `Q(0/0)` = NaN.
/// * `Max`: `m = -inf`, then `m = max(m, x_k)` ([`BinaryOp::Max`]: NaN propagates,
///   `max(-0, +0) = +0`), then `Q(m)` once. An empty axis gives `Q(-inf)` (`-inf` without a
///   quantizer).
///
/// Random words (stochastic rounding): the rounding at step `k` of output element `o` uses
/// Philox counter `(lo32(o), hi32(o), k, 2)` word 0 keyed by the quantizer's seed
/// ([`reduction_word`]); the final rounding of `Mean` and `Max` uses step `k = len` (the step
/// is a 32-bit counter word: `k mod 2^32`). Deterministic modes draw no words.
///
/// Errors: `shape`'s product differs from `x.len()`, `axis >= shape.len()`, or the quantizer has
/// a block format (not element-wise).
pub fn reduce_reference(
    op: ReduceOp,
    x: &[f32],
    shape: &[usize],
    axis: usize,
    quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    let (outer, len, inner) = reduce_layout(x.len(), shape, axis)?;
    if let Some(q) = quantizer
        && matches!(q.format(), Format::Block(_))
    {
        return Err(block_in_reduction());
    }
    let mut out = Vec::with_capacity(outer * inner);
    for i in 0..outer {
        for j in 0..inner {
            let o = (i * inner + j) as u64;
            let base = i * len * inner + j;
            out.push(op.reduce_lane(o, len, |k| x[base + k * inner], quantizer)?);
        }
    }
    Ok(out)
}

/// Checks a reduction's arguments and returns `(outer, len, inner)`: the products of the axes
/// before `axis`, `shape[axis]`, and the product of the axes after it.
pub fn reduce_layout(
    elements: usize,
    shape: &[usize],
    axis: usize,
) -> Result<(usize, usize, usize)> {
    crate::check_shape(shape, elements)?;
    if axis >= shape.len() {
        return Err(FormatError::Shape(alloc::format!(
            "reduction axis {axis} is out of range for shape {shape:?} ({} axes)",
            shape.len()
        )));
    }
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    if outer.checked_mul(inner).is_none() {
        return Err(FormatError::Shape(alloc::format!(
            "reducing axis {axis} of shape {shape:?} gives too many outputs"
        )));
    }
    Ok((outer, shape[axis], inner))
}
