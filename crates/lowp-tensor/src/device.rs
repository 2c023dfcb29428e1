//! [`Device`]: the compiled-in backends behind one enum, and [`Storage`], a buffer on one of them.
//!
//! Every backend operation is described by a [`Kernel`] and run by [`Device::run`], which matches
//! the device once and calls the generic [`Backend`] method. A backend is one variant in
//! [`Device`] and [`Storage`] plus one arm in `run`, `upload`, `download` and `name`.

use crate::error::{Result, TensorError};
use lowp_backend::{Backend, ConvGeometry, CpuBackend, CpuBuffer, SliceRange};
use lowp_formats::{BinaryOp, GemmSpec, Quantizer, ReduceOp, UnaryOp};
use std::sync::Arc;

/// A compute device: one of the compiled-in backends, shared by the tensors that live on it.
#[derive(Debug, Clone)]
pub enum Device {
    /// The multithreaded CPU backend (bit-exact reference).
    Cpu(Arc<CpuBackend>),
    /// The WGSL backend (wgpu: Vulkan, GL, Metal, DX12, WebGPU).
    #[cfg(feature = "wgpu")]
    Wgpu(Arc<lowp_wgpu::WgpuBackend>),
    /// The CUDA backend (NVRTC-compiled kernels on an NVIDIA GPU).
    #[cfg(feature = "cuda")]
    Cuda(Arc<lowp_cuda::CudaBackend>),
}

/// A device buffer of binary32 values (row-major, contiguous).
#[derive(Debug, Clone)]
pub enum Storage {
    /// A host buffer of the CPU backend.
    Cpu(CpuBuffer),
    /// A wgpu storage buffer.
    #[cfg(feature = "wgpu")]
    Wgpu(lowp_wgpu::WgpuBuffer),
    /// A CUDA device allocation (shared: CUDA buffers are not cloneable).
    #[cfg(feature = "cuda")]
    Cuda(Arc<lowp_cuda::CudaBuffer>),
}

