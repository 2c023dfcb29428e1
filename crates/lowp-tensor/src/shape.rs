//! Shape arithmetic: element counts, broadcasting, axis normalisation.

use crate::error::{Result, TensorError};

/// Number of elements of `shape`, an error if there are more than one buffer can hold
/// ([`element_count`](lowp_backend::layout::element_count)).
pub fn elements(shape: &[usize]) -> Result<usize> {
    lowp_backend::layout::element_count(shape).map_err(|_| {
        TensorError::shape(
            "shape",
            format!("{shape:?} has more elements than a buffer can hold"),
        )
    })
}

/// The numpy broadcast of two shapes (right-aligned; equal sizes or 1), or an error naming `op`.
pub fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let x = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let y = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(TensorError::shape(
                    op,
                    format!("shapes {a:?} and {b:?} do not broadcast"),
                ));
            }
        };
    }
    Ok(out)
}

/// Normalises a possibly negative axis (`-1` = last) of a tensor of `rank` axes.
pub fn axis_index(op: &'static str, axis: isize, rank: usize) -> Result<usize> {
    let resolved = if axis < 0 { axis + rank as isize } else { axis };
    if resolved < 0 || resolved as usize >= rank {
        return Err(TensorError::shape(
            op,
            format!("axis {axis} is out of range for {rank} axes"),
        ));
    }
    Ok(resolved as usize)
}
