//! [`Format`]: every number format of SEMANTICS.md behind one type, with its metadata and its
//! packed codes.

use crate::bits::pow2;
use crate::block::BlockFloatingPoint;
use crate::error::{FormatError, Result};
use crate::fixed::FixedPoint;
use crate::float::{FloatKind, FloatingPoint};
use crate::p3109::P3109;
use crate::superfp::SuperNormalFloat;
use alloc::string::ToString;

/// A number format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// IEEE-like float or the OCP E4M3FN preset (§4).
    Float(FloatingPoint),
    /// Fixed point (§5).
    Fixed(FixedPoint),
    /// Block floating point (§6).
    Block(BlockFloatingPoint),
    /// P3109 Binary8 / BinaryK (§7).
    P3109(P3109),
    /// Super-normal float (§8).
    SuperFp(SuperNormalFloat),
}

/// Summary figures of a format (all as binary32 values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormatInfo {
    /// Bits of one code (for block formats: of one element's mantissa, sign included).
    pub bits: u32,
    /// Exponent bias (None for fixed point and block formats).
    pub bias: Option<i32>,
    /// Largest finite value (block formats: relative to a shared exponent of 0).
    pub max: f32,
    /// Smallest positive normal value (fixed point: the grid step 2^-fl).
    pub min_normal: f32,
    /// Smallest positive subnormal (None without subnormals; superfp: the smallest power).
    pub min_subnormal: Option<f32>,
    /// Machine epsilon: the distance from 1 to the next value, `2^-man` (fixed: `2^-fl`).
    pub epsilon: f32,
    /// Number of distinct finite values, ±0 counted once (block: per shared exponent).
    pub finite_values: u64,
}

/// The class of a packed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeClass {
    /// ±0.
    Zero,
    /// A subnormal value (or, for superfp, a log-coded power below the linear range).
    Subnormal,
    /// A normal value.
    Normal,
    /// ±Inf.
    Infinite,
    /// NaN.
    NaN,
    /// A code the format does not use (subnormal codes without subnormals, symmetric fixed point's
    /// most negative code).
    Unused,
}

impl CodeClass {
    /// Lower-case name of the class.
    pub fn name(&self) -> &'static str {
        match self {
            CodeClass::Zero => "zero",
            CodeClass::Subnormal => "subnormal",
            CodeClass::Normal => "normal",
            CodeClass::Infinite => "inf",
            CodeClass::NaN => "nan",
            CodeClass::Unused => "unused",
        }
    }
}

impl Format {
    /// The named presets of SEMANTICS.md §4, in table order: fp32, tf32, bf16, fp16, e5m2, e4m3
    /// (IEEE-like, max 240) and e4m3fn (OCP, max 448).
    pub const PRESET_NAMES: [&'static str; 7] =
        ["fp32", "tf32", "bf16", "fp16", "e5m2", "e4m3", "e4m3fn"];

    /// A named preset with subnormals on and saturation off (`e4m3_ieee` is accepted for `e4m3`).
    pub fn preset(name: &str) -> Result<Self> {
        let (exp, man) = match name {
            "fp32" => (8, 23),
            "tf32" => (8, 10),
            "bf16" => (8, 7),
            "fp16" => (5, 10),
            "e5m2" => (5, 2),
            "e4m3" | "e4m3_ieee" => (4, 3),
            "e4m3fn" => return Ok(Format::Float(FloatingPoint::ocp_e4m3fn(true, false))),
            _ => {
                return Err(FormatError::Parse {
                    input: name.to_string(),
                    message:
                        "unknown preset; expected fp32, tf32, bf16, fp16, e5m2, e4m3 or e4m3fn"
                            .to_string(),
                });
            }
        };
        Ok(Format::Float(FloatingPoint::new(exp, man, true, false)?))
    }

    /// The SPEC family name: `float`, `fixed`, `block`, `binary8`, `binary` or `superfp`.
    pub fn family(&self) -> &'static str {
        match self {
            Format::Float(_) => "float",
            Format::Fixed(_) => "fixed",
            Format::Block(_) => "block",
            Format::P3109(p) if p.k() == 8 => "binary8",
            Format::P3109(_) => "binary",
            Format::SuperFp(_) => "superfp",
        }
    }

    /// Default number of random bits of stochastic rounding (§2): `max(1, 23 - man)` for floats
    /// and superfp, `max(1, 23 - (P - 1))` for P3109, 24 for fixed point and block formats.
    pub fn default_stochastic_bits(&self) -> u32 {
        match self {
            Format::Float(f) => 23u32.saturating_sub(f.man()).max(1),
            Format::SuperFp(f) => 23u32.saturating_sub(f.man()).max(1),
            Format::P3109(p) => 23u32.saturating_sub(p.p() - 1).max(1),
            Format::Fixed(_) | Format::Block(_) => 24,
        }
    }

