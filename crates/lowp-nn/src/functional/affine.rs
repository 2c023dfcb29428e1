//! `qlinear`, `qmatmul`, `qmm`: quantized GEMMs with their own quantized backward
//! (see [`QAffineFormats`] for the formulas).

use super::to_tensor_error;
use crate::error::{NnError, Result};
use crate::formats::{QAffineFormats, affine_role as role};
use crate::quant::{cast, step_quantizer};
use crate::seeds::CallSeeds;
use lowp_formats::{BinaryOp, ReduceOp};
use lowp_tensor::{MatmulPlan, Tensor};

/// The three signals of a quantized affine layer (linear, matmul, convolution) that go through
/// a quantizer with optional power-of-two scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// The input (`input_quant`, `input_scaled_format`, role input).
    Input,
    /// The weight or second operand (`weight_quant`, `weight_scaled_format`, role weight).
    Weight,
    /// The output gradient (`grad_quant`, `grad_scaled_format`, role output gradient).
    Grad,
}

/// `Q(x · s)` and `s`: `signal`'s quantizer after the power-of-two scale of
/// [`QAffineFormats`] (s = 1 without scaling), seeded with the signal's role of `call`.
pub(crate) fn quantize_signal(
    x: &Tensor,
    signal: Signal,
    formats: &QAffineFormats,
    call: &CallSeeds,
) -> Result<(Tensor, f32)> {
    let (quant, scaled_format, seed_role) = match signal {
        Signal::Input => (
            formats.input_quant.as_ref(),
            formats.input_scaled_format,
            role::INPUT,
        ),
        Signal::Weight => (
            formats.weight_quant.as_ref(),
            formats.weight_scaled_format,
            role::WEIGHT,
        ),
        Signal::Grad => (
            formats.grad_quant.as_ref(),
            formats.grad_scaled_format,
            role::GRAD_OUTPUT,
        ),
    };
    let seed = call.seed(seed_role);
    if !formats.use_scaling {
        return Ok((cast(quant, x, seed)?, 1.0));
    }
    let Some(format) = scaled_format.or(quant.map(|c| c.format)) else {
        return Ok((cast(quant, x, seed)?, 1.0));
    };
    let scale = power_of_two_scale(x, format.info().max, formats.scale_margin)?;
    let scaled = scale_by(x, scale)?;
    Ok((cast(quant, &scaled, seed)?, scale))
}

/// `Qgrad(x)`: a gradient cast to `grad_quant`, seeded with role `seed_role` of `call`.
pub(crate) fn grad_cast(
    x: &Tensor,
    formats: &QAffineFormats,
    call: &CallSeeds,
    seed_role: u64,
) -> Result<Tensor> {
    cast(formats.grad_quant.as_ref(), x, call.seed(seed_role))
}

/// `2^(floor(log2(max / amax)) - margin)`, 1 when `amax = max|x|` is 0 or not finite; the
/// exponent is clamped to binary32's normal range.
fn power_of_two_scale(x: &Tensor, max: f32, margin: i32) -> Result<f32> {
    let mut amax = x.unary_raw(lowp_formats::UnaryOp::Abs, None)?;
    while amax.rank() > 0 {
        amax = amax.reduce_raw(ReduceOp::Max, amax.rank() - 1, false, None)?;
    }
    let amax = amax.to_scalar()?;
    if amax == 0.0 || !amax.is_finite() || !max.is_finite() {
        return Ok(1.0);
    }
    let exponent =
        ((max as f64 / amax as f64).log2().floor() as i64 - margin as i64).clamp(-126, 127);
    Ok(2f32.powi(exponent as i32))
}

/// `x · factor` in binary32 (untracked; exact for powers of two without over/underflow).
fn scale_by(x: &Tensor, factor: f32) -> Result<Tensor> {
    if factor == 1.0 {
        return Ok(x.detach());
    }
    Ok(x.binary_raw(BinaryOp::Mul, &Tensor::scalar(factor, x.device())?, None)?)
}

/// Divides by two scales, one exact multiplication each.
pub(crate) fn unscale(x: &Tensor, s1: f32, s2: f32) -> Result<Tensor> {
    scale_by(&scale_by(x, 1.0 / s1)?, 1.0 / s2)
}

/// Sums `t` down to `shape` (undoing a broadcast) with each partial sum quantized by `q`.
fn sum_to_quantized(
    t: &Tensor,
    shape: &[usize],
    q: Option<&lowp_formats::Quantizer>,
) -> Result<Tensor> {
    if t.shape() == shape {
        return Ok(t.clone());
    }
    let offset = t.rank() - shape.len();
    let mut out = t.clone();
    for axis in (0..t.rank()).rev() {
        if axis < offset || (shape[axis - offset] == 1 && t.shape()[axis] != 1) {
            out = out.reduce_raw(ReduceOp::Sum, axis, true, q)?;
        }
    }
    Ok(out.reshape(shape)?)
}

