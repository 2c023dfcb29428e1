//! Strided copies: the launch plans of the GPU backends' data movement (`strided_copy` and
//! `scatter_add` of `shaders/movement.wgsl` and `kernels/movement.cu`), built once here for
//! both. permute, expand, slice, concat and gather are each one strided copy per operand; the
//! layouts come from [`layout`](crate::layout), which checks the arguments.

use crate::layout::{outer_inner, strides};
use crate::{BackendError, Result};

/// Most axes of a strided copy in the kernels (after dropping size-1 axes).
pub const MAX_RANK: usize = 8;

/// `table_axis` of a copy without an index table.
pub const NO_TABLE: u32 = u32::MAX;

/// A strided copy: for every index `i` of `shape` (row-major),
/// `dst[dst_base + Σ i·dst_steps] = src[src_base + Σ table(i)·src_steps]`, where `table` maps
/// the index of its axis through the given table (`table = (axis, indices)`) and leaves the
/// other axes alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StridedCopy<'a> {
    /// The copy's domain.
    pub shape: Vec<usize>,
    /// Source distance of one step along each axis of `shape`.
    pub src_steps: Vec<usize>,
    /// Destination distance of one step along each axis of `shape`.
    pub dst_steps: Vec<usize>,
    /// Source offset of the domain's first element.
    pub src_base: usize,
    /// Destination offset of the domain's first element.
    pub dst_base: usize,
    /// An axis whose index goes through a table of source indices.
    pub table: Option<(usize, &'a [u32])>,
}

/// A strided copy in the form the kernels read: `tables` holds the shape, the source steps and
/// the destination steps of the kept axes (`rank` values each), then the index table;
/// `table_axis` is the kept axis the table maps ([`NO_TABLE`] without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCopy {
    /// Number of kept axes.
    pub rank: u32,
    /// Position of the table's axis among the kept axes, or [`NO_TABLE`].
    pub table_axis: u32,
    /// `shape ++ src_steps ++ dst_steps ++ table`.
    pub tables: Vec<u32>,
}

impl<'a> StridedCopy<'a> {
    /// A copy into a contiguous output of `shape` reading `src[src_base + Σ i·src_steps]`
    /// (permute, expand and slice, from [`layout`](crate::layout)'s steps).
    pub fn contiguous(shape: &[usize], src_base: usize, src_steps: Vec<usize>) -> Self {
        Self {
            shape: shape.to_vec(),
            src_steps,
            dst_steps: strides(shape),
            src_base,
            dst_base: 0,
            table: None,
        }
    }

    /// The copy of one concat operand, contiguous with `part_len` entries along `axis`, into
    /// the output of `out_shape` at entry `offset` of that axis.
    pub fn concat_part(out_shape: &[usize], axis: usize, part_len: usize, offset: usize) -> Self {
        let (outer, inner) = outer_inner(out_shape, axis);
        let domain = vec![outer, part_len, inner];
        Self {
            src_steps: strides(&domain),
            shape: domain,
            dst_steps: vec![out_shape[axis] * inner, inner, 1],
            src_base: 0,
            dst_base: offset * inner,
            table: None,
        }
    }

    /// gather: the output of `out_shape` takes entry `indices[t]` of `axis` of the input of
    /// `shape` as its entry `t`.
    pub fn gather(shape: &[usize], out_shape: &[usize], axis: usize, indices: &'a [u32]) -> Self {
        let (outer, inner) = outer_inner(out_shape, axis);
        let domain = vec![outer, indices.len(), inner];
        Self {
            src_steps: vec![shape[axis] * inner, inner, 1],
            dst_steps: strides(&domain),
            shape: domain,
            src_base: 0,
            dst_base: 0,
            table: Some((1, indices)),
        }
    }

    /// Number of elements the copy moves.
    pub fn count(&self) -> usize {
        self.shape.iter().product()
    }

    /// The lowest and highest source and destination offsets the copy touches
    /// (`((src_lo, src_hi), (dst_lo, dst_hi))`; the shape must not be empty).
    pub fn spans(&self) -> ((usize, usize), (usize, usize)) {
        let (mut src, mut dst) = (
            (self.src_base, self.src_base),
            (self.dst_base, self.dst_base),
        );
        for axis in 0..self.shape.len() {
            let last = self.shape[axis] - 1;
            dst.1 += last * self.dst_steps[axis];
            match self.table {
                Some((table_axis, table)) if table_axis == axis => {
                    let lowest = table.iter().min().map_or(0, |&i| i as usize);
                    let highest = table.iter().max().map_or(0, |&i| i as usize);
                    src.0 += lowest * self.src_steps[axis];
                    src.1 += highest * self.src_steps[axis];
                }
                _ => src.1 += last * self.src_steps[axis],
            }
        }
        (src, dst)
    }

