//! Data movement on the CPU: permute, expand, slice, concat, gather/scatter, im2col/col2im.
//!
//! Plain row-major loops on one thread: every output element is a copy of one input element (or
//! zero), except `scatter_add` and `col2im`, whose sums are binary32 adds from +0 in the order the
//! trait documents, so the results are deterministic and independent of the thread count.

use crate::layout::{self, LiftedGeometry, outer_inner};
use crate::{ConvGeometry, Result, SliceRange};

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
    let (out_shape, steps) = layout::permute(x.len(), shape, axes)?;
    Ok(strided_copy(x, 0, &out_shape, &steps))
}

pub(crate) fn expand(x: &[f32], shape: &[usize], target: &[usize]) -> Result<Vec<f32>> {
    let (_, steps) = layout::expand(x.len(), shape, target)?;
    Ok(strided_copy(x, 0, target, &steps))
}

pub(crate) fn slice(x: &[f32], shape: &[usize], ranges: &[SliceRange]) -> Result<Vec<f32>> {
    let (out_shape, base, steps) = layout::slice(x.len(), shape, ranges)?;
    Ok(strided_copy(x, base, &out_shape, &steps))
}

pub(crate) fn concat(parts: &[(&[f32], &[usize])], axis: usize) -> Result<Vec<f32>> {
    let lens: Vec<(usize, &[usize])> = parts
        .iter()
        .map(|(data, shape)| (data.len(), *shape))
        .collect();
    let out_shape = layout::concat(&lens, axis)?;
    let total = out_shape.iter().product();
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

pub(crate) fn gather(x: &[f32], shape: &[usize], axis: usize, indices: &[u32]) -> Result<Vec<f32>> {
    let out_shape = layout::gather(x.len(), shape, axis, indices)?;
    let total = out_shape.iter().product();
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
    let out_shape = layout::scatter_add(src.len(), shape, axis, indices, extent)?;
    let total = out_shape.iter().product();
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

/// A convolution geometry brought to exactly three spatial axes, with its grouping.
struct Geometry3 {
    batch: usize,
    channels_per_group: usize,
    groups: usize,
    lifted: LiftedGeometry,
}

impl Geometry3 {
    /// Lifts a geometry that passed [`layout::convolution`] to three spatial axes.
    fn new(geometry: &ConvGeometry) -> Self {
        Self {
            batch: geometry.batch,
            channels_per_group: geometry.channels / geometry.groups,
            groups: geometry.groups,
            lifted: LiftedGeometry::new(geometry),
        }
    }

    /// The output positions `o` of `axis` whose input index `o * stride + tap * dilation -
    /// pad_before` lies inside the input, for kernel tap `tap`: a range (empty when none).
    fn valid_outputs(&self, axis: usize, tap: usize) -> std::ops::Range<usize> {
        let geometry = &self.lifted;
        let offset = tap * geometry.dilation[axis];
        let pad = geometry.pad_before[axis];
        let stride = geometry.stride[axis];
        let outputs = geometry.output[axis];
        // o * stride + offset >= pad  and  o * stride + offset < pad + input.
        let low = pad.saturating_sub(offset).div_ceil(stride);
        let end = pad + geometry.input[axis];
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
        let geometry = &self.lifted;
        let [i0, i1, i2] = geometry.input;
        let [o0, o1, o2] = geometry.output;
        let outputs = o0 * o1 * o2;
        let columns = self.batch * outputs;
        let input_len = i0 * i1 * i2;
        let mut row = 0;
        for g in 0..self.groups {
            for c in 0..self.channels_per_group {
                let channel = g * self.channels_per_group + c;
                for k0 in 0..geometry.kernel[0] {
                    for k1 in 0..geometry.kernel[1] {
                        for k2 in 0..geometry.kernel[2] {
                            let taps = [k0, k1, k2];
                            let ranges: [_; 3] =
                                std::array::from_fn(|axis| self.valid_outputs(axis, taps[axis]));
                            let input_index = |axis: usize, o: usize| {
                                o * geometry.stride[axis] + taps[axis] * geometry.dilation[axis]
                                    - geometry.pad_before[axis]
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
    let patch_len = layout::im2col(x.len(), geometry)?;
    let lifted = Geometry3::new(geometry);
    let mut columns = vec![0f32; patch_len];
    lifted.for_each_entry(|column, input| columns[column] = x[input]);
    Ok(columns)
}

pub(crate) fn col2im(columns: &[f32], geometry: &ConvGeometry) -> Result<Vec<f32>> {
    let input_len = layout::col2im(columns.len(), geometry)?;
    let lifted = Geometry3::new(geometry);
    // For one kernel offset, at most one output position reads a given input position, so
    // visiting kernel offsets in ascending order adds each position's entries in that order.
    let mut x = vec![0f32; input_len];
    lifted.for_each_entry(|column, input| x[input] += columns[column]);
    Ok(x)
}