/// mptorch's `qlinear(input, weight, bias, formats)`: `y = x·Wᵀ + b` with the formats of
/// [`QAffineFormats`]. Shapes: `input [*, in]`, `weight [out, in]`, `bias [out]`, output
/// `[*, out]`. Rounding roles (seeds): input 0, weight 1, bias 2, GEMM 3, bias add 4, output 5,
/// output gradient 6, input-gradient GEMM 7, weight-gradient GEMM 8, bias-gradient sum 9,
/// gradient casts 10 (input), 11 (weight), 12 (bias).
pub fn qlinear(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    formats: &QAffineFormats,
) -> Result<Tensor> {
    const LAYER: &str = "qlinear";
    let (x_shape, w_shape) = (input.shape().to_vec(), weight.shape().to_vec());
    if w_shape.len() != 2 || x_shape.last() != Some(&w_shape[1]) {
        return Err(NnError::layer(
            LAYER,
            format!(
                "input {x_shape:?} does not fit weight {w_shape:?} (expected [*, {}])",
                w_shape.get(1).copied().unwrap_or(0)
            ),
        ));
    }
    if let Some(b) = bias
        && b.shape() != [w_shape[0]]
    {
        return Err(NnError::layer(
            LAYER,
            format!(
                "bias {:?} does not fit weight {w_shape:?} (expected [{}])",
                b.shape(),
                w_shape[0]
            ),
        ));
    }
    formats.validate()?;
    let (rows, in_features, out_features) =
        (input.len() / w_shape[1].max(1), w_shape[1], w_shape[0]);
    let call = formats.seeds.next_call();
    let x2 = input.detach().reshape(&[rows, in_features])?;
    let (xq, sx) = quantize_signal(&x2, Signal::Input, formats, &call)?;
    let (wq, sw) = quantize_signal(weight, Signal::Weight, formats, &call)?;
    let acc = xq.qgemm(
        &wq,
        false,
        true,
        &formats.gemm(true, call.seed(role::FWD_GEMM))?,
    )?;
    let mut acc = unscale(&acc, sx, sw)?;
    if let Some(b) = bias {
        let bq = cast(formats.bias_quant.as_ref(), b, call.seed(role::BIAS))?;
        let (add, rounding) = formats.add_step(true);
        let q = step_quantizer(Some(&add), rounding, call.seed(role::FWD_BIAS_ADD))?;
        acc = acc.binary_raw(BinaryOp::Add, &bq, q.as_ref())?;
    }
    let mut out_shape = x_shape.clone();
    *out_shape.last_mut().expect("checked rank") = out_features;
    let y =
        cast(formats.output_quant.as_ref(), &acc, call.seed(role::OUTPUT))?.reshape(&out_shape)?;
    let formats = formats.clone();
    let has_bias = bias.is_some();
    let mut inputs = vec![input, weight];
    inputs.extend(bias);
    Ok(Tensor::with_backward(
        y,
        LAYER,
        &inputs,
        move |g: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let g2 = g.reshape(&[rows, out_features])?;
                let (gq, sg) = quantize_signal(&g2, Signal::Grad, &formats, &call)?;
                let gx = gq.qgemm(
                    &wq,
                    false,
                    false,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_INPUT))?,
                )?;
                let gx = unscale(&gx, sg, sw)?;
                let gx = grad_cast(&gx, &formats, &call, role::GRAD_INPUT)?.reshape(&x_shape)?;
                let gw = gq.qgemm(
                    &xq,
                    true,
                    false,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_WEIGHT))?,
                )?;
                let gw = unscale(&gw, sg, sx)?;
                let gw = grad_cast(&gw, &formats, &call, role::GRAD_WEIGHT)?;
                let mut grads = vec![Some(gx), Some(gw)];
                if has_bias {
                    let (add, rounding) = formats.add_step(false);
                    let q = step_quantizer(Some(&add), rounding, call.seed(role::BWD_BIAS_SUM))?;
                    let gb = gq.reduce_raw(ReduceOp::Sum, 0, false, q.as_ref())?;
                    let gb = unscale(&gb, sg, 1.0)?;
                    grads.push(Some(grad_cast(&gb, &formats, &call, role::GRAD_BIAS)?));
                }
                Ok(grads)
            };
            run().map_err(to_tensor_error)
        },
    ))
}

