//! # lowp-wgpu
//!
//! The WGSL compute backend of lowp on [wgpu](https://wgpu.rs): Vulkan and GL natively (Mesa's
//! lavapipe/llvmpipe work on machines without a GPU) and WebGPU in the browser (wasm32).
//!
//! Values live on the device as their binary32 bit patterns (`array<u32>` in WGSL, so no GPU
//! flushes subnormals or canonicalises NaNs), and every kernel is the integer-only scalar code of
//! lowp-formats ported line for line to `shaders/common.wgsl`, so results equal the CPU backend bit
//! for bit (SEMANTICS.md).
//!
//! Every operation of the [`Backend`] trait runs in WGSL: quantize for every format family
//! (element-wise formats in one pass, block formats in two: per-block max magnitude, then
//! rounding) and every rounding mode, stochastic rounding included (Philox4x32-10 from 16-bit
//! partial products); qgemm in all modes of §9 (tiled, with exact integer binary32 arithmetic so
//! no driver can fuse or flush); element-wise ops with lowp's portable math (`shaders/math.wgsl`)
//! and reductions; data movement. Operands larger than one storage binding
//! (`max_storage_buffer_binding_size`, 128 MiB by default in browsers) are split: element-wise
//! work into chunks bound at aligned offsets, strided copies into pieces whose spans fit,
//! reductions into pieces of rows, columns and steps, scatter_add/im2col/col2im into blocks (or
//! one copy per kernel tap), qgemm into batch groups or pieces of C that keep the random words of
//! their place in the whole product. The limits left: a GEMM's reduction length, a scatter_add's
//! index tables and one block-format block set must each fit one binding.
//!
//! ```no_run
//! # #[cfg(not(target_arch = "wasm32"))] {
//! use lowp_backend::Backend;
//! use lowp_formats::Quantizer;
//! let backend = lowp_wgpu::WgpuBackend::new().expect("an adapter");
//! let input = backend.upload(&[1.0625, 1000.0]).unwrap();
//! let e4m3 = Quantizer::nearest("e4m3".parse().unwrap());
//! let output = backend.quantize(&input, &[2], &e4m3).unwrap();
//! let values = pollster::block_on(backend.download(&output)).unwrap();
//! assert_eq!(values, [1.0, f32::INFINITY]);
//! # }
//! ```

#![warn(missing_docs)]

pub mod gemm;
mod movement;
mod oneshot;
mod ops;
/// The kernels' parameter blocks (shared by the WGSL and CUDA backends).
pub use lowp_backend::kernel_params as params;
pub mod shaders;

pub use wgpu;

use lowp_backend::{Backend, BackendError, ConvGeometry, Result, SliceRange, layout};
use lowp_formats::{BinaryOp, GemmSpec, Quantizer, ReduceOp, UnaryOp};
use params::{BlockLayoutParams, BlockParams, DispatchParams, QuantizeParams, QuantizerParams};
use shaders::Family;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex, MutexGuard};
use wgpu::util::DeviceExt;

/// The backend's name in errors and reports.
const NAME: &str = "wgpu";
/// Invocations per workgroup of every kernel (`WORKGROUP_SIZE` in common.wgsl; WebGPU in
/// browsers guarantees 256).
const WORKGROUP_SIZE: u32 = 256;
/// Largest workgroup count used per grid dimension (WebGPU's default limit).
const MAX_WORKGROUPS: u32 = 65_535;

fn unavailable(reason: impl Into<String>) -> BackendError {
    BackendError::Unavailable {
        backend: NAME,
        reason: reason.into(),
    }
}

