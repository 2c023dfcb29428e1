//! The optional cuBLAS fast path of [`lowp_backend::Backend::qgemm`] (mptorch's
//! `cublas_acceleration`): **not bit-exact**, off by default.
//!
//! When enabled ([`CudaBackend::set_cublas_acceleration`]), a GEMM whose spec is *native* runs as
//! one `cublasGemmStridedBatchedEx` call instead of lowp's kernel. A spec is native when its
//! rounding is [`Rounding::Nearest`], it is fused (`fma`), its accumulation is
//! [`Accumulation::Sequential`], `K >= 1`, `batch`, `M`, `K` and `N` are below 2^31, and its
//! `(mul, add)` formats are one of these presets (subnormals on, no saturation):
//!
//! | mul  | add  | A, B stored as | C stored as | cuBLAS compute type                       |
//! |------|------|----------------|-------------|-------------------------------------------|
//! | fp32 | fp32 | binary32       | binary32    | `32F`, or `32F_FAST_16F/16BF/TF32` by [`FastMode`] |
//! | tf32 | fp32 | binary32       | binary32    | `32F_FAST_TF32`                           |
//! | fp16 | fp32 | binary16       | binary32    | `32F`                                     |
//! | fp16 | fp16 | binary16       | binary16    | `16F`                                     |
//! | bf16 | fp32 | bfloat16       | binary32    | `32F`                                     |
//!
//! The mul format (ignored by the bit-exact kernel in fma mode) names the type A and B are stored
//! in for cuBLAS: binary32 inputs are converted to binary16 or bfloat16 on the device, rounded to
//! nearest even (exact when they are already representable, e.g. quantized by a Q-layer's input
//! quantizers). cuBLAS then sums in its own order and precision, so the result differs from the
//! bit-exact kernel by rounding errors of the add format's size (see docs/semantics-notes.md).
//! Every other spec runs the bit-exact kernel unchanged; [`CudaBackend::cublas_route`] says
//! which path a spec takes and [`CudaBackend::cublas_gemms`] counts the GEMMs that took this one.

use crate::device::{ByValue, CudaBackend, CudaBuffer, device_error, unavailable};
use crate::kernels::Family;
use crate::params::DispatchParams;
use cudarc::cublas::CudaBlas;
use cudarc::cublas::sys::{cublasComputeType_t, cublasGemmAlgo_t, cublasOperation_t, cudaDataType};
use cudarc::driver::{CudaSlice, DevicePtr, DevicePtrMut, PushKernelArg};
use lowp_backend::Result;
use lowp_formats::{Accumulation, Format, GemmSpec, Rounding};
use std::ffi::c_void;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The lower-precision type cuBLAS may convert binary32 inputs to for tensor cores in the
/// fp32/fp32 route (mptorch's `fast_mode`): compute type `CUBLAS_COMPUTE_32F_FAST_16F`,
/// `_FAST_16BF` or `_FAST_TF32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FastMode {
    /// binary16 inputs (`32F_FAST_16F`).
    F16,
    /// bfloat16 inputs (`32F_FAST_16BF`).
    Bf16,
    /// TensorFloat-32 inputs (`32F_FAST_TF32`).
    Tf32,
}

impl FastMode {
    /// The name [`FastMode::from_str`] takes: `f16`, `bf16`, `tf32`.
    pub fn name(&self) -> &'static str {
        match self {
            FastMode::F16 => "f16",
            FastMode::Bf16 => "bf16",
            FastMode::Tf32 => "tf32",
        }
    }
}

impl fmt::Display for FastMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FastMode {
    type Err = String;

    /// `f16`, `bf16` or `tf32`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "f16" => Ok(FastMode::F16),
            "bf16" => Ok(FastMode::Bf16),
            "tf32" => Ok(FastMode::Tf32),
            other => Err(format!(
                "unknown cuBLAS fast mode '{other}'; expected f16, bf16 or tf32"
            )),
        }
    }
}

