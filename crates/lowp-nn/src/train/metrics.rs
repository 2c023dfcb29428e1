//! The training driver's accuracy count (the loss is [`crate::loss::cross_entropy`], binary32:
//! the model's layers are quantized, the loss is not).

use super::Result;
use lowp_tensor::Tensor;

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
    fn counts_rows_whose_largest_logit_is_the_label() {
        let device = Device::cpu();
        let values = [1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0, 4.0, 0.0, 0.0];
        let logits = Tensor::from_slice(&values, &[3, 3], &device).unwrap();
        assert_eq!(correct(&logits, &[1, 2, 1]).unwrap(), 2);
        assert_eq!(correct(&logits, &[0, 0, 0]).unwrap(), 1);
    }
}
