//! The shape rules of the data-movement operations, shared by every backend so that each one
//! accepts the same inputs and gives the same errors for the same bad ones.
//!
//! Each function checks the arguments of one [`Backend`](crate::Backend) operation and returns
//! its layout: the output shape and, for the copies, where each output element comes from
//! (`source[base + Σ index_i · steps_i]` over the row-major indices of the output shape).

use crate::{BackendError, ConvGeometry, Result, SliceRange};
use lowp_formats::{Format, FormatError, Quantizer};

/// The most binary32 values one buffer can hold (an allocation is at most `isize::MAX` bytes).
pub const MAX_ELEMENTS: usize = isize::MAX as usize / size_of::<f32>();

fn shape_error<T>(message: String) -> Result<T> {
    Err(BackendError::Shape(message))
}

/// Number of elements of `shape`, or an error when there are more than one buffer can hold.
pub fn element_count(shape: &[usize]) -> Result<usize> {
    match shape
        .iter()
        .try_fold(1usize, |n, &extent| n.checked_mul(extent))
    {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => shape_error(format!(
            "shape {shape:?} has more elements than a buffer can hold"
        )),
    }
}

/// Checks that a buffer of `len` values holds exactly the elements of `shape` (`what` names the
/// operation).
pub fn check_len(what: &str, len: usize, shape: &[usize]) -> Result<()> {
    let n = element_count(shape)?;
    if n != len {
        return shape_error(format!(
            "{what}: shape {shape:?} has {n} elements, the buffer has {len}"
        ));
    }
    Ok(())
}

/// Row-major strides of `shape` (in elements). They are exact when the shape has elements; for an
/// empty shape they may wrap, and are then never used.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1].wrapping_mul(shape[axis + 1]);
    }
    strides
}

/// `(prod(shape[..axis]), prod(shape[axis + 1..]))` of a shape with at least one element (so that
/// neither product can overflow).
pub fn outer_inner(shape: &[usize], axis: usize) -> (usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis + 1..].iter().product(),
    )
}

/// Checks that operand `name` (`x`, `y`, ...) of an element-wise operation or reduction, a
/// buffer of `len` values, holds a tensor of `shape`.
pub fn check_operand(name: &str, len: usize, shape: &[usize]) -> Result<()> {
    let product = elements(shape)?;
    if product != len {
        return shape_error(format!(
            "shape {shape:?} has {product} elements, {name} has {len}"
        ));
    }
    Ok(())
}

/// The number of elements of `shape` (no buffer bound: see [`element_count`]).
fn elements(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or_else(|| BackendError::Shape(format!("shape {shape:?} has too many elements")))
}

/// [`Backend::quantize`](crate::Backend::quantize): checks that the buffer of `len` values holds
/// a tensor of `shape` and, for a block format, that its blocking axis is an axis of `shape`.
/// Returns the blocks' `(inner, extent)` for a block format (element `i` lies in block
/// `(i / inner) % extent`: [`BlockFloatingPoint::geometry`](lowp_formats::BlockFloatingPoint::geometry)),
/// `None` for an element-wise format.
pub fn quantize(len: usize, shape: &[usize], quantizer: &Quantizer) -> Result<Option<(u64, u64)>> {
    check_len("quantize", len, shape)?;
    match quantizer.format() {
        Format::Block(block) => {
            let (inner, extent) = block.geometry(shape)?;
            Ok(Some((inner as u64, extent as u64)))
        }
        _ => Ok(None),
    }
}

