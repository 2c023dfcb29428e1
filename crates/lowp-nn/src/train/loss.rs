//! The training driver's classification loss and accuracy, in binary32 (the loss itself is not
//! quantized; the model's layers are).

use super::Result;
use lowp_tensor::Tensor;

/// Mean cross-entropy of `logits` `[batch, classes]` against `labels` (one class per row):
/// `-(1/batch) * Σ_b log_softmax(logits_b)[labels_b]`, with
/// `log_softmax(z) = (z - m) - log(Σ_j exp(z_j - m))` and `m` the row maximum (a constant for the
/// gradient). Tracked: its backward is `(softmax(z) - onehot) / batch`.
pub fn cross_entropy(logits: &Tensor, labels: &[usize]) -> Result<Tensor> {
    let shape = logits.shape();
    let (batch, classes) = match shape {
        [batch, classes] if *batch == labels.len() && *batch > 0 => (*batch, *classes),
        _ => {
            return Err(lowp_tensor::TensorError::shape(
                "cross_entropy",
                format!("logits {shape:?} do not fit {} labels", labels.len()),
            )
            .into());
        }
    };
    if let Some(label) = labels.iter().find(|&&label| label >= classes) {
        return Err(lowp_tensor::TensorError::shape(
            "cross_entropy",
            format!("label {label} is not below the class count {classes}"),
        )
        .into());
    }
    let maximum = logits.max(1, true)?.detach();
    let shifted = logits.sub(&maximum)?;
    let log_sum = shifted.exp()?.sum(&[1], true)?.log()?;
    let log_probabilities = shifted.sub(&log_sum)?;
    let mut one_hot = vec![0.0f32; batch * classes];
    for (row, &label) in labels.iter().enumerate() {
        one_hot[row * classes + label] = 1.0;
    }
    let one_hot = Tensor::from_vec(one_hot, &[batch, classes], logits.device())?;
    Ok(log_probabilities
        .mul(&one_hot)?
        .sum_all()?
        .mul_scalar(-1.0 / batch as f32)?)
}

/// The number of rows of `logits` `[batch, classes]` whose largest entry is at the label.
pub fn correct(logits: &Tensor, labels: &[usize]) -> Result<usize> {
    let predicted = logits.argmax_last()?;
    Ok(predicted
        .iter()
        .zip(labels)
        .filter(|(predicted, label)| predicted == label)
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lowp_tensor::Device;

    #[test]
    fn cross_entropy_and_its_gradient_match_the_formula() {
        let device = Device::cpu();
        let values = [1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0];
        let logits = Tensor::var(&values, &[2, 3], &device).unwrap();
        let labels = [1, 2];
        let loss = cross_entropy(&logits, &labels).unwrap();
        let reference: f64 = values
            .chunks(3)
            .zip(labels)
            .map(|(row, label)| {
                let sum: f64 = row.iter().map(|&z| f64::from(z).exp()).sum();
                sum.ln() - f64::from(row[label])
            })
            .sum::<f64>()
            / 2.0;
        assert!((f64::from(loss.to_scalar().unwrap()) - reference).abs() < 1e-6);
        loss.backward().unwrap();
        let grad = logits.grad().unwrap().to_vec().unwrap();
        for (row, label) in labels.iter().enumerate() {
            let sum: f64 = values[row * 3..][..3]
                .iter()
                .map(|&z| f64::from(z).exp())
                .sum();
            for class in 0..3 {
                let softmax = f64::from(values[row * 3 + class]).exp() / sum;
                let expected = (softmax - f64::from(u8::from(class == *label))) / 2.0;
                assert!((f64::from(grad[row * 3 + class]) - expected).abs() < 1e-6);
            }
        }
        assert_eq!(correct(&logits, &labels).unwrap(), 2);
    }

    #[test]
    fn shapes_and_labels_are_checked() {
        let device = Device::cpu();
        let logits = Tensor::zeros(&[2, 3], &device).unwrap();
        assert!(cross_entropy(&logits, &[0]).is_err());
        assert!(cross_entropy(&logits, &[0, 3]).is_err());
    }
}
