//! The backends `--backend` selects: their names, how each is opened, and the bench rows each
//! measures. Everything else the commands do is generic over [`lowp::backend::Backend`].

use anyhow::{Result, bail};
use lowp::backend::CpuBackend;
use lowp::bench::{BenchRow, QgemmRow};

/// The global `--cublas` and `--fast-mode` options: the CUDA backend's cuBLAS fast path, which is
/// not bit-exact (docs/api.md, "cuBLAS fast path").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct CublasArgs {
    /// Run GEMMs whose formats cuBLAS has (fused, round-to-nearest; fp32, tf32/fp32, fp16/fp32,
    /// fp16/fp16, bf16/fp32) through cuBLAS on --backend cuda: faster, NOT bit-exact; every other
    /// GEMM stays bit-exact. `lowp bench` adds rows of the fast path and of native cuBLAS.
    #[arg(long, global = true)]
    pub cublas: bool,
    /// With --cublas: let cuBLAS round fp32 GEMM inputs to `f16`, `bf16` or `tf32` for tensor
    /// cores.
    #[arg(
        long,
        global = true,
        value_name = "MODE",
        requires = "cublas",
        value_enum
    )]
    pub fast_mode: Option<FastModeArg>,
}

/// `--fast-mode`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FastModeArg {
    /// binary16 inputs (`CUBLAS_COMPUTE_32F_FAST_16F`).
    F16,
    /// bfloat16 inputs (`CUBLAS_COMPUTE_32F_FAST_16BF`).
    Bf16,
    /// TensorFloat-32 inputs (`CUBLAS_COMPUTE_32F_FAST_TF32`).
    Tf32,
}

impl CublasArgs {
    /// An error when `--cublas` is given for `backend`, which has no cuBLAS fast path.
    pub fn reject_on(&self, backend: &str) -> Result<()> {
        if self.cublas {
            bail!("--cublas needs --backend cuda (backend {backend} has no cuBLAS fast path)");
        }
        Ok(())
    }

    /// The CUDA backend's setting.
    #[cfg(feature = "cuda")]
    pub fn acceleration(&self) -> lowp_cuda::CublasAcceleration {
        lowp_cuda::CublasAcceleration {
            enabled: self.cublas,
            fast_mode: self.fast_mode.map(|mode| match mode {
                FastModeArg::F16 => lowp_cuda::FastMode::F16,
                FastModeArg::Bf16 => lowp_cuda::FastMode::Bf16,
                FastModeArg::Tf32 => lowp_cuda::FastMode::Tf32,
            }),
        }
    }
}

/// A backend the CLI can run on.
pub trait CliBackend: lowp::conformance::LayerDevice + Sized {
    /// The name `--backend` takes.
    const NAME: &'static str;

    /// Opens the backend with the cuBLAS fast path as `cublas` asks (an error on backends other
    /// than cuda); a backend that cannot run here (e.g. wgpu without an adapter) gives
    /// `backend NAME is unavailable: ...`.
    fn open(cublas: &CublasArgs) -> Result<Self>;

    /// The quantize rows of `lowp bench` over `n` elements.
    fn quantize_rows(&self, n: usize) -> Result<Vec<BenchRow>>;

    /// The qgemm rows of `lowp bench` at `size³` for each of `sizes`.
    fn qgemm_rows(&self, sizes: &[usize]) -> Result<Vec<QgemmRow>>;
}

impl CliBackend for CpuBackend {
    const NAME: &'static str = "cpu";

    fn open(cublas: &CublasArgs) -> Result<Self> {
        cublas.reject_on(Self::NAME)?;
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

    fn open(cublas: &CublasArgs) -> Result<Self> {
        cublas.reject_on(Self::NAME)?;
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

#[cfg(feature = "cuda")]
impl CliBackend for lowp_cuda::CudaBackend {
    const NAME: &'static str = "cuda";

    /// With `--cublas`, libcublas must load (`backend cuda is unavailable: cuBLAS acceleration:
    /// ...` otherwise).
    fn open(cublas: &CublasArgs) -> Result<Self> {
        let backend = lowp_cuda::CudaBackend::new()?;
        backend.set_cublas_acceleration(cublas.acceleration())?;
        Ok(backend)
    }

    /// Threads reported as 0; each timed call is followed by a device synchronisation (the result
    /// stays on the device), plus one `copy` row (device-to-device bandwidth).
    fn quantize_rows(&self, n: usize) -> Result<Vec<BenchRow>> {
        Ok(lowp::bench::cuda::quantize_rows(self, n)?)
    }

    /// Threads reported as 0; synchronised like the quantize rows; sizes from
    /// [`lowp::bench::cuda::LARGE_GEMM`] on measure e4m3/fp16 separate only. With `--cublas`,
    /// also [`lowp::bench::cuda::cublas_rows`] (the fast path and native cuBLAS).
    fn qgemm_rows(&self, sizes: &[usize]) -> Result<Vec<QgemmRow>> {
        let mut rows = lowp::bench::cuda::qgemm_rows(self, sizes)?;
        if self.cublas_acceleration().enabled {
            rows.extend(lowp::bench::cuda::cublas_rows(self, sizes)?);
        }
        Ok(rows)
    }
}

/// The names `--backend` accepts in this build, in the order the help and errors list them.
pub const AVAILABLE: &[&str] = &[
    CpuBackend::NAME,
    #[cfg(feature = "wgpu")]
    lowp_wgpu::WgpuBackend::NAME,
    #[cfg(feature = "cuda")]
    lowp_cuda::CudaBackend::NAME,
];

/// Opens `B`; a backend that cannot run here gives `backend NAME is unavailable: REASON
/// (backends in this build: ...)`.
pub fn open<B: CliBackend>(cublas: &CublasArgs) -> Result<B> {
    B::open(cublas).map_err(|error| {
        anyhow::anyhow!("{error} (backends in this build: {})", AVAILABLE.join(", "))
    })
}
