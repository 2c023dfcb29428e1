//! The backends `--backend` selects: their names, how each is opened, and the bench rows each
//! measures. Everything else the commands do is generic over [`lowp::backend::Backend`].

use anyhow::Result;
use lowp::backend::CpuBackend;
use lowp::bench::{BenchRow, QgemmRow};

/// A backend the CLI can run on.
pub trait CliBackend: lowp::conformance::LayerDevice + Sized {
    /// The name `--backend` takes.
    const NAME: &'static str;

    /// Opens the backend; a backend that cannot run here (e.g. wgpu without an adapter) gives
    /// `backend NAME is unavailable: ...`.
    fn open() -> Result<Self>;

    /// The quantize rows of `lowp bench` over `n` elements.
    fn quantize_rows(&self, n: usize) -> Result<Vec<BenchRow>>;

    /// The qgemm rows of `lowp bench` at `size³` for each of `sizes`.
    fn qgemm_rows(&self, sizes: &[usize]) -> Result<Vec<QgemmRow>>;
}

impl CliBackend for CpuBackend {
    const NAME: &'static str = "cpu";

    fn open() -> Result<Self> {
        Ok(CpuBackend::new())
    }

    /// On one thread and on all threads (whatever thread count `self` has).
    fn quantize_rows(&self, n: usize) -> Result<Vec<BenchRow>> {
        Ok(lowp::bench::quantize_rows(n)?)
    }

    /// On one thread and on all threads, with the plain binary32 `matmul_f32` reference rows.
    fn qgemm_rows(&self, sizes: &[usize]) -> Result<Vec<QgemmRow>> {
        Ok(lowp::bench::qgemm_rows(sizes)?)
    }
}

#[cfg(feature = "wgpu")]
impl CliBackend for lowp_wgpu::WgpuBackend {
    const NAME: &'static str = "wgpu";

    fn open() -> Result<Self> {
        Ok(lowp_wgpu::WgpuBackend::new()?)
    }

    /// Threads reported as 0 (not applicable); every figure includes the download of the result.
    fn quantize_rows(&self, n: usize) -> Result<Vec<BenchRow>> {
        Ok(lowp::bench::quantize_rows_on(self, 0, n)?)
    }

    /// Threads reported as 0 (not applicable); every figure includes the download of C.
    fn qgemm_rows(&self, sizes: &[usize]) -> Result<Vec<QgemmRow>> {
        Ok(lowp::bench::qgemm_rows_on(self, 0, sizes)?)
    }
}

/// The names `--backend` accepts in this build, in the order the help and errors list them.
pub const AVAILABLE: &[&str] = &[
    CpuBackend::NAME,
    #[cfg(feature = "wgpu")]
    lowp_wgpu::WgpuBackend::NAME,
];