    /// Splits the copy into pieces whose source span, destination span and kernel tables each
    /// hold at most `window` values (WebGPU's bounded storage bindings), halving the axis that
    /// spans most until every piece fits. The pieces cover every element of the domain exactly
    /// once.
    pub fn split(self, window: usize) -> Vec<StridedCopy<'a>> {
        let mut pending = vec![self];
        let mut pieces = Vec::new();
        while let Some(copy) = pending.pop() {
            let ((src_lo, src_hi), (dst_lo, dst_hi)) = copy.spans();
            let table_len = copy.table.map_or(0, |(_, table)| table.len());
            let fits = src_hi - src_lo < window
                && dst_hi - dst_lo < window
                && table_len + 3 * copy.shape.len() <= window;
            // Every axis of extent 1: a single element always fits.
            let widest = (0..copy.shape.len())
                .filter(|&axis| copy.shape[axis] > 1)
                .max_by_key(|&axis| {
                    let reach =
                        (copy.shape[axis] - 1) * copy.src_steps[axis].max(copy.dst_steps[axis]);
                    (reach, copy.shape[axis])
                });
            match widest {
                Some(axis) if !fits => {
                    let half = copy.shape[axis] / 2;
                    let mut low = copy.clone();
                    low.shape[axis] = half;
                    let mut high = copy.clone();
                    high.shape[axis] = copy.shape[axis] - half;
                    high.dst_base += half * copy.dst_steps[axis];
                    match copy.table {
                        Some((table_axis, table)) if table_axis == axis => {
                            low.table = Some((axis, &table[..half]));
                            high.table = Some((axis, &table[half..]));
                        }
                        _ => high.src_base += half * copy.src_steps[axis],
                    }
                    pending.push(high);
                    pending.push(low);
                }
                _ => pieces.push(copy),
            }
        }
        pieces
    }

    /// The copy as the kernels read it, size-1 axes dropped (the table's axis is kept); fails
    /// when more than [`MAX_RANK`] axes remain (`what` names the operation, `backend` the
    /// backend in the message). The steps are narrowed to 32 bits: the backends check their
    /// buffers' sizes first.
    pub fn kernel_form(&self, what: &str, backend: &str) -> Result<KernelCopy> {
        let keep: Vec<usize> = (0..self.shape.len())
            .filter(|&axis| self.shape[axis] != 1 || self.table.is_some_and(|(t, _)| t == axis))
            .collect();
        if keep.len() > MAX_RANK {
            return Err(BackendError::Shape(format!(
                "{what}: {} axes (not counting size-1 axes) exceed the {backend} backend's limit \
                 of {MAX_RANK}",
                keep.len()
            )));
        }
        let mut tables: Vec<u32> = Vec::with_capacity(3 * keep.len());
        for values in [&self.shape, &self.src_steps, &self.dst_steps] {
            tables.extend(keep.iter().map(|&axis| values[axis] as u32));
        }
        let mut table_axis = NO_TABLE;
        if let Some((axis, table)) = self.table {
            table_axis = keep.iter().position(|&kept| kept == axis).unwrap_or(0) as u32;
            tables.extend_from_slice(table);
        }
        Ok(KernelCopy {
            rank: keep.len() as u32,
            table_axis,
            tables,
        })
    }
}

