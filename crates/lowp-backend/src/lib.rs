//! # lowp-backend
//!
//! The [`Backend`] trait every lowp compute backend implements (CPU here; WGSL and CUDA in their
//! own crates), and the [`CpuBackend`]: multithreaded (rayon, default feature `rayon`) and
//! vectorised, giving exactly the bits of the scalar quantizers of lowp-formats.

#![warn(missing_docs)]

mod cpu;
mod error;
mod geometry;
pub mod kernel_params;
pub mod layout;
pub mod strided;

pub use cpu::{CpuBackend, CpuBuffer, CpuPath};
pub use error::BackendError;
pub use geometry::{ConvGeometry, SliceRange};

use core::future::Future;
use lowp_formats::{BinaryOp, GemmSpec, Quantizer, ReduceOp, UnaryOp};

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

    /// Batched quantized GEMM `C[b] = A[b] · B[b]` of SEMANTICS.md §9 (`spec` gives the sizes,
    /// transposes, formats, rounding, accumulation and seed). `C` is batch × M × N, row-major.
    fn qgemm(&self, a: &Self::Buffer, b: &Self::Buffer, spec: &GemmSpec) -> Result<Self::Buffer>;

    /// `out[i] = Q(op(x[i]))` over a tensor of `shape`: the binary32 operation, then the output
    /// quantizer when one is given (element i draws word i; block formats block along `shape`).
    fn unary(
        &self,
        op: UnaryOp,
        x: &Self::Buffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<Self::Buffer>;

    /// `out[i] = Q(op(x[i], y[i]))` for two tensors of the same `shape` (broadcast first with
    /// [`Backend::expand`]).
    fn binary(
        &self,
        op: BinaryOp,
        x: &Self::Buffer,
        y: &Self::Buffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<Self::Buffer>;

    /// `out[i] = if condition[i] != 0 { x[i] } else { y[i] }` (NaN conditions count as true).
    fn select(
        &self,
        condition: &Self::Buffer,
        x: &Self::Buffer,
        y: &Self::Buffer,
    ) -> Result<Self::Buffer>;

    /// Reduces `axis` of a tensor of `shape` (the output has that axis removed) with per-step
    /// quantization in ascending index order; step k of output element o draws Philox counter
    /// `(lo32(o), hi32(o), k, 2)` word 0 (§3).
    fn reduce(
        &self,
        op: ReduceOp,
        x: &Self::Buffer,
        shape: &[usize],
        axis: usize,
        quantizer: Option<&Quantizer>,
    ) -> Result<Self::Buffer>;

    /// Permutes the axes: output axis `i` is input axis `axes[i]`.
    fn permute(&self, x: &Self::Buffer, shape: &[usize], axes: &[usize]) -> Result<Self::Buffer>;

    /// Broadcasts `shape` to `target` (numpy rules: right-aligned, size-1 axes repeat).
    fn expand(&self, x: &Self::Buffer, shape: &[usize], target: &[usize]) -> Result<Self::Buffer>;

    /// Takes `ranges[i]` along each axis `i`.
    fn slice(
        &self,
        x: &Self::Buffer,
        shape: &[usize],
        ranges: &[SliceRange],
    ) -> Result<Self::Buffer>;

    /// Concatenates tensors that agree on every axis but `axis`.
    fn concat(&self, parts: &[(&Self::Buffer, &[usize])], axis: usize) -> Result<Self::Buffer>;

    /// `index_select`: the output takes `x[.., indices[t], ..]` at position t of `axis`.
    fn gather(
        &self,
        x: &Self::Buffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
    ) -> Result<Self::Buffer>;

    /// The adjoint of [`Backend::gather`]: a tensor with `axis` of length `extent`, zero except
    /// `out[.., indices[t], ..] += src[.., t, ..]`, binary32 adds from +0 in ascending t.
    fn scatter_add(
        &self,
        src: &Self::Buffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
        extent: usize,
    ) -> Result<Self::Buffer>;

    /// The patch matrix of a convolution input (layout: [`ConvGeometry`]).
    fn im2col(&self, x: &Self::Buffer, geometry: &ConvGeometry) -> Result<Self::Buffer>;

    /// The adjoint of [`Backend::im2col`]: sums every patch entry back into its input position
    /// (binary32 adds from +0 in ascending kernel offset order), giving `[batch, channels, *input]`.
    fn col2im(&self, columns: &Self::Buffer, geometry: &ConvGeometry) -> Result<Self::Buffer>;
}
