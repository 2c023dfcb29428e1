//! A multi-layer perceptron: `flatten -> (QLinear -> ReLU)* -> QLinear`, logits out.

use super::{affine_formats, layer_seed, stacked_parameters};
use crate::formats::QAffineFormats;
use crate::functional::qlinear;
use crate::train::formats::FormatsConfig;
use crate::train::run::Classifier;
use crate::train::{Result, TrainError, seeds};
use lowp_tensor::{Device, Tensor};

/// One quantized linear layer: weight `[out, in]`, bias `[out]`, its formats.
struct Layer {
    weight: Tensor,
    bias: Tensor,
    formats: QAffineFormats,
}

/// `sizes[0] -> sizes[1] -> ... -> sizes[n]`: `n` quantized linear layers with ReLU between them.
/// Layer `i` takes the formats of `[layer.i]` of the [`FormatsConfig`].
pub struct Mlp {
    layers: Vec<Layer>,
}

impl Mlp {
    /// The MLP of `sizes` (at least two, all positive). Initialisation as PyTorch's `Linear`:
    /// weight and bias uniform in `[-1/sqrt(in), 1/sqrt(in))`, weight `i` from seed
    /// `train::seeds::derive(seed, INIT, 2i)`, bias `i` from `2i + 1`.
    pub fn new(
        sizes: &[usize],
        formats: &FormatsConfig,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(TrainError::Config(format!(
                "an MLP needs at least an input and an output size, all positive; got {sizes:?}"
            )));
        }
        let mut layers = Vec::new();
        for (index, pair) in sizes.windows(2).enumerate() {
            let (inputs, outputs) = (pair[0], pair[1]);
            let bound = 1.0 / (inputs as f32).sqrt();
            let init = |slot: u64| seeds::derive(seed, seeds::INIT, 2 * index as u64 + slot);
            layers.push(Layer {
                weight: Tensor::rand_uniform(-bound, bound, &[outputs, inputs], init(0), device)?
                    .into_var(),
                bias: Tensor::rand_uniform(-bound, bound, &[outputs], init(1), device)?.into_var(),
                formats: affine_formats(&formats.layer_formats(index)?)?,
            });
        }
        Ok(Self { layers })
    }
}

impl Classifier for Mlp {
    fn forward(&self, input: &Tensor, seed: u64) -> Result<Tensor> {
        let rows = input.shape().first().copied().unwrap_or(0);
        let mut x = input.reshape(&[rows, input.len() / rows.max(1)])?;
        for (index, layer) in self.layers.iter().enumerate() {
            let formats = layer
                .formats
                .clone()
                .with_seed(layer_seed(seed, index as u64));
            x = qlinear(&x, &layer.weight, Some(&layer.bias), &formats)?;
            if index + 1 < self.layers.len() {
                x = x.relu()?;
            }
        }
        Ok(x)
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        stacked_parameters(self.layers.iter().map(|layer| (&layer.weight, &layer.bias)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::digits;
    use crate::train::formats::{FormatFlags, OptimizerFormats};
    use crate::train::run::{OptimizerConfig, RunConfig, ScheduleConfig, Trainer};

    fn run_config(epochs: u32) -> RunConfig {
        RunConfig {
            epochs,
            batch_size: 32,
            seed: 5,
            optimizer: OptimizerConfig {
                kind: "sgd".into(),
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0,
            },
            schedule: ScheduleConfig {
                lr: 0.05,
                kind: "cosine".into(),
                warmup_steps: 0,
                step_epochs: 1,
                gamma: 0.5,
                min_lr: 0.0,
            },
            loss_scale: None,
        }
    }

    fn train(formats: &FormatsConfig, epochs: u32) -> (Mlp, f64) {
        let device = Device::cpu();
        let (train, test) = digits::load().unwrap().split(0.2, 1).unwrap();
        let model = Mlp::new(&[64, 32, 10], formats, 5, &device).unwrap();
        let optimizer: OptimizerFormats = formats.optimizer_formats().unwrap();
        let mut trainer =
            Trainer::new(&model, run_config(epochs), optimizer, train.len(), device).unwrap();
        let mut accuracy = 0.0;
        while !trainer.finished() {
            accuracy = trainer
                .train_epoch(&train, &test, &mut |_| {})
                .unwrap()
                .test_accuracy;
        }
        (model, accuracy)
    }

    #[test]
    fn the_fp32_mlp_learns_the_digits() {
        let (model, accuracy) = train(&FormatsConfig::default(), 3);
        assert!(accuracy > 0.9, "accuracy {accuracy}");
        let names: Vec<String> = model.parameters().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["0.weight", "0.bias", "1.weight", "1.bias"]);
    }

    #[test]
    fn quantized_weights_stay_in_their_format_and_stochastic_runs_repeat() {
        let mut formats = FormatsConfig::default();
        formats.apply_flags(&FormatFlags {
            mac: Some("bf16:fp32".into()),
            weights: Some("bf16".into()),
            grads: Some("bf16".into()),
            rounding: Some("stochastic".into()),
            ..FormatFlags::default()
        });
        let (model, accuracy) = train(&formats, 1);
        let (again, _) = train(&formats, 1);
        assert!(accuracy > 0.5, "accuracy {accuracy}");
        let bf16 = lowp_formats::Quantizer::nearest("bf16".parse().unwrap());
        for ((_, a), (_, b)) in model.parameters().iter().zip(again.parameters()) {
            let values = a.to_vec().unwrap();
            assert_eq!(values, b.to_vec().unwrap());
            assert!(
                values
                    .iter()
                    .all(|&v| bf16.quantize_value(v, 0).unwrap() == v)
            );
        }
    }

    #[test]
    fn bad_sizes_are_rejected() {
        let formats = FormatsConfig::default();
        assert!(Mlp::new(&[64], &formats, 0, &Device::cpu()).is_err());
        assert!(Mlp::new(&[64, 0, 10], &formats, 0, &Device::cpu()).is_err());
    }
}
