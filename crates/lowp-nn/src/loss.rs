//! Losses (binary32, textbook gradients).

use crate::error::{NnError, Result};
use lowp_tensor::Tensor;

/// Mean cross-entropy of `logits [N, C]` against class indices `targets` (N of them):
/// `loss = mean_n (log Σ_c exp(x_nc - m_n) - (x_{n,t_n} - m_n))` with `m_n = max_c x_nc`
/// (stabilised log-sum-exp, binary32). Backward: `(softmax(x) - onehot(t)) / N`.
pub fn cross_entropy(logits: &Tensor, targets: &[usize]) -> Result<Tensor> {
    let shape = logits.shape();
    if shape.len() != 2 || shape[0] != targets.len() || shape[0] == 0 {
        return Err(NnError::layer(
            "cross_entropy",
            format!(
                "logits {shape:?} and {} targets (expected [N, C] and N targets)",
                targets.len()
            ),
        ));
    }
    let classes = shape[1];
    if let Some(bad) = targets.iter().find(|&&t| t >= classes) {
        return Err(NnError::layer(
            "cross_entropy",
            format!("target {bad} out of range for {classes} classes"),
        ));
    }
    let mut onehot = vec![0f32; targets.len() * classes];
    for (row, &target) in targets.iter().enumerate() {
        onehot[row * classes + target] = 1.0;
    }
    let onehot = Tensor::from_vec(onehot, shape, logits.device())?;
    let max = logits.max(-1, true)?.detach();
    let shifted = logits.sub(&max)?;
    let log_sum = shifted.exp()?.sum(&[-1], true)?.log()?;
    let picked = shifted.mul(&onehot)?.sum(&[-1], true)?;
    Ok(log_sum.sub(&picked)?.mean_all()?)
}

/// Mean squared error `mean((prediction - target)^2)` over every element (equal shapes).
/// Backward: `2 (prediction - target) / count` to the prediction (and its negative to the target).
pub fn mse_loss(prediction: &Tensor, target: &Tensor) -> Result<Tensor> {
    if prediction.shape() != target.shape() {
        return Err(NnError::layer(
            "mse_loss",
            format!(
                "prediction {:?} and target {:?} differ",
                prediction.shape(),
                target.shape()
            ),
        ));
    }
    Ok(prediction.sub(target)?.sqr()?.mean_all()?)
}
