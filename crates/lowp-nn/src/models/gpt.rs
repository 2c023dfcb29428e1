//! A small character-level GPT (decoder-only transformer) for next-character prediction:
//! token and position embeddings, `layers` pre-norm blocks
//! `x += proj(attention(QLayerNorm(x)))`, `x += fc2(QGELU(fc1(QLayerNorm(x))))` with causal
//! multi-head attention `QSoftmax(q·kᵀ / sqrt(head_dim) + mask) · v` (products by `qmatmul`),
//! a final QLayerNorm and a linear head to the vocabulary.
//!
//! Samples are windows of `context + 1` token ids (see
//! [`crate::data::text::TextCorpus::window_dataset`]): the model reads tokens `0..context` and its
//! targets are tokens `1..=context`, one prediction per position.
//!
//! Formats: the linear layers are the quantized layers of the formats config, numbered in the
//! order qkv, proj, fc1, fc2 per block, then the head. LayerNorm, softmax and GELU use the
//! default layer formats (`[layers]`): their intermediates in the forward (backward) add format
//! of `fwd_mac` (`bwd_mac`), products in the mul format, inputs and outputs cast like layer
//! inputs (`input_quant`), gradients like `grad_quant`.

use super::{affine_formats, layer_seed};
use crate::data::Batch;
use crate::formats::{QAffineFormats, QGELUFormats, QLayerNormFormats, QSoftmaxFormats};
use crate::functional::{GeluApproximation, qgelu, qlayernorm, qlinear, qmatmul, qsoftmax};
use crate::train::formats::{FormatsConfig, LayerFormats};
use crate::train::run::Classifier;
use crate::train::{Result, TrainError, seeds};
use crate::{Cast, Embedding};
use lowp_tensor::{Device, Tensor};

/// A quantized linear layer.
struct Linear {
    weight: Tensor,
    bias: Tensor,
    formats: QAffineFormats,
}

/// A LayerNorm's affine parameters.
struct Norm {
    gamma: Tensor,
    beta: Tensor,
}

/// One transformer block.
struct Block {
    norm1: Norm,
    qkv: Linear,
    proj: Linear,
    norm2: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// The sizes of a [`Gpt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GptSize {
    /// Vocabulary size.
    pub vocabulary: usize,
    /// Positions the model reads.
    pub context: usize,
    /// Embedding width.
    pub width: usize,
    /// Attention heads (dividing `width`).
    pub heads: usize,
    /// Transformer blocks.
    pub layers: usize,
}

/// The character-level GPT (module docs).
pub struct Gpt {
    size: GptSize,
    tokens: Embedding,
    positions: Tensor,
    blocks: Vec<Block>,
    final_norm: Norm,
    head: Linear,
    norm_formats: QLayerNormFormats,
    softmax_formats: QSoftmaxFormats,
    gelu_formats: QGELUFormats,
    /// The causal mask `[context, context]`: 0 on and below the diagonal, -inf above.
    mask: Tensor,
}

