//! Data movement on the device: permute, expand, slice, concat, gather, scatter_add, im2col and
//! col2im (`kernels/movement.cu`).
//!
//! The shape checks are those of the CPU backend (same errors for the same bad inputs), the
//! copy plans those of the WGSL backend ([`lowp_backend::strided`]). Every
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
use lowp_backend::layout::{self, LiftedGeometry, outer_inner};
use lowp_backend::strided::{StridedCopy, scatter_add_tables};
use lowp_backend::{BackendError, ConvGeometry, Result, SliceRange};

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
    let count = copy.count();
    if count == 0 {
        return Ok(());
    }
    check_binding(what, device.buffer_len(src))?;
    check_binding(what, device.buffer_len(dst))?;
    let form = copy.kernel_form(what, "CUDA")?;
    device.launch(
        "strided_copy",
        src,
        dst,
        &form.tables,
        MoveParams {
            rank: form.rank,
            src_base: copy.src_base as u32,
            dst_base: copy.dst_base as u32,
            table_axis: form.table_axis,
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
    let mut out = device.alloc(total, false)?;
    if total == 0 {
        return Ok(out);
    }
    let mut offset = 0;
    for (data, shape) in parts {
        let length = shape[axis];
        strided(
            device,
            "concat",
            data,
            &mut out,
            StridedCopy::concat_part(&out_shape, axis, length, offset),
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
    strided(
        device,
        "gather",
        x,
        &mut out,
        StridedCopy::gather(shape, &out_shape, axis, indices),
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
    let (starts, positions) = scatter_add_tables(indices, extent);
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
