//! Data movement on the device: permute, expand, slice, concat, gather, scatter_add, im2col and
//! col2im (`shaders/movement.wgsl`).
//!
//! The shape checks are those of the CPU backend (same errors for the same bad inputs), the
//! copy plans those of the CUDA backend ([`lowp_backend::strided`]). Every
//! kernel runs one invocation per output element: copies move bit patterns (NaN payloads and -0
//! kept), and the sums of scatter_add and col2im are gathered per output element in the CPU's
//! order with an integer-only binary32 addition, so results equal the CPU backend bit for bit.
//! Operands larger than one storage binding are handled in pieces: a strided copy is split along
//! its widest axes until each piece's source and destination spans fit a binding (bound at
//! aligned windows); scatter_add works on blocks of rows or columns, im2col and col2im on blocks
//! of samples and channels, or one strided copy per kernel tap when a single channel is too
//! large (col2im then adds tap by tap in ascending order, the order of the direct kernel).

use crate::params::MoveParams;
use crate::{ModuleSpec, WgpuBackend, WgpuBuffer, range, storage_entry, uniform_entry, whole};
use lowp_backend::layout::{self, LiftedGeometry, outer_inner, strides};
use lowp_backend::strided::{StridedCopy, scatter_add_tables};
use lowp_backend::{BackendError, ConvGeometry, Result, SliceRange};
use lowp_formats::BinaryOp;
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// The kernels' source (standalone: it does not need common.wgsl).
pub const SOURCE: &str = include_str!("../../../shaders/movement.wgsl");

/// The compiled movement pipelines of one device.
#[derive(Debug)]
pub(crate) struct Kernels {
    /// 0 uniform, 1 source (read), 2 result (read_write), 3 tables (read).
    layout: wgpu::BindGroupLayout,
    strided_copy: wgpu::ComputePipeline,
    scatter_add: wgpu::ComputePipeline,
    im2col: wgpu::ComputePipeline,
    col2im: wgpu::ComputePipeline,
}

fn compile(device: &wgpu::Device) -> Result<Kernels> {
    let (layout, [strided_copy, scatter_add, im2col, col2im]) = ModuleSpec {
        name: "movement.wgsl",
        source: SOURCE.to_string(),
        entries: &[
            uniform_entry(0),
            storage_entry(1, true),
            storage_entry(2, false),
            storage_entry(3, true),
        ],
        entry_points: ["strided_copy", "scatter_add", "im2col", "col2im"],
    }
    .compile_now(device)?;
    Ok(Kernels {
        layout,
        strided_copy,
        scatter_add,
        im2col,
        col2im,
    })
}

fn shape_error<T>(message: String) -> Result<T> {
    Err(BackendError::Shape(message))
}

/// `(input positions, kernel taps, output positions)` of a convolution: the products of its
/// spatial extents.
fn conv_sizes(geometry: &ConvGeometry) -> (usize, usize, usize) {
    (
        geometry.input.iter().product(),
        geometry.kernel.iter().product(),
        geometry.output().iter().product(),
    )
}

/// Which copy of the tap-wise im2col/col2im [`LiftedGeometry::copy`] describes. The domain is
/// `[groups, C_g, N, o1, o2, o3]` (the output positions lifted to three axes).
#[derive(Clone, Copy)]
enum TapDirection {
    /// Padded input → patch rows of the tap.
    ToPatches,
    /// Patch rows of the tap → contiguous.
    FromPatches,
    /// Padded image positions of the tap → contiguous.
    FromPadded,
    /// Contiguous → padded image positions of the tap.
    ToPadded,
}

/// The index arithmetic of the tap-wise paths over a [`LiftedGeometry`].
struct TapLayout {
    batch: usize,
    channels: usize,
    groups: usize,
    lifted: LiftedGeometry,
}

impl TapLayout {
    fn new(geometry: &ConvGeometry) -> Self {
        Self {
            batch: geometry.batch,
            channels: geometry.channels,
            groups: geometry.groups,
            lifted: LiftedGeometry::new(geometry),
        }
    }