/// The index tables of scatter_add into `extent` rows: `(starts, positions)`, where
/// `positions[starts[j] .. starts[j + 1]]` are the positions `t` with `indices[t] = j`, ascending
/// (a counting sort; `starts` has `extent + 1` entries). The kernels add each output's sources in
/// that order, the CPU backend's.
pub fn scatter_add_tables(indices: &[u32], extent: usize) -> (Vec<u32>, Vec<u32>) {
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
    (starts, positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (source, destination) pair a copy performs, in domain order.
    fn pairs(copy: &StridedCopy) -> Vec<(usize, usize)> {
        (0..copy.count())
            .map(|flat| {
                let (mut rest, mut src, mut dst) = (flat, copy.src_base, copy.dst_base);
                for axis in (0..copy.shape.len()).rev() {
                    let index = rest % copy.shape[axis];
                    rest /= copy.shape[axis];
                    let source_index = match copy.table {
                        Some((table_axis, table)) if table_axis == axis => table[index] as usize,
                        _ => index,
                    };
                    src += source_index * copy.src_steps[axis];
                    dst += index * copy.dst_steps[axis];
                }
                (src, dst)
            })
            .collect()
    }

    #[test]
    fn split_pieces_fit_the_window_and_cover_the_copy_once() {
        let table: Vec<u32> = (0..37).map(|t| (t * 11 + 3) % 40).collect();
        let copies = [
            // A transpose of 70 × 60.
            StridedCopy::contiguous(&[60, 70], 0, vec![1, 60]),
            // A broadcast: the source is small, the destination large.
            StridedCopy::contiguous(&[5, 300, 9], 0, vec![0, 1, 0]),
            // A concat part written at an offset of a wider output.
            StridedCopy::concat_part(&[20, 76], 1, 45, 31),
            // A gather along the middle axis.
            StridedCopy::gather(&[3, 40, 7], &[3, 37, 7], 1, &table),
        ];
        for copy in copies {
            let mut expected = pairs(&copy);
            for window in [1, 2, 7, 64, 1000, 1 << 20] {
                let pieces = copy.clone().split(window);
                let mut got = Vec::new();
                for piece in &pieces {
                    let ((src_lo, src_hi), (dst_lo, dst_hi)) = piece.spans();
                    assert!(
                        piece.count() == 1
                            || (src_hi - src_lo < window && dst_hi - dst_lo < window),
                        "window {window}: piece {:?} spans {src_lo}..={src_hi} / {dst_lo}..={dst_hi}",
                        piece.shape
                    );
                    got.extend(pairs(piece));
                }
                got.sort_unstable();
                expected.sort_unstable();
                assert_eq!(got, expected, "window {window}");
                if window == 1 << 20 {
                    assert_eq!(pieces.len(), 1, "a copy that fits stays whole");
                }
            }
        }
    }

    #[test]
    fn concat_and_gather_copies_move_the_right_entries() {
        // Output [2, 5, 3]; the part has 2 entries along axis 1, placed at entry 3.
        let part = StridedCopy::concat_part(&[2, 5, 3], 1, 2, 3);
        let got = pairs(&part);
        assert_eq!(got[0], (0, 9));
        assert_eq!(got[5], (5, 14));
        assert_eq!(got[6], (6, 24));
        // Input [2, 4, 3] gathered at entries 3, 0, 3 of axis 1.
        let indices = [3, 0, 3];
        let gather = StridedCopy::gather(&[2, 4, 3], &[2, 3, 3], 1, &indices);
        let got = pairs(&gather);
        assert_eq!(&got[..4], &[(9, 0), (10, 1), (11, 2), (0, 3)]);
        assert_eq!(got[9], (12 + 9, 9));
    }

    #[test]
    fn the_kernel_form_drops_size_one_axes_but_the_tables() {
        let indices = [2];
        let copy = StridedCopy::gather(&[1, 4, 3], &[1, 1, 3], 1, &indices);
        let form = copy.kernel_form("gather", "test").unwrap();
        assert_eq!((form.rank, form.table_axis), (2, 0));
        assert_eq!(form.tables, [1, 3, 3, 1, 3, 1, 2]);
        let plain = StridedCopy::contiguous(&[1, 2, 1], 5, vec![7, 1, 9]);
        let form = plain.kernel_form("slice", "test").unwrap();
        assert_eq!((form.rank, form.table_axis), (1, NO_TABLE));
        assert_eq!(form.tables, [2, 1, 1]);
        let deep = StridedCopy::contiguous(&[2; 9], 0, strides(&[2; 9]));
        let error = deep.kernel_form("permute", "test").unwrap_err();
        assert!(error.to_string().contains("limit of 8"), "{error}");
    }

    #[test]
    fn scatter_add_tables_list_each_rows_positions_in_ascending_order() {
        let (starts, positions) = scatter_add_tables(&[2, 0, 2, 3, 0, 2], 5);
        assert_eq!(starts, [0, 2, 2, 5, 6, 6]);
        assert_eq!(positions, [1, 4, 0, 2, 5, 3]);
    }
}