fn device_error(error: impl std::fmt::Display) -> BackendError {
    BackendError::Device {
        backend: NAME,
        message: error.to_string(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Tuning knobs of [`WgpuBackend::request_with`]. Both only ever lower the device's own limits;
/// their purpose is to exercise the multi-dispatch paths on small tensors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WgpuOptions {
    /// Largest storage-buffer binding of one dispatch, in bytes (`None`: the device's
    /// `max_storage_buffer_binding_size`). Larger tensors are processed in several dispatches
    /// bound at offsets; the value is rounded down to the storage offset alignment.
    pub max_binding_bytes: Option<u64>,
    /// Largest workgroup count per grid dimension (`None`: the device's limit, at most 65535).
    /// Dispatches needing more workgroups use a 2-D grid.
    pub max_workgroups_per_dimension: Option<u32>,
}

/// A device buffer of binary32 values: a `STORAGE | COPY_SRC | COPY_DST` [`wgpu::Buffer`] and
/// its length in values (an empty buffer still holds 4 bytes, as wgpu forbids empty bindings).
#[derive(Debug, Clone)]
pub struct WgpuBuffer {
    buffer: wgpu::Buffer,
    len: usize,
}

impl WgpuBuffer {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether the buffer holds no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The underlying wgpu buffer (at least 4 bytes, values as little-endian binary32).
    pub fn raw(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}

/// The compiled pipelines and their bind group layouts.
#[derive(Debug)]
struct Kernels {
    /// quantize.wgsl: 0 uniform, 1 source (read), 2 result (read_write).
    quantize_layout: wgpu::BindGroupLayout,
    quantize: wgpu::ComputePipeline,
    /// block.wgsl: 0 uniform, 1 source (read), 2 block maxima (atomic), 3 result.
    block_layout: wgpu::BindGroupLayout,
    block_max: wgpu::ComputePipeline,
    block_apply: wgpu::ComputePipeline,
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A WGSL module to compile: its name, complete source, bind group layout (one layout shared
/// by all its pipelines) and compute entry points.
struct ModuleSpec<'a, const N: usize> {
    name: &'a str,
    source: String,
    entries: &'a [wgpu::BindGroupLayoutEntry],
    entry_points: [&'a str; N],
}

/// A compiled module: the bind group layout and one pipeline per entry point, in order.
type Pipelines<const N: usize> = (wgpu::BindGroupLayout, [wgpu::ComputePipeline; N]);

impl<const N: usize> ModuleSpec<'_, N> {
    /// Creates the shader module, the bind group layout and one compute pipeline per entry
    /// point. Errors go to the device's error scopes: see [`Self::compile`] and
    /// [`Self::compile_now`].
    fn create(self, device: &wgpu::Device) -> Pipelines<N> {
        let label = Some(self.name);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label,
            source: wgpu::ShaderSource::Wgsl(self.source.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label,
            entries: self.entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label,
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = self.entry_points.map(|entry| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        });
        (layout, pipelines)
    }

    /// [`Self::create`] inside validation and internal error scopes: the compiler's log, when
    /// WGSL validation or the driver rejects the shader, comes back as an `Unavailable` error
    /// naming it.
    async fn compile(self, device: &wgpu::Device) -> Result<Pipelines<N>> {
        let name = self.name.to_string();
        let internal = device.push_error_scope(wgpu::ErrorFilter::Internal);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let compiled = self.create(device);
        let validation = validation.pop().await;
        let internal = internal.pop().await;
        match validation.or(internal) {
            Some(error) => Err(unavailable(format!(
                "WGSL shader {name} failed to compile: {error}"
            ))),
            None => Ok(compiled),
        }
    }

    /// [`Self::compile`] for the pipelines built at first use. Natively it waits for the error
    /// scopes; in the browser, which cannot block, the pipelines are created without them and a
    /// compile error surfaces as the device's uncaptured error at the first dispatch.
    fn compile_now(self, device: &wgpu::Device) -> Result<Pipelines<N>> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            pollster::block_on(self.compile(device))
        }
        #[cfg(target_arch = "wasm32")]
        {
            Ok(self.create(device))
        }
    }
}

impl Kernels {
    async fn new(device: &wgpu::Device) -> Result<Self> {
        let (quantize_layout, [quantize]) = ModuleSpec {
            name: Family::Quantize.file_name(),
            source: shaders::module_source(Family::Quantize),
            entries: &[
                uniform_entry(0),
                storage_entry(1, true),
                storage_entry(2, false),
            ],
            entry_points: ["quantize"],
        }
        .compile(device)
        .await?;
        let (block_layout, [block_max, block_apply]) = ModuleSpec {
            name: Family::Block.file_name(),
            source: shaders::module_source(Family::Block),
            entries: &[
                uniform_entry(0),
                storage_entry(1, true),
                storage_entry(2, false),
                storage_entry(3, false),
            ],
            entry_points: ["block_max", "block_apply"],
        }
        .compile(device)
        .await?;
        Ok(Self {
            quantize_layout,
            quantize,
            block_layout,
            block_max,
            block_apply,
        })
    }
}

/// The wgpu backend: one device and queue, with its pipelines compiled at creation.
#[derive(Debug)]
pub struct WgpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter_info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    /// Values per dispatch (a multiple of the storage offset alignment, in values).
    chunk_values: u64,
    /// Workgroups per grid dimension.
    max_workgroups: u32,
    kernels: Kernels,
    /// Pipelines of the other op families, compiled at first use.
    lazy: LazyKernels,
    /// Errors raised outside any error scope (reported by the next operation).
    uncaptured: Arc<Mutex<Vec<String>>>,
}

/// The pipelines of the op families compiled at first use, one set per backend.
#[derive(Debug, Default)]
struct LazyKernels {
    ops: std::sync::OnceLock<Arc<ops::Kernels>>,
    movement: std::sync::OnceLock<Arc<movement::Kernels>>,
    gemm: std::sync::OnceLock<Arc<gemm::GemmKernel>>,
}

/// The value of `cell`, compiling it with `compile` the first time.
fn get_or_compile<T>(
    cell: &std::sync::OnceLock<Arc<T>>,
    compile: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
    if let Some(value) = cell.get() {
        return Ok(value.clone());
    }
    let value = Arc::new(compile()?);
    Ok(cell.get_or_init(|| value).clone())
}

/// Picks the adapter: the one whose name contains `WGPU_ADAPTER_NAME` when that is set (native),
/// else wgpu's choice for `WGPU_POWER_PREF` (default high performance) among the backends of
/// `WGPU_BACKEND`.
async fn select_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(name) = std::env::var("WGPU_ADAPTER_NAME") {
        let wanted = name.to_lowercase();
        let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
        return adapters
            .into_iter()
            .find(|adapter| adapter.get_info().name.to_lowercase().contains(&wanted))
            .ok_or_else(|| unavailable(format!("no adapter matches WGPU_ADAPTER_NAME={name}")));
    }
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::from_env()
                .unwrap_or(wgpu::PowerPreference::HighPerformance),
            ..Default::default()
        })
        .await
        .map_err(|error| unavailable(format!("no adapter: {error}")))
}

