//! The CUDA device, its buffers, the lazily compiled kernel modules, quantize, and the
//! [`Backend`] implementation (the other op families are in `gemm.rs`, `ops.rs` and
//! `movement.rs`).

use crate::cublas::CublasState;
use crate::kernels::{self, Family};
use crate::params::{
    BlockLayoutParams, BlockParams, DispatchParams, QuantizeParams, QuantizerParams,
};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, CudaView, CudaViewMut,
    DeviceRepr, LaunchConfig, PushKernelArg,
};
use lowp_backend::{Backend, BackendError, ConvGeometry, Result, SliceRange, layout};
use lowp_formats::{BinaryOp, GemmSpec, Quantizer, ReduceOp, UnaryOp};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The backend's name in errors and reports.
pub(crate) const NAME: &str = "cuda";
/// Threads per block of the element-wise kernels (`WORKGROUP_SIZE` in common.cuh).
pub(crate) const WORKGROUP_SIZE: u32 = 256;
/// Values per launch of the element-wise kernels (their counts and indices are u32; the grid
/// has `CHUNK / 256` blocks, far below CUDA's 2^31 - 1).
pub(crate) const CHUNK: u64 = 1 << 30;

/// A kernel parameter block of [`crate::params`] passed to a kernel by value.
#[repr(transparent)]
pub(crate) struct ByValue<T>(pub(crate) T);

// SAFETY: the parameter blocks are #[repr(C)] structs of u32/i32 fields (Pod), the layouts of
// the C++ structs in kernels/; repr(transparent) keeps that layout.
unsafe impl<T: bytemuck::Pod> DeviceRepr for ByValue<T> {}

pub(crate) fn unavailable(reason: impl Into<String>) -> BackendError {
    BackendError::Unavailable {
        backend: NAME,
        reason: reason.into(),
    }
}

pub(crate) fn device_error(error: impl std::fmt::Display) -> BackendError {
    BackendError::Device {
        backend: NAME,
        message: error.to_string(),
    }
}

/// A device buffer of binary32 values (stored as their `u32` bit patterns) and its length in
/// values (an empty buffer still holds one value, as CUDA refuses empty allocations).
#[derive(Debug)]
pub struct CudaBuffer {
    pub(crate) slice: CudaSlice<u32>,
    pub(crate) len: usize,
}

impl CudaBuffer {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the buffer holds no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The values `start .. start + count` as a kernel argument.
    pub(crate) fn view(&self, start: u64, count: u64) -> CudaView<'_, u32> {
        self.slice
            .slice(start as usize..(start + count.max(1)) as usize)
    }
    /// The values `start .. start + count` as a mutable kernel argument.
    pub(crate) fn view_mut(&mut self, start: u64, count: u64) -> CudaViewMut<'_, u32> {
        self.slice
            .slice_mut(start as usize..(start + count.max(1)) as usize)
    }
}

/// One compiled op family: its module and its kernels by name.
#[derive(Debug)]
pub(crate) struct Module {
    _module: Arc<CudaModule>,
    functions: HashMap<&'static str, CudaFunction>,
}

impl Module {
    /// The kernel `name` (one of the family's entry points).
    pub(crate) fn function(&self, name: &str) -> Result<&CudaFunction> {
        self.functions
            .get(name)
            .ok_or_else(|| unavailable(format!("kernel {name} is missing from its module")))
    }
}

/// The CUDA backend: one device (a primary context) and its default stream; each op family's
/// module is compiled by NVRTC for the device's architecture on first use.
#[derive(Debug)]
pub struct CudaBackend {
    context: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    name: String,
    arch: String,
    modules: Mutex<HashMap<Family, Arc<OnceLock<Arc<Module>>>>>,
    /// The cuBLAS fast path when enabled (`cublas.rs`).
    cublas: Mutex<Option<CublasState>>,
    /// GEMMs that ran through cuBLAS.
    cublas_gemms: AtomicU64,
}

