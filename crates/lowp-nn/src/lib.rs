//! # lowp-nn
//!
//! The mptorch API on lowp tensors (names mapped in docs/api.md):
//!
//! * number-format configs: [`Cast`], [`Quantizer`] / [`quantizer`], [`QAffineFormats`]
//!   (with [`Mac`]), [`QSoftmaxFormats`], [`QLayerNormFormats`], [`QGELUFormats`];
//! * [`functional`]: `qlinear`, `qmatmul`, `qmm`, ... with their own quantized backward;
//! * reproducible stochastic rounding: [`seeds`].
//!
//! Numbers follow SEMANTICS.md (§9 for the GEMMs and bias, §10 for the rest).

#![warn(missing_docs)]

mod error;
pub mod formats;
pub mod functional;
mod quant;
pub mod seeds;

pub use error::{NnError, Result};
pub use formats::{Mac, QAffineFormats, QGELUFormats, QLayerNormFormats, QSoftmaxFormats};
pub use quant::{Cast, GradHook, GradHookFn, Quantizer, quantizer};
