//! # lowp
//!
//! Simulated low-precision arithmetic for neural networks: number formats, bit-exact quantizers,
//! quantized GEMM, tensors with autograd and the mptorch layers, with the same bits on every
//! backend. This facade re-exports the workspace crates (`formats`, `backend`, `tensor`, `nn`)
//! and holds the cross-backend conformance runner and the benchmark rows of `lowp bench`.

#![warn(missing_docs)]

pub mod bench;
pub mod conformance;

pub use lowp_backend as backend;
pub use lowp_formats as formats;
pub use lowp_nn as nn;
pub use lowp_tensor as tensor;

pub use lowp_backend::{Backend, BackendError, CpuBackend};
pub use lowp_formats::{Format, FormatError, Quantizer, Rounding};
