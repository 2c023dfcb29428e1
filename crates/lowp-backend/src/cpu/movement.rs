//! Data movement on the CPU: permute, expand, slice, concat, gather/scatter, im2col/col2im.
//!
//! Plain row-major loops on one thread: every output element is a copy of one input element (or
//! zero), except `scatter_add` and `col2im`, whose sums are binary32 adds from +0 in the order the
//! trait documents, so the results are deterministic and independent of the thread count.

use crate::{BackendError, ConvGeometry, Result, SliceRange};

/// A shape error with `message`.
fn shape_error<T>(message: String) -> Result<T> {
    Err(BackendError::Shape(message))
}

/// The most binary32 values one buffer can hold (an allocation is at most `isize::MAX` bytes).
const MAX_ELEMENTS: usize = isize::MAX as usize / size_of::<f32>();

/// Number of elements of `shape`, or an error when there are more than one buffer can hold.
fn element_count(shape: &[usize]) -> Result<usize> {
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

/// Checks that `data` holds exactly the elements of `shape` (`what` names the operand).
fn check_len(what: &str, data: &[f32], shape: &[usize]) -> Result<()> {
    let n = element_count(shape)?;
    if n != data.len() {
        return shape_error(format!(
            "{what}: shape {shape:?} has {n} elements, the buffer has {}",
            data.len()
        ));
    }
    Ok(())
}

/// Row-major strides of `shape` (in elements). They are exact when the shape has elements; for an
/// empty shape they may wrap, and the callers then never use them.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1].wrapping_mul(shape[axis + 1]);
    }
    strides
}

/// `(prod(shape[..axis]), prod(shape[axis + 1..]))` of a shape with at least one element (so that
/// neither product can overflow).
fn outer_inner(shape: &[usize], axis: usize) -> (usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis + 1..].iter().product(),
    )
}

/// Copies the elements `x[base + sum_i index_i * steps[i]]` for all indices of `out_shape`, in
/// row-major order of `out_shape`. The caller guarantees that every such offset is inside `x` and
/// that the element count of `out_shape` fits.
fn strided_copy(x: &[f32], base: usize, out_shape: &[usize], steps: &[usize]) -> Vec<f32> {
    let total: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    let Some((&inner, outer_shape)) = out_shape.split_last() else {
        out.push(x[base]);
        return out;
    };
    let inner_step = steps[out_shape.len() - 1];
    let outer_steps = &steps[..outer_shape.len()];
    let mut index = vec![0usize; outer_shape.len()];
    let mut offset = base;
    loop {
        if inner_step == 1 {
            out.extend_from_slice(&x[offset..offset + inner]);
        } else if inner_step == 0 {
            out.resize(out.len() + inner, x[offset]);
        } else {
            out.extend((0..inner).map(|j| x[offset + j * inner_step]));
        }
        // Odometer over the outer axes, keeping `offset` in step.
        let mut axis = outer_shape.len();
        loop {
            if axis == 0 {
                return out;
            }
            axis -= 1;
            index[axis] += 1;
            offset += outer_steps[axis];
            if index[axis] < outer_shape[axis] {
                break;
            }
            offset -= index[axis] * outer_steps[axis];
            index[axis] = 0;
        }
    }
}

pub(crate) fn permute(x: &[f32], shape: &[usize], axes: &[usize]) -> Result<Vec<f32>> {
    check_len("permute", x, shape)?;
    let rank = shape.len();
    let mut seen = vec![false; rank];
    if axes.len() != rank
        || axes
            .iter()
            .any(|&axis| axis >= rank || std::mem::replace(&mut seen[axis], true))
    {
        return shape_error(format!(
            "permute: axes {axes:?} are not a permutation of the {rank} axes of shape {shape:?}"
        ));
    }
    let in_strides = strides(shape);
    let out_shape: Vec<usize> = axes.iter().map(|&axis| shape[axis]).collect();
    let steps: Vec<usize> = axes.iter().map(|&axis| in_strides[axis]).collect();
    Ok(strided_copy(x, 0, &out_shape, &steps))
}

pub(crate) fn expand(x: &[f32], shape: &[usize], target: &[usize]) -> Result<Vec<f32>> {
    check_len("expand", x, shape)?;
    element_count(target)?;
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
    Ok(strided_copy(x, 0, target, &steps))
}

