//! Element-wise operations and reductions (SEMANTICS.md §1, §10): what each computes in binary32
//! before its output is quantized.

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
