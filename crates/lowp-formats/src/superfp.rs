//! SuperNormalFloat `superfp(exp, man, binades, saturate)` (SEMANTICS.md §8): a float whose
//! lowest and highest binades are replaced by log-coded pure powers of two.

use crate::bits::{
    INF_BITS, QUIET_BIT, SIGN_BIT, compose, exponent_of, pow2, round_to_quantum, split,
};
use crate::error::{Result, invalid};
use crate::rounding::Rounding;

/// Super-normal float with `exp` exponent and `man` mantissa bits, bias `2^(exp-1)`, whose
/// lowest `binades_lo` and highest `binades_hi` binades hold powers of two.
///
/// Linear exponents `[min_exp, max_exp]` with `min_exp = binades_lo - 2^(exp-1)` and
/// `max_exp = 2^(exp-1) - 1 - binades_hi`; powers go down to
/// `2^(min_exp - binades_lo*2^man + 1)` and up to `2^top`, `top = max_exp + binades_hi*2^man - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SuperNormalFloat {
    exp: u32,
    man: u32,
    binades_lo: u32,
    binades_hi: u32,
    saturate: bool,
}

impl SuperNormalFloat {
    /// A superfp format; `2 <= exp <= 8`, `man <= 23`, `binades_lo, binades_hi >= 1` and together
    /// leaving at least one linear binade, else an error.
    pub fn new(
        exp: u32,
        man: u32,
        binades_lo: u32,
        binades_hi: u32,
        saturate: bool,
    ) -> Result<Self> {
        if !(2..=8).contains(&exp) {
            return Err(invalid(
                "superfp",
                alloc::format!("exp = {exp}, must be in 2..=8"),
            ));
        }
        if man > 23 {
            return Err(invalid(
                "superfp",
                alloc::format!("man = {man}, must be in 0..=23"),
            ));
        }
        if binades_lo == 0 || binades_hi == 0 {
            return Err(invalid("superfp", "binades must be >= 1 at both ends"));
        }
        if binades_lo + binades_hi >= (1 << exp) {
            return Err(invalid(
                "superfp",
                alloc::format!(
                    "binades {binades_lo}:{binades_hi} leave no linear binade with exp = {exp}"
                ),
            ));
        }
        Ok(Self {
            exp,
            man,
            binades_lo,
            binades_hi,
            saturate,
        })
    }

    /// Exponent bits.
    pub fn exp(&self) -> u32 {
        self.exp
    }
    /// Mantissa bits.
    pub fn man(&self) -> u32 {
        self.man
    }
    /// Log-coded binades at the bottom.
    pub fn binades_lo(&self) -> u32 {
        self.binades_lo
    }
    /// Log-coded binades at the top.
    pub fn binades_hi(&self) -> u32 {
        self.binades_hi
    }
    /// Whether overflow and infinities saturate to `2^top`.
    pub fn saturate(&self) -> bool {
        self.saturate
    }
    /// Exponent bias `2^(exp-1)`.
    pub fn bias(&self) -> i32 {
        1 << (self.exp - 1)
    }
    /// Lowest exponent of the linear range.
    pub fn min_exp(&self) -> i32 {
        self.binades_lo as i32 - self.bias()
    }
    /// Highest exponent of the linear range.
    pub fn max_exp(&self) -> i32 {
        self.bias() - 1 - self.binades_hi as i32
    }
    /// Exponent of the smallest power: `min_exp - binades_lo * 2^man + 1`.
    pub fn lowest_power(&self) -> i32 {
        self.min_exp() - ((self.binades_lo as i32) << self.man) + 1
    }
    /// Exponent of the largest power (the max finite value `2^top`).
    pub fn top(&self) -> i32 {
        self.max_exp() + ((self.binades_hi as i32) << self.man) - 1
    }

    /// Quantizes the binary32 pattern `x` with round-to-nearest (the only mode defined).
    #[inline(always)]
    pub fn quantize_bits(&self, x: u32) -> u32 {
        let sign = x & SIGN_BIT;
        let magnitude = x & !SIGN_BIT;
        if magnitude > INF_BITS {
            return x | QUIET_BIT;
        }
        if magnitude == 0 {
            return x;
        }
        let overflow = if self.saturate {
            pow2(self.top())
        } else {
            INF_BITS
        };
        if magnitude == INF_BITS {
            return sign | overflow;
        }
        let exponent = exponent_of(magnitude);
        let result = if exponent >= self.min_exp() && exponent <= self.max_exp() {
            // With no mantissa bits the code's last bit is the exponent field `exponent + bias`.
            let field_parity = (self.man == 0).then_some((exponent + self.bias()) & 1 == 1);
            let rounded = round_to_quantum(
                magnitude,
                exponent - self.man as i32,
                Rounding::Nearest,
                field_parity,
                false,
                0,
            );
            if rounded > pow2(self.top()) {
                overflow
            } else {
                rounded
            }
        } else if exponent < self.lowest_power() {
            // Below the smallest power: midpoint half of it, a tie rounds up.
            if exponent == self.lowest_power() - 1 {
                pow2(self.lowest_power())
            } else {
                0
            }
        } else {
            // Log range: between 2^E and 2^(E+1) the midpoint is 1.5 * 2^E, ties round up.
            let power = exponent + at_least_one_and_a_half(magnitude) as i32;
            if power > self.top() {
                overflow
            } else {
                pow2(power)
            }
        };
        sign | result
    }

    /// The value of code `code` (sign | exponent field | mantissa, `1 + exp + man` bits). Codes
    /// of the bottom binades count up from zero through the powers; the last code of the top
    /// binades is infinity.
    pub fn decode(&self, code: u32) -> f32 {
        let width = self.exp + self.man;
        let sign = ((code >> width) & 1) << 31;
        let magnitude_code = code & ((1 << width) - 1);
        let per_binade = 1u32 << self.man;
        let bottom_codes = self.binades_lo * per_binade;
        let top_start = (1u32 << width) - self.binades_hi * per_binade;
        let magnitude = if magnitude_code == 0 {
            0
        } else if magnitude_code < bottom_codes {
            pow2(self.lowest_power() + magnitude_code as i32 - 1)
        } else if magnitude_code < top_start {
            let field = magnitude_code >> self.man;
            let mantissa = magnitude_code & (per_binade - 1);
            compose(
                per_binade | mantissa,
                field as i32 - self.bias() - self.man as i32,
            )
        } else if magnitude_code == (1 << width) - 1 {
            INF_BITS
        } else {
            pow2(self.max_exp() + 1 + (magnitude_code - top_start) as i32)
        };
        f32::from_bits(sign | magnitude)
    }

    /// Number of finite positive values.
    pub fn positive_finite_count(&self) -> u64 {
        let per_binade = 1u64 << self.man;
        let linear =
            ((1u64 << self.exp) - u64::from(self.binades_lo + self.binades_hi)) * per_binade;
        (u64::from(self.binades_lo) * per_binade - 1)
            + linear
            + (u64::from(self.binades_hi) * per_binade - 1)
    }
}

/// Whether a finite nonzero magnitude's significand is at least 1.5 (the bit after the leading one).
#[inline(always)]
fn at_least_one_and_a_half(magnitude: u32) -> bool {
    let (significand, _) = split(magnitude);
    let leading = 31 - significand.leading_zeros();
    leading > 0 && (significand >> (leading - 1)) & 1 == 1
}