    /// Whether quantizing to this format never changes a binary32 value (`fp32`).
    pub fn is_identity(&self) -> bool {
        matches!(self, Format::Float(f) if f.is_identity())
    }

    /// Summary figures: bits, bias, max, min normal/subnormal, epsilon, finite value count.
    pub fn info(&self) -> FormatInfo {
        let value = |bits: u32| f32::from_bits(bits);
        match self {
            Format::Float(f) => {
                let emin = 1 - f.bias();
                FormatInfo {
                    bits: f.total_bits(),
                    bias: Some(f.bias()),
                    max: value(f.max_bits()),
                    min_normal: value(pow2(emin)),
                    min_subnormal: (f.subnormals() && f.man() > 0)
                        .then(|| value(pow2(emin - f.man() as i32))),
                    epsilon: value(pow2(-(f.man() as i32))),
                    finite_values: 2 * f.positive_finite_count() + 1,
                }
            }
            Format::Fixed(f) => FormatInfo {
                bits: f.wl(),
                bias: None,
                max: value(f.upper_bits()),
                min_normal: value(pow2(-f.fl())),
                min_subnormal: None,
                epsilon: value(pow2(-f.fl())),
                finite_values: (1u64 << f.wl()) - u64::from(f.symmetric()),
            },
            Format::Block(b) => {
                let step = 2 - b.wl() as i32;
                FormatInfo {
                    bits: b.wl(),
                    bias: None,
                    max: value(crate::bits::compose((1 << (b.wl() - 1)) - 1, step)),
                    min_normal: value(pow2(step)),
                    min_subnormal: None,
                    epsilon: value(pow2(step)),
                    finite_values: (1u64 << b.wl()) - 1,
                }
            }
            Format::P3109(p) => {
                let emin = 1 - p.bias();
                let man = p.p() as i32 - 1;
                let positive = p.positive_finite_count();
                FormatInfo {
                    bits: p.k(),
                    bias: Some(p.bias()),
                    max: value(p.max_bits()),
                    min_normal: value(pow2(emin)),
                    min_subnormal: (p.subnormals() && man > 0).then(|| value(pow2(emin - man))),
                    epsilon: value(pow2(-man)),
                    finite_values: if p.signed() {
                        2 * positive + 1
                    } else {
                        positive + 1
                    },
                }
            }
            Format::SuperFp(s) => FormatInfo {
                bits: 1 + s.exp() + s.man(),
                bias: Some(s.bias()),
                max: value(pow2(s.top())),
                min_normal: value(pow2(s.min_exp())),
                min_subnormal: Some(value(pow2(s.lowest_power()))),
                epsilon: value(pow2(-(s.man() as i32))),
                finite_values: 2 * s.positive_finite_count() + 1,
            },
        }
    }

    /// Bits of a packed code when the format has per-element codes of at most 16 bits.
    fn code_bits(&self) -> Result<u32> {
        let bits = match self {
            Format::Block(_) => {
                return Err(FormatError::NoCode {
                    format: self.to_string(),
                    message: "block formats share one exponent per block, elements have no standalone code".to_string(),
                });
            }
            _ => self.info().bits,
        };
        if bits > 16 {
            return Err(FormatError::NoCode {
                format: self.to_string(),
                message: alloc::format!("{bits}-bit codes; packed codes are defined up to 16 bits"),
            });
        }
        Ok(bits)
    }

    /// The value of packed code `code` (formats of at most 16 bits; the code layouts are those of
    /// docs/semantics-notes.md).
    pub fn decode(&self, code: u32) -> Result<f32> {
        let bits = self.code_bits()?;
        if code >> bits != 0 {
            return Err(FormatError::NoCode {
                format: self.to_string(),
                message: alloc::format!("code {code:#x} does not fit in {bits} bits"),
            });
        }
        Ok(match self {
            Format::Float(f) => f.decode(code),
            Format::Fixed(f) => f.decode(code),
            Format::P3109(p) => p.decode(code),
            Format::SuperFp(s) => s.decode(code),
            Format::Block(_) => unreachable!("code_bits rejects block formats"),
        })
    }

