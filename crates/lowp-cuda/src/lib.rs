//! # lowp-cuda
//!
//! The CUDA backend of lowp: CUDA C kernels in the repository's `kernels/` folder (line-for-line
//! ports of the WGSL shaders, themselves ports of lowp-formats' scalar code), compiled at first
//! use by NVRTC with `--fmad=false --ftz=false --prec-div=true --prec-sqrt=true` (one module per
//! op family, cached per backend), so results equal the CPU backend bit for bit (SEMANTICS.md).
//!
//! cudarc loads libcuda and libnvrtc at run time (`dynamic-loading`), so the crate builds with no
//! CUDA installed. Without a driver, without NVRTC or without a device, [`CudaBackend::new`]
//! returns [`BackendError::Unavailable`](lowp_backend::BackendError::Unavailable); it never panics.
//!
//! Values live on the device as their binary32 bit patterns (`u32`), so nothing flushes or
//! canonicalises them. Every operation of the [`Backend`](lowp_backend::Backend) trait runs in
//! CUDA: quantize for every format family and rounding mode (Philox4x32-10 stochastic rounding
//! included), qgemm in every mode of §9 (shared-memory tiles, 4 × 4 outputs per thread, k
//! strictly ascending per output, 64-bit indexing, grids split over several launches where
//! CUDA's limits require), element-wise ops with lowp's portable math, reductions and data movement.
//!
//! One optional exception, off by default: the [`cublas`] fast path
//! ([`CudaBackend::set_cublas_acceleration`], mptorch's `cublas_acceleration`) runs GEMMs whose
//! formats cuBLAS has through cuBLAS (libcublas loaded at run time), which is **not bit-exact**.
//!
//! ```no_run
//! # #[cfg(not(target_arch = "wasm32"))] {
//! use lowp_backend::Backend;
//! use lowp_formats::Quantizer;
//! let backend = lowp_cuda::CudaBackend::new().expect("a CUDA device");
//! let input = backend.upload(&[1.0625, 1000.0]).unwrap();
//! let e4m3 = Quantizer::nearest("e4m3".parse().unwrap());
//! let output = backend.quantize(&input, &[2], &e4m3).unwrap();
//! let values = pollster::block_on(backend.download(&output)).unwrap();
//! assert_eq!(values, [1.0, f32::INFINITY]);
//! # }
//! ```

#![warn(missing_docs)]

pub mod kernels;
/// The kernels' parameter blocks (shared by the WGSL and CUDA backends).
pub use lowp_backend::kernel_params as params;

#[cfg(not(target_arch = "wasm32"))]
pub mod cublas;
#[cfg(not(target_arch = "wasm32"))]
mod device;
#[cfg(not(target_arch = "wasm32"))]
pub mod gemm;
#[cfg(not(target_arch = "wasm32"))]
pub mod movement;
#[cfg(not(target_arch = "wasm32"))]
pub mod ops;

#[cfg(not(target_arch = "wasm32"))]
pub use cublas::{CublasAcceleration, FastMode};
#[cfg(not(target_arch = "wasm32"))]
pub use device::{CudaBackend, CudaBuffer};