/// mptorch's `qmatmul(input, other, formats)`: torch.matmul shape rules (1-D operands get a 1
/// prepended / appended and removed afterwards; batch axes broadcast), every product a
/// quantized GEMM of [`QAffineFormats`] (`input_quant` on `input`, `weight_quant` on `other`,
/// `output_quant` on the result). Backward: `g = Qgrad(grad)`, `grad_input = Qgrad(g·otherᵀ)`,
/// `grad_other = Qgrad(inputᵀ·g)`, both GEMMs with `bwd_mac`, unscaled when scaling is on,
/// summed over broadcast batch axes with the backward add format. Roles: input 0, other 1,
/// GEMM 3, output 5, output gradient 6, gradient GEMMs 7 and 8, batch sums 13, gradient casts
/// 10 and 11.
pub fn qmatmul(input: &Tensor, other: &Tensor, formats: &QAffineFormats) -> Result<Tensor> {
    const LAYER: &str = "qmatmul";
    let plan = MatmulPlan::new(input.shape(), other.shape()).map_err(|_| {
        NnError::layer(
            LAYER,
            format!("cannot multiply {:?} by {:?}", input.shape(), other.shape()),
        )
    })?;
    formats.validate()?;
    let call = formats.seeds.next_call();
    let (aq, sa) = quantize_signal(input, Signal::Input, formats, &call)?;
    let (bq, sb) = quantize_signal(other, Signal::Weight, formats, &call)?;
    let batched =
        |t: &Tensor, shape: &[usize], full: &[usize], tail: [usize; 2]| -> Result<Tensor> {
            Ok(t.reshape(shape)?
                .expand_raw(full)?
                .reshape(&[plan.batch, tail[0], tail[1]])?)
        };
    let a3 = batched(&aq, &plan.a_shape, &plan.a_batched, [plan.m, plan.k])?;
    let b3 = batched(&bq, &plan.b_shape, &plan.b_batched, [plan.k, plan.n])?;
    let acc = a3.qgemm(
        &b3,
        false,
        false,
        &formats.gemm(true, call.seed(role::FWD_GEMM))?,
    )?;
    let acc = unscale(&acc, sa, sb)?;
    let y =
        cast(formats.output_quant.as_ref(), &acc, call.seed(role::OUTPUT))?.reshape(&plan.out)?;
    let formats = formats.clone();
    let (a_shape, b_shape) = (input.shape().to_vec(), other.shape().to_vec());
    Ok(Tensor::with_backward(
        y,
        LAYER,
        &[input, other],
        move |g: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let g3 = g.reshape(&[plan.batch, plan.m, plan.n])?;
                let (gq, sg) = quantize_signal(&g3, Signal::Grad, &formats, &call)?;
                let (add, rounding) = formats.add_step(false);
                let sum_q = step_quantizer(Some(&add), rounding, call.seed(role::BWD_BATCH_SUM))?;
                let ga = gq.qgemm(
                    &b3,
                    false,
                    true,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_INPUT))?,
                )?;
                let ga = unscale(&ga, sg, sb)?.reshape(&plan.a_batched)?;
                let ga = sum_to_quantized(&ga, &plan.a_shape, sum_q.as_ref())?.reshape(&a_shape)?;
                let ga = grad_cast(&ga, &formats, &call, role::GRAD_INPUT)?;
                let gb = a3.qgemm(
                    &gq,
                    true,
                    false,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_WEIGHT))?,
                )?;
                let gb = unscale(&gb, sg, sa)?.reshape(&plan.b_batched)?;
                let gb = sum_to_quantized(&gb, &plan.b_shape, sum_q.as_ref())?.reshape(&b_shape)?;
                let gb = grad_cast(&gb, &formats, &call, role::GRAD_WEIGHT)?;
                Ok(vec![Some(ga), Some(gb)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}

/// mptorch's `qmm(input, mat2, formats)`: `[n, m] · [m, p] -> [n, p]`, no broadcasting (an error
/// for other ranks); otherwise exactly [`qmatmul`] (forward and backward, scales included).
pub fn qmm(input: &Tensor, mat2: &Tensor, formats: &QAffineFormats) -> Result<Tensor> {
    if input.rank() != 2 || mat2.rank() != 2 || input.shape()[1] != mat2.shape()[0] {
        return Err(NnError::layer(
            "qmm",
            format!(
                "expected matrices [n, m] and [m, p], got {:?} and {:?}",
                input.shape(),
                mat2.shape()
            ),
        ));
    }
    qmatmul(input, mat2, formats)
}