impl Gpt {
    /// A GPT of `size`, formats from `formats`, initialised from `seed` as GPT-2: embeddings and
    /// linear weights `N(0, 0.02)` (parameter `i` from `train::seeds::derive(seed, INIT, i)`),
    /// biases 0, LayerNorm `γ = 1`, `β = 0`.
    pub fn new(size: GptSize, formats: &FormatsConfig, seed: u64, device: &Device) -> Result<Self> {
        let GptSize {
            vocabulary,
            context,
            width,
            heads,
            layers,
        } = size;
        if [vocabulary, context, width, heads, layers].contains(&0) || width % heads != 0 {
            return Err(TrainError::Config(format!(
                "invalid GPT sizes {size:?}: all positive, width divisible by heads"
            )));
        }
        let mut parameter = 0u64;
        let mut normal = |shape: &[usize]| -> Result<Tensor> {
            parameter += 1;
            let seed = seeds::derive(seed, seeds::INIT, parameter);
            Ok(Tensor::randn(0.0, 0.02, shape, seed, device)?.into_var())
        };
        let mut layer = 0usize;
        let mut linear = |weight: Tensor| -> Result<Linear> {
            let formats = affine_formats(&formats.layer_formats(layer)?)?;
            layer += 1;
            Ok(Linear {
                bias: Tensor::zeros(&[weight.shape()[0]], device)?.into_var(),
                weight,
                formats,
            })
        };
        let norm = || -> Result<Norm> {
            Ok(Norm {
                gamma: Tensor::ones(&[width], device)?.into_var(),
                beta: Tensor::zeros(&[width], device)?.into_var(),
            })
        };
        let tokens = Embedding {
            weight: normal(&[vocabulary, width])?,
        };
        let positions = normal(&[context, width])?;
        let mut blocks = Vec::with_capacity(layers);
        for _ in 0..layers {
            let qkv = normal(&[3 * width, width])?;
            let proj = normal(&[width, width])?;
            let fc1 = normal(&[4 * width, width])?;
            let fc2 = normal(&[width, 4 * width])?;
            blocks.push(Block {
                norm1: norm()?,
                qkv: linear(qkv)?,
                proj: linear(proj)?,
                norm2: norm()?,
                fc1: linear(fc1)?,
                fc2: linear(fc2)?,
            });
        }
        let head_weight = normal(&[vocabulary, width])?;
        let head = linear(head_weight)?;
        let defaults = formats.layers.resolve()?;
        let mut mask = vec![0.0f32; context * context];
        for row in 0..context {
            for column in row + 1..context {
                mask[row * context + column] = f32::NEG_INFINITY;
            }
        }
        Ok(Self {
            size,
            tokens,
            positions,
            blocks,
            final_norm: norm()?,
            head,
            norm_formats: norm_formats(&defaults)?,
            softmax_formats: softmax_formats(&defaults)?,
            gelu_formats: gelu_formats(&defaults)?,
            mask: Tensor::from_vec(mask, &[context, context], device)?,
        })
    }

    fn linear(layer: &Linear, x: &Tensor, seed: u64) -> Result<Tensor> {
        let formats = layer.formats.clone().with_seed(seed);
        Ok(qlinear(x, &layer.weight, Some(&layer.bias), &formats)?)
    }

    fn norm(&self, norm: &Norm, x: &Tensor, seed: u64) -> Result<Tensor> {
        let formats = self.norm_formats.clone().with_seed(seed);
        Ok(qlayernorm(
            x,
            &[self.size.width],
            Some(&norm.gamma),
            Some(&norm.beta),
            1e-5,
            &formats,
        )?)
    }

    /// Causal self-attention of `x` `[B, T, width]` (before the output projection).
    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        seeds: &mut impl FnMut() -> u64,
    ) -> Result<Tensor> {
        let (batch, time) = (x.shape()[0], x.shape()[1]);
        let GptSize { width, heads, .. } = self.size;
        let head_width = width / heads;
        let qkv = Self::linear(&block.qkv, x, seeds())?;
        let split = |part: usize| -> Result<Tensor> {
            Ok(qkv
                .narrow(-1, part * width, width)?
                .reshape(&[batch, time, heads, head_width])?
                .permute(&[0, 2, 1, 3])?)
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let product = block.qkv.formats.clone().with_seed(seeds());
        let scores = qmatmul(&q, &k.transpose(-2, -1)?, &product)?
            .mul_scalar(1.0 / (head_width as f32).sqrt())?
            .add(&self.mask.narrow(0, 0, time)?.narrow(1, 0, time)?)?;
        let softmax = self.softmax_formats.clone().with_seed(seeds());
        let weights = qsoftmax(&scores, -1, &softmax)?;
        let product = block.qkv.formats.clone().with_seed(seeds());
        let mixed = qmatmul(&weights, &v, &product)?;
        Ok(mixed
            .permute(&[0, 2, 1, 3])?
            .reshape(&[batch, time, width])?)
    }
}

