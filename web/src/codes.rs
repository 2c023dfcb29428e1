//! Packed codes as the bit editor shows them: what each bit means, code ↔ value and the class of
//! a code. Formats of at most 16 bits use lowp-formats' own codes; wider IEEE-like floats (fp32,
//! tf32, ...) use the same sign | exponent | mantissa layout up to 32 bits.

use crate::values::magnitude_code;
use lowp_formats::float::FloatKind;
use lowp_formats::{CodeClass, Format, FormatError};

/// Widest code the lowp-formats code functions cover.
const MAX_PACKED_BITS: u32 = 16;

/// What one bit of a code means (the colour of its button).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitRole {
    /// The sign bit (two's complement sign for fixed point).
    Sign,
    /// An exponent-field bit.
    Exponent,
    /// A mantissa (trailing significand) bit.
    Mantissa,
    /// An integer bit of a fixed-point code.
    Integer,
    /// A fraction bit of a fixed-point code.
    Fraction,
}

impl BitRole {
    /// Lower-case name, also the CSS class of the bit.
    pub fn name(&self) -> &'static str {
        match self {
            BitRole::Sign => "sign",
            BitRole::Exponent => "exponent",
            BitRole::Mantissa => "mantissa",
            BitRole::Integer => "integer",
            BitRole::Fraction => "fraction",
        }
    }
}

/// The packed codes of a format with per-element codes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeView {
    format: Format,
    bits: u32,
}

impl CodeView {
    /// The code view of `format`; an error for block formats (no per-element code) and for
    /// formats wider than 16 bits other than IEEE-like floats.
    pub fn new(format: Format) -> Result<Self, String> {
        let bits = format.info().bits;
        match format {
            Format::Block(_) => Err(
                "block formats share one exponent per block: elements have no code of their own (see the tensor view)"
                    .to_string(),
            ),
            Format::Float(f) if f.kind() == FloatKind::Ieee => Ok(Self { format, bits }),
            _ if bits <= MAX_PACKED_BITS => Ok(Self { format, bits }),
            _ => Err(format!(
                "{bits}-bit codes: the bit editor covers codes up to {MAX_PACKED_BITS} bits (and floats up to 32)"
            )),
        }
    }

    /// Bits of a code.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Mask of the valid code bits.
    pub fn mask(&self) -> u32 {
        u32::MAX >> (32 - self.bits)
    }

    /// The meaning of bit `bit` (0 = least significant).
    pub fn role(&self, bit: u32) -> BitRole {
        let top = self.bits - 1;
        match self.format {
            Format::Fixed(f) => {
                if bit == top {
                    BitRole::Sign
                } else if i64::from(bit) < i64::from(f.fl()) {
                    BitRole::Fraction
                } else {
                    BitRole::Integer
                }
            }
            _ => {
                let (signed, man) = match self.format {
                    Format::Float(f) => (true, f.man()),
                    Format::SuperFp(s) => (true, s.man()),
                    Format::P3109(p) => (p.signed(), p.p() - 1),
                    Format::Fixed(_) | Format::Block(_) => unreachable!("handled above / rejected"),
                };
                if signed && bit == top {
                    BitRole::Sign
                } else if bit < man {
                    BitRole::Mantissa
                } else {
                    BitRole::Exponent
                }
            }
        }
    }

    /// The value of `code` (bits above the width are ignored).
    pub fn decode(&self, code: u32) -> f32 {
        let code = code & self.mask();
        match &self.format {
            Format::Float(f) if self.bits > MAX_PACKED_BITS => f.decode(code),
            format => format.decode(code).unwrap_or(f32::NAN),
        }
    }

    /// The class of `code`.
    pub fn classify(&self, code: u32) -> CodeClass {
        let code = code & self.mask();
        match &self.format {
            Format::Float(f) if self.bits > MAX_PACKED_BITS => {
                let value = f.decode(code);
                let field = (code >> f.man()) & ((1 << f.exp()) - 1);
                if value.is_nan() {
                    CodeClass::NaN
                } else if value.is_infinite() {
                    CodeClass::Infinite
                } else if value == 0.0 {
                    CodeClass::Zero
                } else if field == 0 {
                    if f.subnormals() {
                        CodeClass::Subnormal
                    } else {
                        CodeClass::Unused
                    }
                } else {
                    CodeClass::Normal
                }
            }
            format => format.classify(code).unwrap_or(CodeClass::Unused),
        }
    }