impl WgpuBackend {
    /// Opens the default adapter (see [`WgpuBackend::request_with`]).
    pub async fn request() -> Result<Self> {
        Self::request_with(WgpuOptions::default()).await
    }

    /// Opens an adapter chosen from the environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
    /// `WGPU_POWER_PREF`), a device with the adapter's limits, and compiles every pipeline.
    /// No adapter gives [`BackendError::Unavailable`], as does a shader the driver rejects
    /// (with the compiler's log).
    pub async fn request_with(options: WgpuOptions) -> Result<Self> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = select_adapter(&instance).await?;
        let adapter_info = adapter.get_info();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("lowp"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|error| {
                unavailable(format!(
                    "cannot open a device on {} ({:?}): {error}",
                    adapter_info.name, adapter_info.backend
                ))
            })?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            lock(&sink).push(error.to_string());
        }));
        let kernels = Kernels::new(&device).await?;
        let limits = device.limits();
        let max_workgroups = options
            .max_workgroups_per_dimension
            .unwrap_or(MAX_WORKGROUPS)
            .min(limits.max_compute_workgroups_per_dimension)
            .clamp(1, MAX_WORKGROUPS);
        let alignment = u64::from(limits.min_storage_buffer_offset_alignment).max(4);
        let device_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let binding = options
            .max_binding_bytes
            .map_or(device_binding, |bytes| bytes.min(device_binding));
        // A chunk must also fit one 2-D grid and keep its count well inside u32.
        let grid_bytes = 4
            * (u64::from(WORKGROUP_SIZE) * u64::from(max_workgroups) * u64::from(max_workgroups))
                .min(1 << 31);
        let chunk_bytes = (binding.min(grid_bytes) / alignment * alignment).max(alignment);
        Ok(Self {
            device,
            queue,
            adapter_info,
            limits,
            chunk_values: chunk_bytes / 4,
            max_workgroups,
            kernels,
            lazy: LazyKernels::default(),
            uncaptured,
        })
    }

    /// Blocking [`WgpuBackend::request`] (native targets only: browsers cannot block).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new() -> Result<Self> {
        pollster::block_on(Self::request())
    }

    /// Blocking [`WgpuBackend::request_with`] (native targets only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_options(options: WgpuOptions) -> Result<Self> {
        pollster::block_on(Self::request_with(options))
    }

    /// The adapter the backend runs on (name, driver, wgpu backend such as Vulkan or GL).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.adapter_info
    }

    /// The device's limits.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Values processed by one dispatch (tensors with more values take several dispatches).
    pub fn chunk_values(&self) -> u64 {
        self.chunk_values
    }

    /// Compiles a WGSL module on this device and reports the compiler's log as
    /// [`BackendError::Unavailable`] when it is rejected (parse or validation errors).
    pub async fn check_shader(&self, label: &str, source: &str) -> Result<()> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let _module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        match scope.pop().await {
            Some(error) => Err(unavailable(format!(
                "WGSL shader {label} failed to compile: {error}"
            ))),
            None => Ok(()),
        }
    }

    /// Errors the device raised outside an error scope since the last call.
    fn take_uncaptured(&self) -> Result<()> {
        let errors = std::mem::take(&mut *lock(&self.uncaptured));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(device_error(errors.join("\n")))
        }
    }

    /// Runs `work` (which records and submits commands) and turns any validation, internal or
    /// out-of-memory error it raises into a [`BackendError`]. Native targets see the errors at
    /// once through error scopes; on the web they arrive asynchronously and are reported by a
    /// later operation.
    fn scoped<T>(&self, work: impl FnOnce() -> T) -> Result<T> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let out_of_memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
            let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
            let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let value = work();
            let validation = pollster::block_on(validation.pop());
            let internal = pollster::block_on(internal.pop());
            let out_of_memory = pollster::block_on(out_of_memory.pop());
            if let Some(error) = validation.or(internal).or(out_of_memory) {
                return Err(device_error(error));
            }
            self.take_uncaptured()?;
            Ok(value)
        }
        #[cfg(target_arch = "wasm32")]
        {
            let value = work();
            self.take_uncaptured()?;
            Ok(value)
        }
    }

    /// Records one compute pass labelled `label` that runs `pipeline` with the dispatches
    /// `record` adds to it, and submits it, inside [`Self::scoped`].
    fn run_pass(
        &self,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        record: impl FnOnce(&mut wgpu::ComputePass<'_>),
    ) -> Result<()> {
        self.scoped(|| {
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(label),
                    timestamp_writes: None,
                });
                pass.set_pipeline(pipeline);
                record(&mut pass);
            }
            self.queue.submit([encoder.finish()]);
        })
    }

    /// A new storage buffer of `len` values (4 bytes when empty).
    fn storage(&self, len: usize, label: &str) -> Result<WgpuBuffer> {
        let bytes = (len as u64)
            .checked_mul(4)
            .filter(|bytes| *bytes <= self.limits.max_buffer_size)
            .ok_or_else(|| {
                BackendError::Shape(format!(
                    "{len} values exceed the device's max_buffer_size of {} bytes",
                    self.limits.max_buffer_size
                ))
            })?;
        let buffer = self.scoped(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.max(4),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })?;
        Ok(WgpuBuffer { buffer, len })
    }

    /// A uniform buffer holding `contents`.
    fn uniform(&self, contents: &[u8]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("lowp params"),
                contents,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// The device's storage-buffer offset alignment, in values.
    fn alignment_values(&self) -> u64 {
        (u64::from(self.limits.min_storage_buffer_offset_alignment) / 4).max(1)
    }

    /// Values one storage binding may hold at any offset: a binding starts at an offset rounded
    /// down to the alignment, so a window of this many values always fits (at least 1).
    fn window_values(&self) -> u64 {
        self.chunk_values - (self.alignment_values() - 1).min(self.chunk_values - 1)
    }

    /// The chunks `(first value, values)` of a tensor of `len` values, one dispatch each.
    fn chunks(&self, len: usize) -> impl Iterator<Item = (u64, u64)> + use<> {
        let len = len as u64;
        let chunk = self.chunk_values;
        (0..len.div_ceil(chunk)).map(move |i| (i * chunk, chunk.min(len - i * chunk)))
    }

    /// The 2-D grid `(x, y)` of workgroups covering `count` invocations, and the invocations per
    /// grid row.
    fn grid(&self, count: u64) -> (u32, u32, u32) {
        let groups = count.div_ceil(u64::from(WORKGROUP_SIZE));
        let max = u64::from(self.max_workgroups);
        let (x, y) = if groups <= max {
            (groups, 1)
        } else {
            (max, groups.div_ceil(max))
        };
        (x as u32, y as u32, x as u32 * WORKGROUP_SIZE)
    }

    fn dispatch_params(&self, start: u64, count: u64) -> (DispatchParams, (u32, u32)) {
        let (x, y, row_width) = self.grid(count);
        (
            DispatchParams {
                count: count as u32,
                row_width,
                base_lo: start as u32,
                base_hi: (start >> 32) as u32,
            },
            (x, y),
        )
    }

    /// The dispatch of an element-wise quantize of the chunk `(start, count)`: one invocation per
    /// Philox block of four elements that the chunk touches (`quantize.wgsl`; the chunk starts
    /// at element `start & 3` of its first block).
    fn quantize_dispatch_params(&self, start: u64, count: u64) -> (DispatchParams, (u32, u32)) {
        let (x, y, row_width) = self.grid(((start & 3) + count).div_ceil(4));
        let (dispatch, _) = self.dispatch_params(start, count);
        (
            DispatchParams {
                row_width,
                ..dispatch
            },
            (x, y),
        )
    }

    fn quantize_elementwise(
        &self,
        input: &WgpuBuffer,
        output: &WgpuBuffer,
        quantizer: &Quantizer,
    ) -> Result<()> {
        let quantizer = QuantizerParams::new(quantizer);
        self.run_pass("lowp quantize", &self.kernels.quantize, |pass| {
            for (start, count) in self.chunks(input.len) {
                let (dispatch, (x, y)) = self.quantize_dispatch_params(start, count);
                let uniform = self.uniform(bytemuck::bytes_of(&QuantizeParams {
                    dispatch,
                    quantizer,
                }));
                let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("quantize"),
                    layout: &self.kernels.quantize_layout,
                    entries: &[
                        whole(0, &uniform),
                        range(1, &input.buffer, start, count),
                        range(2, &output.buffer, start, count),
                    ],
                });
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        })
    }

    fn quantize_block(
        &self,
        input: &WgpuBuffer,
        output: &WgpuBuffer,
        (inner, extent): (u64, u64),
        quantizer: &Quantizer,
    ) -> Result<()> {
        let binding_limit = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        if extent > u64::from(u32::MAX) || extent * 4 > binding_limit {
            return Err(BackendError::Shape(format!(
                "{extent} blocks: their maxima ({} bytes) exceed one storage binding ({binding_limit} bytes) on the wgpu backend",
                extent.saturating_mul(4)
            )));
        }
        let quantizer = QuantizerParams::new(quantizer);
        self.scoped(|| {
            let maxima = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("lowp block maxima"),
                size: extent * 4,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("lowp block quantize"),
                });
            encoder.clear_buffer(&maxima, 0, None);
            let dispatches: Vec<_> = self
                .chunks(input.len)
                .map(|(start, count)| {
                    let (dispatch, grid) = self.dispatch_params(start, count);
                    let uniform = self.uniform(bytemuck::bytes_of(&BlockParams {
                        dispatch,
                        quantizer,
                        blocks: BlockLayoutParams::for_chunk(start, inner, extent),
                    }));
                    let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("block quantize"),
                        layout: &self.kernels.block_layout,
                        entries: &[
                            whole(0, &uniform),
                            range(1, &input.buffer, start, count),
                            whole(2, &maxima),
                            range(3, &output.buffer, start, count),
                        ],
                    });
                    (bind_group, grid)
                })
                .collect();
            for (label, pipeline) in [
                ("block max", &self.kernels.block_max),
                ("block apply", &self.kernels.block_apply),
            ] {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(label),
                    timestamp_writes: None,
                });
                pass.set_pipeline(pipeline);
                for (bind_group, (x, y)) in &dispatches {
                    pass.set_bind_group(0, bind_group, &[]);
                    pass.dispatch_workgroups(*x, *y, 1);
                }
            }
            self.queue.submit([encoder.finish()]);
        })
    }
}