/// One backend operation with its parameters (see the [`Backend`] method of the same name for
/// the exact semantics). The input buffers are passed next to it to [`Device::run`].
#[derive(Debug, Clone)]
pub enum Kernel<'a> {
    /// `Q(x)` over `shape` (1 input).
    Quantize {
        /// Shape of the input.
        shape: &'a [usize],
        /// The quantizer.
        quantizer: &'a Quantizer,
    },
    /// Batched quantized GEMM (2 inputs: A, B).
    Qgemm(&'a GemmSpec),
    /// `Q(op(x))` (1 input).
    Unary {
        /// The operation.
        op: UnaryOp,
        /// Shape of the input.
        shape: &'a [usize],
        /// Optional output quantizer.
        quantizer: Option<&'a Quantizer>,
    },
    /// `Q(op(x, y))` on equal shapes (2 inputs).
    Binary {
        /// The operation.
        op: BinaryOp,
        /// Shape of both inputs.
        shape: &'a [usize],
        /// Optional output quantizer.
        quantizer: Option<&'a Quantizer>,
    },
    /// `cond != 0 ? x : y` (3 inputs: cond, x, y).
    Select,
    /// Reduction along `axis` (1 input).
    Reduce {
        /// The reduction.
        op: ReduceOp,
        /// Shape of the input.
        shape: &'a [usize],
        /// The reduced axis.
        axis: usize,
        /// Optional per-step quantizer.
        quantizer: Option<&'a Quantizer>,
    },
    /// Axis permutation (1 input).
    Permute {
        /// Shape of the input.
        shape: &'a [usize],
        /// Output axis i is input axis `axes[i]`.
        axes: &'a [usize],
    },
    /// Broadcast (1 input).
    Expand {
        /// Shape of the input.
        shape: &'a [usize],
        /// Target shape.
        target: &'a [usize],
    },
    /// Strided slice (1 input).
    Slice {
        /// Shape of the input.
        shape: &'a [usize],
        /// One range per axis.
        ranges: &'a [SliceRange],
    },
    /// Concatenation along `axis` (one input per entry of `shapes`).
    Concat {
        /// Shapes of the inputs.
        shapes: &'a [Vec<usize>],
        /// The concatenation axis.
        axis: usize,
    },
    /// `index_select` along `axis` (1 input).
    Gather {
        /// Shape of the input.
        shape: &'a [usize],
        /// The axis.
        axis: usize,
        /// Indices into `axis`.
        indices: &'a [u32],
    },
    /// Adjoint of gather (1 input).
    ScatterAdd {
        /// Shape of the source.
        shape: &'a [usize],
        /// The axis.
        axis: usize,
        /// Target positions along `axis`.
        indices: &'a [u32],
        /// Length of `axis` in the output.
        extent: usize,
    },
    /// Convolution patches (1 input).
    Im2col(&'a ConvGeometry),
    /// Adjoint of im2col (1 input).
    Col2im(&'a ConvGeometry),
}

/// Runs `kernel` on one backend.
fn run_on<B: Backend>(
    backend: &B,
    kernel: &Kernel<'_>,
    inputs: &[&B::Buffer],
) -> Result<B::Buffer> {
    let arity = match kernel {
        Kernel::Qgemm(_) | Kernel::Binary { .. } => 2,
        Kernel::Select => 3,
        Kernel::Concat { shapes, .. } => shapes.len(),
        _ => 1,
    };
    if inputs.len() != arity {
        return Err(TensorError::shape(
            "kernel",
            format!("{kernel:?} takes {arity} inputs, got {}", inputs.len()),
        ));
    }
    let x = inputs[0];
    Ok(match kernel {
        Kernel::Quantize { shape, quantizer } => backend.quantize(x, shape, quantizer)?,
        Kernel::Qgemm(spec) => backend.qgemm(x, inputs[1], spec)?,
        Kernel::Unary {
            op,
            shape,
            quantizer,
        } => backend.unary(*op, x, shape, *quantizer)?,
        Kernel::Binary {
            op,
            shape,
            quantizer,
        } => backend.binary(*op, x, inputs[1], shape, *quantizer)?,
        Kernel::Select => backend.select(x, inputs[1], inputs[2])?,
        Kernel::Reduce {
            op,
            shape,
            axis,
            quantizer,
        } => backend.reduce(*op, x, shape, *axis, *quantizer)?,
        Kernel::Permute { shape, axes } => backend.permute(x, shape, axes)?,
        Kernel::Expand { shape, target } => backend.expand(x, shape, target)?,
        Kernel::Slice { shape, ranges } => backend.slice(x, shape, ranges)?,
        Kernel::Concat { shapes, axis } => {
            let parts: Vec<(&B::Buffer, &[usize])> = inputs
                .iter()
                .zip(shapes.iter())
                .map(|(buffer, shape)| (*buffer, shape.as_slice()))
                .collect();
            backend.concat(&parts, *axis)?
        }
        Kernel::Gather {
            shape,
            axis,
            indices,
        } => backend.gather(x, shape, *axis, indices)?,
        Kernel::ScatterAdd {
            shape,
            axis,
            indices,
            extent,
        } => backend.scatter_add(x, shape, *axis, indices, *extent)?,
        Kernel::Im2col(geometry) => backend.im2col(x, geometry)?,
        Kernel::Col2im(geometry) => backend.col2im(x, geometry)?,
    })
}

impl Device {
    /// The CPU backend on rayon's global pool (single-threaded without the `rayon` feature).
    pub fn cpu() -> Self {
        Device::Cpu(Arc::new(CpuBackend::new()))
    }

    /// A device of an existing CPU backend (e.g. [`CpuBackend::scalar`]).
    pub fn from_cpu(backend: CpuBackend) -> Self {
        Device::Cpu(Arc::new(backend))
    }

    /// Opens the default wgpu adapter (blocking; native only).
    #[cfg(all(feature = "wgpu", not(target_arch = "wasm32")))]
    pub fn wgpu() -> Result<Self> {
        Ok(Device::Wgpu(Arc::new(lowp_wgpu::WgpuBackend::new()?)))
    }

    /// Opens the default wgpu adapter (asynchronous: the only way in a browser).
    #[cfg(feature = "wgpu")]
    pub async fn wgpu_async() -> Result<Self> {
        Ok(Device::Wgpu(Arc::new(
            lowp_wgpu::WgpuBackend::request().await?,
        )))
    }

    /// Opens the first CUDA device (`Unavailable` without a driver, NVRTC or device).
    #[cfg(feature = "cuda")]
    pub fn cuda() -> Result<Self> {
        Ok(Device::Cuda(Arc::new(lowp_cuda::CudaBackend::new()?)))
    }

    /// Opens the first CUDA device with its cuBLAS fast path set to `acceleration`: when enabled,
    /// every GEMM (Q-layers included) whose formats cuBLAS has runs through cuBLAS, which is
    /// **not bit-exact** (`lowp_cuda::cublas`); the others stay bit-exact. `Unavailable` without a
    /// driver, NVRTC or device, or, when enabled, without libcublas. Match [`Device::Cuda`] for
    /// the backend's `cublas_gemms` count.
    #[cfg(feature = "cuda")]
    pub fn cuda_with_cublas(acceleration: lowp_cuda::CublasAcceleration) -> Result<Self> {
        let backend = lowp_cuda::CudaBackend::new()?;
        backend.set_cublas_acceleration(acceleration)?;
        Ok(Device::Cuda(Arc::new(backend)))
    }

    /// Short name: `cpu`, `wgpu`, `cuda`.
    pub fn name(&self) -> &'static str {
        match self {
            Device::Cpu(backend) => backend.name(),
            #[cfg(feature = "wgpu")]
            Device::Wgpu(backend) => backend.name(),
            #[cfg(feature = "cuda")]
            Device::Cuda(backend) => backend.name(),
        }
    }

    /// Whether tensors of both devices can meet in one operation: any two CPU devices (host
    /// buffers), or the same GPU backend instance.
    pub fn same(&self, other: &Device) -> bool {
        match (self, other) {
            (Device::Cpu(_), Device::Cpu(_)) => true,
            #[cfg(feature = "wgpu")]
            (Device::Wgpu(a), Device::Wgpu(b)) => Arc::ptr_eq(a, b),
            #[cfg(feature = "cuda")]
            (Device::Cuda(a), Device::Cuda(b)) => Arc::ptr_eq(a, b),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Copies host values to a new buffer on this device.
    pub fn upload(&self, data: &[f32]) -> Result<Storage> {
        Ok(match self {
            Device::Cpu(backend) => Storage::Cpu(backend.upload(data)?),
            #[cfg(feature = "wgpu")]
            Device::Wgpu(backend) => Storage::Wgpu(backend.upload(data)?),
            #[cfg(feature = "cuda")]
            Device::Cuda(backend) => Storage::Cuda(Arc::new(backend.upload(data)?)),
        })
    }

    /// Copies a buffer of this device back to the host.
    pub async fn download(&self, storage: &Storage) -> Result<Vec<f32>> {
        match (self, storage) {
            (Device::Cpu(_), Storage::Cpu(buffer)) => Ok(buffer.as_slice().to_vec()),
            #[cfg(feature = "wgpu")]
            (Device::Wgpu(backend), Storage::Wgpu(buffer)) => Ok(backend.download(buffer).await?),
            #[cfg(feature = "cuda")]
            (Device::Cuda(backend), Storage::Cuda(buffer)) => Ok(backend.download(buffer).await?),
            #[allow(unreachable_patterns)]
            _ => Err(self.mismatch("download", storage)),
        }
    }

    /// The host values of a CPU buffer without waiting (`None` for other devices).
    pub(crate) fn host_values(storage: &Storage) -> Option<&[f32]> {
        match storage {
            Storage::Cpu(buffer) => Some(buffer.as_slice()),
            #[cfg(feature = "wgpu")]
            Storage::Wgpu(_) => None,
            #[cfg(feature = "cuda")]
            Storage::Cuda(_) => None,
        }
    }

    fn mismatch(&self, op: &'static str, storage: &Storage) -> TensorError {
        TensorError::DeviceMismatch {
            op,
            left: self.name(),
            right: storage.device_name(),
        }
    }

    /// Runs `kernel` on `inputs` (all on this device), returning the new buffer.
    pub fn run(&self, kernel: &Kernel<'_>, inputs: &[&Storage]) -> Result<Storage> {
        match self {
            Device::Cpu(backend) => {
                let buffers = inputs
                    .iter()
                    .map(|storage| match storage {
                        Storage::Cpu(buffer) => Ok(buffer),
                        #[allow(unreachable_patterns)]
                        other => Err(self.mismatch("kernel", other)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Storage::Cpu(run_on(backend.as_ref(), kernel, &buffers)?))
            }
            #[cfg(feature = "wgpu")]
            Device::Wgpu(backend) => {
                let buffers = inputs
                    .iter()
                    .map(|storage| match storage {
                        Storage::Wgpu(buffer) => Ok(buffer),
                        #[allow(unreachable_patterns)]
                        other => Err(self.mismatch("kernel", other)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Storage::Wgpu(run_on(backend.as_ref(), kernel, &buffers)?))
            }
            #[cfg(feature = "cuda")]
            Device::Cuda(backend) => {
                let buffers = inputs
                    .iter()
                    .map(|storage| match storage {
                        Storage::Cuda(buffer) => Ok(buffer.as_ref()),
                        #[allow(unreachable_patterns)]
                        other => Err(self.mismatch("kernel", other)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let output = run_on(backend.as_ref(), kernel, &buffers)?;
                Ok(Storage::Cuda(Arc::new(output)))
            }
        }
    }
}

impl Storage {
    /// Name of the device kind this buffer lives on.
    pub fn device_name(&self) -> &'static str {
        match self {
            Storage::Cpu(_) => "cpu",
            #[cfg(feature = "wgpu")]
            Storage::Wgpu(_) => "wgpu",
            #[cfg(feature = "cuda")]
            Storage::Cuda(_) => "cuda",
        }
    }
}
