//! IEEE-style floating point formats `FloatingPoint(exp, man, subnormals, saturate)`
//! (SEMANTICS.md §4) and the OCP E4M3FN preset.

use crate::bits::{INF_BITS, compose};
use crate::error::{Result, invalid};
use crate::grid::{FloatGrid, Special};

/// Which encoding rule a [`FloatingPoint`] follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FloatKind {
    /// IEEE 754 style: bias `2^(exp-1) - 1`, the all-ones exponent field holds Inf/NaN.
    Ieee,
    /// OCP 8-bit E4M3FN: bias 7, max 448, no infinities, NaN only at `S.1111.111`.
    OcpE4m3Fn,
}

/// A sign/exponent/mantissa float with `exp` exponent and `man` mantissa bits.
///
/// IEEE kind: bias `b = 2^(exp-1) - 1`, `emin = 1 - b`, `emax = b`,
/// `max = (2 - 2^-man) * 2^emax`; with subnormals the grid below `2^emin` is `2^(emin-man)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FloatingPoint {
    exp: u32,
    man: u32,
    subnormals: bool,
    saturate: bool,
    kind: FloatKind,
}

impl FloatingPoint {
    /// An IEEE-style format; `2 <= exp <= 8` and `man <= 23`, else an error.
    pub fn new(exp: u32, man: u32, subnormals: bool, saturate: bool) -> Result<Self> {
        if !(2..=8).contains(&exp) {
            return Err(invalid(
                "float",
                alloc::format!("exp = {exp}, must be in 2..=8"),
            ));
        }
        if man > 23 {
            return Err(invalid(
                "float",
                alloc::format!("man = {man}, must be in 0..=23"),
            ));
        }
        Ok(Self {
            exp,
            man,
            subnormals,
            saturate,
            kind: FloatKind::Ieee,
        })
    }

    /// OCP E4M3FN (bias 7, max 448, no Inf). Overflow gives NaN, or 448 when `saturate`.
    pub fn ocp_e4m3fn(subnormals: bool, saturate: bool) -> Self {
        Self {
            exp: 4,
            man: 3,
            subnormals,
            saturate,
            kind: FloatKind::OcpE4m3Fn,
        }
    }

    /// Exponent bits.
    pub fn exp(&self) -> u32 {
        self.exp
    }
    /// Mantissa bits (precision - 1).
    pub fn man(&self) -> u32 {
        self.man
    }
    /// Whether subnormals are used.
    pub fn subnormals(&self) -> bool {
        self.subnormals
    }
    /// Whether finite overflow saturates to max.
    pub fn saturate(&self) -> bool {
        self.saturate
    }
    /// The encoding rule.
    pub fn kind(&self) -> FloatKind {
        self.kind
    }

    /// Exponent bias: `2^(exp-1) - 1`.
    pub fn bias(&self) -> i32 {
        (1 << (self.exp - 1)) - 1
    }

    /// Largest unbiased exponent of a finite value (8 for E4M3FN).
    pub fn emax(&self) -> i32 {
        match self.kind {
            FloatKind::Ieee => self.bias(),
            FloatKind::OcpE4m3Fn => 8,
        }
    }

    /// binary32 pattern of the largest finite magnitude.
    pub fn max_bits(&self) -> u32 {
        match self.kind {
            // (2 - 2^-man) * 2^emax = (2^(man+1) - 1) * 2^(emax - man)
            FloatKind::Ieee => compose((2 << self.man) - 1, self.emax() - self.man as i32),
            // 1.75 * 2^8
            FloatKind::OcpE4m3Fn => compose(7, 6),
        }
    }

    /// The grid and special-value rules used by the quantizer.
    pub fn grid(&self) -> FloatGrid {
        let overflow_special = match (self.kind, self.saturate) {
            (_, true) => Special::Max,
            (FloatKind::Ieee, false) => Special::Infinity,
            (FloatKind::OcpE4m3Fn, false) => Special::NaN,
        };
        let infinity = match self.kind {
            FloatKind::Ieee => Special::Infinity,
            FloatKind::OcpE4m3Fn => overflow_special,
        };
        FloatGrid {
            emin: 1 - self.bias(),
            man: self.man,
            subnormals: self.subnormals,
            max_bits: self.max_bits(),
            overflow: overflow_special,
            infinity,
            signed_zero: true,
            unsigned: false,
        }
    }

    /// Whether the format is the identity on binary32 (`fp32` with subnormals).
    pub fn is_identity(&self) -> bool {
        self.exp == 8 && self.man == 23 && self.subnormals && self.kind == FloatKind::Ieee
    }

    /// Total bits of one code: `1 + exp + man`.
    pub fn total_bits(&self) -> u32 {
        1 + self.exp + self.man
    }

    /// The value of code `code` (sign | exponent field | mantissa), as binary32.
    pub fn decode(&self, code: u32) -> f32 {
        let sign = (code >> (self.exp + self.man)) & 1;
        let field = (code >> self.man) & ((1 << self.exp) - 1);
        let mantissa = code & ((1 << self.man) - 1);
        let all_ones = (1 << self.exp) - 1;
        let signed = |magnitude: u32| f32::from_bits((sign << 31) | magnitude);
        match self.kind {
            FloatKind::Ieee if field == all_ones => {
                if mantissa == 0 {
                    signed(INF_BITS)
                } else {
                    f32::NAN
                }
            }
            FloatKind::OcpE4m3Fn if field == all_ones && mantissa == (1 << self.man) - 1 => {
                f32::NAN
            }
            _ => {
                let emin = 1 - self.bias();
                if field == 0 {
                    signed(compose(mantissa, emin - self.man as i32))
                } else {
                    signed(compose(
                        (1 << self.man) | mantissa,
                        field as i32 - self.bias() - self.man as i32,
                    ))
                }
            }
        }
    }

    /// Number of finite positive values (zero excluded).
    pub fn positive_finite_count(&self) -> u64 {
        let per_binade = 1u64 << self.man;
        let normal_fields = (1u64 << self.exp) - 2;
        let normals = match self.kind {
            FloatKind::Ieee => normal_fields * per_binade,
            FloatKind::OcpE4m3Fn => (normal_fields + 1) * per_binade - 1,
        };
        let subnormals = if self.subnormals { per_binade - 1 } else { 0 };
        normals + subnormals
    }
}