    fn kernel_size(&self) -> usize {
        self.lifted.kernel.iter().product()
    }

    /// Output positions times batch and channels: the elements of one tap's copy.
    fn positions(&self) -> usize {
        self.batch * self.channels * self.lifted.output.iter().product::<usize>()
    }

    fn padded_len(&self) -> usize {
        self.batch * self.channels * self.lifted.padded.iter().product::<usize>()
    }

    fn padded_shape(&self) -> Vec<usize> {
        [self.batch, self.channels]
            .into_iter()
            .chain(self.lifted.padded)
            .collect()
    }

    fn input_shape(&self) -> Vec<usize> {
        [self.batch, self.channels]
            .into_iter()
            .chain(self.lifted.input)
            .collect()
    }

    fn interior_start(&self) -> Vec<usize> {
        [0, 0].into_iter().chain(self.lifted.pad_before).collect()
    }

    /// The strided copy of kernel tap `tap` (row-major over the kernel's axes) in `direction`.
    fn copy(&self, tap: usize, direction: TapDirection) -> StridedCopy<'static> {
        let group_channels = self.channels / self.groups;
        let [o1, o2, o3] = self.lifted.output;
        let shape = vec![self.groups, group_channels, self.batch, o1, o2, o3];
        // The padded image [N, C, p1, p2, p3] at the tap's positions.
        let [p1, p2, p3] = self.lifted.padded;
        let plane = p1 * p2 * p3;
        let taps = [
            tap / (self.lifted.kernel[1] * self.lifted.kernel[2]),
            tap / self.lifted.kernel[2] % self.lifted.kernel[1],
            tap % self.lifted.kernel[2],
        ];
        let image_steps = vec![
            group_channels * plane,
            plane,
            self.channels * plane,
            self.lifted.stride[0] * p2 * p3,
            self.lifted.stride[1] * p3,
            self.lifted.stride[2],
        ];
        let image_base = taps[0] * self.lifted.dilation[0] * p2 * p3
            + taps[1] * self.lifted.dilation[1] * p3
            + taps[2] * self.lifted.dilation[2];
        // The patch matrix [groups, C_g, K, N, o1, o2, o3] at the tap's row of every channel.
        let positions = o1 * o2 * o3;
        let kernel_size = self.kernel_size();
        let patch_steps = vec![
            group_channels * kernel_size * self.batch * positions,
            kernel_size * self.batch * positions,
            positions,
            o2 * o3,
            o3,
            1,
        ];
        let patch_base = tap * self.batch * positions;
        let contiguous = strides(&shape);
        let (src_steps, src_base, dst_steps, dst_base) = match direction {
            TapDirection::ToPatches => (image_steps, image_base, patch_steps, patch_base),
            TapDirection::FromPatches => (patch_steps, patch_base, contiguous, 0),
            TapDirection::FromPadded => (image_steps, image_base, contiguous, 0),
            TapDirection::ToPadded => (contiguous, 0, image_steps, image_base),
        };
        StridedCopy {
            shape,
            src_steps,
            dst_steps,
            src_base,
            dst_base,
            table: None,
        }
    }
}

/// Which of the two convolution data moves [`WgpuBackend::conv_movement`] runs.
#[derive(Clone, Copy)]
enum ConvDirection {
    /// Input → patch matrix.
    Im2col,
    /// Patch matrix → input (summing).
    Col2im,
}

/// The way [`WgpuBackend::conv_plan`] splits a convolution.
enum ConvPlan {
    Whole,
    Blocks(Vec<ConvBlock>),
    Taps,
}

/// A block of a convolution processed on its own: samples `first_sample ..` of the batch and
/// channels `first_channel ..` of group `group`.
struct ConvBlock {
    first_sample: usize,
    samples: usize,
    group: usize,
    first_channel: usize,
    channels: usize,
}