/// Runs `open`, turning a panic inside cudarc (e.g. a driver library lacking a symbol) into
/// [`BackendError::Unavailable`].
pub(crate) fn without_panics<T>(open: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "cudarc panicked".to_string());
        Err(unavailable(message))
    })
}

impl CudaBackend {
    /// Opens device 0, or the device `LOWP_CUDA_DEVICE` names (see [`CudaBackend::with_device`]).
    pub fn new() -> Result<Self> {
        let ordinal = match std::env::var("LOWP_CUDA_DEVICE") {
            Ok(value) => value.trim().parse().map_err(|_| {
                unavailable(format!("LOWP_CUDA_DEVICE={value} is not a device ordinal"))
            })?,
            Err(_) => 0,
        };
        Self::with_device(ordinal)
    }

    /// Opens device `ordinal`. No driver library (libcuda), no NVRTC library (libnvrtc.so.13, on
    /// `LD_LIBRARY_PATH`), no device or a failing driver give [`BackendError::Unavailable`].
    pub fn with_device(ordinal: usize) -> Result<Self> {
        // SAFETY: both only try to open the shared library.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(unavailable(
                "no CUDA driver library (libcuda.so) can be loaded",
            ));
        }
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(unavailable(
                "no NVRTC library (libnvrtc.so.13) can be loaded; add its folder to LD_LIBRARY_PATH",
            ));
        }
        without_panics(|| {
            let count = CudaContext::device_count()
                .map_err(|error| unavailable(format!("the CUDA driver fails: {error}")))?;
            if ordinal >= count.max(0) as usize {
                return Err(unavailable(format!(
                    "no CUDA device {ordinal} ({count} devices)"
                )));
            }
            let context = CudaContext::new(ordinal).map_err(|error| {
                unavailable(format!("cannot open CUDA device {ordinal}: {error}"))
            })?;
            // One stream: cudarc's cross-stream event tracking is not needed.
            // SAFETY: every operation of the backend runs on the context's default stream.
            unsafe { context.disable_event_tracking() };
            let (major, minor) = context
                .compute_capability()
                .map_err(|error| unavailable(format!("compute capability: {error}")))?;
            let name = context.name().unwrap_or_else(|_| "CUDA device".to_string());
            let stream = context.default_stream();
            Ok(Self {
                context,
                stream,
                name,
                arch: format!("{major}{minor}"),
                modules: Mutex::new(HashMap::new()),
                cublas: Mutex::new(None),
                cublas_gemms: AtomicU64::new(0),
            })
        })
    }

    /// The device's name (e.g. `NVIDIA H100 80GB HBM3`).
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// The device's compute capability as NVRTC's architecture number (e.g. `90`).
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// The cudarc context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.context
    }

    /// Waits until every operation issued so far has finished.
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(device_error)
    }

    /// A device-to-device copy of `buffer` (measures memory bandwidth in `lowp bench`).
    pub fn copy(&self, buffer: &CudaBuffer) -> Result<CudaBuffer> {
        let mut output = self.storage_uninit(buffer.len)?;
        self.stream
            .memcpy_dtod(&buffer.slice, &mut output.slice)
            .map_err(device_error)?;
        Ok(output)
    }

    /// The cuBLAS fast path's state (`None`: off).
    pub(crate) fn cublas_state(&self) -> MutexGuard<'_, Option<CublasState>> {
        self.cublas
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The count behind [`CudaBackend::cublas_gemms`].
    pub(crate) fn cublas_count(&self) -> &AtomicU64 {
        &self.cublas_gemms
    }

    /// The stream every operation runs on.
    pub(crate) fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The module of `family`, compiling it with NVRTC the first time (NVRTC's log is returned
    /// as [`BackendError::Unavailable`] if the kernels do not compile).
    pub(crate) fn module(&self, family: Family) -> Result<Arc<Module>> {
        let cell = {
            let mut modules = self
                .modules
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            modules.entry(family).or_default().clone()
        };
        if let Some(module) = cell.get() {
            return Ok(module.clone());
        }
        let module = Arc::new(without_panics(|| self.compile(family))?);
        Ok(cell.get_or_init(|| module).clone())
    }

    fn compile(&self, family: Family) -> Result<Module> {
        let ptx = kernels::compile_ptx(family, &self.arch).map_err(unavailable)?;
        let module = self
            .context
            .load_module(ptx)
            .map_err(|error| unavailable(format!("loading {}: {error}", family.file_name())))?;
        let mut functions = HashMap::new();
        for &entry in family.entry_points() {
            let function = module.load_function(entry).map_err(|error| {
                unavailable(format!("kernel {entry} of {}: {error}", family.file_name()))
            })?;
            functions.insert(entry, function);
        }
        Ok(Module {
            _module: module,
            functions,
        })
    }

    /// A new buffer of `len` values whose contents are unspecified: for outputs that the caller
    /// overwrites completely before anyone reads them (saves the zero fill's memory traffic).
    pub(crate) fn storage_uninit(&self, len: usize) -> Result<CudaBuffer> {
        // SAFETY: u32 has no invalid bit patterns, and every caller writes all `len` values (by
        // a copy or a kernel with one thread per value) before the buffer is read.
        let slice = unsafe { self.stream.alloc::<u32>(len.max(1)) }.map_err(device_error)?;
        Ok(CudaBuffer { slice, len })
    }

    /// A new zero-filled buffer of `len` values.
    pub(crate) fn storage(&self, len: usize) -> Result<CudaBuffer> {
        let slice = self
            .stream
            .alloc_zeros::<u32>(len.max(1))
            .map_err(device_error)?;
        Ok(CudaBuffer { slice, len })
    }

    /// A new buffer holding `values` (kernel tables).
    pub(crate) fn table(&self, values: &[u32]) -> Result<CudaSlice<u32>> {
        let values = if values.is_empty() { &[0][..] } else { values };
        self.stream.clone_htod(values).map_err(device_error)
    }

    /// The launch configuration of `count` threads in blocks of [`WORKGROUP_SIZE`] (count <=
    /// [`CHUNK`]).
    pub(crate) fn elementwise_config(count: u64) -> LaunchConfig {
        LaunchConfig {
            grid_dim: (count.div_ceil(u64::from(WORKGROUP_SIZE)) as u32, 1, 1),
            block_dim: (WORKGROUP_SIZE, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// The chunks `(first value, values)` of `len` values, one launch each.
    pub(crate) fn chunks(len: usize) -> impl Iterator<Item = (u64, u64)> {
        let len = len as u64;
        (0..len.div_ceil(CHUNK)).map(move |i| (i * CHUNK, CHUNK.min(len - i * CHUNK)))
    }

    /// The dispatch parameters of the chunk `(start, count)` of an element-wise launch (one
    /// thread per element in blocks of 256).
    pub fn dispatch(start: u64, count: u64) -> DispatchParams {
        DispatchParams {
            count: count as u32,
            row_width: count.div_ceil(u64::from(WORKGROUP_SIZE)) as u32 * WORKGROUP_SIZE,
            base_lo: start as u32,
            base_hi: (start >> 32) as u32,
        }
    }

    /// The dispatch parameters and thread count of an element-wise quantize of the chunk
    /// `(start, count)`: one thread per Philox block of four elements that the chunk touches
    /// (`quantize.cu`; the chunk starts at element `start & 3` of its first block).
    pub fn quantize_dispatch(start: u64, count: u64) -> (DispatchParams, u64) {
        let threads = ((start & 3) + count).div_ceil(4);
        let dispatch = DispatchParams {
            row_width: threads.div_ceil(u64::from(WORKGROUP_SIZE)) as u32 * WORKGROUP_SIZE,
            ..Self::dispatch(start, count)
        };
        (dispatch, threads)
    }

    fn quantize_elementwise(
        &self,
        input: &CudaBuffer,
        output: &mut CudaBuffer,
        quantizer: &Quantizer,
    ) -> Result<()> {
        let module = self.module(Family::Quantize)?;
        let function = module.function("quantize")?;
        let quantizer = QuantizerParams::new(quantizer);
        for (start, count) in Self::chunks(input.len) {
            let (dispatch, threads) = Self::quantize_dispatch(start, count);
            let params = QuantizeParams {
                dispatch,
                quantizer,
            };
            let source = input.view(start, count);
            let mut result = output.view_mut(start, count);
            // SAFETY: the kernel reads `count` values of `source` and writes `count` of `result`.
            unsafe {
                self.stream
                    .launch_builder(function)
                    .arg(&ByValue(params))
                    .arg(&source)
                    .arg(&mut result)
                    .launch(Self::elementwise_config(threads))
            }
            .map_err(device_error)?;
        }
        Ok(())
    }

    fn quantize_block(
        &self,
        input: &CudaBuffer,
        output: &mut CudaBuffer,
        (inner, extent): (u64, u64),
        quantizer: &Quantizer,
    ) -> Result<()> {
        if extent > u64::from(u32::MAX) {
            return Err(BackendError::Shape(format!(
                "{extent} blocks exceed the CUDA backend's limit of 2^32 - 1"
            )));
        }
        let module = self.module(Family::Block)?;
        let block_max = module.function("block_max")?;
        let block_apply = module.function("block_apply")?;
        let quantizer = QuantizerParams::new(quantizer);
        let mut maxima = self.storage(extent as usize)?;
        let chunks: Vec<(u64, u64)> = Self::chunks(input.len).collect();
        for &(start, count) in &chunks {
            let params = BlockParams {
                dispatch: Self::dispatch(start, count),
                quantizer,
                blocks: BlockLayoutParams::for_chunk(start, inner, extent),
            };
            let source = input.view(start, count);
            // SAFETY: reads `count` values; atomically updates maxima[0 .. extent].
            unsafe {
                self.stream
                    .launch_builder(block_max)
                    .arg(&ByValue(params))
                    .arg(&source)
                    .arg(&mut maxima.slice)
                    .launch(Self::elementwise_config(count))
            }
            .map_err(device_error)?;
        }
        for &(start, count) in &chunks {
            let params = BlockParams {
                dispatch: Self::dispatch(start, count),
                quantizer,
                blocks: BlockLayoutParams::for_chunk(start, inner, extent),
            };
            let source = input.view(start, count);
            let mut result = output.view_mut(start, count);
            // SAFETY: reads `count` values and maxima[0 .. extent]; writes `count` values.
            unsafe {
                self.stream
                    .launch_builder(block_apply)
                    .arg(&ByValue(params))
                    .arg(&source)
                    .arg(&maxima.slice)
                    .arg(&mut result)
                    .launch(Self::elementwise_config(count))
            }
            .map_err(device_error)?;
        }
        Ok(())
    }
}

impl Backend for CudaBackend {
    type Buffer = CudaBuffer;

    fn name(&self) -> &'static str {
        NAME
    }

    fn upload(&self, data: &[f32]) -> Result<CudaBuffer> {
        let mut buffer = self.storage_uninit(data.len())?;
        if !data.is_empty() {
            let bits: Vec<u32> = data.iter().map(|x| x.to_bits()).collect();
            self.stream
                .memcpy_htod(&bits, &mut buffer.slice)
                .map_err(device_error)?;
        }
        Ok(buffer)
    }

    async fn download(&self, buffer: &CudaBuffer) -> Result<Vec<f32>> {
        if buffer.is_empty() {
            return Ok(Vec::new());
        }
        let bits = self
            .stream
            .clone_dtoh(&buffer.view(0, buffer.len as u64))
            .map_err(device_error)?;
        Ok(bits.into_iter().map(f32::from_bits).collect())
    }

    fn quantize(
        &self,
        input: &CudaBuffer,
        shape: &[usize],
        quantizer: &Quantizer,
    ) -> Result<CudaBuffer> {
        let block = layout::quantize(input.len, shape, quantizer)?;
        let mut output = self.storage_uninit(input.len)?;
        if input.is_empty() {
            return Ok(output);
        }
        match block {
            Some(geometry) => self.quantize_block(input, &mut output, geometry, quantizer)?,
            None => self.quantize_elementwise(input, &mut output, quantizer)?,
        }
        Ok(output)
    }

    fn qgemm(&self, a: &CudaBuffer, b: &CudaBuffer, spec: &GemmSpec) -> Result<CudaBuffer> {
        self.gemm(a, b, spec)
    }

    fn unary(
        &self,
        op: UnaryOp,
        x: &CudaBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<CudaBuffer> {
        self.ops_unary(op, x, shape, quantizer)
    }

    fn binary(
        &self,
        op: BinaryOp,
        x: &CudaBuffer,
        y: &CudaBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<CudaBuffer> {
        self.ops_binary(op, x, y, shape, quantizer)
    }

    fn select(&self, condition: &CudaBuffer, x: &CudaBuffer, y: &CudaBuffer) -> Result<CudaBuffer> {
        self.ops_select(condition, x, y)
    }

    fn reduce(
        &self,
        op: ReduceOp,
        x: &CudaBuffer,
        shape: &[usize],
        axis: usize,
        quantizer: Option<&Quantizer>,
    ) -> Result<CudaBuffer> {
        self.ops_reduce(op, x, shape, axis, quantizer)
    }

    fn permute(&self, x: &CudaBuffer, shape: &[usize], axes: &[usize]) -> Result<CudaBuffer> {
        crate::movement::permute(self, x, shape, axes)
    }

    fn expand(&self, x: &CudaBuffer, shape: &[usize], target: &[usize]) -> Result<CudaBuffer> {
        crate::movement::expand(self, x, shape, target)
    }

    fn slice(&self, x: &CudaBuffer, shape: &[usize], ranges: &[SliceRange]) -> Result<CudaBuffer> {
        crate::movement::slice(self, x, shape, ranges)
    }

    fn concat(&self, parts: &[(&CudaBuffer, &[usize])], axis: usize) -> Result<CudaBuffer> {
        crate::movement::concat(self, parts, axis)
    }

    fn gather(
        &self,
        x: &CudaBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
    ) -> Result<CudaBuffer> {
        crate::movement::gather(self, x, shape, axis, indices)
    }

    fn scatter_add(
        &self,
        src: &CudaBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
        extent: usize,
    ) -> Result<CudaBuffer> {
        crate::movement::scatter_add(self, src, shape, axis, indices, extent)
    }

    fn im2col(&self, x: &CudaBuffer, geometry: &ConvGeometry) -> Result<CudaBuffer> {
        crate::movement::im2col(self, x, geometry)
    }

    fn col2im(&self, columns: &CudaBuffer, geometry: &ConvGeometry) -> Result<CudaBuffer> {
        crate::movement::col2im(self, columns, geometry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_and_its_buffers_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CudaBackend>();
        assert_send_sync::<CudaBuffer>();
    }

    #[test]
    fn no_driver_is_a_clean_unavailable_error() {
        // SAFETY: only tries to open the shared library.
        if unsafe { cudarc::driver::sys::is_culib_present() } {
            println!("SKIP: a CUDA driver library is present");
            return;
        }
        for _ in 0..2 {
            match CudaBackend::new() {
                Err(BackendError::Unavailable { backend, reason }) => {
                    assert_eq!(backend, "cuda");
                    assert!(reason.contains("libcuda"), "{reason}");
                }
                other => panic!("expected Unavailable, got {other:?}"),
            }
        }
    }

    #[test]
    fn chunks_cover_the_tensor() {
        let chunks: Vec<_> = CudaBackend::chunks(2 * CHUNK as usize + 5).collect();
        assert_eq!(chunks, [(0, CHUNK), (CHUNK, CHUNK), (2 * CHUNK, 5)]);
        let dispatch = CudaBackend::dispatch(3 << 32, 1000);
        assert_eq!(
            (dispatch.base_lo, dispatch.base_hi, dispatch.count),
            (0, 3, 1000)
        );
        assert_eq!(dispatch.row_width, 1024);
    }
}