fn whole(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Binds values `start .. start + count` of `buffer` (`count >= 1`).
fn range(binding: u32, buffer: &wgpu::Buffer, start: u64, count: u64) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: start * 4,
            size: NonZeroU64::new(count * 4),
        }),
    }
}

impl Backend for WgpuBackend {
    type Buffer = WgpuBuffer;

    fn name(&self) -> &'static str {
        NAME
    }

    fn upload(&self, data: &[f32]) -> Result<WgpuBuffer> {
        let buffer = self.storage(data.len(), "lowp tensor")?;
        if !data.is_empty() {
            self.scoped(|| {
                self.queue
                    .write_buffer(&buffer.buffer, 0, bytemuck::cast_slice(data))
            })?;
        }
        Ok(buffer)
    }

    async fn download(&self, buffer: &WgpuBuffer) -> Result<Vec<f32>> {
        if buffer.is_empty() {
            return Ok(Vec::new());
        }
        let bytes = buffer.len as u64 * 4;
        let staging = self.scoped(|| {
            let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("lowp readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("lowp download"),
                });
            encoder.copy_buffer_to_buffer(&buffer.buffer, 0, &staging, 0, bytes);
            self.queue.submit([encoder.finish()]);
            staging
        })?;
        let (sender, receiver) = oneshot::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |result| sender.send(result));
        // Native: the callback only runs inside poll (PLATFORM.md §1). WebGPU: a no-op, the
        // browser runs the callback and wakes the receiver.
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(device_error)?;
        match receiver.await {
            Some(Ok(())) => {}
            Some(Err(error)) => return Err(device_error(format!("map_async failed: {error}"))),
            None => return Err(device_error("map_async callback dropped")),
        }
        let values = {
            let view = staging.get_mapped_range(..).map_err(device_error)?;
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        staging.unmap();
        self.take_uncaptured()?;
        Ok(values)
    }

    fn quantize(
        &self,
        input: &WgpuBuffer,
        shape: &[usize],
        quantizer: &Quantizer,
    ) -> Result<WgpuBuffer> {
        let block = layout::quantize(input.len, shape, quantizer)?;
        let output = self.storage(input.len, "lowp quantized")?;
        if input.is_empty() {
            return Ok(output);
        }
        match block {
            Some(geometry) => self.quantize_block(input, &output, geometry, quantizer)?,
            None => self.quantize_elementwise(input, &output, quantizer)?,
        }
        Ok(output)
    }

    fn qgemm(&self, a: &WgpuBuffer, b: &WgpuBuffer, spec: &GemmSpec) -> Result<WgpuBuffer> {
        self.gemm(a, b, spec)
    }

    fn unary(
        &self,
        op: UnaryOp,
        x: &WgpuBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<WgpuBuffer> {
        self.ops_unary(op, x, shape, quantizer)
    }

    fn binary(
        &self,
        op: BinaryOp,
        x: &WgpuBuffer,
        y: &WgpuBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<WgpuBuffer> {
        self.ops_binary(op, x, y, shape, quantizer)
    }

    fn select(&self, condition: &WgpuBuffer, x: &WgpuBuffer, y: &WgpuBuffer) -> Result<WgpuBuffer> {
        self.ops_select(condition, x, y)
    }

    fn reduce(
        &self,
        op: ReduceOp,
        x: &WgpuBuffer,
        shape: &[usize],
        axis: usize,
        quantizer: Option<&Quantizer>,
    ) -> Result<WgpuBuffer> {
        self.ops_reduce(op, x, shape, axis, quantizer)
    }

    fn permute(&self, x: &WgpuBuffer, shape: &[usize], axes: &[usize]) -> Result<WgpuBuffer> {
        self.movement_permute(x, shape, axes)
    }

    fn expand(&self, x: &WgpuBuffer, shape: &[usize], target: &[usize]) -> Result<WgpuBuffer> {
        self.movement_expand(x, shape, target)
    }

    fn slice(&self, x: &WgpuBuffer, shape: &[usize], ranges: &[SliceRange]) -> Result<WgpuBuffer> {
        self.movement_slice(x, shape, ranges)
    }

    fn concat(&self, parts: &[(&WgpuBuffer, &[usize])], axis: usize) -> Result<WgpuBuffer> {
        self.movement_concat(parts, axis)
    }

    fn gather(
        &self,
        x: &WgpuBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
    ) -> Result<WgpuBuffer> {
        self.movement_gather(x, shape, axis, indices)
    }

    fn scatter_add(
        &self,
        src: &WgpuBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
        extent: usize,
    ) -> Result<WgpuBuffer> {
        self.movement_scatter_add(src, shape, axis, indices, extent)
    }

    fn im2col(&self, x: &WgpuBuffer, geometry: &ConvGeometry) -> Result<WgpuBuffer> {
        self.movement_im2col(x, geometry)
    }

    fn col2im(&self, columns: &WgpuBuffer, geometry: &ConvGeometry) -> Result<WgpuBuffer> {
        self.movement_col2im(columns, geometry)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn the_backend_and_its_buffers_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::WgpuBackend>();
        assert_send_sync::<super::WgpuBuffer>();
    }
}