impl ConvBlock {
    /// The geometry of the block on its own (one group).
    fn geometry(&self, whole: &ConvGeometry) -> ConvGeometry {
        ConvGeometry {
            batch: self.samples,
            channels: self.channels,
            groups: 1,
            ..whole.clone()
        }
    }
}

/// The shader's geometry table ([`LiftedGeometry::kernel_table`]).
fn geometry_table(geometry: &ConvGeometry) -> Result<Vec<u32>> {
    LiftedGeometry::new(geometry).kernel_table(geometry, "wgpu")
}

impl WgpuBackend {
    fn movement_kernels(&self) -> Result<Arc<Kernels>> {
        crate::get_or_compile(&self.lazy.movement, || compile(&self.device))
    }

    /// The binding `(first value, values)` covering values `lo ..= hi` of a buffer, its start
    /// aligned down to the device's storage offset alignment.
    fn window(&self, lo: usize, hi: usize) -> (u64, u64) {
        let alignment = self.alignment_values();
        let start = lo as u64 / alignment * alignment;
        (start, hi as u64 + 1 - start)
    }

    /// Checks that `values` values fit one storage binding (and u32 indices).
    fn check_binding(&self, what: &str, values: usize) -> Result<()> {
        let limit = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        let bytes = (values as u64).saturating_mul(4);
        if bytes > limit || values >= (u32::MAX / 2) as usize {
            return shape_error(format!(
                "{what}: {values} values exceed one storage binding ({limit} bytes) on the wgpu \
                 backend"
            ));
        }
        Ok(())
    }

