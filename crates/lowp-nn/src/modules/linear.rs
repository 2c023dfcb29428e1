//! `QLinear` and `QLazyLinear`.

use super::Module;
use crate::error::{NnError, Result};
use crate::formats::QAffineFormats;
use crate::functional::qlinear;
use crate::quant::cast;
use crate::seeds::derive;
use lowp_tensor::{Device, Tensor, no_grad};
use std::sync::OnceLock;

/// mptorch's `QLinear(in_features, out_features, formats, bias)`: `y = x·Wᵀ + b` through
/// [`qlinear`] with `formats`. Input `[*, in_features]`, output `[*, out_features]`;
/// `weight [out_features, in_features]` and `bias [out_features]` are initialised
/// `U(-1/√in, 1/√in)` from `seed` (children 0 and 1 of [`derive()`]).
#[derive(Debug, Clone)]
pub struct QLinear {
    /// The weight `[out_features, in_features]` (a parameter).
    pub weight: Tensor,
    /// The bias `[out_features]` (a parameter), if any.
    pub bias: Option<Tensor>,
    /// The number formats.
    pub formats: QAffineFormats,
}

impl QLinear {
    /// A new layer on `device` (see the type's documentation). Errors: zero sizes, invalid
    /// formats.
    pub fn new(
        in_features: usize,
        out_features: usize,
        formats: QAffineFormats,
        bias: bool,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        if in_features == 0 || out_features == 0 {
            return Err(NnError::layer(
                "QLinear",
                format!(
                    "in_features = {in_features} and out_features = {out_features} must be positive"
                ),
            ));
        }
        formats.validate()?;
        let bound = 1.0 / (in_features as f32).sqrt();
        let weight = Tensor::rand_uniform(
            -bound,
            bound,
            &[out_features, in_features],
            derive(seed, 0),
            device,
        )?
        .into_var();
        let bias = if bias {
            Some(
                Tensor::rand_uniform(-bound, bound, &[out_features], derive(seed, 1), device)?
                    .into_var(),
            )
        } else {
            None
        };
        Ok(Self {
            weight,
            bias,
            formats,
        })
    }

    /// A layer from existing parameters (`weight [out, in]`, `bias [out]`).
    pub fn from_parts(
        weight: Tensor,
        bias: Option<Tensor>,
        formats: QAffineFormats,
    ) -> Result<Self> {
        if weight.rank() != 2
            || bias
                .as_ref()
                .is_some_and(|b| b.shape() != [weight.shape()[0]])
        {
            return Err(NnError::layer(
                "QLinear",
                format!(
                    "weight {:?} and bias {:?} are not [out, in] and [out]",
                    weight.shape(),
                    bias.as_ref().map(|b| b.shape().to_vec())
                ),
            ));
        }
        formats.validate()?;
        Ok(Self {
            weight,
            bias,
            formats,
        })
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }
    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }

    /// mptorch's `quant_parameters()`: replaces the weight and bias values by their
    /// `weight_quant` / `bias_quant` quantizations (nearest or the configured rounding, seeds
    /// from the formats' stream, roles 0 and 1 of one call).
    pub fn quant_parameters(&self) -> Result<()> {
        quant_parameters(&self.weight, self.bias.as_ref(), &self.formats)
    }
}

pub(crate) fn quant_parameters(
    weight: &Tensor,
    bias: Option<&Tensor>,
    formats: &QAffineFormats,
) -> Result<()> {
    let _guard = no_grad();
    let call = formats.seeds.next_call();
    weight.set_data(&cast(formats.weight_quant.as_ref(), weight, call.seed(0))?)?;
    if let Some(bias) = bias {
        bias.set_data(&cast(formats.bias_quant.as_ref(), bias, call.seed(1))?)?;
    }
    Ok(())
}

impl Module for QLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.shape().last() != Some(&self.in_features()) {
            return Err(NnError::layer(
                "QLinear",
                format!(
                    "input {:?} does not end in in_features = {}",
                    x.shape(),
                    self.in_features()
                ),
            ));
        }
        qlinear(x, &self.weight, self.bias.as_ref(), &self.formats)
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut named = vec![("weight".to_string(), self.weight.clone())];
        if let Some(bias) = &self.bias {
            named.push(("bias".to_string(), bias.clone()));
        }
        named
    }
}

/// mptorch's `QLazyLinear(out_features, formats, bias)`: a [`QLinear`] whose `in_features` is
/// taken from the last axis of the first input (parameters are created then, on the input's
/// device, from `seed` as in [`QLinear::new`]). Before the first forward it has no parameters.
#[derive(Debug)]
pub struct QLazyLinear {
    out_features: usize,
    formats: QAffineFormats,
    bias: bool,
    seed: u64,
    layer: OnceLock<QLinear>,
}

impl QLazyLinear {
    /// A layer with `out_features` outputs, initialised at the first forward.
    pub fn new(
        out_features: usize,
        formats: QAffineFormats,
        bias: bool,
        seed: u64,
    ) -> Result<Self> {
        if out_features == 0 {
            return Err(NnError::layer(
                "QLazyLinear",
                "out_features must be positive",
            ));
        }
        formats.validate()?;
        Ok(Self {
            out_features,
            formats,
            bias,
            seed,
            layer: OnceLock::new(),
        })
    }

    /// The initialised layer, if the first forward has happened.
    pub fn initialized(&self) -> Option<&QLinear> {
        self.layer.get()
    }

    /// mptorch's `initialize_parameters(input)`: creates the parameters for `input`'s last
    /// axis (no-op when already initialised).
    pub fn initialize_parameters(&self, input: &Tensor) -> Result<&QLinear> {
        if let Some(layer) = self.layer.get() {
            return Ok(layer);
        }
        let Some(&in_features) = input.shape().last() else {
            return Err(NnError::layer(
                "QLazyLinear",
                "a scalar input has no feature axis",
            ));
        };
        let layer = QLinear::new(
            in_features,
            self.out_features,
            self.formats.clone(),
            self.bias,
            input.device(),
            self.seed,
        )?;
        Ok(self.layer.get_or_init(|| layer))
    }
}

impl Module for QLazyLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.initialize_parameters(x)?.forward(x)
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        self.layer.get().map(Module::parameters).unwrap_or_default()
    }
}
