//! Data movement on the device: permute, expand, slice, concat, gather, scatter_add, im2col and
//! col2im (`kernels/movement.cu`), ported from the WGSL backend's movement.rs.
//!
//! The shape checks are those of the CPU backend (same errors for the same bad inputs). Every
//! kernel runs one thread per output element: copies move bit patterns (NaN payloads and -0
//! kept), and the sums of scatter_add and col2im are gathered per output element in the CPU's
//! order with an integer-only binary32 addition, so results equal the CPU backend bit for bit.
//! Indices are 32-bit (tensors of up to 2^31 values).
//!
//! The operations are written against [`Target`], the two device operations they need
//! (allocate, launch a movement.cu kernel); [`CudaBackend`] implements it, and so does the host
//! emulation of `tests/host_emulation.rs`, which runs these exact launch plans on the kernels
//! compiled as host C++.

use crate::device::{ByValue, CudaBackend, CudaBuffer, device_error};
use crate::kernels::Family;
use crate::params::MoveParams;
use cudarc::driver::PushKernelArg;
use lowp_backend::layout::{self, LiftedGeometry, outer_inner, strides};
use lowp_backend::{BackendError, ConvGeometry, Result, SliceRange};

/// Most axes of a strided copy (after dropping size-1 axes).
const MAX_RANK: usize = 8;

/// No table axis.
const NO_TABLE: u32 = u32::MAX;

/// The device operations of data movement.
pub trait Target {
    /// A buffer of binary32 bit patterns.
    type Buffer;

    /// Number of values in `buffer`.
    fn buffer_len(&self, buffer: &Self::Buffer) -> usize;

    /// A new buffer of `len` values: zero-filled when `zeroed`, else to be overwritten completely
    /// by the launches that follow.
    fn alloc(&self, len: usize, zeroed: bool) -> Result<Self::Buffer>;

    /// Runs the movement.cu kernel `kernel` (`strided_copy`, `scatter_add`, `im2col`, `col2im`)
    /// over output elements `0 .. count` with `tables`, the parameters `template` completed per
    /// launch (`count`, `row_width`, `base`).
    fn launch(
        &self,
        kernel: &'static str,
        src: &Self::Buffer,
        dst: &mut Self::Buffer,
        tables: &[u32],
        template: MoveParams,
        count: usize,
    ) -> Result<()>;
}

fn shape_error<T>(message: String) -> Result<T> {
    Err(BackendError::Shape(message))
}

/// A strided copy: for every index of `shape` (row-major), `dst[dst_base + Σ i·dst_steps] =
/// src[src_base + Σ table(i)·src_steps]`, where `table` maps the index of `table_axis`.
struct StridedCopy<'a> {
    shape: Vec<usize>,
    src_steps: Vec<usize>,
    dst_steps: Vec<usize>,
    src_base: usize,
    dst_base: usize,
    table: Option<(usize, &'a [u32])>,
}

impl StridedCopy<'_> {
    /// A copy into a contiguous output of `shape`.
    fn contiguous(shape: &[usize], src_base: usize, src_steps: Vec<usize>) -> Self {
        Self {
            shape: shape.to_vec(),
            src_steps,
            dst_steps: strides(shape),
            src_base,
            dst_base: 0,
            table: None,
        }
    }
}

/// The kernels' geometry table ([`LiftedGeometry::kernel_table`]).
fn geometry_table(geometry: &ConvGeometry) -> Result<Vec<u32>> {
    LiftedGeometry::new(geometry).kernel_table(geometry, "CUDA")
}

/// Checks that `values` values fit the kernels' 32-bit indices.
fn check_binding(what: &str, values: usize) -> Result<()> {
    if values >= (u32::MAX / 2) as usize {
        return shape_error(format!(
            "{what}: {values} values exceed the CUDA backend's 32-bit movement indices"
        ));
    }
    Ok(())
}

impl Target for CudaBackend {
    type Buffer = CudaBuffer;

    fn buffer_len(&self, buffer: &CudaBuffer) -> usize {
        buffer.len
    }

    fn alloc(&self, len: usize, zeroed: bool) -> Result<CudaBuffer> {
        if zeroed {
            self.storage(len)
        } else {
            self.storage_uninit(len)
        }
    }

