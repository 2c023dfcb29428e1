//! Block floating point `BlockFloatingPoint(wl, dim)` (SEMANTICS.md §6).

use crate::bits::{INF_BITS, QUIET_BIT, SIGN_BIT, compose, exponent_of, round_to_quantum};
use crate::error::{FormatError, Result, invalid};
use crate::rounding::{Rounding, shr};
use alloc::vec;
use alloc::vec::Vec;

/// Block floating point: `wl`-bit signed mantissas sharing one exponent per block.
///
/// `dim = -1` makes the whole tensor one block; `dim = d >= 0` gives one block per index along
/// axis `d`. Per block `e = floor(log2 max|x|)` over finite elements; elements round to the grid
/// `2^(e + 2 - wl)` and clamp to `±(2^(wl-1) - 1) * 2^(e + 2 - wl)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockFloatingPoint {
    wl: u32,
    dim: i32,
}

impl BlockFloatingPoint {
    /// A block format; `2 <= wl <= 24` and `dim >= -1`, else an error.
    pub fn new(wl: u32, dim: i32) -> Result<Self> {
        if !(2..=24).contains(&wl) {
            return Err(invalid(
                "block",
                alloc::format!("wl = {wl}, must be in 2..=24"),
            ));
        }
        if dim < -1 {
            return Err(invalid(
                "block",
                alloc::format!("dim = {dim}, must be -1 or an axis >= 0"),
            ));
        }
        Ok(Self { wl, dim })
    }

    /// Mantissa word length (sign included).
    pub fn wl(&self) -> u32 {
        self.wl
    }
    /// The blocking axis, -1 for one block.
    pub fn dim(&self) -> i32 {
        self.dim
    }

    /// `(inner, extent)` of the blocks over a row-major tensor of `shape`: element `i` lies in
    /// block `(i / inner) % extent`, `inner` being the product of the axes after the blocking
    /// axis and `extent` that axis's length (both at least 1; `(1, 1)`, one block, for
    /// `dim = -1`). Fails when the blocking axis is not an axis of `shape`.
    pub fn geometry(&self, shape: &[usize]) -> Result<(usize, usize)> {
        if self.dim == -1 {
            return Ok((1, 1));
        }
        let axis = self.dim as usize;
        if axis >= shape.len() {
            return Err(FormatError::Shape(alloc::format!(
                "block dim = {} but the tensor has {} axes (shape {shape:?})",
                self.dim,
                shape.len()
            )));
        }
        let inner: usize = shape[axis + 1..].iter().product();
        Ok((inner.max(1), shape[axis].max(1)))
    }

    /// The block index of every element of a row-major tensor of `shape`, and the block count
    /// ([`geometry`](Self::geometry)).
    pub fn block_layout(&self, shape: &[usize], len: usize) -> Result<(Vec<usize>, usize)> {
        crate::check_shape(shape, len)?;
        if self.dim == -1 {
            return Ok((vec![0; len], 1));
        }
        let (inner, extent) = self.geometry(shape)?;
        Ok(((0..len).map(|i| (i / inner) % extent).collect(), extent))
    }

    /// The shared exponent of a block from the magnitudes of its elements: `floor(log2 max|x|)`
    /// over finite elements, `None` when none is finite and nonzero.
    pub fn shared_exponent(max_finite_magnitude: u32) -> Option<i32> {
        (max_finite_magnitude != 0).then(|| exponent_of(max_finite_magnitude))
    }

    /// Quantizes one element with the block's shared exponent `e` (`None`: no finite nonzero
    /// element in the block, values are kept).
    #[inline(always)]
    pub fn quantize_element(&self, x: u32, shared: Option<i32>, mode: Rounding, word: u32) -> u32 {
        let sign = x & SIGN_BIT;
        let magnitude = x & !SIGN_BIT;
        if magnitude > INF_BITS {
            return x | QUIET_BIT;
        }
        let Some(e) = shared else {
            return x;
        };
        let q = e + 2 - self.wl as i32;
        // The bound (2^(wl-1) - 1) * 2^q, rounded toward zero to binary32 when the grid lies
        // below 2^-149 (finite elements never reach it there; infinities saturate to it).
        let bound_quanta = (1u32 << (self.wl - 1)) - 1;
        let bound = if q >= -149 {
            compose(bound_quanta, q)
        } else {
            shr(bound_quanta, (-149 - q) as u32)
        };
        if magnitude == INF_BITS {
            return sign | bound;
        }
        if magnitude == 0 {
            return x;
        }
        let rounded = round_to_quantum(magnitude, q, mode, None, sign != 0, word);
        sign | rounded.min(bound)
    }
}
