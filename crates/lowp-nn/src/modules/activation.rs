//! `QSoftmax`, `QGELU`, `QLayerNorm` and the `Quantizer` module.

use super::Module;
use crate::error::{NnError, Result};
use crate::formats::{QGELUFormats, QLayerNormFormats, QSoftmaxFormats};
use crate::functional::{GeluApproximation, qgelu, qlayernorm, qsoftmax};
use crate::quant::Quantizer;
use lowp_tensor::{Device, Tensor};

/// mptorch's `QSoftmax(dim, formats)`: [`qsoftmax`] along `dim`. Any shape.
#[derive(Debug, Clone)]
pub struct QSoftmax {
    /// The softmax axis (negative counts from the end).
    pub dim: isize,
    /// The formats.
    pub formats: QSoftmaxFormats,
}

impl QSoftmax {
    /// A softmax along `dim`.
    pub fn new(dim: isize, formats: QSoftmaxFormats) -> Self {
        Self { dim, formats }
    }
}

impl Module for QSoftmax {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        qsoftmax(x, self.dim, &self.formats)
    }
}

/// mptorch's `QGELU(formats, approximate)`: [`qgelu`]. Any shape.
#[derive(Debug, Clone)]
pub struct QGELU {
    /// The formats.
    pub formats: QGELUFormats,
    /// `none` or `tanh`.
    pub approximate: GeluApproximation,
}

impl QGELU {
    /// A GELU with `approximate` = `"none"` or `"tanh"` (an error otherwise).
    pub fn new(formats: QGELUFormats, approximate: &str) -> Result<Self> {
        Ok(Self {
            formats,
            approximate: GeluApproximation::parse(approximate)?,
        })
    }
}

impl Module for QGELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        qgelu(x, &self.formats, self.approximate)
    }
}

/// mptorch's `QLayerNorm(normalized_shape, formats, eps, elementwise_affine, bias)`:
/// [`qlayernorm`] over the last axes; with `elementwise_affine` a weight (ones) and, if `bias`,
/// a bias (zeros) of `normalized_shape`. Input `[*, *normalized_shape]`, output the same.
#[derive(Debug, Clone)]
pub struct QLayerNorm {
    /// The normalised trailing shape.
    pub normalized_shape: Vec<usize>,
    /// The formats.
    pub formats: QLayerNormFormats,
    /// Added to the variance.
    pub eps: f32,
    /// γ (a parameter), with `elementwise_affine`.
    pub weight: Option<Tensor>,
    /// β (a parameter), with `elementwise_affine` and `bias`.
    pub bias: Option<Tensor>,
}

impl QLayerNorm {
    /// A new layer on `device`. Errors: an empty or zero-sized `normalized_shape`, `eps < 0`.
    pub fn new(
        normalized_shape: &[usize],
        formats: QLayerNormFormats,
        eps: f32,
        elementwise_affine: bool,
        bias: bool,
        device: &Device,
    ) -> Result<Self> {
        if normalized_shape.is_empty() || normalized_shape.contains(&0) || eps.is_nan() || eps < 0.0
        {
            return Err(NnError::layer(
                "QLayerNorm",
                format!(
                    "normalized_shape {normalized_shape:?} and eps {eps} (need positive sizes, eps >= 0)"
                ),
            ));
        }
        let weight = elementwise_affine
            .then(|| Tensor::ones(normalized_shape, device).map(Tensor::into_var))
            .transpose()?;
        let bias = (elementwise_affine && bias)
            .then(|| Tensor::zeros(normalized_shape, device).map(Tensor::into_var))
            .transpose()?;
        Ok(Self {
            normalized_shape: normalized_shape.to_vec(),
            formats,
            eps,
            weight,
            bias,
        })
    }
}

impl Module for QLayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        qlayernorm(
            x,
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
            &self.formats,
        )
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut named = Vec::new();
        if let Some(w) = &self.weight {
            named.push(("weight".to_string(), w.clone()));
        }
        if let Some(b) = &self.bias {
            named.push(("bias".to_string(), b.clone()));
        }
        named
    }
}

/// mptorch's `Quantizer` module: [`Quantizer::apply`].
impl Module for Quantizer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.apply(x)
    }
}
