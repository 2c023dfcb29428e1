//! # lowp-backend
//!
//! The [`Backend`] trait every lowp compute backend implements (CPU here; WGSL and CUDA in their
//! own crates), and the [`CpuBackend`]: multithreaded (rayon, default feature `rayon`) and
//! vectorised, giving exactly the bits of the scalar quantizers of lowp-formats.

#![warn(missing_docs)]

mod cpu;
mod error;

pub use cpu::{CpuBackend, CpuBuffer, CpuPath};
pub use error::BackendError;

use core::future::Future;
use lowp_formats::Quantizer;

/// Result alias of lowp-backend.
pub type Result<T> = core::result::Result<T, BackendError>;

/// A compute backend: owns device buffers of binary32 values and runs lowp's operations on them.
///
/// Every operation takes `&self`, returns a new buffer and never panics on user input. Results are
/// bit-identical across backends (SEMANTICS.md).
pub trait Backend {
    /// A buffer of binary32 values living on the backend's device.
    type Buffer;

    /// Short name of the backend (`cpu`, `wgpu`, `cuda`).
    fn name(&self) -> &'static str;

    /// Copies `data` to a new device buffer.
    fn upload(&self, data: &[f32]) -> Result<Self::Buffer>;

    /// Copies a device buffer back to host memory. Asynchronous because WebGPU in a browser cannot
    /// block; native callers use `pollster::block_on`.
    fn download(&self, buffer: &Self::Buffer) -> impl Future<Output = Result<Vec<f32>>>;

    /// Quantizes a row-major tensor of `shape` held in `input` with `quantizer`:
    /// `out[i] = Q(in[i])`, element `i` drawing random word `i` (SEMANTICS.md §3); block formats
    /// share one exponent per block along the format's `dim`.
    fn quantize(
        &self,
        input: &Self::Buffer,
        shape: &[usize],
        quantizer: &Quantizer,
    ) -> Result<Self::Buffer>;
}
