//! Shapes of the data-movement operations: slices and convolution patches.

use crate::{BackendError, Result};

/// One axis of a slice: elements `start, start + step, ...` below `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SliceRange {
    /// First index.
    pub start: usize,
    /// One past the last index considered.
    pub end: usize,
    /// Distance between taken indices (>= 1).
    pub step: usize,
}

impl SliceRange {
    /// The whole axis of length `extent`.
    pub fn full(extent: usize) -> Self {
        Self {
            start: 0,
            end: extent,
            step: 1,
        }
    }
    /// Number of indices taken: `ceil((end - start) / step)`, 0 when `end <= start`.
    pub fn len(&self) -> usize {
        if self.end <= self.start {
            0
        } else {
            (self.end - self.start).div_ceil(self.step)
        }
    }
    /// Whether no index is taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The geometry of a 1-D, 2-D or 3-D convolution, for `im2col` / `col2im`.
///
/// The input is `[batch, channels, *spatial]` (row-major). `im2col` produces the patch matrix
/// `[groups, (channels / groups) * prod(kernel), batch * prod(output)]`, rows ordered
/// `(channel_in_group, k0, k1, k2)` and columns `(batch, o0, o1, o2)` (row-major), with zeros where
/// a kernel tap falls into the padding. Output size per spatial axis:
/// `floor((in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride) + 1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConvGeometry {
    /// Batch size N.
    pub batch: usize,
    /// Input channels C (a multiple of `groups`).
    pub channels: usize,
    /// Channel groups.
    pub groups: usize,
    /// Input spatial sizes (1 to 3 axes).
    pub input: Vec<usize>,
    /// Kernel sizes per spatial axis.
    pub kernel: Vec<usize>,
    /// Strides per spatial axis (>= 1).
    pub stride: Vec<usize>,
    /// Zero padding before each spatial axis.
    pub pad_before: Vec<usize>,
    /// Zero padding after each spatial axis.
    pub pad_after: Vec<usize>,
    /// Dilation per spatial axis (>= 1).
    pub dilation: Vec<usize>,
}

impl ConvGeometry {
    /// Checks ranks, positive sizes, divisibility by `groups` and a non-empty output.
    pub fn validate(&self) -> Result<()> {
        let rank = self.input.len();
        let fail = |message: String| {
            Err(BackendError::Shape(format!(
                "convolution geometry {self:?}: {message}"
            )))
        };
        if !(1..=3).contains(&rank) {
            return fail(format!("{rank} spatial axes, expected 1 to 3"));
        }
        for (name, values) in [
            ("kernel", &self.kernel),
            ("stride", &self.stride),
            ("pad_before", &self.pad_before),
            ("pad_after", &self.pad_after),
            ("dilation", &self.dilation),
        ] {
            if values.len() != rank {
                return fail(format!(
                    "{name} has {} entries for {rank} spatial axes",
                    values.len()
                ));
            }
        }
        if self.groups == 0 || !self.channels.is_multiple_of(self.groups) {
            return fail(format!(
                "{} channels are not divisible into {} groups",
                self.channels, self.groups
            ));
        }
        if self.kernel.contains(&0) || self.stride.contains(&0) || self.dilation.contains(&0) {
            return fail("kernel, stride and dilation must be >= 1".to_string());
        }
        for axis in 0..rank {
            let padded = self.input[axis]
                .checked_add(self.pad_before[axis])
                .and_then(|sum| sum.checked_add(self.pad_after[axis]));
            let span = (self.kernel[axis] - 1)
                .checked_mul(self.dilation[axis])
                .and_then(|span| span.checked_add(1));
            let (Some(padded), Some(span)) = (padded, span) else {
                return fail(format!(
                    "axis {axis}: the padded input or kernel span overflows"
                ));
            };
            if padded < span {
                return fail(format!(
                    "axis {axis}: the kernel span {span} exceeds the padded input {padded}"
                ));
            }
        }
        if self.checked_input_len().is_none() || self.checked_patch_len().is_none() {
            return fail(
                "the input or patch matrix has more elements than fit in usize".to_string(),
            );
        }
        Ok(())
    }

    /// Elements of the input tensor, `None` when it or one of the partial products that
    /// [`ConvGeometry::input_len`] forms overflows.
    fn checked_input_len(&self) -> Option<usize> {
        let spatial = checked_product(self.input.iter().copied())?;
        self.batch.checked_mul(self.channels)?.checked_mul(spatial)
    }

    /// Elements of the whole patch matrix (all groups), `None` when it or one of the partial
    /// products of [`ConvGeometry::patch_rows`] and [`ConvGeometry::patch_columns`] overflows.
    /// Only meaningful once the per-axis checks of [`ConvGeometry::validate`] passed.
    fn checked_patch_len(&self) -> Option<usize> {
        let taps = checked_product(self.kernel.iter().copied())?;
        let rows = (self.channels / self.groups).checked_mul(taps)?;
        let positions = checked_product(self.output())?;
        let columns = self.batch.checked_mul(positions)?;
        self.groups.checked_mul(rows)?.checked_mul(columns)
    }

    /// Elements of the whole patch matrix: `groups * patch_rows() * patch_columns()`.
    pub fn patch_len(&self) -> usize {
        self.groups * self.patch_rows() * self.patch_columns()
    }

    /// Output spatial sizes.
    pub fn output(&self) -> Vec<usize> {
        (0..self.input.len())
            .map(|axis| {
                let padded = self.input[axis] + self.pad_before[axis] + self.pad_after[axis];
                let span = self.dilation[axis] * (self.kernel[axis] - 1) + 1;
                (padded - span) / self.stride[axis] + 1
            })
            .collect()
    }

    /// Rows of one group's patch matrix: `(channels / groups) * prod(kernel)`.
    pub fn patch_rows(&self) -> usize {
        self.channels / self.groups * self.kernel.iter().product::<usize>()
    }

    /// Columns of the patch matrix: `batch * prod(output)`.
    pub fn patch_columns(&self) -> usize {
        self.batch * self.output().iter().product::<usize>()
    }

    /// Elements of the input tensor.
    pub fn input_len(&self) -> usize {
        self.batch * self.channels * self.input.iter().product::<usize>()
    }
}

/// The product of `values`, `None` on overflow.
fn checked_product(values: impl IntoIterator<Item = usize>) -> Option<usize> {
    values
        .into_iter()
        .try_fold(1usize, |product, value| product.checked_mul(value))
}