    fn launch(
        &self,
        kernel: &'static str,
        src: &CudaBuffer,
        dst: &mut CudaBuffer,
        tables: &[u32],
        template: MoveParams,
        count: usize,
    ) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        check_binding("movement tables", tables.len())?;
        let module = self.module(Family::Movement)?;
        let function = module.function(kernel)?;
        let tables = self.table(tables)?;
        for (start, chunk) in Self::chunks(count) {
            let params = MoveParams {
                count: chunk as u32,
                row_width: Self::dispatch(start, chunk).row_width,
                base: start as u32,
                ..template
            };
            // SAFETY: the kernels index src, dst and tables inside their lengths (checked on
            // the host like the CPU backend's shape checks).
            unsafe {
                self.stream()
                    .launch_builder(function)
                    .arg(&ByValue(params))
                    .arg(&src.slice)
                    .arg(&mut dst.slice)
                    .arg(&tables)
                    .launch(Self::elementwise_config(chunk))
            }
            .map_err(device_error)?;
        }
        Ok(())
    }
}

/// Runs a strided copy from `src` into `dst` (`what` names the operation in errors).
fn strided<T: Target>(
    device: &T,
    what: &str,
    src: &T::Buffer,
    dst: &mut T::Buffer,
    copy: StridedCopy,
) -> Result<()> {
    let count: usize = copy.shape.iter().product();
    if count == 0 {
        return Ok(());
    }
    check_binding(what, device.buffer_len(src))?;
    check_binding(what, device.buffer_len(dst))?;
    // Size-1 axes contribute nothing (the table axis is kept).
    let keep: Vec<usize> = (0..copy.shape.len())
        .filter(|&axis| copy.shape[axis] != 1 || copy.table.is_some_and(|(t, _)| t == axis))
        .collect();
    if keep.len() > MAX_RANK {
        return shape_error(format!(
            "{what}: {} axes (not counting size-1 axes) exceed the CUDA backend's limit of \
             {MAX_RANK}",
            keep.len()
        ));
    }
    let mut tables: Vec<u32> = Vec::with_capacity(3 * keep.len());
    for values in [&copy.shape, &copy.src_steps, &copy.dst_steps] {
        tables.extend(keep.iter().map(|&axis| values[axis] as u32));
    }
    let mut table_axis = NO_TABLE;
    if let Some((axis, table)) = copy.table {
        table_axis = keep.iter().position(|&kept| kept == axis).unwrap_or(0) as u32;
        tables.extend_from_slice(table);
    }
    device.launch(
        "strided_copy",
        src,
        dst,
        &tables,
        MoveParams {
            rank: keep.len() as u32,
            src_base: copy.src_base as u32,
            dst_base: copy.dst_base as u32,
            table_axis,
            ..MoveParams::default()
        },
        count,
    )
}

/// [`lowp_backend::Backend::permute`] on `device`.
pub fn permute<T: Target>(
    device: &T,
    x: &T::Buffer,
    shape: &[usize],
    axes: &[usize],
) -> Result<T::Buffer> {
    let (out_shape, steps) = layout::permute(device.buffer_len(x), shape, axes)?;
    let mut out = device.alloc(device.buffer_len(x), false)?;
    strided(
        device,
        "permute",
        x,
        &mut out,
        StridedCopy::contiguous(&out_shape, 0, steps),
    )?;
    Ok(out)
}

/// [`lowp_backend::Backend::expand`] on `device`.
pub fn expand<T: Target>(
    device: &T,
    x: &T::Buffer,
    shape: &[usize],
    target: &[usize],
) -> Result<T::Buffer> {
    let (total, steps) = layout::expand(device.buffer_len(x), shape, target)?;
    let mut out = device.alloc(total, false)?;
    strided(
        device,
        "expand",
        x,
        &mut out,
        StridedCopy::contiguous(target, 0, steps),
    )?;
    Ok(out)
}

/// [`lowp_backend::Backend::slice`] on `device`.
pub fn slice<T: Target>(
    device: &T,
    x: &T::Buffer,
    shape: &[usize],
    ranges: &[SliceRange],
) -> Result<T::Buffer> {
    let (out_shape, base, steps) = layout::slice(device.buffer_len(x), shape, ranges)?;
    if out_shape.contains(&0) {
        return device.alloc(0, false);
    }
    let mut out = device.alloc(out_shape.iter().product(), false)?;
    strided(
        device,
        "slice",
        x,
        &mut out,
        StridedCopy::contiguous(&out_shape, base, steps),
    )?;
    Ok(out)
}

/// [`lowp_backend::Backend::concat`] on `device`.
pub fn concat<T: Target>(
    device: &T,
    parts: &[(&T::Buffer, &[usize])],
    axis: usize,
) -> Result<T::Buffer> {
    let lens: Vec<(usize, &[usize])> = parts
        .iter()
        .map(|(data, shape)| (device.buffer_len(data), *shape))
        .collect();
    let out_shape = layout::concat(&lens, axis)?;
    let total = out_shape.iter().product();
    let extent = out_shape[axis];
    let mut out = device.alloc(total, false)?;
    if total == 0 {
        return Ok(out);
    }
    let (outer, inner) = outer_inner(&out_shape, axis);
    let mut offset = 0;
    for (data, shape) in parts {
        let length = shape[axis];
        let domain = vec![outer, length, inner];
        strided(
            device,
            "concat",
            data,
            &mut out,
            StridedCopy {
                src_steps: strides(&domain),
                shape: domain,
                dst_steps: vec![extent * inner, inner, 1],
                src_base: 0,
                dst_base: offset * inner,
                table: None,
            },
        )?;
        offset += length;
    }
    Ok(out)
}