pub(crate) fn slice(x: &[f32], shape: &[usize], ranges: &[SliceRange]) -> Result<Vec<f32>> {
    check_len("slice", x, shape)?;
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
        return Ok(Vec::new());
    }
    let base = ranges
        .iter()
        .zip(&in_strides)
        .map(|(range, stride)| range.start * stride)
        .sum();
    let steps: Vec<usize> = ranges
        .iter()
        .zip(&in_strides)
        .map(|(range, stride)| range.step * stride)
        .collect();
    Ok(strided_copy(x, base, &out_shape, &steps))
}

pub(crate) fn concat(parts: &[(&[f32], &[usize])], axis: usize) -> Result<Vec<f32>> {
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
    for (data, shape) in parts {
        let agrees = shape.len() == first.len()
            && (0..first.len()).all(|i| i == axis || shape[i] == first[i]);
        if !agrees {
            return shape_error(format!(
                "concat: shapes {shapes:?} differ on an axis other than {axis}"
            ));
        }
        check_len("concat", data, shape)?;
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
    let total = element_count(&out_shape)?;
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return Ok(out);
    }
    let (outer, inner) = outer_inner(&out_shape, axis);
    for o in 0..outer {
        for (data, shape) in parts {
            let run = shape[axis] * inner;
            out.extend_from_slice(&data[o * run..(o + 1) * run]);
        }
    }
    Ok(out)
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

pub(crate) fn gather(x: &[f32], shape: &[usize], axis: usize, indices: &[u32]) -> Result<Vec<f32>> {
    check_len("gather", x, shape)?;
    check_indices(
        "gather",
        shape,
        axis,
        indices,
        *shape.get(axis).unwrap_or(&0),
    )?;
    let mut out_shape = shape.to_vec();
    out_shape[axis] = indices.len();
    let total = element_count(&out_shape)?;
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return Ok(out);
    }
    let (outer, inner) = outer_inner(&out_shape, axis);
    let extent = shape[axis];
    for o in 0..outer {
        for &index in indices {
            let start = (o * extent + index as usize) * inner;
            out.extend_from_slice(&x[start..start + inner]);
        }
    }
    Ok(out)
}

pub(crate) fn scatter_add(
    src: &[f32],
    shape: &[usize],
    axis: usize,
    indices: &[u32],
    extent: usize,
) -> Result<Vec<f32>> {
    check_len("scatter_add", src, shape)?;
    check_indices("scatter_add", shape, axis, indices, extent)?;
    if indices.len() != shape[axis] {
        return shape_error(format!(
            "scatter_add: {} indices for axis {axis} of source shape {shape:?}",
            indices.len()
        ));
    }
    let mut out_shape = shape.to_vec();
    out_shape[axis] = extent;
    let total = element_count(&out_shape)?;
    let mut out = vec![0f32; total];
    if src.is_empty() || total == 0 {
        return Ok(out);
    }
    let (outer, inner) = outer_inner(&out_shape, axis);
    let len = shape[axis];
    for o in 0..outer {
        // Ascending t: every output element receives its adds in ascending t.
        for (t, &index) in indices.iter().enumerate() {
            let from = (o * len + t) * inner;
            let to = (o * extent + index as usize) * inner;
            for (y, &x) in out[to..to + inner].iter_mut().zip(&src[from..from + inner]) {
                *y += x;
            }
        }
    }
    Ok(out)
}

/// A convolution geometry brought to exactly three spatial axes (size-1 leading axes with kernel 1,
/// stride 1, no padding, dilation 1), with its derived sizes.
struct Geometry3 {
    batch: usize,
    channels_per_group: usize,
    groups: usize,
    input: [usize; 3],
    kernel: [usize; 3],
    stride: [usize; 3],
    pad_before: [usize; 3],
    dilation: [usize; 3],
    output: [usize; 3],
}

impl Geometry3 {
    /// Validates `geometry` and lifts it to three spatial axes.
    fn new(geometry: &ConvGeometry) -> Result<Self> {
        geometry.validate()?;
        if geometry.patch_len() > MAX_ELEMENTS || geometry.input_len() > MAX_ELEMENTS {
            return shape_error(format!(
                "convolution geometry {geometry:?}: the input or patch matrix has more elements \
                 than a buffer can hold"
            ));
        }
        let lift = |values: &[usize], fill: usize| {
            let mut lifted = [fill; 3];
            lifted[3 - values.len()..].copy_from_slice(values);
            lifted
        };
        Ok(Self {
            batch: geometry.batch,
            channels_per_group: geometry.channels / geometry.groups,
            groups: geometry.groups,
            input: lift(&geometry.input, 1),
            kernel: lift(&geometry.kernel, 1),
            stride: lift(&geometry.stride, 1),
            pad_before: lift(&geometry.pad_before, 0),
            dilation: lift(&geometry.dilation, 1),
            output: lift(&geometry.output(), 1),
        })
    }