/// [`Backend::reduce`](crate::Backend::reduce): checks the operand of `len` values, the axis and
/// the quantizer (element-wise formats only: every partial result is rounded on its own) and
/// returns `(outer, axis length, inner)`: the input is `[outer, length, inner]`, the output
/// `[outer, inner]`.
pub fn reduce(
    len: usize,
    shape: &[usize],
    axis: usize,
    quantizer: Option<&Quantizer>,
) -> Result<(usize, usize, usize)> {
    check_operand("x", len, shape)?;
    if axis >= shape.len() {
        return shape_error(format!(
            "reduction axis {axis} is out of range for shape {shape:?} ({} axes)",
            shape.len()
        ));
    }
    if let Some(q) = quantizer
        && matches!(q.format(), Format::Block(_))
    {
        return Err(BackendError::Format(FormatError::Shape(format!(
            "reduce: the quantizer's format {} is a block format (one exponent per block); \
             reductions quantize each partial result on its own and need an element-wise format",
            q.format()
        ))));
    }
    let outer = elements(&shape[..axis])?;
    let inner = elements(&shape[axis + 1..])?;
    if outer.checked_mul(inner).is_none_or(|n| n > MAX_ELEMENTS) {
        return shape_error(format!(
            "reducing axis {axis} of shape {shape:?} gives too many outputs"
        ));
    }
    Ok((outer, shape[axis], inner))
}

/// [`Backend::permute`](crate::Backend::permute): `(output shape, source step of each output
/// axis)` for a buffer of `len` values.
pub fn permute(len: usize, shape: &[usize], axes: &[usize]) -> Result<(Vec<usize>, Vec<usize>)> {
    check_len("permute", len, shape)?;
    let rank = shape.len();
    let mut seen = vec![false; rank];
    if axes.len() != rank
        || axes
            .iter()
            .any(|&axis| axis >= rank || core::mem::replace(&mut seen[axis], true))
    {
        return shape_error(format!(
            "permute: axes {axes:?} are not a permutation of the {rank} axes of shape {shape:?}"
        ));
    }
    let in_strides = strides(shape);
    let out_shape = axes.iter().map(|&axis| shape[axis]).collect();
    let steps = axes.iter().map(|&axis| in_strides[axis]).collect();
    Ok((out_shape, steps))
}

/// [`Backend::expand`](crate::Backend::expand): `(output elements, source step of each target
/// axis)` (0 on broadcast axes) for a buffer of `len` values.
pub fn expand(len: usize, shape: &[usize], target: &[usize]) -> Result<(usize, Vec<usize>)> {
    check_len("expand", len, shape)?;
    let total = element_count(target)?;
    let fail = || {
        shape_error(format!(
            "expand: shape {shape:?} does not broadcast to {target:?}"
        ))
    };
    let Some(lead) = target.len().checked_sub(shape.len()) else {
        return fail();
    };
    let in_strides = strides(shape);
    let mut steps = vec![0usize; target.len()];
    for (axis, (&extent, &stride)) in shape.iter().zip(&in_strides).enumerate() {
        let wanted = target[lead + axis];
        if extent == wanted {
            steps[lead + axis] = stride;
        } else if extent != 1 {
            return fail();
        }
    }
    Ok((total, steps))
}

/// [`Backend::slice`](crate::Backend::slice): `(output shape, source offset of the first element,
/// source step of each axis)` for a buffer of `len` values. An empty output has base 0.
pub fn slice(
    len: usize,
    shape: &[usize],
    ranges: &[SliceRange],
) -> Result<(Vec<usize>, usize, Vec<usize>)> {
    check_len("slice", len, shape)?;
    if ranges.len() != shape.len() {
        return shape_error(format!(
            "slice: {} ranges for the {} axes of shape {shape:?}",
            ranges.len(),
            shape.len()
        ));
    }
    for (axis, (range, &extent)) in ranges.iter().zip(shape).enumerate() {
        if range.step == 0 || range.start > range.end || range.end > extent {
            return shape_error(format!(
                "slice: range {range:?} on axis {axis} of shape {shape:?} needs \
                 start <= end <= {extent} and step >= 1"
            ));
        }
    }
    let in_strides = strides(shape);
    let out_shape: Vec<usize> = ranges.iter().map(SliceRange::len).collect();
    if out_shape.contains(&0) {
        return Ok((out_shape, 0, in_strides));
    }
    let base = ranges
        .iter()
        .zip(&in_strides)
        .map(|(range, stride)| range.start * stride)
        .sum();
    let steps = ranges
        .iter()
        .zip(&in_strides)
        .map(|(range, stride)| range.step * stride)
        .collect();
    Ok((out_shape, base, steps))
}