/// [`lowp_backend::Backend::gather`] on `device`.
pub fn gather<T: Target>(
    device: &T,
    x: &T::Buffer,
    shape: &[usize],
    axis: usize,
    indices: &[u32],
) -> Result<T::Buffer> {
    let out_shape = layout::gather(device.buffer_len(x), shape, axis, indices)?;
    let total = out_shape.iter().product();
    let mut out = device.alloc(total, false)?;
    if total == 0 {
        return Ok(out);
    }
    let (outer, inner) = outer_inner(&out_shape, axis);
    let domain = vec![outer, indices.len(), inner];
    strided(
        device,
        "gather",
        x,
        &mut out,
        StridedCopy {
            src_steps: vec![shape[axis] * inner, inner, 1],
            dst_steps: strides(&domain),
            shape: domain,
            src_base: 0,
            dst_base: 0,
            table: Some((1, indices)),
        },
    )?;
    Ok(out)
}

/// [`lowp_backend::Backend::scatter_add`] on `device`.
pub fn scatter_add<T: Target>(
    device: &T,
    src: &T::Buffer,
    shape: &[usize],
    axis: usize,
    indices: &[u32],
    extent: usize,
) -> Result<T::Buffer> {
    let out_shape = layout::scatter_add(device.buffer_len(src), shape, axis, indices, extent)?;
    let total = out_shape.iter().product();
    // Zero-filled (+0): with an empty source no kernel runs.
    let mut out = device.alloc(total, true)?;
    if device.buffer_len(src) == 0 || total == 0 {
        return Ok(out);
    }
    check_binding("scatter_add", device.buffer_len(src))?;
    check_binding("scatter_add", total)?;
    let (outer, inner) = outer_inner(&out_shape, axis);
    // The positions t of each index, ascending (a counting sort).
    let mut starts = vec![0u32; extent + 1];
    for &index in indices {
        starts[index as usize + 1] += 1;
    }
    for j in 0..extent {
        starts[j + 1] += starts[j];
    }
    let mut next = starts.clone();
    let mut positions = vec![0u32; indices.len()];
    for (t, &index) in indices.iter().enumerate() {
        positions[next[index as usize] as usize] = t as u32;
        next[index as usize] += 1;
    }
    let mut tables = vec![
        outer as u32,
        extent as u32,
        inner as u32,
        shape[axis] as u32,
    ];
    tables.extend_from_slice(&starts);
    tables.extend_from_slice(&positions);
    device.launch(
        "scatter_add",
        src,
        &mut out,
        &tables,
        MoveParams::default(),
        total,
    )?;
    Ok(out)
}

/// [`lowp_backend::Backend::im2col`] on `device`.
pub fn im2col<T: Target>(device: &T, x: &T::Buffer, geometry: &ConvGeometry) -> Result<T::Buffer> {
    let patch_len = layout::im2col(device.buffer_len(x), geometry)?;
    let input_len = device.buffer_len(x);
    let mut out = device.alloc(patch_len, false)?;
    if patch_len == 0 {
        return Ok(out);
    }
    check_binding("im2col", input_len)?;
    check_binding("im2col", patch_len)?;
    device.launch(
        "im2col",
        x,
        &mut out,
        &geometry_table(geometry)?,
        MoveParams::default(),
        patch_len,
    )?;
    Ok(out)
}

/// [`lowp_backend::Backend::col2im`] on `device`.
pub fn col2im<T: Target>(
    device: &T,
    columns: &T::Buffer,
    geometry: &ConvGeometry,
) -> Result<T::Buffer> {
    let input_len = layout::col2im(device.buffer_len(columns), geometry)?;
    let patch_len = device.buffer_len(columns);
    // Zero-filled (+0): with no patch entries no kernel runs.
    let mut out = device.alloc(input_len, true)?;
    if input_len == 0 || patch_len == 0 {
        return Ok(out);
    }
    check_binding("col2im", input_len)?;
    check_binding("col2im", patch_len)?;
    device.launch(
        "col2im",
        columns,
        &mut out,
        &geometry_table(geometry)?,
        MoveParams::default(),
        input_len,
    )?;
    Ok(out)
}
