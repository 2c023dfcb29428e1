//! A LeNet-style convolutional network for small images (8×8 digits; any `[C, H, W]` works):
//! `conv 3×3 (C -> c1, pad 1) -> ReLU -> conv 3×3 (c1 -> c2, stride 2, pad 1) -> ReLU ->
//! flatten -> linear (-> hidden) -> ReLU -> linear (-> classes)`. The stride-2 convolution
//! takes the place of LeNet's pooling. Quantized layers are numbered 0..4 in that order for the
//! per-layer formats.

use super::{affine_formats, layer_seed, stacked_parameters};
use crate::formats::QAffineFormats;
use crate::functional::{ConvSpec, Padding, qconv, qlinear};
use crate::train::formats::FormatsConfig;
use crate::train::run::Classifier;
use crate::train::{Result, TrainError, seeds};
use lowp_tensor::{Device, Tensor};

/// One quantized layer: a convolution (with its spec) or a linear layer.
struct Layer {
    weight: Tensor,
    bias: Tensor,
    conv: Option<ConvSpec>,
    formats: QAffineFormats,
}

/// The LeNet-style network (module docs).
pub struct Cnn {
    layers: Vec<Layer>,
}

impl Cnn {
    /// The network for samples `[channels, height, width]` with `widths = [c1, c2, hidden]` and
    /// `classes` outputs. Initialisation as PyTorch's: uniform in `[-1/sqrt(fan_in),
    /// 1/sqrt(fan_in))` for weights and biases, layer `i`'s weight from seed
    /// `train::seeds::derive(seed, INIT, 2i)` and its bias from `2i + 1`.
    pub fn new(
        sample_shape: &[usize],
        widths: &[usize],
        classes: usize,
        formats: &FormatsConfig,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        let (&[channels, height, width], &[c1, c2, hidden]) = (sample_shape, widths) else {
            return Err(TrainError::Config(format!(
                "the CNN needs samples [channels, height, width] and three widths (--hidden C1,C2,HIDDEN); got samples {sample_shape:?}, widths {widths:?}"
            )));
        };
        if [channels, height, width, c1, c2, hidden, classes].contains(&0) {
            return Err(TrainError::Config("CNN sizes must be positive".into()));
        }
        // 3×3, pad 1, stride 2: ceil(n / 2).
        let flat = c2 * height.div_ceil(2) * width.div_ceil(2);
        let conv = |stride: usize| ConvSpec {
            stride: vec![stride],
            padding: Padding::Explicit(vec![1]),
            ..ConvSpec::default()
        };
        let shapes: [(Vec<usize>, Option<ConvSpec>); 4] = [
            (vec![c1, channels, 3, 3], Some(conv(1))),
            (vec![c2, c1, 3, 3], Some(conv(2))),
            (vec![hidden, flat], None),
            (vec![classes, hidden], None),
        ];
        let mut layers = Vec::new();
        for (index, (shape, conv)) in shapes.into_iter().enumerate() {
            let fan_in: usize = shape[1..].iter().product();
            let bound = 1.0 / (fan_in as f32).sqrt();
            let init = |slot: u64| seeds::derive(seed, seeds::INIT, 2 * index as u64 + slot);
            layers.push(Layer {
                weight: Tensor::rand_uniform(-bound, bound, &shape, init(0), device)?.into_var(),
                bias: Tensor::rand_uniform(-bound, bound, &[shape[0]], init(1), device)?.into_var(),
                conv,
                formats: affine_formats(&formats.layer_formats(index)?)?,
            });
        }
        Ok(Self { layers })
    }
}

impl Classifier for Cnn {
    fn forward(&self, input: &Tensor, seed: u64) -> Result<Tensor> {
        let mut x = input.clone();
        for (index, layer) in self.layers.iter().enumerate() {
            let formats = layer
                .formats
                .clone()
                .with_seed(layer_seed(seed, index as u64));
            x = match &layer.conv {
                Some(spec) => qconv(&x, &layer.weight, Some(&layer.bias), spec, &formats)?,
                None => {
                    if x.rank() > 2 {
                        x = x.flatten(1, -1)?;
                    }
                    qlinear(&x, &layer.weight, Some(&layer.bias), &formats)?
                }
            };
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
    use crate::train::run::{OptimizerConfig, RunConfig, ScheduleConfig, Trainer};

    #[test]
    fn the_cnn_learns_the_digits() {
        let device = Device::cpu();
        let (train, test) = digits::load().unwrap().split(0.2, 1).unwrap();
        let formats = FormatsConfig::default();
        let model = Cnn::new(&[1, 8, 8], &[4, 8, 32], 10, &formats, 2, &device).unwrap();
        let config = RunConfig {
            epochs: 2,
            batch_size: 32,
            seed: 2,
            optimizer: OptimizerConfig {
                kind: "adam".into(),
                momentum: 0.0,
                nesterov: false,
                weight_decay: 0.0,
            },
            schedule: ScheduleConfig {
                lr: 0.005,
                kind: "constant".into(),
                warmup_steps: 0,
                step_epochs: 1,
                gamma: 0.5,
                min_lr: 0.0,
            },
            loss_scale: None,
        };
        let optimizer = formats.optimizer_formats().unwrap();
        let mut trainer = Trainer::new(&model, config, optimizer, train.len(), device).unwrap();
        let mut accuracy = 0.0;
        while !trainer.finished() {
            accuracy = trainer
                .train_epoch(&train, &test, &mut |_| {})
                .unwrap()
                .test_accuracy;
        }
        assert!(accuracy > 0.9, "accuracy {accuracy}");
        assert_eq!(model.parameters().len(), 8);
    }

    #[test]
    fn bad_shapes_are_rejected() {
        let formats = FormatsConfig::default();
        let device = Device::cpu();
        assert!(Cnn::new(&[64], &[4, 8, 32], 10, &formats, 0, &device).is_err());
        assert!(Cnn::new(&[1, 8, 8], &[4, 8], 10, &formats, 0, &device).is_err());
        assert!(Cnn::new(&[1, 8, 8], &[4, 0, 8], 10, &formats, 0, &device).is_err());
    }
}