impl Classifier for Gpt {
    fn forward(&self, input: &Tensor, seed: u64) -> Result<Tensor> {
        let (batch, window) = match input.shape() {
            [batch, window] if *window >= 2 && *window <= self.size.context + 1 => {
                (*batch, *window)
            }
            shape => {
                return Err(TrainError::Config(format!(
                    "GPT input {shape:?} is not [batch, context + 1] with context <= {}",
                    self.size.context
                )));
            }
        };
        let time = window - 1;
        let ids: Vec<u32> = input
            .to_vec()?
            .chunks(window)
            .flat_map(|row| row[..time].iter().map(|&id| id as u32))
            .collect();
        let mut call = 0u64;
        let mut next_seed = || {
            call += 1;
            layer_seed(seed, call)
        };
        let mut x = self
            .tokens
            .lookup(&ids, &[batch, time])?
            .add(&self.positions.narrow(0, 0, time)?)?;
        for block in &self.blocks {
            let h = self.norm(&block.norm1, &x, next_seed())?;
            let attended = self.attention(block, &h, &mut next_seed)?;
            x = x.add(&Self::linear(&block.proj, &attended, next_seed())?)?;
            let h = self.norm(&block.norm2, &x, next_seed())?;
            let h = Self::linear(&block.fc1, &h, next_seed())?;
            let gelu = self.gelu_formats.clone().with_seed(next_seed());
            let h = qgelu(&h, &gelu, GeluApproximation::None)?;
            x = x.add(&Self::linear(&block.fc2, &h, next_seed())?)?;
        }
        let x = self.norm(&self.final_norm, &x, next_seed())?;
        let logits = Self::linear(&self.head, &x, next_seed())?;
        Ok(logits.reshape(&[batch * time, self.size.vocabulary])?)
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut named = vec![
            ("tokens".to_string(), self.tokens.weight.clone()),
            ("positions".to_string(), self.positions.clone()),
        ];
        let linear = |name: String, layer: &Linear| {
            [
                (format!("{name}.weight"), layer.weight.clone()),
                (format!("{name}.bias"), layer.bias.clone()),
            ]
        };
        let norm = |name: String, norm: &Norm| {
            [
                (format!("{name}.gamma"), norm.gamma.clone()),
                (format!("{name}.beta"), norm.beta.clone()),
            ]
        };
        for (index, block) in self.blocks.iter().enumerate() {
            named.extend(norm(format!("{index}.norm1"), &block.norm1));
            named.extend(linear(format!("{index}.qkv"), &block.qkv));
            named.extend(linear(format!("{index}.proj"), &block.proj));
            named.extend(norm(format!("{index}.norm2"), &block.norm2));
            named.extend(linear(format!("{index}.fc1"), &block.fc1));
            named.extend(linear(format!("{index}.fc2"), &block.fc2));
        }
        named.extend(norm("final_norm".into(), &self.final_norm));
        named.extend(linear("head".into(), &self.head));
        named
    }

    /// Tokens `1..window` of every sample, row after row.
    fn targets(&self, batch: &Batch) -> Result<Vec<usize>> {
        let window = batch.shape.get(1).copied().unwrap_or(0);
        if window < 2 {
            return Err(TrainError::Config(format!(
                "GPT batch {:?} has no targets",
                batch.shape
            )));
        }
        Ok(batch
            .features
            .chunks(window)
            .flat_map(|row| row[1..].iter().map(|&id| id as usize))
            .collect())
    }
}

/// A cast to `format` with `rounding` resolved for it.
fn cast(
    format: Option<lowp_formats::Format>,
    rounding: &crate::train::formats::RoundingChoice,
) -> Result<Option<Cast>> {
    Ok(format
        .map(|format| Cast::new(format, rounding.for_format(&format)))
        .transpose()?)
}

/// The add and mul formats of a pass (`None`: binary32).
fn pass_formats(
    mac: &Option<crate::train::formats::MacFormats>,
) -> (Option<lowp_formats::Format>, Option<lowp_formats::Format>) {
    mac.as_ref()
        .map_or((None, None), |mac| (Some(mac.add), Some(mac.mul)))
}

fn norm_formats(layer: &LayerFormats) -> Result<QLayerNormFormats> {
    let (fwd_add, fwd_mul) = pass_formats(&layer.fwd_mac);
    let (bwd_add, bwd_mul) = pass_formats(&layer.bwd_mac);
    let fp32 = lowp_tensor::fp32();
    Ok(QLayerNormFormats {
        fwd_acc: fwd_add,
        fwd_mul,
        fwd_div: fwd_add,
        fwd_sqrt: fwd_add,
        bwd_acc: bwd_add,
        bwd_mul,
        bwd_div: bwd_add,
        fwd_rnd: layer.fwd_rnd.for_format(&fwd_add.unwrap_or(fp32)),
        bwd_rnd: layer.bwd_rnd.for_format(&bwd_add.unwrap_or(fp32)),
        input_quant: cast(layer.input_quant, &layer.fwd_rnd)?,
        output_quant: cast(layer.input_quant, &layer.fwd_rnd)?,
        grad_quant: cast(layer.grad_quant, &layer.bwd_rnd)?,
        ..QLayerNormFormats::default()
    })
}

