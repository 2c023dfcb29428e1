//! `qlayernorm` (formulas of [`QLayerNormFormats`]).

use super::steps::Steps;
use super::to_tensor_error;
use crate::error::{NnError, Result};
use crate::formats::QLayerNormFormats;
use lowp_formats::{BinaryOp, UnaryOp};
use lowp_tensor::Tensor;

/// mptorch's `qlayernorm(x, normalized_shape, weight, bias, eps, formats)`: normalises over
/// the last `normalized_shape.len()` axes of `x` (which must equal `normalized_shape`), then
/// scales by `weight` (γ) and shifts by `bias` (β), both of shape `normalized_shape` when given.
/// Every intermediate is quantized as [`QLayerNormFormats`] states (μ and the variance use
/// `fwd_div` for the division by n). Output shape = input shape. The backward is the full
/// LayerNorm gradient (through μ and σ), quantized step by step.
pub fn qlayernorm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f32,
    formats: &QLayerNormFormats,
) -> Result<Tensor> {
    const LAYER: &str = "qlayernorm";
    let d = normalized_shape.len();
    let shape = x.shape().to_vec();
    if d == 0 || shape.len() < d || shape[shape.len() - d..] != *normalized_shape {
        return Err(NnError::layer(
            LAYER,
            format!("input {shape:?} does not end in normalized_shape {normalized_shape:?}"),
        ));
    }
    for (name, p) in [("weight", weight), ("bias", bias)] {
        if let Some(p) = p
            && p.shape() != normalized_shape
        {
            return Err(NnError::layer(
                LAYER,
                format!(
                    "{name} {:?} is not of normalized_shape {normalized_shape:?}",
                    p.shape()
                ),
            ));
        }
    }
    let n: usize = normalized_shape.iter().product();
    if n == 0 {
        return Err(NnError::layer(LAYER, "normalized_shape has no elements"));
    }
    let rows = x.len() / n;
    let f = formats.clone();
    let call = f.seeds.next_call();
    let mut s = Steps::forward(call);
    let xq = s.cast(f.input_quant.as_ref(), &x.detach().reshape(&[rows, n])?)?;
    let gamma = weight
        .map(|w| s.cast(f.weight_quant.as_ref(), &w.detach().reshape(&[1, n])?))
        .transpose()?;
    let beta = bias
        .map(|b| s.cast(f.bias_quant.as_ref(), &b.detach().reshape(&[1, n])?))
        .transpose()?;
    let (acc, mul, div, rnd) = (
        f.fwd_acc.as_ref(),
        f.fwd_mul.as_ref(),
        f.fwd_div.as_ref(),
        f.fwd_rnd,
    );
    let sum = s.sum(&xq, 1, acc, rnd)?;
    let mean = s.scalar(BinaryOp::Div, &sum, n as f32, div, rnd)?;
    let centered = s.binary(BinaryOp::Sub, &xq, &mean, acc, rnd)?;
    let squares = s.binary(BinaryOp::Mul, &centered, &centered, mul, rnd)?;
    let square_sum = s.sum(&squares, 1, acc, rnd)?;
    let variance = s.scalar(BinaryOp::Div, &square_sum, n as f32, div, rnd)?;
    let shifted = s.scalar(BinaryOp::Add, &variance, eps, acc, rnd)?;
    let sigma = s.unary(UnaryOp::Sqrt, &shifted, f.fwd_sqrt.as_ref(), rnd)?;
    let normalized = s.binary(BinaryOp::Div, &centered, &sigma, div, rnd)?;
    let mut y = normalized.clone();
    if let Some(gamma) = &gamma {
        y = s.binary(BinaryOp::Mul, &y, gamma, mul, rnd)?;
    }
    if let Some(beta) = &beta {
        y = s.binary(BinaryOp::Add, &y, beta, acc, rnd)?;
    }
    let y = s.cast(f.output_quant.as_ref(), &y)?.reshape(&shape)?;
    let mut inputs = vec![x];
    inputs.extend(weight);
    inputs.extend(bias);
    let (has_weight, has_bias) = (weight.is_some(), bias.is_some());
    let param_shape = normalized_shape.to_vec();
    Ok(Tensor::with_backward(
        y,
        LAYER,
        &inputs,
        move |grad: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let (acc, mul, div, rnd) = (
                    f.bwd_acc.as_ref(),
                    f.bwd_mul.as_ref(),
                    f.bwd_div.as_ref(),
                    f.bwd_rnd,
                );
                let g = s.cast(f.grad_quant.as_ref(), &grad.reshape(&[rows, n])?)?;
                let g_hat = match &gamma {
                    Some(gamma) => s.binary(BinaryOp::Mul, &g, gamma, mul, rnd)?,
                    None => g.clone(),
                };
                let a = s.sum(&g_hat, 1, acc, rnd)?;
                let weighted = s.binary(BinaryOp::Mul, &g_hat, &normalized, mul, rnd)?;
                let b = s.sum(&weighted, 1, acc, rnd)?;
                let a_mean = s.scalar(BinaryOp::Div, &a, n as f32, div, rnd)?;
                let b_mean = s.scalar(BinaryOp::Div, &b, n as f32, div, rnd)?;
                let t = s.binary(BinaryOp::Sub, &g_hat, &a_mean, acc, rnd)?;
                let u = s.binary(BinaryOp::Mul, &normalized, &b_mean, mul, rnd)?;
                let w = s.binary(BinaryOp::Sub, &t, &u, acc, rnd)?;
                let gx = s.binary(BinaryOp::Div, &w, &sigma, div, rnd)?;
                let gx = s.cast(f.grad_quant.as_ref(), &gx)?.reshape(&shape)?;
                let mut grads = vec![Some(gx)];
                if has_weight {
                    let products = s.binary(BinaryOp::Mul, &g, &normalized, mul, rnd)?;
                    let gw = s.sum(&products, 0, acc, rnd)?;
                    grads.push(Some(
                        s.cast(f.grad_quant.as_ref(), &gw)?.reshape(&param_shape)?,
                    ));
                }
                if has_bias {
                    let gb = s.sum(&g, 0, acc, rnd)?;
                    grads.push(Some(
                        s.cast(f.grad_quant.as_ref(), &gb)?.reshape(&param_shape)?,
                    ));
                }
                Ok(grads)
            };
            run().map_err(to_tensor_error)
        },
    ))
}