/// [`Backend::concat`](crate::Backend::concat): the output shape of parts given as
/// `(values in the buffer, shape)`.
pub fn concat(parts: &[(usize, &[usize])], axis: usize) -> Result<Vec<usize>> {
    let shapes: Vec<&[usize]> = parts.iter().map(|(_, shape)| *shape).collect();
    let Some(&first) = shapes.first() else {
        return shape_error("concat: no parts".to_string());
    };
    if axis >= first.len() {
        return shape_error(format!(
            "concat: axis {axis} is out of range for shapes {shapes:?}"
        ));
    }
    let mut extent = 0usize;
    for &(len, shape) in parts {
        let agrees = shape.len() == first.len()
            && (0..first.len()).all(|i| i == axis || shape[i] == first[i]);
        if !agrees {
            return shape_error(format!(
                "concat: shapes {shapes:?} differ on an axis other than {axis}"
            ));
        }
        check_len("concat", len, shape)?;
        extent = match extent.checked_add(shape[axis]) {
            Some(extent) => extent,
            None => {
                return shape_error(format!(
                    "concat: shapes {shapes:?} overflow along axis {axis}"
                ));
            }
        };
    }
    let mut out_shape = first.to_vec();
    out_shape[axis] = extent;
    element_count(&out_shape)?;
    Ok(out_shape)
}

/// Checks `axis` against `shape` and every index against `extent` (`what` names the operation).
fn check_indices(
    what: &str,
    shape: &[usize],
    axis: usize,
    indices: &[u32],
    extent: usize,
) -> Result<()> {
    if axis >= shape.len() {
        return shape_error(format!(
            "{what}: axis {axis} is out of range for shape {shape:?}"
        ));
    }
    if let Some(&index) = indices.iter().find(|&&i| i as usize >= extent) {
        return shape_error(format!(
            "{what}: index {index} is out of range for extent {extent} (axis {axis} of shape \
             {shape:?})"
        ));
    }
    Ok(())
}

/// [`Backend::gather`](crate::Backend::gather): the output shape (`axis` takes `indices.len()`)
/// for a buffer of `len` values.
pub fn gather(len: usize, shape: &[usize], axis: usize, indices: &[u32]) -> Result<Vec<usize>> {
    check_len("gather", len, shape)?;
    check_indices(
        "gather",
        shape,
        axis,
        indices,
        *shape.get(axis).unwrap_or(&0),
    )?;
    let mut out_shape = shape.to_vec();
    out_shape[axis] = indices.len();
    element_count(&out_shape)?;
    Ok(out_shape)
}

/// [`Backend::scatter_add`](crate::Backend::scatter_add): the output shape (`axis` takes
/// `extent`) for a source buffer of `len` values.
pub fn scatter_add(
    len: usize,
    shape: &[usize],
    axis: usize,
    indices: &[u32],
    extent: usize,
) -> Result<Vec<usize>> {
    check_len("scatter_add", len, shape)?;
    check_indices("scatter_add", shape, axis, indices, extent)?;
    if indices.len() != shape[axis] {
        return shape_error(format!(
            "scatter_add: {} indices for axis {axis} of source shape {shape:?}",
            indices.len()
        ));
    }
    let mut out_shape = shape.to_vec();
    out_shape[axis] = extent;
    element_count(&out_shape)?;
    Ok(out_shape)
}

/// Checks a convolution geometry and returns `(input values, patch matrix values)`.
pub fn convolution(geometry: &ConvGeometry) -> Result<(usize, usize)> {
    geometry.validate()?;
    let patch_len = geometry.patch_len();
    let input_len = geometry.input_len();
    if patch_len > MAX_ELEMENTS || input_len > MAX_ELEMENTS {
        return shape_error(format!(
            "convolution geometry {geometry:?}: the input or patch matrix has more elements than \
             a buffer can hold"
        ));
    }
    Ok((input_len, patch_len))
}

