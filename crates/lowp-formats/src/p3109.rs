//! IEEE P3109 formats `Binary8(P, signed, subnormals, overflow)` and `BinaryK(K, P, ...)`
//! (SEMANTICS.md §7).

use crate::bits::{INF_BITS, QNAN_BITS, SIGN_BIT, compose};
use crate::error::{Result, invalid};
use crate::grid::{FloatGrid, Special};

/// P3109 overflow policy (mptorch's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Extended domain; overflow gives infinity (directed modes follow the IEEE rule).
    SaturateInfty,
    /// Extended domain; finite overflow and infinities give ±max.
    SaturateMaxFloat,
    /// Finite domain (the infinity codes hold ±max); overflow and infinities give ±max.
    SaturateMaxFloat2,
}

impl OverflowPolicy {
    /// The policy's name in SPECs and the conformance vectors.
    pub fn name(&self) -> &'static str {
        match self {
            OverflowPolicy::SaturateInfty => "saturate_infty",
            OverflowPolicy::SaturateMaxFloat => "saturate_maxfloat",
            OverflowPolicy::SaturateMaxFloat2 => "saturate_maxfloat2",
        }
    }

    /// Parses `saturate_infty`, `saturate_maxfloat` or `saturate_maxfloat2`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "saturate_infty" => Some(OverflowPolicy::SaturateInfty),
            "saturate_maxfloat" => Some(OverflowPolicy::SaturateMaxFloat),
            "saturate_maxfloat2" => Some(OverflowPolicy::SaturateMaxFloat2),
            _ => None,
        }
    }
}

/// A P3109 format of `k` bits and precision `p` (implicit bit included).
///
/// Signed: `k - p` exponent bits, bias `2^(k-p-1)`, NaN at `0x80..0`, infinities at the all-ones
/// magnitude (extended domain). Unsigned: `k - p + 1` exponent bits, bias `2^(k-p)`, NaN at all
/// ones, +Inf just below it. One zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct P3109 {
    k: u32,
    p: u32,
    signed: bool,
    subnormals: bool,
    overflow: OverflowPolicy,
}

impl P3109 {
    /// A P3109 format; `3 <= k <= 16`, `1 <= p < k` (signed) or `1 <= p <= k` (unsigned), and a
    /// range inside binary32 (`k - p <= 8` signed, `<= 7` unsigned), else an error.
    pub fn new(
        k: u32,
        p: u32,
        signed: bool,
        subnormals: bool,
        overflow: OverflowPolicy,
    ) -> Result<Self> {
        let family = if k == 8 { "binary8" } else { "binary" };
        if !(3..=16).contains(&k) {
            return Err(invalid(
                family,
                alloc::format!("K = {k}, must be in 3..=16"),
            ));
        }
        let p_max = if signed { k - 1 } else { k };
        if !(1..=p_max).contains(&p) {
            return Err(invalid(
                family,
                alloc::format!(
                    "P = {p}, must be in 1..={p_max} for a {} {k}-bit format",
                    if signed { "signed" } else { "unsigned" }
                ),
            ));
        }
        let exponent_bits = if signed { k - p } else { k - p + 1 };
        if exponent_bits > 8 {
            return Err(invalid(
                family,
                alloc::format!(
                    "K = {k}, P = {p} has {exponent_bits} exponent bits: its range exceeds binary32"
                ),
            ));
        }
        Ok(Self {
            k,
            p,
            signed,
            subnormals,
            overflow,
        })
    }

    /// Width in bits.
    pub fn k(&self) -> u32 {
        self.k
    }
    /// Precision (significand bits including the implicit one).
    pub fn p(&self) -> u32 {
        self.p
    }
    /// Whether the format is signed.
    pub fn signed(&self) -> bool {
        self.signed
    }
    /// Whether subnormal codes are used.
    pub fn subnormals(&self) -> bool {
        self.subnormals
    }
    /// The overflow policy.
    pub fn overflow(&self) -> OverflowPolicy {
        self.overflow
    }
    /// Exponent bias: `2^(k-p-1)` signed, `2^(k-p)` unsigned.
    pub fn bias(&self) -> i32 {
        if self.signed {
            1 << (self.k - self.p - 1)
        } else {
            1 << (self.k - self.p)
        }
    }
    /// Bits of a magnitude code (`k - 1` signed, `k` unsigned).
    fn magnitude_bits(&self) -> u32 {
        if self.signed { self.k - 1 } else { self.k }
    }

    /// Largest finite magnitude code: the all-ones magnitude in the finite domain, one less in the
    /// extended domain (signed) / two less (unsigned, whose all-ones code is NaN).
    pub fn max_code(&self) -> u32 {
        let all_ones = (1u32 << self.magnitude_bits()) - 1;
        let reserved = match (self.signed, self.overflow) {
            (true, OverflowPolicy::SaturateMaxFloat2) => 0,
            (true, _) => 1,
            (false, OverflowPolicy::SaturateMaxFloat2) => 1,
            (false, _) => 2,
        };
        all_ones - reserved
    }

    /// binary32 pattern of the magnitude of a (sign-free) code.
    fn magnitude_value(&self, code: u32) -> u32 {
        let man = self.p - 1;
        let field = code >> man;
        let mantissa = code & ((1 << man) - 1);
        if field == 0 {
            compose(mantissa, 1 - self.bias() - man as i32)
        } else {
            compose(
                (1 << man) | mantissa,
                field as i32 - self.bias() - man as i32,
            )
        }
    }

    /// binary32 pattern of the largest finite magnitude.
    pub fn max_bits(&self) -> u32 {
        self.magnitude_value(self.max_code())
    }

    /// The grid and special-value rules used by the quantizer.
    pub fn grid(&self) -> FloatGrid {
        let saturating = match self.overflow {
            OverflowPolicy::SaturateInfty => Special::Infinity,
            _ => Special::Max,
        };
        FloatGrid {
            emin: 1 - self.bias(),
            man: self.p - 1,
            subnormals: self.subnormals,
            max_bits: self.max_bits(),
            overflow: saturating,
            infinity: saturating,
            signed_zero: false,
            unsigned: !self.signed,
        }
    }

    /// The value of the `k`-bit code `code`.
    pub fn decode(&self, code: u32) -> f32 {
        let magnitude_bits = self.magnitude_bits();
        let magnitude_mask = (1u32 << magnitude_bits) - 1;
        let (sign, magnitude) = if self.signed {
            ((code >> magnitude_bits) & 1, code & magnitude_mask)
        } else {
            (0, code & magnitude_mask)
        };
        if self.signed && sign == 1 && magnitude == 0 {
            return f32::from_bits(QNAN_BITS);
        }
        if !self.signed && magnitude == magnitude_mask {
            return f32::from_bits(QNAN_BITS);
        }
        let bits = if magnitude > self.max_code() {
            INF_BITS
        } else {
            self.magnitude_value(magnitude)
        };
        f32::from_bits(if sign == 1 { SIGN_BIT | bits } else { bits })
    }

    /// Whether `magnitude` code is a subnormal code (exponent field 0, nonzero mantissa).
    pub fn is_subnormal_code(&self, magnitude: u32) -> bool {
        magnitude != 0 && magnitude >> (self.p - 1) == 0
    }

    /// Number of finite positive values.
    pub fn positive_finite_count(&self) -> u64 {
        let unused_subnormals = if self.subnormals {
            0
        } else {
            (1u64 << (self.p - 1)) - 1
        };
        u64::from(self.max_code()) - unused_subnormals
    }
}
