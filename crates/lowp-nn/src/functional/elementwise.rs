//! `qadd`, `qmul`, `qdiv`, `qsqrt`, `qpow`, `qsum`, `qmean` (SEMANTICS.md §10).

use super::steps::Steps;
use super::to_tensor_error;
use crate::error::{NnError, Result};
use crate::quant::Cast;
use crate::seeds::SeedStream;
use lowp_formats::{BinaryOp, UnaryOp};
use lowp_tensor::Tensor;

/// mptorch's `(fwd_quant, bwd_quant)` pair of the element-wise functional ops, with the seed
/// stream of their stochastic roundings.
#[derive(Debug, Clone, Default)]
pub struct QuantPair {
    /// Quantizes every forward result (None: binary32).
    pub fwd_quant: Option<Cast>,
    /// Quantizes every backward product / quotient (None: binary32).
    pub bwd_quant: Option<Cast>,
    /// Seeds of the stochastic roundings.
    pub seeds: SeedStream,
}

impl QuantPair {
    /// A pair with seeds from base seed `seed`.
    pub fn new(fwd_quant: Option<Cast>, bwd_quant: Option<Cast>, seed: u64) -> Self {
        Self {
            fwd_quant,
            bwd_quant,
            seeds: SeedStream::new(seed),
        }
    }
}

/// Sums a broadcast gradient back to `shape`, each partial sum quantized by `q`.
fn reduce_to(steps: &mut Steps, g: &Tensor, shape: &[usize], q: Option<&Cast>) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let offset = g.rank() - shape.len();
    let mut out = g.clone();
    for axis in (0..g.rank()).rev() {
        if axis < offset || (shape[axis - offset] == 1 && g.shape()[axis] != 1) {
            let seed = steps.next_seed();
            let quantizer = q.map(|c| c.quantizer(seed)).transpose()?;
            out = out.reduce_raw(lowp_formats::ReduceOp::Sum, axis, true, quantizer.as_ref())?;
        }
    }
    Ok(out.reshape(shape)?)
}

/// The backward of a binary op: `(steps, g, x, y, out, Qb) -> (grad_x, grad_y)` before the
/// broadcast sums.
type BinaryGrads =
    fn(&mut Steps, &Tensor, &Tensor, &Tensor, &Tensor, Option<&Cast>) -> Result<(Tensor, Tensor)>;

