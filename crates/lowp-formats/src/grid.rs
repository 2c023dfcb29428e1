//! The quantizer shared by every sign/exponent/mantissa family (IEEE-like floats, OCP e4m3fn,
//! P3109): round the exact input to the grid `2^(max(floor(log2|x|), emin) - man)` (or `2^emin`
//! below the normal range without subnormals), then apply the family's overflow, infinity, zero
//! and sign rules.

use crate::bits::{INF_BITS, QNAN_BITS, QUIET_BIT, SIGN_BIT, exponent_of, round_to_quantum};
use crate::rounding::Rounding;

/// What a special case produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// Signed infinity.
    Infinity,
    /// The largest finite magnitude, with the input's sign.
    Max,
    /// NaN.
    NaN,
}

/// The value grid and special-value rules of a sign/exponent/mantissa format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatGrid {
    /// Exponent of the smallest normal binade (`1 - bias`).
    pub emin: i32,
    /// Stored mantissa bits (precision - 1).
    pub man: u32,
    /// Whether gradual underflow on `2^(emin - man)` is used below `2^emin`.
    pub subnormals: bool,
    /// binary32 pattern of the largest finite magnitude.
    pub max_bits: u32,
    /// What a rounded magnitude above max gives in a mode that overflows (§2 IEEE rule).
    pub overflow: Special,
    /// What an infinite input gives.
    pub infinity: Special,
    /// Whether a negative zero result keeps its sign (false: results are +0).
    pub signed_zero: bool,
    /// Whether the format is unsigned (negative inputs other than -0 give NaN).
    pub unsigned: bool,
}

impl FloatGrid {
    /// Exponent of the grid below the normal range: `emin - man` with subnormals, else `emin`.
    pub fn low_quantum_exponent(&self) -> i32 {
        if self.subnormals {
            self.emin - self.man as i32
        } else {
            self.emin
        }
    }

    /// Quantizes the binary32 pattern `x` with `mode`; `word` is the element's random word.
    #[inline(always)]
    pub fn quantize_bits(&self, x: u32, mode: Rounding, word: u32) -> u32 {
        let sign = x & SIGN_BIT;
        let magnitude = x & !SIGN_BIT;
        let negative = sign != 0;
        if magnitude > INF_BITS {
            return x | QUIET_BIT;
        }
        if self.unsigned && negative && magnitude != 0 {
            return QNAN_BITS;
        }
        let zero = if self.signed_zero { sign } else { 0 };
        if magnitude == 0 {
            return zero;
        }
        if magnitude == INF_BITS {
            return self.special(self.infinity, sign);
        }
        let exponent = exponent_of(magnitude);
        let (q, field_parity) = if exponent < self.emin {
            (self.low_quantum_exponent(), None)
        } else {
            // With no mantissa bits the code's last bit is the exponent field `exponent - emin + 1`.
            let parity = (self.man == 0).then_some((exponent - self.emin) & 1 == 0);
            (exponent - self.man as i32, parity)
        };
        let rounded = round_to_quantum(magnitude, q, mode, field_parity, negative, word);
        if rounded == 0 {
            return zero;
        }
        if rounded > self.max_bits {
            let outcome = if mode.overflows(negative) {
                self.overflow
            } else {
                Special::Max
            };
            return self.special(outcome, sign);
        }
        sign | rounded
    }

    #[inline(always)]
    fn special(&self, outcome: Special, sign: u32) -> u32 {
        match outcome {
            Special::Infinity => sign | INF_BITS,
            Special::Max => sign | self.max_bits,
            Special::NaN => sign | QNAN_BITS,
        }
    }
}