    /// The class of packed code `code`.
    pub fn classify(&self, code: u32) -> Result<CodeClass> {
        let value = self.decode(code)?;
        let bits = self.code_bits()?;
        if value.is_nan() {
            return Ok(CodeClass::NaN);
        }
        if value.is_infinite() {
            return Ok(CodeClass::Infinite);
        }
        let unused = match self {
            Format::Float(f) => {
                let field = (code >> f.man()) & ((1 << f.exp()) - 1);
                !f.subnormals() && field == 0 && value != 0.0
            }
            Format::P3109(p) => {
                let magnitude = if p.signed() {
                    code & ((1 << (bits - 1)) - 1)
                } else {
                    code
                };
                !p.subnormals() && p.is_subnormal_code(magnitude)
            }
            Format::Fixed(f) => f.symmetric() && code == 1 << (bits - 1),
            _ => false,
        };
        if unused {
            return Ok(CodeClass::Unused);
        }
        if value == 0.0 {
            return Ok(CodeClass::Zero);
        }
        let min_normal = self.info().min_normal;
        Ok(match self {
            Format::Fixed(_) => CodeClass::Normal,
            _ if value.abs() < min_normal => CodeClass::Subnormal,
            _ => CodeClass::Normal,
        })
    }

    /// The packed code of `value`, which must be a value of the format (NaN gives the format's
    /// canonical NaN code; -0 gives +0's code in one-zero formats). Binary search over the
    /// magnitude codes, whose values increase with the code.
    pub fn encode(&self, value: f32) -> Result<u32> {
        let bits = self.code_bits()?;
        let not_a_value = |message: alloc::string::String| FormatError::NoCode {
            format: self.to_string(),
            message,
        };
        if let Format::Fixed(f) = self {
            let step = f32::from_bits(pow2(-f.fl()));
            let quanta = value / step;
            let code = quanta as i64;
            let in_range = (-(1i64 << (bits - 1)) + i64::from(f.symmetric())..(1i64 << (bits - 1)))
                .contains(&code);
            if !value.is_finite() || code as f32 != quanta || !in_range {
                return Err(not_a_value(alloc::format!(
                    "{value:e} is not a value of the format"
                )));
            }
            return Ok((code as u32) & ((1u32 << bits) - 1));
        }
        let (sign_bit, top_magnitude, nan_code) = match self {
            Format::Float(f) => {
                let width = f.exp() + f.man();
                let field_ones = ((1u32 << f.exp()) - 1) << f.man();
                match f.kind() {
                    FloatKind::Ieee => (
                        Some(width),
                        field_ones,
                        (f.man() > 0).then(|| field_ones | (1 << (f.man() - 1))),
                    ),
                    FloatKind::OcpE4m3Fn => (Some(width), 0x7E, Some(0x7F)),
                }
            }
            Format::P3109(p) if p.signed() => (
                Some(p.k() - 1),
                (1u32 << (p.k() - 1)) - 1,
                Some(1u32 << (p.k() - 1)),
            ),
            Format::P3109(p) => (None, (1u32 << p.k()) - 2, Some((1u32 << p.k()) - 1)),
            Format::SuperFp(s) => (
                Some(s.exp() + s.man()),
                (1u32 << (s.exp() + s.man())) - 1,
                None,
            ),
            Format::Fixed(_) | Format::Block(_) => {
                unreachable!("handled above / rejected by code_bits")
            }
        };
        if value.is_nan() {
            return nan_code.ok_or_else(|| not_a_value("the format has no NaN code".to_string()));
        }
        let negative = value.is_sign_negative();
        let magnitude = value.abs().to_bits();
        // Lowest magnitude code whose value is >= |value|.
        let (mut low, mut high) = (0u32, top_magnitude);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.decode(middle)?.to_bits() < magnitude {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        if self.decode(low)?.to_bits() != magnitude || self.classify(low)? == CodeClass::Unused {
            return Err(not_a_value(alloc::format!(
                "{value:e} (bits {:#010x}) is not a value of the format",
                value.to_bits()
            )));
        }
        match (negative, sign_bit) {
            (false, _) => Ok(low),
            (true, Some(shift))
                if low != 0 || matches!(self, Format::Float(_) | Format::SuperFp(_)) =>
            {
                Ok(low | (1 << shift))
            }
            (true, _) if low == 0 => Ok(0),
            (true, _) => Err(not_a_value(alloc::format!(
                "{value:e} is negative and the format is unsigned"
            ))),
        }
    }

    /// Name of the format if it is an unmodified preset.
    pub fn preset_name(&self) -> Option<&'static str> {
        Self::PRESET_NAMES
            .into_iter()
            .find(|name| Format::preset(name).is_ok_and(|preset| preset == *self))
    }
}