/// A binary op `out = Qf(op(x, y))` (broadcasting) whose backward is `grads(g, x, y, out)`.
fn binary_op(
    name: &'static str,
    op: BinaryOp,
    x: &Tensor,
    y: &Tensor,
    pair: &QuantPair,
    grads: BinaryGrads,
) -> Result<Tensor> {
    let call = pair.seeds.next_call();
    let mut steps = Steps::forward(call);
    let out = steps
        .binary_cast(op, x, y, pair.fwd_quant.as_ref())
        .map_err(|e| match e {
            NnError::Tensor(t) => NnError::layer(name, t.to_string()),
            other => other,
        })?;
    let (xs, ys, saved, bwd) = (x.detach(), y.detach(), out.detach(), pair.bwd_quant);
    Ok(Tensor::with_backward(
        out,
        name,
        &[x, y],
        move |g: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut steps = Steps::backward(call);
                let (gx, gy) = grads(&mut steps, g, &xs, &ys, &saved, bwd.as_ref())?;
                let gx = reduce_to(&mut steps, &gx, xs.shape(), bwd.as_ref())?;
                let gy = reduce_to(&mut steps, &gy, ys.shape(), bwd.as_ref())?;
                Ok(vec![Some(gx), Some(gy)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}

/// mptorch's `qadd(x, y, fwd_quant, bwd_quant)`: `out = Qf(x + y)` (broadcasting).
/// Backward: `grad_x = Qb(g)`, `grad_y = Qb(g)` (summed back over broadcast axes with `Qb` per
/// partial sum).
pub fn qadd(x: &Tensor, y: &Tensor, pair: &QuantPair) -> Result<Tensor> {
    binary_op("qadd", BinaryOp::Add, x, y, pair, |s, g, _, _, _, q| {
        let one = Tensor::scalar(1.0, g.device())?;
        Ok((
            s.binary_cast(BinaryOp::Mul, g, &one, q)?,
            s.binary_cast(BinaryOp::Mul, g, &one, q)?,
        ))
    })
}

/// mptorch's `qmul(x, y, fwd_quant, bwd_quant)`: `out = Qf(x * y)`.
/// Backward: `grad_x = Qb(g * y)`, `grad_y = Qb(g * x)`.
pub fn qmul(x: &Tensor, y: &Tensor, pair: &QuantPair) -> Result<Tensor> {
    binary_op("qmul", BinaryOp::Mul, x, y, pair, |s, g, x, y, _, q| {
        Ok((
            s.binary_cast(BinaryOp::Mul, g, y, q)?,
            s.binary_cast(BinaryOp::Mul, g, x, q)?,
        ))
    })
}

/// mptorch's `qdiv(x, y, fwd_quant, bwd_quant)`: `out = Qf(x / y)`.
/// Backward: `grad_x = Qb(g / y)`, `grad_y = Qb(Qb(Qb(-g * x) / y) / y)` (the true derivative
/// `-g·x/y²`; mptorch's documented `Qb(Qb(-g·x)/y)` lacks one division by y).
pub fn qdiv(x: &Tensor, y: &Tensor, pair: &QuantPair) -> Result<Tensor> {
    binary_op("qdiv", BinaryOp::Div, x, y, pair, |s, g, x, y, _, q| {
        let gx = s.binary_cast(BinaryOp::Div, g, y, q)?;
        let neg = s.binary_cast(BinaryOp::Mul, &g.unary_raw(UnaryOp::Neg, None)?, x, q)?;
        let once = s.binary_cast(BinaryOp::Div, &neg, y, q)?;
        Ok((gx, s.binary_cast(BinaryOp::Div, &once, y, q)?))
    })
}

/// mptorch's `qsqrt(x, fwd_quant, bwd_quant)`: `out = Qf(sqrt(x))`.
/// Backward: `grad_x = Qb(g / Qb(2 * out))`.
pub fn qsqrt(x: &Tensor, pair: &QuantPair) -> Result<Tensor> {
    let call = pair.seeds.next_call();
    let out = Steps::forward(call).unary_cast(UnaryOp::Sqrt, x, pair.fwd_quant.as_ref())?;
    let (saved, bwd) = (out.detach(), pair.bwd_quant);
    Ok(Tensor::with_backward(
        out,
        "qsqrt",
        &[x],
        move |g: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let twice = s.scalar_cast(BinaryOp::Mul, &saved, 2.0, bwd.as_ref())?;
                Ok(vec![Some(s.binary_cast(
                    BinaryOp::Div,
                    g,
                    &twice,
                    bwd.as_ref(),
                )?)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}

/// mptorch's `qpow(x, fwd_quant, bwd_quant, n)`: `out = Qf(x^n)` with `n` a tensor broadcast
/// against `x` (use [`Tensor::scalar`] for a number; lowp's portable pow).
/// Backward (to `x` only): `grad_x = Qb(g * Qb(Qb(x^(n-1)) * n))`.
pub fn qpow(x: &Tensor, n: &Tensor, pair: &QuantPair) -> Result<Tensor> {
    let call = pair.seeds.next_call();
    let out = Steps::forward(call).binary_cast(BinaryOp::Pow, x, n, pair.fwd_quant.as_ref())?;
    let (xs, ns, bwd) = (x.detach(), n.detach(), pair.bwd_quant);
    Ok(Tensor::with_backward(
        out,
        "qpow",
        &[x],
        move |g: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let minus_one =
                    ns.binary_raw(BinaryOp::Sub, &Tensor::scalar(1.0, g.device())?, None)?;
                let power = s.binary_cast(BinaryOp::Pow, &xs, &minus_one, bwd.as_ref())?;
                let slope = s.binary_cast(BinaryOp::Mul, &power, &ns, bwd.as_ref())?;
                let gx = s.binary_cast(BinaryOp::Mul, g, &slope, bwd.as_ref())?;
                Ok(vec![Some(reduce_to(
                    &mut s,
                    &gx,
                    xs.shape(),
                    bwd.as_ref(),
                )?)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}

/// The axes a reduction covers (`None`: all), descending, and the output shape.
fn reduction_axes(
    name: &'static str,
    x: &Tensor,
    dim: Option<&[isize]>,
    keepdim: bool,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let axes: Vec<usize> = match dim {
        None => (0..x.rank()).rev().collect(),
        Some(dims) => x
            .resolve_axes(name, dims)
            .map_err(|e| NnError::layer(name, e.to_string()))?,
    };
    let shape: Vec<usize> = x
        .shape()
        .iter()
        .enumerate()
        .filter_map(|(axis, &n)| match (axes.contains(&axis), keepdim) {
            (false, _) => Some(n),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    Ok((axes, shape))
}

/// Sums `axes` (descending) with `Q` per partial sum, keeping them as size 1.
fn quantized_sum(
    steps: &mut Steps,
    x: &Tensor,
    axes: &[usize],
    q: Option<&Cast>,
) -> Result<Tensor> {
    let mut acc = x.detach();
    for &axis in axes {
        let seed = steps.next_seed();
        let quantizer = q.map(|c| c.quantizer(seed)).transpose()?;
        acc = acc.reduce_raw(lowp_formats::ReduceOp::Sum, axis, true, quantizer.as_ref())?;
    }
    Ok(acc)
}

/// mptorch's `qsum(x, dim, quant, keepdim)`: the sum over `dim` (one axis, several, or all with
/// `None`), sequential in ascending index order with every partial sum `Q(acc + x_k)`; several
/// axes are reduced one after the other from the last. Output shape: `x`'s shape without the
/// reduced axes (kept as 1 with `keepdim`; `[]` for a full reduction). Backward: the gradient
/// broadcast back (exact). Seeds: one call of `seeds` per use, one role per reduced axis.
pub fn qsum(
    x: &Tensor,
    dim: Option<&[isize]>,
    quant: Option<&Cast>,
    keepdim: bool,
    seeds: &SeedStream,
) -> Result<Tensor> {
    let (axes, shape) = reduction_axes("qsum", x, dim, keepdim)?;
    let mut steps = Steps::forward(seeds.next_call());
    let kept = quantized_sum(&mut steps, x, &axes, quant)?;
    let kept_shape = kept.shape().to_vec();
    let out = kept.reshape(&shape)?;
    let input_shape = x.shape().to_vec();
    Ok(Tensor::with_backward(
        out,
        "qsum",
        &[x],
        move |g: &Tensor| {
            Ok(vec![Some(
                g.reshape(&kept_shape)?.expand_raw(&input_shape)?,
            )])
        },
    ))
}

/// mptorch's `qmean(x, fwd_quant, bwd_quant, dim, keepdim)`: `Qf(qsum_Qf(x) / count)` over
/// `dim` (shapes as [`qsum`]). Backward: `grad_x = Qb(g / count)` broadcast back.
pub fn qmean(x: &Tensor, pair: &QuantPair, dim: Option<&[isize]>, keepdim: bool) -> Result<Tensor> {
    let (axes, shape) = reduction_axes("qmean", x, dim, keepdim)?;
    let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
    let call = pair.seeds.next_call();
    let mut steps = Steps::forward(call);
    let sum = quantized_sum(&mut steps, x, &axes, pair.fwd_quant.as_ref())?;
    let mean = steps.scalar_cast(BinaryOp::Div, &sum, count as f32, pair.fwd_quant.as_ref())?;
    let kept_shape = mean.shape().to_vec();
    let out = mean.reshape(&shape)?;
    let (input_shape, bwd) = (x.shape().to_vec(), pair.bwd_quant);
    Ok(Tensor::with_backward(
        out,
        "qmean",
        &[x],
        move |g: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let g = s.scalar_cast(
                    BinaryOp::Div,
                    &g.reshape(&kept_shape)?,
                    count as f32,
                    bwd.as_ref(),
                )?;
                Ok(vec![Some(g.expand_raw(&input_shape)?)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}
