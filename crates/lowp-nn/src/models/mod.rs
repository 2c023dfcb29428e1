//! Models for the training driver: an MLP and a LeNet-style CNN for the digits (and MNIST), and a
//! small character-level GPT for text, built from the quantized layers of [`crate::functional`]
//! with the formats of a [`FormatsConfig`].
//!
//! Every model implements [`Classifier`]; the stochastic roundings of quantized layer `i` in a
//! call with seed `s` use `QAffineFormats::with_seed(seeds::derive(s, SEED_LAYER_STRIDE + i))` of
//! lowp-nn's seed rule, so each call starts fresh streams and a resumed run repeats the bits.

pub mod cnn;
pub mod gpt;
pub mod mlp;

pub use cnn::Cnn;
pub use gpt::{Gpt, GptSize};
pub use mlp::Mlp;

use crate::Cast;
use crate::formats::{Mac, QAffineFormats};
use crate::seeds::derive;
use crate::train::formats::{FormatsConfig, LayerFormats};
use crate::train::run::Classifier;
use crate::train::{Result, TrainError};
use lowp_tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Offset of the layer indices in the per-call seed derivation.
const SEED_LAYER_STRIDE: u64 = 0x4c41_5945_0000_0000;

/// The seed of quantized layer (or call) `index` in a forward pass with seed `seed`:
/// `derive(seed, SEED_LAYER_STRIDE + index)`.
fn layer_seed(seed: u64, index: u64) -> u64 {
    derive(seed, SEED_LAYER_STRIDE + index)
}

/// The named parameters of a stack of layers given as `(weight, bias)`: `"{i}.weight"` and
/// `"{i}.bias"` of layer `i`, in order.
fn stacked_parameters<'a>(
    layers: impl IntoIterator<Item = (&'a Tensor, &'a Tensor)>,
) -> Vec<(String, Tensor)> {
    layers
        .into_iter()
        .enumerate()
        .flat_map(|(index, (weight, bias))| {
            [
                (format!("{index}.weight"), weight.clone()),
                (format!("{index}.bias"), bias.clone()),
            ]
        })
        .collect()
}

/// Which model to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `mlp`, `cnn` or `gpt`.
    pub kind: String,
    /// Hidden layer widths of the MLP, the CNN's `[c1, c2, hidden]`, or the GPT's
    /// `[width, heads, layers]`.
    pub hidden: Vec<usize>,
}

impl ModelConfig {
    /// The model for samples of `sample_shape` and `classes` classes, with the formats of
    /// `formats`, initialised from `seed`, on `device`.
    pub fn build(
        &self,
        sample_shape: &[usize],
        classes: usize,
        formats: &FormatsConfig,
        seed: u64,
        device: &Device,
    ) -> Result<Box<dyn Classifier>> {
        match self.kind.as_str() {
            "mlp" => {
                let mut sizes = vec![sample_shape.iter().product()];
                sizes.extend(&self.hidden);
                sizes.push(classes);
                Ok(Box::new(Mlp::new(&sizes, formats, seed, device)?))
            }
            "cnn" => Ok(Box::new(Cnn::new(
                sample_shape,
                &self.hidden,
                classes,
                formats,
                seed,
                device,
            )?)),
            "gpt" => {
                let (&[window], &[width, heads, layers]) = (sample_shape, self.hidden.as_slice())
                else {
                    return Err(TrainError::Config(format!(
                        "the GPT needs text windows and three sizes (--hidden WIDTH,HEADS,LAYERS); got samples {sample_shape:?}, sizes {:?}",
                        self.hidden
                    )));
                };
                let size = GptSize {
                    vocabulary: classes,
                    context: window.saturating_sub(1),
                    width,
                    heads,
                    layers,
                };
                Ok(Box::new(Gpt::new(size, formats, seed, device)?))
            }
            other => Err(TrainError::Config(format!(
                "unknown model '{other}'; expected mlp, cnn or gpt"
            ))),
        }
    }
}

/// The `QAffineFormats` of one layer's validated formats: MACs as separate product and sum
/// formats, or fused ([`Mac::Fma`]); forward casts (input, weight, bias, output) round with `fwd_rnd`, the gradient cast
/// with `bwd_rnd`, each resolved for its own format (stochastic: the format's default bits).
pub fn affine_formats(layer: &LayerFormats) -> Result<QAffineFormats> {
    let mac = |formats: &Option<crate::train::formats::MacFormats>| {
        formats.as_ref().map(|mac| {
            if mac.fused {
                Mac::Fma(mac.add)
            } else {
                Mac::Separate {
                    add: mac.add,
                    mul: mac.mul,
                }
            }
        })
    };
    let cast = |format: &Option<lowp_formats::Format>, forward: bool| {
        format
            .map(|format| {
                let rounding = if forward {
                    &layer.fwd_rnd
                } else {
                    &layer.bwd_rnd
                };
                Cast::new(format, rounding.for_format(&format))
            })
            .transpose()
    };
    let pass_rounding = |rounding: &crate::train::formats::RoundingChoice| {
        rounding.for_format(&lowp_tensor::fp32())
    };
    let formats = QAffineFormats {
        fwd_mac: mac(&layer.fwd_mac),
        bwd_mac: mac(&layer.bwd_mac),
        fwd_rnd: pass_rounding(&layer.fwd_rnd),
        bwd_rnd: pass_rounding(&layer.bwd_rnd),
        weight_quant: cast(&layer.weight_quant, true)?,
        bias_quant: cast(&layer.bias_quant, true)?,
        input_quant: cast(&layer.input_quant, true)?,
        output_quant: cast(&layer.output_quant, true)?,
        grad_quant: cast(&layer.grad_quant, false)?,
        ..QAffineFormats::fp32()
    };
    formats.validate()?;
    Ok(formats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::formats::FormatsConfig;

    #[test]
    fn fused_mac_configs_give_fma_layers() {
        let mut config = FormatsConfig::default();
        config.layers.fwd_mac = Some("fma(fp16)".into());
        config.layers.bwd_mac = Some("e5m2:fp16".into());
        let formats = affine_formats(&config.layer_formats(0).unwrap()).unwrap();
        let format = |spec: &str| spec.parse::<lowp_formats::Format>().unwrap();
        assert_eq!(formats.fwd_mac, Some(Mac::Fma(format("fp16"))));
        assert_eq!(
            formats.bwd_mac,
            Some(Mac::Separate {
                add: format("fp16"),
                mul: format("e5m2"),
            })
        );
    }
}