/// [`Backend::im2col`](crate::Backend::im2col): checks the geometry and the input buffer's `len`
/// and returns the patch matrix's values.
pub fn im2col(len: usize, geometry: &ConvGeometry) -> Result<usize> {
    let (input_len, patch_len) = convolution(geometry)?;
    if len != input_len {
        return shape_error(format!(
            "im2col: the input buffer has {len} values, the geometry {geometry:?} needs {input_len}"
        ));
    }
    Ok(patch_len)
}

/// [`Backend::col2im`](crate::Backend::col2im): checks the geometry and the patch buffer's `len`
/// and returns the input's values.
pub fn col2im(len: usize, geometry: &ConvGeometry) -> Result<usize> {
    let (input_len, patch_len) = convolution(geometry)?;
    if len != patch_len {
        return shape_error(format!(
            "col2im: the patch buffer has {len} values, the geometry {geometry:?} needs {patch_len}"
        ));
    }
    Ok(input_len)
}

/// A convolution lifted to three spatial axes (leading axes of extent 1 for the input, kernel,
/// stride, dilation and output; padding 0), as GPU kernels index it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiftedGeometry {
    /// Spatial extents of the input.
    pub input: [usize; 3],
    /// Kernel extents.
    pub kernel: [usize; 3],
    /// Strides.
    pub stride: [usize; 3],
    /// Dilations.
    pub dilation: [usize; 3],
    /// Padding before each axis.
    pub pad_before: [usize; 3],
    /// Padded extents: `input + pad_before + pad_after`.
    pub padded: [usize; 3],
    /// Output extents.
    pub output: [usize; 3],
}

impl LiftedGeometry {
    /// The lifted form of a geometry that passed [`convolution`] (whose sums cannot overflow).
    pub fn new(geometry: &ConvGeometry) -> Self {
        let lift = |values: &[usize], fill: usize| {
            let mut lifted = [fill; 3];
            lifted[3 - values.len()..].copy_from_slice(values);
            lifted
        };
        let input = lift(&geometry.input, 1);
        let pad_before = lift(&geometry.pad_before, 0);
        let pad_after = lift(&geometry.pad_after, 0);
        Self {
            input,
            kernel: lift(&geometry.kernel, 1),
            stride: lift(&geometry.stride, 1),
            dilation: lift(&geometry.dilation, 1),
            pad_before,
            padded: core::array::from_fn(|a| input[a] + pad_before[a] + pad_after[a]),
            output: lift(&geometry.output(), 1),
        }
    }

    /// The table the GPU kernels read (`batch, C_g, groups, input[3], kernel[3], stride[3],
    /// pad_before[3], dilation[3], output[3]` as u32). Strides and dilations are clamped to the
    /// padded extent (which changes no patch entry: a larger stride leaves one output position, a
    /// larger dilation only occurs with kernel size 1), so that every index the kernels form stays
    /// below the padded extent, which must be below 2^31 (`backend` names the backend in the
    /// error).
    pub fn kernel_table(&self, geometry: &ConvGeometry, backend: &str) -> Result<Vec<u32>> {
        let padded = self.padded;
        if padded.iter().any(|&extent| extent >= 1 << 31) {
            return shape_error(format!(
                "convolution geometry {geometry:?}: padded spatial extents of 2^31 or more are \
                 not supported on the {backend} backend"
            ));
        }
        let clamp = |values: [usize; 3]| -> [usize; 3] {
            core::array::from_fn(|a| values[a].min(padded[a].max(1)))
        };
        let mut table = vec![
            geometry.batch,
            geometry.channels / geometry.groups,
            geometry.groups,
        ];
        table.extend(self.input);
        table.extend(self.kernel);
        table.extend(clamp(self.stride));
        table.extend(self.pad_before);
        table.extend(clamp(self.dilation));
        table.extend(self.output);
        Ok(table.into_iter().map(|value| value as u32).collect())
    }
}