/// The cuBLAS fast path's setting on a [`CudaBackend`] (mptorch's
/// `cublas_acceleration(enabled, fast_mode)`). The default is off: every GEMM bit-exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CublasAcceleration {
    /// Whether native GEMMs (see the [module](self) table) run through cuBLAS.
    pub enabled: bool,
    /// Lets cuBLAS convert binary32 inputs of the fp32/fp32 route to a tensor-core type.
    pub fast_mode: Option<FastMode>,
}

/// The storage type of a cuBLAS GEMM operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CublasType {
    /// binary32 (`CUDA_R_32F`): the backend's buffers as they are.
    F32,
    /// binary16 (`CUDA_R_16F`): converted on the device, rounded to nearest even.
    F16,
    /// bfloat16 (`CUDA_R_16BF`): converted on the device, rounded to nearest even.
    Bf16,
}

impl CublasType {
    fn data_type(self) -> cudaDataType {
        match self {
            CublasType::F32 => cudaDataType::CUDA_R_32F,
            CublasType::F16 => cudaDataType::CUDA_R_16F,
            CublasType::Bf16 => cudaDataType::CUDA_R_16BF,
        }
    }
}

/// cuBLAS's compute type of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CublasCompute {
    /// `CUBLAS_COMPUTE_32F`: binary32 accumulation.
    F32,
    /// `CUBLAS_COMPUTE_16F`: binary16 accumulation.
    F16,
    /// `CUBLAS_COMPUTE_32F_FAST_16F`: binary32 accumulation of inputs cuBLAS may round to binary16.
    F32Fast16F,
    /// `CUBLAS_COMPUTE_32F_FAST_16BF`: binary32 accumulation of inputs cuBLAS may round to bfloat16.
    F32Fast16Bf,
    /// `CUBLAS_COMPUTE_32F_FAST_TF32`: binary32 accumulation of inputs cuBLAS may round to TF32.
    F32FastTf32,
}

impl CublasCompute {
    fn compute_type(self) -> cublasComputeType_t {
        match self {
            CublasCompute::F32 => cublasComputeType_t::CUBLAS_COMPUTE_32F,
            CublasCompute::F16 => cublasComputeType_t::CUBLAS_COMPUTE_16F,
            CublasCompute::F32Fast16F => cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_16F,
            CublasCompute::F32Fast16Bf => cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_16BF,
            CublasCompute::F32FastTf32 => cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32,
        }
    }
}

/// How a native GEMM runs on cuBLAS: the storage of A and B, of C, and the compute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CublasRoute {
    /// How A and B are stored for cuBLAS.
    pub inputs: CublasType,
    /// How cuBLAS writes C (binary16 results are widened to binary32 exactly).
    pub output: CublasType,
    /// The compute type.
    pub compute: CublasCompute,
}

/// The native GEMMs of the [module](self) table: `(mul, add, fast mode, route)`, with the route
/// cuBLAS runs them on. [`CublasRoute::of`] decides from the spec; the tests check it against
/// this table and run every entry.
pub const NATIVE_ROUTES: [(&str, &str, Option<FastMode>, CublasRoute); 9] = [
    (
        "fp32",
        "fp32",
        None,
        CublasRoute {
            inputs: CublasType::F32,
            output: CublasType::F32,
            compute: CublasCompute::F32,
        },
    ),
    (
        "fp32",
        "fp32",
        Some(FastMode::F16),
        CublasRoute {
            inputs: CublasType::F32,
            output: CublasType::F32,
            compute: CublasCompute::F32Fast16F,
        },
    ),
    (
        "fp32",
        "fp32",
        Some(FastMode::Bf16),
        CublasRoute {
            inputs: CublasType::F32,
            output: CublasType::F32,
            compute: CublasCompute::F32Fast16Bf,
        },
    ),
    (
        "fp32",
        "fp32",
        Some(FastMode::Tf32),
        CublasRoute {
            inputs: CublasType::F32,
            output: CublasType::F32,
            compute: CublasCompute::F32FastTf32,
        },
    ),
    (
        "tf32",
        "fp32",
        None,
        CublasRoute {
            inputs: CublasType::F32,
            output: CublasType::F32,
            compute: CublasCompute::F32FastTf32,
        },
    ),
    (
        "fp16",
        "fp32",
        None,
        CublasRoute {
            inputs: CublasType::F16,
            output: CublasType::F32,
            compute: CublasCompute::F32,
        },
    ),
    // A fast mode changes nothing for inputs that already have a 16-bit type.
    (
        "fp16",
        "fp32",
        Some(FastMode::Bf16),
        CublasRoute {
            inputs: CublasType::F16,
            output: CublasType::F32,
            compute: CublasCompute::F32,
        },
    ),
    (
        "fp16",
        "fp16",
        None,
        CublasRoute {
            inputs: CublasType::F16,
            output: CublasType::F16,
            compute: CublasCompute::F16,
        },
    ),
    (
        "bf16",
        "fp32",
        None,
        CublasRoute {
            inputs: CublasType::Bf16,
            output: CublasType::F32,
            compute: CublasCompute::F32,
        },
    ),
];