    /// The output positions `o` of `axis` whose input index `o * stride + tap * dilation -
    /// pad_before` lies inside the input, for kernel tap `tap`: a range (empty when none).
    fn valid_outputs(&self, axis: usize, tap: usize) -> std::ops::Range<usize> {
        let offset = tap * self.dilation[axis];
        let pad = self.pad_before[axis];
        let stride = self.stride[axis];
        let outputs = self.output[axis];
        // o * stride + offset >= pad  and  o * stride + offset < pad + input.
        let low = pad.saturating_sub(offset).div_ceil(stride);
        let end = pad + self.input[axis];
        let high = if end <= offset {
            0
        } else {
            (end - offset).div_ceil(stride).min(outputs)
        };
        low.min(high)..high
    }

    /// Visits every in-bounds patch entry as `(column_offset, input_offset)` (offsets into the
    /// patch matrix and the input tensor) in patch matrix row-major order: group, channel in
    /// group, kernel offset (k0, k1, k2 lexicographic), batch, then output position.
    fn for_each_entry(&self, mut visit: impl FnMut(usize, usize)) {
        let [i0, i1, i2] = self.input;
        let [o0, o1, o2] = self.output;
        let outputs = o0 * o1 * o2;
        let columns = self.batch * outputs;
        let input_len = i0 * i1 * i2;
        let mut row = 0;
        for g in 0..self.groups {
            for c in 0..self.channels_per_group {
                let channel = g * self.channels_per_group + c;
                for k0 in 0..self.kernel[0] {
                    for k1 in 0..self.kernel[1] {
                        for k2 in 0..self.kernel[2] {
                            let taps = [k0, k1, k2];
                            let ranges: [_; 3] =
                                std::array::from_fn(|axis| self.valid_outputs(axis, taps[axis]));
                            let input_index = |axis: usize, o: usize| {
                                o * self.stride[axis] + taps[axis] * self.dilation[axis]
                                    - self.pad_before[axis]
                            };
                            for n in 0..self.batch {
                                let image = (n * self.groups * self.channels_per_group + channel)
                                    * input_len;
                                let column_base = row * columns + n * outputs;
                                for p0 in ranges[0].clone() {
                                    let x0 = input_index(0, p0);
                                    for p1 in ranges[1].clone() {
                                        let x1 = input_index(1, p1);
                                        let column_row = column_base + (p0 * o1 + p1) * o2;
                                        let input_row = image + (x0 * i1 + x1) * i2;
                                        for p2 in ranges[2].clone() {
                                            visit(column_row + p2, input_row + input_index(2, p2));
                                        }
                                    }
                                }
                            }
                            row += 1;
                        }
                    }
                }
            }
        }
    }
}

pub(crate) fn im2col(x: &[f32], geometry: &ConvGeometry) -> Result<Vec<f32>> {
    let lifted = Geometry3::new(geometry)?;
    if x.len() != geometry.input_len() {
        return shape_error(format!(
            "im2col: the input buffer has {} values, the geometry {geometry:?} needs {}",
            x.len(),
            geometry.input_len()
        ));
    }
    let mut columns = vec![0f32; geometry.patch_len()];
    lifted.for_each_entry(|column, input| columns[column] = x[input]);
    Ok(columns)
}

pub(crate) fn col2im(columns: &[f32], geometry: &ConvGeometry) -> Result<Vec<f32>> {
    let lifted = Geometry3::new(geometry)?;
    if columns.len() != geometry.patch_len() {
        return shape_error(format!(
            "col2im: the patch buffer has {} values, the geometry {geometry:?} needs {}",
            columns.len(),
            geometry.patch_len()
        ));
    }
    // For one kernel offset, at most one output position reads a given input position, so
    // visiting kernel offsets in ascending order adds each position's entries in that order.
    let mut x = vec![0f32; geometry.input_len()];
    lifted.for_each_entry(|column, input| x[input] += columns[column]);
    Ok(x)
}