    /// Runs `pipeline` over `count` output elements with `tables` bound at 3, the source and
    /// result bound at the windows `(first value, values)` given with them.
    fn run_movement(
        &self,
        pipeline: &wgpu::ComputePipeline,
        (src, src_window): (&WgpuBuffer, (u64, u64)),
        (dst, dst_window): (&WgpuBuffer, (u64, u64)),
        tables: &[u32],
        template: MoveParams,
        count: usize,
    ) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        self.check_binding("movement tables", tables.len())?;
        let layout = &self.movement_kernels()?.layout;
        self.run_pass("lowp movement", pipeline, |pass| {
            let tables = self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("lowp movement tables"),
                    contents: bytemuck::cast_slice(if tables.is_empty() { &[0] } else { tables }),
                    usage: wgpu::BufferUsages::STORAGE,
                });
            for (start, chunk) in self.chunks(count) {
                let (x, y, row_width) = self.grid(chunk);
                let uniform = self.uniform(bytemuck::bytes_of(&MoveParams {
                    count: chunk as u32,
                    row_width,
                    base: start as u32,
                    ..template
                }));
                let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("movement"),
                    layout,
                    entries: &[
                        whole(0, &uniform),
                        range(1, &src.buffer, src_window.0, src_window.1),
                        range(2, &dst.buffer, dst_window.0, dst_window.1),
                        whole(3, &tables),
                    ],
                });
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        })
    }

    /// The whole of `buffer` as a window (at least one value: wgpu forbids empty bindings).
    fn whole_window(&self, what: &str, buffer: &WgpuBuffer) -> Result<(u64, u64)> {
        self.check_binding(what, buffer.len)?;
        Ok((0, buffer.len.max(1) as u64))
    }

    /// Runs a strided copy from `src` into `dst` (`what` names the operation in errors), split
    /// into pieces whose source and destination spans each fit one storage binding.
    fn strided(
        &self,
        what: &str,
        src: &WgpuBuffer,
        dst: &WgpuBuffer,
        copy: StridedCopy,
    ) -> Result<()> {
        if copy.shape.contains(&0) {
            return Ok(());
        }
        for piece in copy.split(self.window_values() as usize) {
            self.strided_piece(what, src, dst, piece)?;
        }
        Ok(())
    }

    /// One dispatch group of a strided copy whose spans fit one binding each.
    fn strided_piece(
        &self,
        what: &str,
        src: &WgpuBuffer,
        dst: &WgpuBuffer,
        copy: StridedCopy,
    ) -> Result<()> {
        let count = copy.count();
        let ((src_lo, src_hi), (dst_lo, dst_hi)) = copy.spans();
        if src_hi >= src.len || dst_hi >= dst.len {
            return shape_error(format!(
                "{what}: a strided copy reaches past its buffers (internal error)"
            ));
        }
        let src_window = self.window(src_lo, src_hi);
        let dst_window = self.window(dst_lo, dst_hi);
        let form = copy.kernel_form(what, "wgpu")?;
        let kernels = self.movement_kernels()?;
        // Offsets relative to the windows; u32 arithmetic wraps in WGSL, so a base below the
        // window start (a table whose smallest index is above 0) still lands inside it.
        self.run_movement(
            &kernels.strided_copy,
            (src, src_window),
            (dst, dst_window),
            &form.tables,
            MoveParams {
                rank: form.rank,
                src_base: (copy.src_base as u64).wrapping_sub(src_window.0) as u32,
                dst_base: (copy.dst_base as u64).wrapping_sub(dst_window.0) as u32,
                table_axis: form.table_axis,
                ..MoveParams::default()
            },
            count,
        )
    }

    pub(crate) fn movement_permute(
        &self,
        x: &WgpuBuffer,
        shape: &[usize],
        axes: &[usize],
    ) -> Result<WgpuBuffer> {
        let (out_shape, steps) = layout::permute(x.len, shape, axes)?;
        let out = self.storage(x.len, "lowp permute")?;
        self.strided(
            "permute",
            x,
            &out,
            StridedCopy::contiguous(&out_shape, 0, steps),
        )?;
        Ok(out)
    }

    pub(crate) fn movement_expand(
        &self,
        x: &WgpuBuffer,
        shape: &[usize],
        target: &[usize],
    ) -> Result<WgpuBuffer> {
        let (total, steps) = layout::expand(x.len, shape, target)?;
        let out = self.storage(total, "lowp expand")?;
        self.strided("expand", x, &out, StridedCopy::contiguous(target, 0, steps))?;
        Ok(out)
    }

    pub(crate) fn movement_slice(
        &self,
        x: &WgpuBuffer,
        shape: &[usize],
        ranges: &[SliceRange],
    ) -> Result<WgpuBuffer> {
        let (out_shape, base, steps) = layout::slice(x.len, shape, ranges)?;
        let out = self.storage(out_shape.iter().product(), "lowp slice")?;
        self.strided(
            "slice",
            x,
            &out,
            StridedCopy::contiguous(&out_shape, base, steps),
        )?;
        Ok(out)
    }

    pub(crate) fn movement_concat(
        &self,
        parts: &[(&WgpuBuffer, &[usize])],
        axis: usize,
    ) -> Result<WgpuBuffer> {
        let lens: Vec<(usize, &[usize])> = parts
            .iter()
            .map(|(data, shape)| (data.len, *shape))
            .collect();
        let out_shape = layout::concat(&lens, axis)?;
        let total = out_shape.iter().product();
        let out = self.storage(total, "lowp concat")?;
        if total == 0 {
            return Ok(out);
        }
        let mut offset = 0;
        for (data, shape) in parts {
            let length = shape[axis];
            self.strided(
                "concat",
                data,
                &out,
                StridedCopy::concat_part(&out_shape, axis, length, offset),
            )?;
            offset += length;
        }
        Ok(out)
    }

    pub(crate) fn movement_gather(
        &self,
        x: &WgpuBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
    ) -> Result<WgpuBuffer> {
        let out_shape = layout::gather(x.len, shape, axis, indices)?;
        let total = out_shape.iter().product();
        let out = self.storage(total, "lowp gather")?;
        if total == 0 {
            return Ok(out);
        }
        self.strided(
            "gather",
            x,
            &out,
            StridedCopy::gather(shape, &out_shape, axis, indices),
        )?;
        Ok(out)
    }

    pub(crate) fn movement_scatter_add(
        &self,
        src: &WgpuBuffer,
        shape: &[usize],
        axis: usize,
        indices: &[u32],
        extent: usize,
    ) -> Result<WgpuBuffer> {
        let out_shape = layout::scatter_add(src.len, shape, axis, indices, extent)?;
        let total = out_shape.iter().product();
        // New buffers are zero-filled (+0).
        let out = self.storage(total, "lowp scatter_add")?;
        if src.is_empty() || total == 0 {
            return Ok(out);
        }
        let (outer, inner) = outer_inner(&out_shape, axis);
        let len = shape[axis];
        let (starts, positions) = scatter_add_tables(indices, extent);
        let window = self.window_values() as usize;
        if 4 + starts.len() + positions.len() > window {
            return shape_error(format!(
                "scatter_add: {len} indices into {extent} rows need index tables larger than one \
                 storage binding ({window} values) on the wgpu backend"
            ));
        }
        let kernels = self.movement_kernels()?;
        let run = |part: &WgpuBuffer, block: &WgpuBuffer, (rows, columns): (usize, usize)| {
            let mut tables = vec![rows as u32, extent as u32, columns as u32, len as u32];
            tables.extend_from_slice(&starts);
            tables.extend_from_slice(&positions);
            self.run_movement(
                &kernels.scatter_add,
                (part, self.whole_window("scatter_add", part)?),
                (block, self.whole_window("scatter_add", block)?),
                &tables,
                MoveParams::default(),
                block.len,
            )
        };
        let widest = len.max(extent);
        if outer * inner * widest <= window {
            run(src, &out, (outer, inner))?;
            return Ok(out);
        }
        // Blocks of whole rows of the outer axis, or of columns of the inner one, that fit.
        let columns = inner.min(window / widest).max(1);
        let rows = if columns == inner {
            (window / (widest * inner)).max(1)
        } else {
            1
        };
        for row in (0..outer).step_by(rows) {
            for column in (0..inner).step_by(columns) {
                let block_rows = rows.min(outer - row);
                let block_columns = columns.min(inner - column);
                let part = self.take_block(
                    src,
                    &[outer, len, inner],
                    &[(row, block_rows), (0, len), (column, block_columns)],
                )?;
                let block =
                    self.storage(block_rows * extent * block_columns, "lowp scatter_add")?;
                run(&part, &block, (block_rows, block_columns))?;
                self.put_block(
                    &block,
                    &out,
                    &[outer, extent, inner],
                    &[row, 0, column],
                    &[block_rows, extent, block_columns],
                )?;
            }
        }
        Ok(out)
    }

    /// The block `ranges[i] = (start, length)` of a row-major tensor of `shape` as a new
    /// contiguous buffer.
    pub(crate) fn take_block(
        &self,
        x: &WgpuBuffer,
        shape: &[usize],
        ranges: &[(usize, usize)],
    ) -> Result<WgpuBuffer> {
        let ranges: Vec<SliceRange> = ranges
            .iter()
            .map(|&(start, length)| SliceRange {
                start,
                end: start + length,
                step: 1,
            })
            .collect();
        let view: Vec<usize> = shape.to_vec();
        self.movement_slice(x, &view, &ranges)
    }

    /// Writes the contiguous tensor `block` of `block_shape` into `dst` (a row-major tensor of
    /// `shape`) with its first element at index `starts`.
    pub(crate) fn put_block(
        &self,
        block: &WgpuBuffer,
        dst: &WgpuBuffer,
        shape: &[usize],
        starts: &[usize],
        block_shape: &[usize],
    ) -> Result<()> {
        let dst_steps = strides(shape);
        let dst_base = starts.iter().zip(&dst_steps).map(|(s, t)| s * t).sum();
        self.strided(
            "block write",
            block,
            dst,
            StridedCopy {
                shape: block_shape.to_vec(),
                src_steps: strides(block_shape),
                dst_steps,
                src_base: 0,
                dst_base,
                table: None,
            },
        )
    }

    /// im2col as one strided copy per kernel tap from a zero-padded copy of the input:
    /// `patches[g, c·K + tap, n·P + pos] = padded[n, g·C_g + c, pos·stride + tap·dilation]`.
    fn im2col_by_taps(
        &self,
        x: &WgpuBuffer,
        patches: &WgpuBuffer,
        geometry: &ConvGeometry,
    ) -> Result<()> {
        let taps = TapLayout::new(geometry);
        let padded = self.storage(taps.padded_len(), "lowp im2col padding")?;
        self.put_block(
            x,
            &padded,
            &taps.padded_shape(),
            &taps.interior_start(),
            &taps.input_shape(),
        )?;
        for tap in 0..taps.kernel_size() {
            self.strided(
                "im2col",
                &padded,
                patches,
                taps.copy(tap, TapDirection::ToPatches),
            )?;
        }
        Ok(())
    }

    /// col2im as one strided gather, add and scatter per kernel tap, in ascending tap order, into
    /// a zero-padded image, then the interior of that image: each input position receives its
    /// patch entries in the order of the direct kernel (ascending kernel offset, from +0).
    fn col2im_by_taps(
        &self,
        columns: &WgpuBuffer,
        image: &WgpuBuffer,
        geometry: &ConvGeometry,
    ) -> Result<()> {
        let taps = TapLayout::new(geometry);
        let padded = self.storage(taps.padded_len(), "lowp col2im padding")?;
        let count = taps.positions();
        for tap in 0..taps.kernel_size() {
            let entries = self.storage(count, "lowp col2im tap")?;
            self.strided(
                "col2im",
                columns,
                &entries,
                taps.copy(tap, TapDirection::FromPatches),
            )?;
            let sums = self.storage(count, "lowp col2im tap")?;
            self.strided(
                "col2im",
                &padded,
                &sums,
                taps.copy(tap, TapDirection::FromPadded),
            )?;
            let sums = self.ops_binary(BinaryOp::Add, &sums, &entries, &[count], None)?;
            self.strided(
                "col2im",
                &sums,
                &padded,
                taps.copy(tap, TapDirection::ToPadded),
            )?;
        }
        let interior = self.take_block(
            &padded,
            &taps.padded_shape(),
            &taps
                .interior_start()
                .into_iter()
                .zip(taps.input_shape())
                .collect::<Vec<_>>(),
        )?;
        self.strided(
            "col2im",
            &interior,
            image,
            StridedCopy::contiguous(&[image.len], 0, vec![1]),
        )
    }

    /// How to run a convolution's im2col or col2im within the binding limit: whole when its input
    /// and patch matrix each fit one binding; else in blocks of as many samples, then channels, as
    /// fit; else (one channel of one sample is too large) one strided copy per kernel tap.
    fn conv_plan(&self, geometry: &ConvGeometry) -> ConvPlan {
        let window = self.window_values() as usize;
        let (in_size, kernel_size, out_size) = conv_sizes(geometry);
        let group_channels = geometry.channels / geometry.groups;
        let fits = |samples: usize, channels: usize| {
            samples * channels * in_size <= window
                && channels * kernel_size * samples * out_size <= window
        };
        if fits(geometry.batch, geometry.channels) {
            return ConvPlan::Whole;
        }
        let mut samples = geometry.batch.max(1);
        let mut channels = group_channels.max(1);
        while !fits(samples, channels) {
            if samples > 1 {
                samples = samples.div_ceil(2);
            } else if channels > 1 {
                channels = channels.div_ceil(2);
            } else {
                return ConvPlan::Taps;
            }
        }
        let mut blocks = Vec::new();
        for group in 0..geometry.groups {
            for first_sample in (0..geometry.batch).step_by(samples) {
                for first_channel in (0..group_channels).step_by(channels) {
                    blocks.push(ConvBlock {
                        first_sample,
                        samples: samples.min(geometry.batch - first_sample),
                        group,
                        first_channel,
                        channels: channels.min(group_channels - first_channel),
                    });
                }
            }
        }
        ConvPlan::Blocks(blocks)
    }

    pub(crate) fn movement_im2col(
        &self,
        x: &WgpuBuffer,
        geometry: &ConvGeometry,
    ) -> Result<WgpuBuffer> {
        let patch_len = layout::im2col(x.len, geometry)?;
        let out = self.storage(patch_len, "lowp im2col")?;
        if patch_len == 0 {
            return Ok(out);
        }
        self.conv_movement(ConvDirection::Im2col, x, &out, geometry)?;
        Ok(out)
    }

    pub(crate) fn movement_col2im(
        &self,
        columns: &WgpuBuffer,
        geometry: &ConvGeometry,
    ) -> Result<WgpuBuffer> {
        let input_len = layout::col2im(columns.len, geometry)?;
        let out = self.storage(input_len, "lowp col2im")?;
        if input_len == 0 || columns.is_empty() {
            return Ok(out);
        }
        self.conv_movement(ConvDirection::Col2im, columns, &out, geometry)?;
        Ok(out)
    }

    /// Runs im2col or col2im from `src` into `out`: whole, in blocks of samples and channels, or
    /// tap by tap ([`WgpuBackend::conv_plan`]).
    fn conv_movement(
        &self,
        direction: ConvDirection,
        src: &WgpuBuffer,
        out: &WgpuBuffer,
        geometry: &ConvGeometry,
    ) -> Result<()> {
        let kernels = self.movement_kernels()?;
        let (pipeline, what) = match direction {
            ConvDirection::Im2col => (&kernels.im2col, "im2col"),
            ConvDirection::Col2im => (&kernels.col2im, "col2im"),
        };
        let run = |src: &WgpuBuffer, out: &WgpuBuffer, geometry: &ConvGeometry| {
            self.run_movement(
                pipeline,
                (src, self.whole_window(what, src)?),
                (out, self.whole_window(what, out)?),
                &geometry_table(geometry)?,
                MoveParams::default(),
                out.len,
            )
        };
        let blocks = match (self.conv_plan(geometry), direction) {
            (ConvPlan::Whole, _) => return run(src, out, geometry),
            (ConvPlan::Taps, ConvDirection::Im2col) => {
                return self.im2col_by_taps(src, out, geometry);
            }
            (ConvPlan::Taps, ConvDirection::Col2im) => {
                return self.col2im_by_taps(src, out, geometry);
            }
            (ConvPlan::Blocks(blocks), _) => blocks,
        };
        let (in_size, kernel_size, out_size) = conv_sizes(geometry);
        let group_channels = geometry.channels / geometry.groups;
        let image_shape = [geometry.batch, geometry.channels, in_size];
        let patch_shape = [
            geometry.groups,
            group_channels * kernel_size,
            geometry.batch * out_size,
        ];
        for block in blocks {
            let image_block = [
                (block.first_sample, block.samples),
                (
                    block.group * group_channels + block.first_channel,
                    block.channels,
                ),
                (0, in_size),
            ];
            let patch_block = [
                (block.group, 1),
                (
                    block.first_channel * kernel_size,
                    block.channels * kernel_size,
                ),
                (block.first_sample * out_size, block.samples * out_size),
            ];
            let ((src_shape, src_block), (dst_shape, dst_block)) = match direction {
                ConvDirection::Im2col => ((image_shape, image_block), (patch_shape, patch_block)),
                ConvDirection::Col2im => ((patch_shape, patch_block), (image_shape, image_block)),
            };
            let part = self.take_block(src, &src_shape, &src_block)?;
            let lengths = dst_block.map(|(_, length)| length);
            let piece = self.storage(lengths.iter().product(), "lowp convolution block")?;
            run(&part, &piece, &block.geometry(geometry))?;
            self.put_block(
                &piece,
                out,
                &dst_shape,
                &dst_block.map(|(start, _)| start),
                &lengths,
            )?;
        }
        Ok(())
    }
}