impl CublasRoute {
    /// The route of `spec` with `fast_mode`, or `None` when the spec is not native (see the
    /// [module](self) table): such a GEMM runs the bit-exact kernel.
    pub fn of(spec: &GemmSpec, fast_mode: Option<FastMode>) -> Option<Self> {
        let below_2_31 = |extent: usize| extent <= i32::MAX as usize;
        let native = spec.fma
            && spec.rounding == Rounding::Nearest
            && spec.accumulation == Accumulation::Sequential
            && spec.k >= 1
            && [spec.batch, spec.m, spec.k, spec.n]
                .into_iter()
                .all(below_2_31);
        if !native {
            return None;
        }
        let preset = |name: &str| Format::preset(name).ok();
        let (mul, add) = (Some(spec.mul), Some(spec.add));
        let route = |inputs, output, compute| {
            Some(CublasRoute {
                inputs,
                output,
                compute,
            })
        };
        if add == preset("fp32") {
            if mul == preset("fp32") {
                let compute = match fast_mode {
                    None => CublasCompute::F32,
                    Some(FastMode::F16) => CublasCompute::F32Fast16F,
                    Some(FastMode::Bf16) => CublasCompute::F32Fast16Bf,
                    Some(FastMode::Tf32) => CublasCompute::F32FastTf32,
                };
                return route(CublasType::F32, CublasType::F32, compute);
            }
            if mul == preset("tf32") {
                return route(CublasType::F32, CublasType::F32, CublasCompute::F32FastTf32);
            }
            if mul == preset("fp16") {
                return route(CublasType::F16, CublasType::F32, CublasCompute::F32);
            }
            if mul == preset("bf16") {
                return route(CublasType::Bf16, CublasType::F32, CublasCompute::F32);
            }
        }
        if add == preset("fp16") && mul == preset("fp16") {
            return route(CublasType::F16, CublasType::F16, CublasCompute::F16);
        }
        None
    }
}

/// The enabled fast path: the cuBLAS handle (bound to the backend's stream) and the fast mode.
#[derive(Debug)]
pub(crate) struct CublasState {
    blas: Arc<CudaBlas>,
    fast_mode: Option<FastMode>,
}

/// A 16-bit device array for cuBLAS.
type Half = CudaSlice<u16>;

/// An input of a cuBLAS call: the backend's binary32 values, or a 16-bit array.
#[derive(Clone, Copy)]
enum Operand<'a> {
    Wide(&'a CudaSlice<u32>),
    Narrow(&'a Half),
}

impl Operand<'_> {
    fn device_ptr<'s>(
        &'s self,
        stream: &'s cudarc::driver::CudaStream,
    ) -> (u64, cudarc::driver::SyncOnDrop<'s>) {
        match self {
            Operand::Wide(slice) => slice.device_ptr(stream),
            Operand::Narrow(slice) => slice.device_ptr(stream),
        }
    }
}

