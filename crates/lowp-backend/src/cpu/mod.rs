//! The CPU backend.

mod fast;
mod gemm;
mod movement;
mod ops;
#[cfg(target_arch = "x86_64")]
mod philox_avx512;

use crate::{Backend, ConvGeometry, Result, SliceRange, layout};
use lowp_formats::{BinaryOp, Format, GemmSpec, Quantizer, ReduceOp, UnaryOp};
use std::sync::Arc;

/// Which implementation the CPU backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuPath {
    /// The multithreaded, vectorised kernels (the default).
    #[default]
    Fast,
    /// The scalar reference of lowp-formats, one element at a time on one thread.
    Scalar,
}

/// A host buffer shared between tensors without copying.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuBuffer {
    data: Arc<Vec<f32>>,
}

impl CpuBuffer {
    /// The values.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl From<Vec<f32>> for CpuBuffer {
    fn from(data: Vec<f32>) -> Self {
        Self {
            data: Arc::new(data),
        }
    }
}

/// The CPU backend: rayon over chunks (feature `rayon`) of vectorisable element loops.
#[derive(Debug, Clone, Default)]
pub struct CpuBackend {
    path: CpuPath,
    /// None: rayon's global pool; Some(1): the calling thread only.
    threads: Option<usize>,
    /// A pool of its own when a thread count other than 1 was asked for.
    #[cfg(feature = "rayon")]
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl CpuBackend {
    /// The fast path on all threads of rayon's global pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// The scalar reference path (single thread, lowp-formats' code as is).
    pub fn scalar() -> Self {
        Self {
            path: CpuPath::Scalar,
            threads: Some(1),
            #[cfg(feature = "rayon")]
            pool: None,
        }
    }

    /// The fast path limited to `threads` threads (1 = the calling thread only). If a pool of
    /// that size cannot be started, rayon's global pool is used.
    pub fn with_threads(threads: usize) -> Self {
        let threads = threads.max(1);
        Self {
            path: CpuPath::Fast,
            threads: Some(threads),
            #[cfg(feature = "rayon")]
            pool: (threads > 1)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .ok()
                        .map(Arc::new)
                })
                .flatten(),
        }
    }

    /// The implementation this backend runs.
    pub fn path(&self) -> CpuPath {
        self.path
    }

    /// Runs `work` inside this backend's pool (or the global one).
    pub(crate) fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        #[cfg(feature = "rayon")]
        if let Some(pool) = &self.pool {
            return pool.install(work);
        }
        work()
    }

    /// Whether work may be spread over threads.
    pub(crate) fn parallel(&self) -> bool {
        cfg!(feature = "rayon") && self.threads != Some(1)
    }
}

impl Backend for CpuBackend {
    type Buffer = CpuBuffer;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn upload(&self, data: &[f32]) -> Result<CpuBuffer> {
        Ok(CpuBuffer::from(data.to_vec()))
    }

    async fn download(&self, buffer: &CpuBuffer) -> Result<Vec<f32>> {
        Ok(buffer.data.as_ref().clone())
    }

    fn quantize(
        &self,
        input: &CpuBuffer,
        shape: &[usize],
        quantizer: &Quantizer,
    ) -> Result<CpuBuffer> {
        let data = input.as_slice();
        layout::quantize(data.len(), shape, quantizer)?;
        let out = match (self.path, quantizer.format()) {
            (CpuPath::Scalar, _) | (_, Format::Block(_)) => {
                quantizer.quantize_slice(data, shape)?
            }
            (CpuPath::Fast, _) => {
                let parallel = self.parallel();
                self.run(|| elementwise(quantizer, data, parallel))?
            }
        };
        Ok(CpuBuffer::from(out))
    }

    fn qgemm(&self, a: &CpuBuffer, b: &CpuBuffer, spec: &GemmSpec) -> Result<CpuBuffer> {
        gemm::qgemm(self, a.as_slice(), b.as_slice(), spec).map(CpuBuffer::from)
    }