    /// The code of `value`, which must be a value of the format.
    pub fn encode(&self, value: f32) -> Result<u32, FormatError> {
        match &self.format {
            Format::Float(f) if self.bits > MAX_PACKED_BITS => {
                let sign = (value.is_sign_negative() as u32) << (self.bits - 1);
                let field_ones = ((1u32 << f.exp()) - 1) << f.man();
                if value.is_nan() {
                    return Ok(field_ones | (1 << (f.man() - 1)));
                }
                magnitude_code(|c| f.decode(c), field_ones, value.abs())
                    .filter(|&c| self.classify(c) != CodeClass::Unused)
                    .map(|c| sign | c)
                    .ok_or_else(|| FormatError::NoCode {
                        format: self.format.to_string(),
                        message: format!("{value:e} is not a value of the format"),
                    })
            }
            format => format.encode(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(spec: &str) -> CodeView {
        CodeView::new(spec.parse().unwrap()).unwrap()
    }

    #[test]
    fn float_bits_are_sign_exponent_mantissa() {
        let e4m3 = view("e4m3");
        let roles: Vec<_> = (0..8).rev().map(|b| e4m3.role(b)).collect();
        use BitRole::*;
        assert_eq!(
            roles,
            [
                Sign, Exponent, Exponent, Exponent, Exponent, Mantissa, Mantissa, Mantissa
            ]
        );
        assert_eq!(e4m3.decode(0x38), 1.0);
        assert_eq!(e4m3.classify(0x01), CodeClass::Subnormal);
        assert_eq!(e4m3.encode(-1.0), Ok(0xB8));
    }

    #[test]
    fn p3109_and_fixed_layouts() {
        use BitRole::*;
        let unsigned = view("binary8(p=3,signed=false)");
        assert_eq!(unsigned.role(7), Exponent);
        assert_eq!(unsigned.role(1), Mantissa);
        let signed = view("binary8(p=3)");
        assert_eq!(signed.role(7), Sign);
        assert_eq!(signed.role(2), Exponent);
        let fixed = view("fixed(wl=8,fl=3)");
        let roles: Vec<_> = (0..8).rev().map(|b| fixed.role(b)).collect();
        assert_eq!(
            roles,
            [
                Sign, Integer, Integer, Integer, Integer, Fraction, Fraction, Fraction
            ]
        );
        assert_eq!(fixed.decode(0xFF), -0.125);
    }

    #[test]
    fn wide_floats_use_their_own_codes() {
        let fp32 = view("fp32");
        assert_eq!(fp32.bits(), 32);
        assert_eq!(fp32.decode(0x3F80_0000), 1.0);
        assert_eq!(fp32.encode(-2.5), Ok((-2.5f32).to_bits()));
        assert_eq!(fp32.classify(1), CodeClass::Subnormal);
        let tf32 = view("tf32");
        assert_eq!(tf32.bits(), 19);
        assert_eq!(tf32.decode(tf32.encode(1.5).unwrap()), 1.5);
        assert_eq!(tf32.classify(0x3FC00), CodeClass::Infinite);
        let no_sub = view("fp32(subnormals=false)");
        assert_eq!(no_sub.classify(1), CodeClass::Unused);
        assert!(no_sub.encode(f32::from_bits(1)).is_err());
        assert!(
            view("fp32")
                .decode(view("fp32").encode(f32::NAN).unwrap())
                .is_nan()
        );
    }

    #[test]
    fn formats_without_codes_are_refused() {
        assert!(CodeView::new("block(wl=8,dim=-1)".parse().unwrap()).is_err());
        assert!(CodeView::new("fixed(wl=20,fl=4)".parse().unwrap()).is_err());
    }
}
