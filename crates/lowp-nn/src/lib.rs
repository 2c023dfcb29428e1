//! # lowp-nn
//!
//! The mptorch API on lowp tensors (names mapped in docs/api.md):
//!
//! * number-format configs: [`Cast`], [`Quantizer`] / [`quantizer`], [`QAffineFormats`]
//!   (with [`Mac`]), [`QSoftmaxFormats`], [`QLayerNormFormats`], [`QGELUFormats`];
//! * [`functional`]: `qlinear`, `qmatmul`, `qmm`, ... with their own quantized backward;
//! * [`modules`]: the [`Module`] trait, `QLinear`, `Sequential`, ...; [`loss`]: losses;
//! * reproducible stochastic rounding: [`seeds`];
//! * training: data sets and loaders ([`data`]), quantized optimizers, schedules and loss scaling
//!   ([`optim`]), models ([`models`]) and the training driver ([`train`]).
//!
//! Numbers follow SEMANTICS.md (§9 for the GEMMs and bias, §10 for the rest).

#![warn(missing_docs)]

pub mod data;
mod error;
pub mod formats;
pub mod functional;
pub mod loss;
pub mod models;
pub mod modules;
pub mod optim;
mod quant;
pub mod seeds;
pub mod train;

pub use error::{NnError, Result};
pub use formats::{Mac, QAffineFormats, QGELUFormats, QLayerNormFormats, QSoftmaxFormats};
pub use loss::{cross_entropy, mse_loss};
pub use modules::{
    ConvOptions, ConvTransposeOptions, Dropout, Embedding, Flatten, Module, QAvgPool2d, QBatchNorm,
    QBatchNorm1d, QBatchNorm2d, QConv, QConv1d, QConv2d, QConv3d, QConvTranspose, QConvTranspose1d,
    QConvTranspose2d, QConvTranspose3d, QGELU, QLayerNorm, QLazyLinear, QLinear, QSoftmax, ReLU,
    Sequential,
};
pub use quant::{Cast, GradHook, GradHookFn, Quantizer, quantizer};