/// An owned array in cuBLAS's storage: binary32 or 16-bit.
#[derive(Debug)]
enum Stored {
    Wide(CudaSlice<u32>),
    Narrow(Half),
}

impl Stored {
    fn operand(&self) -> Operand<'_> {
        match self {
            Stored::Wide(slice) => Operand::Wide(slice),
            Stored::Narrow(slice) => Operand::Narrow(slice),
        }
    }
}

/// A native GEMM's A, B and C in the types cuBLAS reads and writes, from
/// [`CudaBackend::cublas_operands`], for [`CudaBackend::cublas_native`].
#[derive(Debug)]
pub struct CublasOperands {
    spec: GemmSpec,
    route: CublasRoute,
    a: Stored,
    b: Stored,
    c: Stored,
}

impl CublasOperands {
    /// The route the operands are stored for.
    pub fn route(&self) -> CublasRoute {
        self.route
    }
}

impl CudaBackend {
    /// Turns the cuBLAS fast path on or off for every later [`lowp_backend::Backend::qgemm`] on
    /// this backend. Enabling loads libcublas (`libcublas.so.13`, found on `LD_LIBRARY_PATH`) and
    /// creates a handle on the backend's stream; a missing library or a failing cuBLAS give
    /// [`lowp_backend::BackendError::Unavailable`] and leave the setting as it was.
    pub fn set_cublas_acceleration(&self, acceleration: CublasAcceleration) -> Result<()> {
        let state = if acceleration.enabled {
            // SAFETY: only tries to open the shared library.
            if !unsafe { cudarc::cublas::sys::is_culib_present() } {
                return Err(unavailable(
                    "cuBLAS acceleration: no cuBLAS library (libcublas.so.13) can be loaded; add its folder to LD_LIBRARY_PATH",
                ));
            }
            let blas = crate::device::without_panics(|| {
                CudaBlas::new(self.stream().clone())
                    .map_err(|error| unavailable(format!("cuBLAS acceleration: {error}")))
            })?;
            Some(CublasState {
                blas: Arc::new(blas),
                fast_mode: acceleration.fast_mode,
            })
        } else {
            None
        };
        *self.cublas_state() = state;
        Ok(())
    }

    /// The current cuBLAS setting (off unless [`CudaBackend::set_cublas_acceleration`] enabled
    /// it).
    pub fn cublas_acceleration(&self) -> CublasAcceleration {
        match self.cublas_state().as_ref() {
            Some(state) => CublasAcceleration {
                enabled: true,
                fast_mode: state.fast_mode,
            },
            None => CublasAcceleration::default(),
        }
    }

    /// The route `spec` takes on this backend now: `Some` when the fast path is enabled and the
    /// spec is native ([`CublasRoute::of`]), `None` when it runs the bit-exact kernel.
    pub fn cublas_route(&self, spec: &GemmSpec) -> Option<CublasRoute> {
        let state = self.cublas_state();
        CublasRoute::of(spec, state.as_ref()?.fast_mode)
    }

    /// How many GEMMs ran through cuBLAS on this backend so far.
    pub fn cublas_gemms(&self) -> u64 {
        self.cublas_count().load(Ordering::Relaxed)
    }

    /// Runs `spec` through cuBLAS when the fast path is enabled and the spec is native; `None`
    /// when the bit-exact kernel must run. The buffers' lengths are checked by the caller.
    pub(crate) fn try_cublas_gemm(
        &self,
        a: &CudaBuffer,
        b: &CudaBuffer,
        spec: &GemmSpec,
    ) -> Option<Result<CudaBuffer>> {
        let (blas, route) = self.cublas_plan(spec)?;
        let result = self.cublas_gemm(&blas, route, a, b, spec);
        if result.is_ok() {
            self.cublas_count().fetch_add(1, Ordering::Relaxed);
        }
        Some(result)
    }

