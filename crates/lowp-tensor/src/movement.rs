//! Shape and data-movement operations with their gradients (exact: no rounding).

use crate::device::Kernel;
use crate::error::{Result, TensorError};
use crate::shape::{axis_index, elements};
use crate::tensor::Tensor;
use lowp_backend::{ConvGeometry, SliceRange};

impl Tensor {
    /// The same values with another shape of the same element count (no copy).
    /// Backward: the gradient reshaped back.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if elements(shape)? != self.len() {
            return Err(TensorError::shape(
                "reshape",
                format!(
                    "cannot reshape {:?} ({} values) to {shape:?}",
                    self.shape(),
                    self.len()
                ),
            ));
        }
        let value = Tensor::from_storage((*self.storage()).clone(), shape, self.device());
        let input_shape = self.shape().to_vec();
        Ok(Tensor::with_backward(
            value,
            "reshape",
            &[self],
            move |g: &Tensor| Ok(vec![Some(g.reshape(&input_shape)?)]),
        ))
    }

    /// Merges axes `start..=end` into one (negative axes count from the end).
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        if self.rank() == 0 {
            return self.reshape(&[1]);
        }
        let start = axis_index("flatten", start, self.rank())?;
        let end = axis_index("flatten", end, self.rank())?;
        if start > end {
            return Err(TensorError::shape(
                "flatten",
                format!(
                    "start axis {start} after end axis {end} for shape {:?}",
                    self.shape()
                ),
            ));
        }
        let shape = self.shape();
        let mut out = shape[..start].to_vec();
        out.push(shape[start..=end].iter().product());
        out.extend_from_slice(&shape[end + 1..]);
        self.reshape(&out)
    }

    /// Inserts an axis of size 1 at `axis` (`0..=rank`, negative counts from the end).
    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let axis = axis_index("unsqueeze", axis, self.rank() + 1)?;
        let mut shape = self.shape().to_vec();
        shape.insert(axis, 1);
        self.reshape(&shape)
    }

    /// Removes axis `axis`, which must have size 1.
    pub fn squeeze(&self, axis: isize) -> Result<Tensor> {
        let axis = axis_index("squeeze", axis, self.rank())?;
        if self.shape()[axis] != 1 {
            return Err(TensorError::shape(
                "squeeze",
                format!("axis {axis} of {:?} is not of size 1", self.shape()),
            ));
        }
        let mut shape = self.shape().to_vec();
        shape.remove(axis);
        self.reshape(&shape)
    }

    /// Permutes the axes: output axis `i` is input axis `axes[i]`. Backward: the inverse
    /// permutation.
    pub fn permute(&self, axes: &[usize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        if axes.len() != rank
            || axes
                .iter()
                .any(|&a| a >= rank || std::mem::replace(&mut seen[a], true))
        {
            return Err(TensorError::shape(
                "permute",
                format!(
                    "{axes:?} is not a permutation of the axes of {:?}",
                    self.shape()
                ),
            ));
        }
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return Ok(self.clone());
        }
        let shape = self.shape().to_vec();
        let out: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
        let value = self.run_kernel(
            &Kernel::Permute {
                shape: &shape,
                axes,
            },
            &[],
            &out,
        )?;
        let mut inverse = vec![0; rank];
        for (i, &a) in axes.iter().enumerate() {
            inverse[a] = i;
        }
        Ok(Tensor::with_backward(
            value,
            "permute",
            &[self],
            move |g: &Tensor| Ok(vec![Some(g.permute(&inverse)?)]),
        ))
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let a = axis_index("transpose", a, self.rank())?;
        let b = axis_index("transpose", b, self.rank())?;
        let mut axes: Vec<usize> = (0..self.rank()).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// The transpose of a matrix (swaps the last two axes).
    pub fn t(&self) -> Result<Tensor> {
        if self.rank() < 2 {
            return Err(TensorError::shape(
                "t",
                format!("shape {:?} has fewer than 2 axes", self.shape()),
            ));
        }
        self.transpose(-2, -1)
    }

    /// Broadcasts to `shape` (numpy rules). Backward: the gradient summed back.
    pub fn broadcast_as(&self, shape: &[usize]) -> Result<Tensor> {
        let target = crate::shape::broadcast_shape("broadcast_as", self.shape(), shape)?;
        if target != shape {
            return Err(TensorError::shape(
                "broadcast_as",
                format!("{:?} does not broadcast to {shape:?}", self.shape()),
            ));
        }
        let value = self.expand_raw(shape)?;
        let input_shape = self.shape().to_vec();
        Ok(Tensor::with_backward(
            value,
            "broadcast_as",
            &[self],
            move |g: &Tensor| Ok(vec![Some(g.sum_to(&input_shape)?)]),
        ))
    }

    /// Elements `start..start + len` of `axis`. Backward: the gradient padded with zeros.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor> {
        let axis = axis_index("narrow", axis, self.rank())?;
        let extent = self.shape()[axis];
        if start.checked_add(len).is_none_or(|end| end > extent) {
            return Err(TensorError::shape(
                "narrow",
                format!(
                    "range {start}..{} of axis {axis} of {:?}",
                    start + len,
                    self.shape()
                ),
            ));
        }
        if start == 0 && len == extent {
            return Ok(self.clone());
        }
        let shape = self.shape().to_vec();
        let ranges: Vec<SliceRange> = shape
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                if i == axis {
                    SliceRange {
                        start,
                        end: start + len,
                        step: 1,
                    }
                } else {
                    SliceRange::full(n)
                }
            })
            .collect();
        let mut out = shape.clone();
        out[axis] = len;
        let value = self.run_kernel(
            &Kernel::Slice {
                shape: &shape,
                ranges: &ranges,
            },
            &[],
            &out,
        )?;
        Ok(Tensor::with_backward(
            value,
            "narrow",
            &[self],
            move |g: &Tensor| {
                let mut parts = Vec::new();
                let mut zeros_shape = shape.clone();
                if start > 0 {
                    zeros_shape[axis] = start;
                    parts.push(Tensor::zeros(&zeros_shape, g.device())?);
                }
                parts.push(g.clone());
                if start + len < extent {
                    zeros_shape[axis] = extent - start - len;
                    parts.push(Tensor::zeros(&zeros_shape, g.device())?);
                }
                let refs: Vec<&Tensor> = parts.iter().collect();
                Ok(vec![Some(Tensor::concat(&refs, axis as isize)?)])
            },
        ))
    }

    /// Concatenates tensors that agree on every axis but `axis`. Backward: the gradient cut
    /// back into the parts.
    pub fn concat(parts: &[&Tensor], axis: isize) -> Result<Tensor> {
        let Some(first) = parts.first() else {
            return Err(TensorError::shape("concat", "no tensors to concatenate"));
        };
        let axis = axis_index("concat", axis, first.rank())?;
        let shapes: Vec<Vec<usize>> = parts.iter().map(|p| p.shape().to_vec()).collect();
        for shape in &shapes {
            let agrees = shape.len() == first.rank()
                && shape
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !agrees {
                return Err(TensorError::shape(
                    "concat",
                    format!("shapes {shapes:?} differ outside axis {axis}"),
                ));
            }
        }
        if parts.len() == 1 {
            return Ok((*first).clone());
        }
        let mut out = first.shape().to_vec();
        out[axis] = shapes.iter().map(|s| s[axis]).sum();
        let others: Vec<&Tensor> = parts[1..].to_vec();
        let value = first.run_kernel(
            &Kernel::Concat {
                shapes: &shapes,
                axis,
            },
            &others,
            &out,
        )?;
        let lengths: Vec<usize> = shapes.iter().map(|s| s[axis]).collect();
        Ok(Tensor::with_backward(
            value,
            "concat",
            parts,
            move |g: &Tensor| {
                let mut start = 0;
                let mut grads = Vec::new();
                for &len in &lengths {
                    grads.push(Some(g.narrow(axis as isize, start, len)?));
                    start += len;
                }
                Ok(grads)
            },
        ))
    }

    /// `index_select`: position `t` of `axis` in the output is `x[.., indices[t], ..]`.
    /// Backward: `scatter_add` of the gradient (binary32 sums in ascending t).
    pub fn index_select(&self, axis: isize, indices: &[u32]) -> Result<Tensor> {
        let axis = axis_index("index_select", axis, self.rank())?;
        let shape = self.shape().to_vec();
        let extent = shape[axis];
        if let Some(bad) = indices.iter().find(|&&i| i as usize >= extent) {
            return Err(TensorError::shape(
                "index_select",
                format!("index {bad} out of range for axis {axis} of {shape:?}"),
            ));
        }
        let mut out = shape.clone();
        out[axis] = indices.len();
        let value = self.run_kernel(
            &Kernel::Gather {
                shape: &shape,
                axis,
                indices,
            },
            &[],
            &out,
        )?;
        let indices = indices.to_vec();
        Ok(Tensor::with_backward(
            value,
            "index_select",
            &[self],
            move |g: &Tensor| Ok(vec![Some(g.scatter_add(axis, &indices, extent)?)]),
        ))
    }

    /// The adjoint of [`Tensor::index_select`] (untracked): a tensor with `axis` of length
    /// `extent`, zero except `out[.., indices[t], ..] += self[.., t, ..]`.
    pub fn scatter_add(&self, axis: usize, indices: &[u32], extent: usize) -> Result<Tensor> {
        let shape = self.shape().to_vec();
        if axis >= shape.len() || shape[axis] != indices.len() {
            return Err(TensorError::shape(
                "scatter_add",
                format!("{} indices for axis {axis} of {shape:?}", indices.len()),
            ));
        }
        let mut out = shape.clone();
        out[axis] = extent;
        self.run_kernel(
            &Kernel::ScatterAdd {
                shape: &shape,
                axis,
                indices,
                extent,
            },
            &[],
            &out,
        )
    }

    /// The convolution patch matrix `[groups, rows, columns]` of an input `[N, C, *spatial]`
    /// (layout: [`ConvGeometry`]). Backward: `col2im` of the gradient.
    pub fn im2col(&self, geometry: &ConvGeometry) -> Result<Tensor> {
        geometry.validate()?;
        let mut input = vec![geometry.batch, geometry.channels];
        input.extend(&geometry.input);
        if self.shape() != input {
            return Err(TensorError::shape(
                "im2col",
                format!(
                    "input of shape {:?}, the geometry expects {input:?}",
                    self.shape()
                ),
            ));
        }
        let out = [
            geometry.groups,
            geometry.patch_rows(),
            geometry.patch_columns(),
        ];
        let value = self.run_kernel(&Kernel::Im2col(geometry), &[], &out)?;
        let geometry = geometry.clone();
        Ok(Tensor::with_backward(
            value,
            "im2col",
            &[self],
            move |g: &Tensor| Ok(vec![Some(g.col2im(&geometry)?)]),
        ))
    }

    /// The adjoint of [`Tensor::im2col`]: sums patch entries back into `[N, C, *spatial]`.
    /// Backward: `im2col` of the gradient.
    pub fn col2im(&self, geometry: &ConvGeometry) -> Result<Tensor> {
        geometry.validate()?;
        let columns = [
            geometry.groups,
            geometry.patch_rows(),
            geometry.patch_columns(),
        ];
        if self.shape() != columns {
            return Err(TensorError::shape(
                "col2im",
                format!(
                    "columns of shape {:?}, the geometry expects {columns:?}",
                    self.shape()
                ),
            ));
        }
        let mut out = vec![geometry.batch, geometry.channels];
        out.extend(&geometry.input);
        let value = self.run_kernel(&Kernel::Col2im(geometry), &[], &out)?;
        let geometry = geometry.clone();
        Ok(Tensor::with_backward(
            value,
            "col2im",
            &[self],
            move |g: &Tensor| Ok(vec![Some(g.im2col(&geometry)?)]),
        ))
    }

    /// Index of the largest value along the last axis, per row (host computation; NaN counts
    /// as largest, first index wins ties). For accuracy metrics.
    pub fn argmax_last(&self) -> Result<Vec<usize>> {
        let Some(&width) = self.shape().last() else {
            return Err(TensorError::shape(
                "argmax_last",
                "a scalar has no last axis",
            ));
        };
        if width == 0 {
            return Err(TensorError::shape(
                "argmax_last",
                format!("empty last axis in {:?}", self.shape()),
            ));
        }
        let values = self.to_vec()?;
        Ok(values
            .chunks(width)
            .map(|row| {
                let mut best = 0;
                for (i, &v) in row.iter().enumerate() {
                    if v > row[best] || (v.is_nan() && !row[best].is_nan()) {
                        best = i;
                    }
                }
                best
            })
            .collect())
    }
}
