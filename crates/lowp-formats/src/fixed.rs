//! Fixed point `FixedPoint(wl, fl, clamp, symmetric)` (SEMANTICS.md §5).

use crate::bits::{INF_BITS, QUIET_BIT, SIGN_BIT, compose, round_to_quantum};
use crate::error::{Result, invalid};
use crate::rounding::Rounding;

/// Two's complement fixed point with word length `wl` and `fl` fractional bits:
/// grid `2^-fl`, range `[-2^(wl-fl-1) (+2^-fl if symmetric), 2^(wl-fl-1) - 2^-fl]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedPoint {
    wl: u32,
    fl: i32,
    clamp: bool,
    symmetric: bool,
}

impl FixedPoint {
    /// A fixed point format; `1 <= wl <= 32` and `-127 <= fl <= 149` (the grid `2^-fl` must be a
    /// binary32 value), else an error.
    pub fn new(wl: u32, fl: i32, clamp: bool, symmetric: bool) -> Result<Self> {
        if !(1..=32).contains(&wl) {
            return Err(invalid(
                "fixed",
                alloc::format!("wl = {wl}, must be in 1..=32"),
            ));
        }
        if !(-127..=149).contains(&fl) {
            return Err(invalid(
                "fixed",
                alloc::format!(
                    "fl = {fl}: the grid 2^-fl must be a binary32 value (-127 <= fl <= 149)"
                ),
            ));
        }
        Ok(Self {
            wl,
            fl,
            clamp,
            symmetric,
        })
    }

    /// Word length in bits.
    pub fn wl(&self) -> u32 {
        self.wl
    }
    /// Fractional bits.
    pub fn fl(&self) -> i32 {
        self.fl
    }
    /// Whether results are clamped to the range.
    pub fn clamp(&self) -> bool {
        self.clamp
    }
    /// Whether the range is symmetric (the most negative code is unused).
    pub fn symmetric(&self) -> bool {
        self.symmetric
    }

    /// binary32 magnitude pattern of the upper range end `(2^(wl-1) - 1) * 2^-fl`, rounded toward
    /// zero onto the grid within binary32 (see `saturating_bound`).
    pub fn upper_bits(&self) -> u32 {
        saturating_bound((1u32 << (self.wl - 1)).wrapping_sub(1), -self.fl)
    }

    /// binary32 magnitude pattern of the lower range end `2^(wl-1) * 2^-fl` (minus one quantum when
    /// symmetric), rounded toward zero to binary32.
    pub fn lower_bits(&self) -> u32 {
        let quanta = (1u32 << (self.wl - 1)) - self.symmetric as u32;
        saturating_bound(quanta, -self.fl)
    }

    /// Quantizes the binary32 pattern `x`: round the exact value to the grid, then clamp.
    #[inline(always)]
    pub fn quantize_bits(&self, x: u32, mode: Rounding, word: u32) -> u32 {
        let sign = x & SIGN_BIT;
        let magnitude = x & !SIGN_BIT;
        let negative = sign != 0;
        if magnitude > INF_BITS {
            return x | QUIET_BIT;
        }
        if magnitude == 0 {
            return 0;
        }
        let rounded = if magnitude == INF_BITS {
            INF_BITS
        } else {
            round_to_quantum(magnitude, -self.fl, mode, None, negative, word)
        };
        let limited = if self.clamp {
            let bound = if negative {
                self.lower_bits()
            } else {
                self.upper_bits()
            };
            rounded.min(bound)
        } else {
            rounded
        };
        if limited == 0 { 0 } else { sign | limited }
    }

    /// The value of the `wl`-bit two's complement code `code`.
    pub fn decode(&self, code: u32) -> f32 {
        let shift = 32 - self.wl;
        let integer = ((code << shift) as i32) >> shift;
        let magnitude = compose(integer.unsigned_abs(), -self.fl);
        f32::from_bits(if integer < 0 {
            SIGN_BIT | magnitude
        } else {
            magnitude
        })
    }
}

/// `k * 2^q` rounded toward zero onto the format's grid within binary32: the value itself when it
/// is a binary32 value, else truncated to 24 significant bits, and when it lies beyond the binary32
/// range, the largest multiple of `2^q` that is a finite binary32 value.
fn saturating_bound(k: u32, q: i32) -> u32 {
    let bits = compose(k, q);
    if bits != INF_BITS {
        bits
    } else if q <= 104 {
        0x7F7F_FFFF
    } else {
        compose((1u32 << (128 - q)) - 1, q)
    }
}
