//! # lowp-cuda
//!
//! The CUDA backend of lowp: CUDA C kernels in the repository's `kernels/` folder (line-for-line
//! ports of the WGSL shaders, themselves ports of lowp-formats' scalar code), compiled at first
//! use by NVRTC with `--fmad=false --ftz=false --prec-div=true --prec-sqrt=true`, so results equal
//! the CPU backend bit for bit (SEMANTICS.md).
//!
//! cudarc loads libcuda and libnvrtc at run time, so the crate builds without CUDA.
#![warn(missing_docs)]

pub mod kernels;
pub mod params;