fn softmax_formats(layer: &LayerFormats) -> Result<QSoftmaxFormats> {
    let (fwd_add, _) = pass_formats(&layer.fwd_mac);
    let (bwd_add, bwd_mul) = pass_formats(&layer.bwd_mac);
    let fp32 = lowp_tensor::fp32();
    Ok(QSoftmaxFormats {
        fwd_off: fwd_add,
        fwd_exp: fwd_add,
        fwd_acc: fwd_add,
        fwd_lse: None,
        bwd_add,
        bwd_mul,
        fwd_rnd: layer.fwd_rnd.for_format(&fwd_add.unwrap_or(fp32)),
        bwd_rnd: layer.bwd_rnd.for_format(&bwd_add.unwrap_or(fp32)),
        input_quant: None,
        output_quant: cast(layer.input_quant, &layer.fwd_rnd)?,
        grad_quant: cast(layer.grad_quant, &layer.bwd_rnd)?,
        ..QSoftmaxFormats::default()
    })
}

fn gelu_formats(layer: &LayerFormats) -> Result<QGELUFormats> {
    let (fwd_add, _) = pass_formats(&layer.fwd_mac);
    Ok(QGELUFormats {
        input_quant: cast(layer.input_quant, &layer.fwd_rnd)?,
        inter_quant: cast(fwd_add, &layer.fwd_rnd)?,
        output_quant: cast(layer.input_quant, &layer.fwd_rnd)?,
        grad_quant: cast(layer.grad_quant, &layer.bwd_rnd)?,
        ..QGELUFormats::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::text::TextCorpus;
    use crate::train::run::{OptimizerConfig, RunConfig, ScheduleConfig, Trainer};

    fn size(vocabulary: usize) -> GptSize {
        GptSize {
            vocabulary,
            context: 16,
            width: 16,
            heads: 2,
            layers: 1,
        }
    }

    #[test]
    fn the_gpt_learns_a_repetitive_text() {
        let device = Device::cpu();
        let corpus = TextCorpus::new(&"abcdefgh".repeat(80)).unwrap();
        let data = corpus.window_dataset(16, usize::MAX).unwrap();
        let (train, test) = data.split(0.2, 1).unwrap();
        let formats = FormatsConfig::default();
        let model = Gpt::new(size(8), &formats, 3, &device).unwrap();
        let config = RunConfig {
            epochs: 6,
            batch_size: 8,
            seed: 3,
            optimizer: OptimizerConfig {
                kind: "adamw".into(),
                momentum: 0.0,
                nesterov: false,
                weight_decay: 0.01,
            },
            schedule: ScheduleConfig {
                lr: 0.01,
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
        let mut last = None;
        while !trainer.finished() {
            last = Some(trainer.train_epoch(&train, &test, &mut |_| {}).unwrap());
        }
        let last = last.unwrap();
        assert!(last.test_accuracy > 0.9, "{last:?}");
        assert!(trainer.history()[0].train_loss > last.train_loss);
    }

    #[test]
    fn attention_is_causal() {
        let device = Device::cpu();
        let model = Gpt::new(size(8), &FormatsConfig::default(), 1, &device).unwrap();
        let run = |tokens: Vec<f32>| {
            let input = Tensor::from_vec(tokens, &[1, 5], &device).unwrap();
            model.forward(&input, 0).unwrap().to_vec().unwrap()
        };
        let first = run(vec![1.0, 2.0, 3.0, 4.0, 0.0]);
        let changed_last = run(vec![1.0, 2.0, 3.0, 7.0, 0.0]);
        // Positions 0..3 do not see the token at position 3.
        assert_eq!(first[..3 * 8], changed_last[..3 * 8]);
        assert_ne!(first[3 * 8..], changed_last[3 * 8..]);
        let batch = Batch {
            features: vec![1.0, 2.0, 3.0],
            shape: vec![1, 3],
            labels: vec![3],
        };
        assert_eq!(model.targets(&batch).unwrap(), vec![2, 3]);
    }

    #[test]
    fn bad_sizes_are_rejected() {
        let formats = FormatsConfig::default();
        let mut bad = size(8);
        bad.heads = 3;
        assert!(Gpt::new(bad, &formats, 0, &Device::cpu()).is_err());
        bad.heads = 0;
        assert!(Gpt::new(bad, &formats, 0, &Device::cpu()).is_err());
    }
}