    /// The handle and route of `spec` when the fast path is enabled and the spec is native.
    fn cublas_plan(&self, spec: &GemmSpec) -> Option<(Arc<CudaBlas>, CublasRoute)> {
        let state = self.cublas_state();
        let state = state.as_ref()?;
        Some((state.blas.clone(), CublasRoute::of(spec, state.fast_mode)?))
    }

    /// The fast path: A and B converted to the route's input type (binary32 is used as it is),
    /// the cuBLAS call, and a binary16 C widened to binary32.
    fn cublas_gemm(
        &self,
        blas: &CudaBlas,
        route: CublasRoute,
        a: &CudaBuffer,
        b: &CudaBuffer,
        spec: &GemmSpec,
    ) -> Result<CudaBuffer> {
        let (_, _, c_len) = spec.sizes();
        let a16 = self.narrow(&a.slice, a.len, route.inputs)?;
        let b16 = self.narrow(&b.slice, b.len, route.inputs)?;
        let mut output = self.storage_uninit(c_len)?;
        let a = a16
            .as_ref()
            .map_or(Operand::Wide(&a.slice), Operand::Narrow);
        let b = b16
            .as_ref()
            .map_or(Operand::Wide(&b.slice), Operand::Narrow);
        match route.output {
            CublasType::F32 => {
                self.launch_cublas(blas, route, spec, a, b, &mut output.slice)?;
            }
            _ => {
                let mut c16 = alloc_u16(self, c_len)?;
                self.launch_cublas(blas, route, spec, a, b, &mut c16)?;
                self.convert("half_to_float", &c16, &mut output.slice, c_len)?;
            }
        }
        Ok(output)
    }

    /// A native GEMM's operands already in the types cuBLAS reads and writes (A and B converted
    /// as the fast path converts them, C uninitialised in the route's output type), to time
    /// [`CudaBackend::cublas_native`] against the fast path. `Unavailable` when the fast path is
    /// off or `spec` is not native.
    pub fn cublas_operands(
        &self,
        a: &CudaBuffer,
        b: &CudaBuffer,
        spec: &GemmSpec,
    ) -> Result<CublasOperands> {
        spec.validate()?;
        let (a_len, b_len, c_len) = spec.sizes();
        if a.len != a_len || b.len != b_len {
            return Err(lowp_backend::BackendError::Shape(format!(
                "gemm {}×{}×{}×{}: A needs {a_len} values (has {}), B needs {b_len} (has {})",
                spec.batch, spec.m, spec.k, spec.n, a.len, b.len
            )));
        }
        let (_, route) = self.cublas_plan(spec).ok_or_else(|| {
            unavailable("cuBLAS operands: the fast path is off or the GEMM is not native")
        })?;
        let stored = |buffer: &CudaBuffer| -> Result<Stored> {
            Ok(
                match self.narrow(&buffer.slice, buffer.len, route.inputs)? {
                    Some(half) => Stored::Narrow(half),
                    None => Stored::Wide(
                        self.stream()
                            .clone_dtod(&buffer.slice)
                            .map_err(device_error)?,
                    ),
                },
            )
        };
        let c = match route.output {
            CublasType::F32 => Stored::Wide(self.storage_uninit(c_len)?.slice),
            _ => Stored::Narrow(alloc_u16(self, c_len)?),
        };
        Ok(CublasOperands {
            spec: *spec,
            route,
            a: stored(a)?,
            b: stored(b)?,
            c,
        })
    }

    /// The bare cuBLAS call on `operands` (no conversion): what calling cuBLAS natively costs.
    /// C is left in `operands` in the route's output type. `Unavailable` when the fast path is
    /// off.
    pub fn cublas_native(&self, operands: &mut CublasOperands) -> Result<()> {
        let state = self.cublas_state();
        let blas = state
            .as_ref()
            .ok_or_else(|| unavailable("cuBLAS native GEMM: the fast path is off"))?
            .blas
            .clone();
        drop(state);
        let CublasOperands {
            spec,
            route,
            a,
            b,
            c,
        } = operands;
        match c {
            Stored::Wide(c) => self.launch_cublas(&blas, *route, spec, a.operand(), b.operand(), c),
            Stored::Narrow(c) => {
                self.launch_cublas(&blas, *route, spec, a.operand(), b.operand(), c)
            }
        }
    }

