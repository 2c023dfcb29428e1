//! # lowp-tensor
//!
//! [`Tensor`]s of binary32 values on a [`Device`] (the compiled-in lowp backends: CPU, and WGSL
//! with feature `wgpu`), with reverse-mode automatic differentiation.
//!
//! * Values are contiguous and row-major; every operation is one or more backend kernels, so
//!   results are bit-identical on every device (SEMANTICS.md).
//! * Parameters (candle's `Var`) are leaves made with [`Tensor::var`] / [`Tensor::into_var`];
//!   [`Tensor::backward`] accumulates into [`Tensor::grad`] of those leaves.
//! * [`no_grad`] stops recording (evaluation, optimizer updates); [`Tensor::set_data`] updates a
//!   parameter in place.
//! * Ops with their own (quantized) backward attach it with [`Tensor::with_backward`]
//!   (lowp-nn's quantized layers do).
//! * Host reads: [`Tensor::to_vec`] (blocking natively) and [`Tensor::to_vec_async`].

#![warn(missing_docs)]

mod autograd;
mod device;
mod error;
mod movement;
mod ops;
pub mod shape;
mod tensor;

pub use autograd::{BackwardFn, MaybeSendSync, NoGradGuard, grad_enabled, no_grad};
pub use device::{Device, Kernel, Storage};
pub use error::{Result, TensorError};
pub use lowp_backend::{ConvGeometry, SliceRange};
pub use ops::{MatmulPlan, fp32, matmul_with};
pub use tensor::{Tensor, TensorId};
