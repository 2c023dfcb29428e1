//! `qsoftmax` (regular and LogSumExp forms of [`QSoftmaxFormats`]).

use super::steps::Steps;
use super::to_tensor_error;
use crate::error::{NnError, Result};
use crate::formats::QSoftmaxFormats;
use lowp_formats::{BinaryOp, ReduceOp, UnaryOp};
use lowp_tensor::Tensor;
use lowp_tensor::shape::axis_index;

/// mptorch's `qsoftmax(x, dim, formats)`: softmax along `dim` (negative counts from the end)
/// with every intermediate quantized as [`QSoftmaxFormats`] states; output shape = input shape.
/// Rounding roles: the forward steps in formula order from 0, the backward from 128.
pub fn qsoftmax(x: &Tensor, dim: isize, formats: &QSoftmaxFormats) -> Result<Tensor> {
    let axis = axis_index("qsoftmax", dim, x.rank()).map_err(|_| {
        NnError::layer(
            "qsoftmax",
            format!("dim {dim} is out of range for input {:?}", x.shape()),
        )
    })?;
    if x.shape()[axis] == 0 {
        return Err(NnError::layer(
            "qsoftmax",
            format!("empty axis {axis} in {:?}", x.shape()),
        ));
    }
    let f = formats.clone();
    let call = f.seeds.next_call();
    let mut s = Steps::forward(call);
    let xq = s.cast(f.input_quant.as_ref(), x)?;
    let max = xq.reduce_raw(ReduceOp::Max, axis, true, None)?;
    let offset = s.binary(BinaryOp::Sub, &xq, &max, f.fwd_off.as_ref(), f.fwd_rnd)?;
    let y = match f.fwd_lse {
        None => {
            let e = s.unary(UnaryOp::Exp, &offset, f.fwd_exp.as_ref(), f.fwd_rnd)?;
            let total = s.sum(&e, axis, f.fwd_acc.as_ref(), f.fwd_rnd)?;
            s.binary(BinaryOp::Div, &e, &total, f.fwd_acc.as_ref(), f.fwd_rnd)?
        }
        Some(lse_format) => {
            // L = d_0; L = Qlse(log(exp(L) + exp(d_j))), the inside in binary32
            let mut lse = offset.narrow(axis as isize, 0, 1)?;
            for j in 1..x.shape()[axis] {
                let d = offset.narrow(axis as isize, j, 1)?;
                let inside = lse.unary_raw(UnaryOp::Exp, None)?.binary_raw(
                    BinaryOp::Add,
                    &d.unary_raw(UnaryOp::Exp, None)?,
                    None,
                )?;
                lse = s.unary(UnaryOp::Log, &inside, Some(&lse_format), f.fwd_rnd)?;
            }
            let shifted = s.binary(BinaryOp::Sub, &offset, &lse, f.fwd_off.as_ref(), f.fwd_rnd)?;
            s.unary(UnaryOp::Exp, &shifted, f.fwd_exp.as_ref(), f.fwd_rnd)?
        }
    };
    let y = s.cast(f.output_quant.as_ref(), &y)?;
    let saved = y.detach();
    Ok(Tensor::with_backward(
        y,
        "qsoftmax",
        &[x],
        move |grad: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let g = s.cast(f.grad_quant.as_ref(), grad)?;
                let products =
                    s.binary(BinaryOp::Mul, &g, &saved, f.bwd_mul.as_ref(), f.bwd_rnd)?;
                let total = s.sum(&products, axis, f.bwd_add.as_ref(), f.bwd_rnd)?;
                let diff = s.binary(BinaryOp::Sub, &g, &total, f.bwd_add.as_ref(), f.bwd_rnd)?;
                let gx = s.binary(BinaryOp::Mul, &saved, &diff, f.bwd_mul.as_ref(), f.bwd_rnd)?;
                Ok(vec![Some(s.cast(f.grad_quant.as_ref(), &gx)?)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}