    /// `C = A · B` for every batch entry by one `cublasGemmStridedBatchedEx`. cuBLAS is
    /// column-major: a row-major M×N matrix C is the column-major N×M matrix Cᵀ = Bᵀ·Aᵀ, so
    /// cuBLAS multiplies B (first operand, transposed when `transpose_b`) by A.
    fn launch_cublas<C>(
        &self,
        blas: &CudaBlas,
        route: CublasRoute,
        spec: &GemmSpec,
        a: Operand<'_>,
        b: Operand<'_>,
        c: &mut CudaSlice<C>,
    ) -> Result<()> {
        let (m, k, n) = (spec.m as i32, spec.k as i32, spec.n as i32);
        let operation = |transposed: bool| {
            if transposed {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        // Leading dimensions of the stored (row-major) arrays read as column-major.
        let ld_b = if spec.transpose_b { k } else { n };
        let ld_a = if spec.transpose_a { m } else { k };
        let one_f32 = 1.0f32;
        let zero_f32 = 0.0f32;
        let (one_f16, zero_f16) = (0x3c00u16, 0u16);
        let (alpha, beta): (*const c_void, *const c_void) = match route.compute {
            CublasCompute::F16 => (
                (&one_f16 as *const u16).cast(),
                (&zero_f16 as *const u16).cast(),
            ),
            _ => (
                (&one_f32 as *const f32).cast(),
                (&zero_f32 as *const f32).cast(),
            ),
        };
        // cuBLAS runs on the thread's current context: make it this backend's (another thread, or
        // a device other than 0).
        self.context().bind_to_thread().map_err(device_error)?;
        let stream = self.stream();
        let (a_ptr, a_sync) = a.device_ptr(stream);
        let (b_ptr, b_sync) = b.device_ptr(stream);
        let (c_ptr, c_sync) = c.device_ptr_mut(stream);
        // SAFETY: the pointers are live device arrays of batch·K·N (B), batch·M·K (A) and
        // batch·M·N (C) elements of the route's types on the handle's stream; the strides and
        // leading dimensions describe exactly those arrays; alpha and beta are host values of
        // the compute type's scalar type (binary16 for `16F`, binary32 otherwise). A library
        // lacking the entry point makes cudarc panic, which becomes `Unavailable`.
        crate::device::without_panics(|| {
            unsafe {
                cudarc::cublas::result::gemm_strided_batched_ex(
                    *blas.handle(),
                    operation(spec.transpose_b),
                    operation(spec.transpose_a),
                    n,
                    m,
                    k,
                    alpha,
                    b_ptr as *const c_void,
                    route.inputs.data_type(),
                    ld_b,
                    i64::from(k) * i64::from(n),
                    a_ptr as *const c_void,
                    route.inputs.data_type(),
                    ld_a,
                    i64::from(m) * i64::from(k),
                    beta,
                    c_ptr as *mut c_void,
                    route.output.data_type(),
                    n,
                    i64::from(m) * i64::from(n),
                    spec.batch as i32,
                    route.compute.compute_type(),
                    cublasGemmAlgo_t::CUBLAS_GEMM_DFALT,
                )
            }
            .map_err(|error| device_error(format!("cublasGemmStridedBatchedEx: {error}")))
        })?;
        drop((a_sync, b_sync, c_sync));
        Ok(())
    }

    /// `len` values of `source` stored as `to` for cuBLAS: `None` for binary32 (used as it is),
    /// else a new 16-bit array rounded to nearest even.
    fn narrow(&self, source: &CudaSlice<u32>, len: usize, to: CublasType) -> Result<Option<Half>> {
        let kernel = match to {
            CublasType::F32 => return Ok(None),
            CublasType::F16 => "to_half",
            CublasType::Bf16 => "to_bfloat16",
        };
        let mut half = alloc_u16(self, len)?;
        self.convert(kernel, source, &mut half, len)?;
        Ok(Some(half))
    }

    /// Runs the element-wise conversion `kernel` of `convert.cu` over `len` values.
    fn convert<S, D>(
        &self,
        kernel: &str,
        source: &CudaSlice<S>,
        destination: &mut CudaSlice<D>,
        len: usize,
    ) -> Result<()> {
        let module = self.module(Family::Convert)?;
        let function = module.function(kernel)?;
        for (start, count) in Self::chunks(len) {
            let params: DispatchParams = Self::dispatch(start, count);
            let end = (start + count) as usize;
            let source = source.slice(start as usize..end);
            let mut destination = destination.slice_mut(start as usize..end);
            // SAFETY: the kernel reads `count` values of `source` and writes `count` of
            // `destination` (the element types are the kernel's: u32 and u16).
            unsafe {
                self.stream()
                    .launch_builder(function)
                    .arg(&ByValue(params))
                    .arg(&source)
                    .arg(&mut destination)
                    .launch(Self::elementwise_config(count))
            }
            .map_err(device_error)?;
        }
        Ok(())
    }
}

/// A new 16-bit device array of `len` values (at least one) whose contents are unspecified.
fn alloc_u16(backend: &CudaBackend, len: usize) -> Result<Half> {
    // SAFETY: u16 has no invalid bit patterns; every caller writes all `len` values (a
    // conversion kernel or cuBLAS) before they are read.
    unsafe { backend.stream().alloc::<u16>(len.max(1)) }.map_err(device_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mul: &str, add: &str) -> GemmSpec {
        let format = |name: &str| name.parse::<Format>().unwrap();
        let mut spec = GemmSpec::new(2, 3, 4, 5, format(mul), format(add));
        spec.fma = true;
        spec
    }

    #[test]
    fn native_specs_take_their_documented_route() {
        for (mul, add, fast_mode, route) in NATIVE_ROUTES {
            assert_eq!(
                CublasRoute::of(&spec(mul, add), fast_mode),
                Some(route),
                "{mul}/{add} {fast_mode:?}"
            );
        }
    }

    #[test]
    fn other_specs_stay_on_the_bit_exact_kernel() {
        let mut unfused = spec("fp16", "fp32");
        unfused.fma = false;
        let mut stochastic = spec("fp32", "fp32");
        stochastic.rounding = Rounding::Stochastic { bits: 8 };
        let mut toward_zero = spec("fp32", "fp32");
        toward_zero.rounding = Rounding::TowardZero;
        let mut compensated = spec("fp32", "fp32");
        compensated.accumulation = Accumulation::Compensated;
        let mut empty_k = spec("fp32", "fp32");
        empty_k.k = 0;
        let mut huge = spec("fp32", "fp32");
        huge.m = 1 << 31;
        let saturating = {
            let mut spec = spec("fp32", "fp32");
            spec.add = "fp16(saturate=true)".parse().unwrap();
            spec.mul = spec.add;
            spec
        };
        let no_subnormals = {
            let mut spec = spec("fp16", "fp32");
            spec.mul = "fp16(subnormals=false)".parse().unwrap();
            spec
        };
        for spec in [
            unfused,
            stochastic,
            toward_zero,
            compensated,
            empty_k,
            huge,
            saturating,
            no_subnormals,
            spec("bf16", "bf16"),
            spec("e4m3", "fp32"),
            spec("fp32", "fp16"),
            spec("fp16", "tf32"),
        ] {
            assert_eq!(
                CublasRoute::of(&spec, Some(FastMode::Tf32)),
                None,
                "{spec:?}"
            );
        }
    }

    #[test]
    fn fast_modes_parse_and_print() {
        for mode in [FastMode::F16, FastMode::Bf16, FastMode::Tf32] {
            assert_eq!(mode.to_string().parse::<FastMode>(), Ok(mode));
        }
        assert!("fp16".parse::<FastMode>().is_err());
    }
}