    fn unary(
        &self,
        op: UnaryOp,
        x: &CpuBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<CpuBuffer> {
        ops::unary(self, op, x.as_slice(), shape, quantizer).map(CpuBuffer::from)
    }

    fn binary(
        &self,
        op: BinaryOp,
        x: &CpuBuffer,
        y: &CpuBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<CpuBuffer> {
        ops::binary(self, op, x.as_slice(), y.as_slice(), shape, quantizer).map(CpuBuffer::from)
    }

    fn select(&self, condition: &CpuBuffer, x: &CpuBuffer, y: &CpuBuffer) -> Result<CpuBuffer> {
        ops::select(condition.as_slice(), x.as_slice(), y.as_slice()).map(CpuBuffer::from)
    }

    fn reduce(
        &self,
        op: ReduceOp,
        x: &CpuBuffer,
        shape: &[usize],
        axis: usize,
        quantizer: Option<&Quantizer>,
    ) -> Result<CpuBuffer> {
        ops::reduce(self, op, x.as_slice(), shape, axis, quantizer).map(CpuBuffer::from)
    }

    fn permute(&self, x: &CpuBuffer, shape: &[usize], axes: &[usize]) -> Result<CpuBuffer> {
        movement::permute(x.as_slice(), shape, axes).map(CpuBuffer::from)
    }

    fn expand(&self, x: &CpuBuffer, shape: &[usize], target: &[usize]) -> Result<CpuBuffer> {
        movement::expand(x.as_slice(), shape, target).map(CpuBuffer::from)
    }

    fn slice(&self, x: &CpuBuffer, shape: &[usize], ranges: &[SliceRange]) -> Result<CpuBuffer> {
        movement::slice(x.as_slice(), shape, ranges).map(CpuBuffer::from)
    }

    fn concat(&self, parts: &[(&CpuBuffer, &[usize])], axis: usize) -> Result<CpuBuffer> {
        let parts: Vec<(&[f32], &[usize])> =
            parts.iter().map(|(b, s)| (b.as_slice(), *s)).collect();
        movement::concat(&parts, axis).map(CpuBuffer::from)
    }

    fn gather(
        &self,
        x: &CpuBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
    ) -> Result<CpuBuffer> {
        movement::gather(x.as_slice(), shape, axis, indices).map(CpuBuffer::from)
    }

    fn scatter_add(
        &self,
        src: &CpuBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
        extent: usize,
    ) -> Result<CpuBuffer> {
        movement::scatter_add(src.as_slice(), shape, axis, indices, extent).map(CpuBuffer::from)
    }

    fn im2col(&self, x: &CpuBuffer, geometry: &ConvGeometry) -> Result<CpuBuffer> {
        movement::im2col(x.as_slice(), geometry).map(CpuBuffer::from)
    }

    fn col2im(&self, columns: &CpuBuffer, geometry: &ConvGeometry) -> Result<CpuBuffer> {
        movement::col2im(columns.as_slice(), geometry).map(CpuBuffer::from)
    }
}

/// Element-wise quantize of `data` (non-block formats), chunked over threads. Float, P3109 and
/// fixed point formats run the branch-free kernels of [`fast`]; the others the scalar code.
fn elementwise(quantizer: &Quantizer, data: &[f32], parallel: bool) -> Result<Vec<f32>> {
    const CHUNK: usize = 1 << 14;
    let rounding = quantizer.rounding();
    let grid_kernel = |grid: lowp_formats::FloatGrid| {
        let lean = match rounding {
            lowp_formats::Rounding::Nearest => {
                fast::NearestKernel::new(&grid).map(fast::Kernel::Nearest)
            }
            lowp_formats::Rounding::Stochastic { bits } => {
                fast::StochasticKernel::new(&grid, bits).map(fast::Kernel::Stochastic)
            }
            _ => None,
        };
        lean.or_else(|| fast::GridKernel::new(&grid, rounding).map(fast::Kernel::Grid))
    };
    let kernel = match quantizer.format() {
        Format::Float(f) => grid_kernel(f.grid()),
        Format::P3109(p) => grid_kernel(p.grid()),
        Format::Fixed(f) => match rounding {
            lowp_formats::Rounding::Nearest => {
                fast::FixedNearestKernel::new(f).map(fast::Kernel::FixedNearest)
            }
            lowp_formats::Rounding::Stochastic { bits } => {
                fast::FixedStochasticKernel::new(f, bits).map(fast::Kernel::FixedStochastic)
            }
            _ => None,
        }
        .or(Some(fast::Kernel::Fixed(fast::FixedKernel::new(
            f, rounding,
        )))),
        Format::SuperFp(_) | Format::Block(_) => None,
    };
    let mut out = new_output(data.len());
    let body = |(chunk_index, (source, target)): (usize, (&[f32], &mut [f32]))| -> Result<()> {
        let first = (chunk_index * CHUNK) as u64;
        match &kernel {
            Some(kernel) => {
                fast::quantize_chunk(kernel, rounding, quantizer.seed(), first, source, target)
            }
            None => {
                for (offset, (x, y)) in source.iter().zip(target.iter_mut()).enumerate() {
                    let word = quantizer.word(first + offset as u64);
                    *y = f32::from_bits(quantizer.quantize_bits(x.to_bits(), word)?);
                }
            }
        }
        Ok(())
    };
    #[cfg(feature = "rayon")]
    if parallel {
        use rayon::prelude::*;
        data.par_chunks(CHUNK)
            .zip(out.par_chunks_mut(CHUNK))
            .enumerate()
            .try_for_each(body)?;
        return Ok(out);
    }
    let _ = parallel;
    data.chunks(CHUNK)
        .zip(out.chunks_mut(CHUNK))
        .enumerate()
        .try_for_each(body)?;
    Ok(out)
}

/// A zeroed output vector of `len` values. Large vectors come straight from the kernel's zero
/// pages (calloc/mmap); on Linux they are advised to use transparent huge pages before the first
/// write, which makes their page faults much cheaper.
fn new_output(len: usize) -> Vec<f32> {
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut out = vec![0f32; len];
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 1 << 21;
        let start = out.as_mut_ptr() as usize;
        let end = start + len * size_of::<f32>();
        let first = start.next_multiple_of(HUGE_PAGE);
        let last = end & !(HUGE_PAGE - 1);
        if last > first {
            // SAFETY: [first, last) lies inside the vector's allocation, which lives until after
            // the call; MADV_HUGEPAGE only changes how the kernel backs those pages, not their
            // contents. A failure just leaves ordinary pages, so the result is ignored.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    out
}
