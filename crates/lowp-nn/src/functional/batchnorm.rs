//! `qbatch_norm`: batch normalisation with every step quantized (train and eval modes).

use super::elementwise::QuantPair;
use super::steps::Steps;
use super::to_tensor_error;
use crate::error::{NnError, Result};
use lowp_formats::{BinaryOp, UnaryOp};
use lowp_tensor::{Tensor, no_grad};

/// The running statistics and hyper-parameters of [`qbatch_norm`].
#[derive(Debug, Clone)]
pub struct BatchNormState {
    /// Running mean `[C]` (updated in place in training mode).
    pub running_mean: Tensor,
    /// Running variance `[C]` (unbiased batch variances, updated in place in training mode).
    pub running_var: Tensor,
    /// `new = (1 - momentum)·old + momentum·batch` (torch: 0.1).
    pub momentum: f32,
    /// Added to the variance (torch: 1e-5).
    pub eps: f32,
}

/// `[N, C, *]` to `[C, N·prod(*)]`.
fn channels_first(x: &Tensor) -> Result<Tensor> {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let rest = x.len() / (n * c).max(1);
    Ok(x.reshape(&[n, c, rest])?
        .permute(&[1, 0, 2])?
        .reshape(&[c, n * rest])?)
}

/// mptorch's `QBatchNorm` forward over `[N, C]` or `[N, C, *]` (statistics per channel over
/// every other axis, M values each). Training (`training = true`): with `Qf` after every step,
/// `μ = Qf(Σ_Qf x / M)`, `d = Qf(x - μ)`, `v = Qf(Σ_Qf Qf(d·d) / M)`,
/// `σ = Qf(sqrt(Qf(v + ε)))`, `x̂ = Qf(d / σ)`, `y = Qf(Qf(x̂·γ) + β)`, and the running
/// statistics become `(1-m)·old + m·μ` and `(1-m)·old + m·v·M/(M-1)` (binary32, in place).
/// Evaluation: the same with `μ`, `v` the running statistics (not updated). Backward (`Qb` after
/// every step): training: `ĝ = Qb(g·γ)`, `a = Σ_Qb ĝ`, `b = Σ_Qb Qb(ĝ·x̂)`,
/// `grad_x = Qb(Qb(Qb(ĝ - Qb(a/M)) - Qb(x̂·Qb(b/M))) / σ)`; evaluation: `grad_x = Qb(ĝ / σ)`;
/// both: `grad_γ = Σ_Qb Qb(g·x̂)`, `grad_β = Σ_Qb g`.
pub fn qbatch_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    state: &BatchNormState,
    training: bool,
    pair: &QuantPair,
) -> Result<Tensor> {
    const LAYER: &str = "QBatchNorm";
    let shape = x.shape().to_vec();
    let channels = state.running_mean.len();
    if shape.len() < 2
        || shape[1] != channels
        || weight.shape() != [channels]
        || bias.shape() != [channels]
        || state.running_var.shape() != [channels]
    {
        return Err(NnError::layer(
            LAYER,
            format!(
                "input {shape:?} is not [N, {channels}, *] (weight {:?}, bias {:?})",
                weight.shape(),
                bias.shape()
            ),
        ));
    }
    let per_channel = x.len() / channels.max(1);
    if training && per_channel < 2 {
        return Err(NnError::layer(
            LAYER,
            format!("training needs more than one value per channel, input {shape:?}"),
        ));
    }
    let m = per_channel as f32;
    let call = pair.seeds.next_call();
    let mut s = Steps::forward(call);
    let q = pair.fwd_quant;
    let q = q.as_ref();
    let xc = channels_first(&x.detach())?;
    let column = |t: &Tensor| t.detach().reshape(&[channels, 1]);
    let (gamma, beta) = (column(weight)?, column(bias)?);
    let (mean, variance) = if training {
        let sum = s.sum_cast(&xc, 1, q)?;
        let mean = s.scalar_cast(BinaryOp::Div, &sum, m, q)?;
        let centered = s.binary_cast(BinaryOp::Sub, &xc, &mean, q)?;
        let squares = s.binary_cast(BinaryOp::Mul, &centered, &centered, q)?;
        let square_sum = s.sum_cast(&squares, 1, q)?;
        let variance = s.scalar_cast(BinaryOp::Div, &square_sum, m, q)?;
        (mean, variance)
    } else {
        (column(&state.running_mean)?, column(&state.running_var)?)
    };
    let centered = s.binary_cast(BinaryOp::Sub, &xc, &mean, q)?;
    let shifted = s.scalar_cast(BinaryOp::Add, &variance, state.eps, q)?;
    let sigma = s.unary_cast(UnaryOp::Sqrt, &shifted, q)?;
    let normalized = s.binary_cast(BinaryOp::Div, &centered, &sigma, q)?;
    let scaled = s.binary_cast(BinaryOp::Mul, &normalized, &gamma, q)?;
    let y = s.binary_cast(BinaryOp::Add, &scaled, &beta, q)?;
    if training {
        let _guard = no_grad();
        let momentum = state.momentum;
        let blend = |old: &Tensor, batch: &Tensor| -> Result<Tensor> {
            Ok(old
                .mul_scalar(1.0 - momentum)?
                .add(&batch.reshape(&[channels])?.mul_scalar(momentum)?)?)
        };
        state
            .running_mean
            .set_data(&blend(&state.running_mean, &mean)?)?;
        let unbiased = variance.mul_scalar(m / (m - 1.0))?;
        state
            .running_var
            .set_data(&blend(&state.running_var, &unbiased)?)?;
    }
    // back to [N, C, *]
    let rest = per_channel / shape[0].max(1);
    let y = y
        .reshape(&[channels, shape[0], rest])?
        .permute(&[1, 0, 2])?
        .reshape(&shape)?;
    let bwd = pair.bwd_quant;
    Ok(Tensor::with_backward(
        y,
        LAYER,
        &[x, weight, bias],
        move |grad: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let q = bwd.as_ref();
                let g = channels_first(grad)?;
                let g_hat = s.binary_cast(BinaryOp::Mul, &g, &gamma, q)?;
                let w = if training {
                    let a = s.sum_cast(&g_hat, 1, q)?;
                    let weighted = s.binary_cast(BinaryOp::Mul, &g_hat, &normalized, q)?;
                    let b = s.sum_cast(&weighted, 1, q)?;
                    let a_mean = s.scalar_cast(BinaryOp::Div, &a, m, q)?;
                    let b_mean = s.scalar_cast(BinaryOp::Div, &b, m, q)?;
                    let t = s.binary_cast(BinaryOp::Sub, &g_hat, &a_mean, q)?;
                    let u = s.binary_cast(BinaryOp::Mul, &normalized, &b_mean, q)?;
                    s.binary_cast(BinaryOp::Sub, &t, &u, q)?
                } else {
                    g_hat
                };
                let gx = s.binary_cast(BinaryOp::Div, &w, &sigma, q)?;
                let gx = gx
                    .reshape(&[channels, shape[0], rest])?
                    .permute(&[1, 0, 2])?
                    .reshape(&shape)?;
                let products = s.binary_cast(BinaryOp::Mul, &g, &normalized, q)?;
                let gw = s.sum_cast(&products, 1, q)?.reshape(&[channels])?;
                let gb = s.sum_cast(&g, 1, q)?.reshape(&[channels])?;
                Ok(vec![Some(gx), Some(gw), Some(gb)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}
