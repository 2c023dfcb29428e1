//! `QAvgPool2d`, `QBatchNorm1d`, `QBatchNorm2d`.

use super::Module;
use crate::error::{NnError, Result};
use crate::functional::{AvgPoolSpec, BatchNormState, QuantPair, qavg_pool2d, qbatch_norm};
use crate::quant::Cast;
use crate::seeds::SeedStream;
use lowp_tensor::{Device, Tensor};
use std::sync::atomic::{AtomicBool, Ordering};

/// mptorch's `QAvgPool2d(kernel_size, fwd_quant, bwd_quant, stride, padding, ceil_mode,
/// count_include_pad, divisor_override)`: [`qavg_pool2d`]. Input `[N, C, H, W]` or `[C, H, W]`.
#[derive(Debug, Clone)]
pub struct QAvgPool2d {
    /// Window, stride, padding and divisor rules.
    pub spec: AvgPoolSpec,
    /// Forward / backward quantizers and seeds.
    pub quant: QuantPair,
}

impl QAvgPool2d {
    /// A pooling layer (`stride: None` means the kernel size). Errors: zero sizes, padding
    /// larger than half the kernel, a zero divisor.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kernel_size: [usize; 2],
        fwd_quant: Option<Cast>,
        bwd_quant: Option<Cast>,
        stride: Option<[usize; 2]>,
        padding: [usize; 2],
        ceil_mode: bool,
        count_include_pad: bool,
        divisor_override: Option<usize>,
    ) -> Result<Self> {
        let spec = AvgPoolSpec {
            kernel_size,
            stride: stride.unwrap_or(kernel_size),
            padding,
            ceil_mode,
            count_include_pad,
            divisor_override,
        };
        spec.validate()?;
        Ok(Self {
            spec,
            quant: QuantPair {
                fwd_quant,
                bwd_quant,
                seeds: SeedStream::default(),
            },
        })
    }
}

impl Module for QAvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        qavg_pool2d(x, &self.spec, &self.quant)
    }
}

/// mptorch's `QBatchNorm1d` / `QBatchNorm2d(num_features, fwd_quant, bwd_quant)`:
/// [`qbatch_norm`] with `γ = 1`, `β = 0` (parameters), running mean 0 and variance 1 (buffers
/// `running_mean`, `running_var`), momentum 0.1, ε = 1e-5. The mode follows
/// [`Module::train`] / [`Module::eval`] (training: batch statistics, running statistics
/// updated; evaluation: running statistics). Input: `[N, C]` or `[N, C, L]` (1-d),
/// `[N, C, H, W]` (2-d).
#[derive(Debug)]
pub struct QBatchNorm {
    /// γ `[C]` (a parameter).
    pub weight: Tensor,
    /// β `[C]` (a parameter).
    pub bias: Tensor,
    /// Running statistics, momentum and ε.
    pub state: BatchNormState,
    /// Forward / backward quantizers and seeds.
    pub quant: QuantPair,
    /// Accepted input ranks.
    ranks: &'static [usize],
    name: &'static str,
    training: AtomicBool,
}

impl QBatchNorm {
    fn build(
        name: &'static str,
        ranks: &'static [usize],
        num_features: usize,
        fwd_quant: Option<Cast>,
        bwd_quant: Option<Cast>,
        device: &Device,
    ) -> Result<Self> {
        if num_features == 0 {
            return Err(NnError::layer(name, "num_features must be positive"));
        }
        Ok(Self {
            weight: Tensor::ones(&[num_features], device)?.into_var(),
            bias: Tensor::zeros(&[num_features], device)?.into_var(),
            state: BatchNormState {
                running_mean: Tensor::zeros(&[num_features], device)?,
                running_var: Tensor::ones(&[num_features], device)?,
                momentum: 0.1,
                eps: 1e-5,
            },
            quant: QuantPair {
                fwd_quant,
                bwd_quant,
                seeds: SeedStream::default(),
            },
            ranks,
            name,
            training: AtomicBool::new(true),
        })
    }

    /// Whether the layer is in training mode.
    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }
}

/// 1-d batch normalisation (`[N, C]` or `[N, C, L]`).
pub struct QBatchNorm1d;
/// 2-d batch normalisation (`[N, C, H, W]`).
pub struct QBatchNorm2d;

impl QBatchNorm1d {
    /// mptorch's `QBatchNorm1d(num_features, fwd_quant, bwd_quant)` on `device`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        num_features: usize,
        fwd_quant: Option<Cast>,
        bwd_quant: Option<Cast>,
        device: &Device,
    ) -> Result<QBatchNorm> {
        QBatchNorm::build(
            "QBatchNorm1d",
            &[2, 3],
            num_features,
            fwd_quant,
            bwd_quant,
            device,
        )
    }
}

impl QBatchNorm2d {
    /// mptorch's `QBatchNorm2d(num_features, fwd_quant, bwd_quant)` on `device`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        num_features: usize,
        fwd_quant: Option<Cast>,
        bwd_quant: Option<Cast>,
        device: &Device,
    ) -> Result<QBatchNorm> {
        QBatchNorm::build(
            "QBatchNorm2d",
            &[4],
            num_features,
            fwd_quant,
            bwd_quant,
            device,
        )
    }
}

impl Module for QBatchNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.ranks.contains(&x.rank()) {
            return Err(NnError::layer(
                self.name,
                format!(
                    "input {:?} has {} axes, expected {:?}",
                    x.shape(),
                    x.rank(),
                    self.ranks
                ),
            ));
        }
        qbatch_norm(
            x,
            &self.weight,
            &self.bias,
            &self.state,
            self.is_training(),
            &self.quant,
        )
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        vec![
            ("weight".to_string(), self.weight.clone()),
            ("bias".to_string(), self.bias.clone()),
        ]
    }

    fn buffers(&self) -> Vec<(String, Tensor)> {
        vec![
            ("running_mean".to_string(), self.state.running_mean.clone()),
            ("running_var".to_string(), self.state.running_var.clone()),
        ]
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}
