//! The error type of lowp-formats.

use alloc::string::String;

/// Everything that can go wrong when building a format, a rounding mode or a quantizer,
/// or when parsing a format SPEC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A format parameter is outside its valid range (for example `exp = 9` or `man = 24`).
    #[error("invalid {family} parameter: {message}")]
    InvalidParameter {
        /// The format family, e.g. `float` or `binary8`.
        family: &'static str,
        /// What is wrong, naming the parameter and its allowed range.
        message: String,
    },
    /// The rounding mode is not defined for this format (e.g. `up` for a superfp format).
    #[error("rounding mode {rounding} is not supported by {format}")]
    UnsupportedRounding {
        /// The rounding mode's name.
        rounding: &'static str,
        /// The format's SPEC string.
        format: String,
    },
    /// A SPEC or rounding-mode string could not be parsed.
    #[error("cannot parse `{input}`: {message}")]
    Parse {
        /// The text that was given.
        input: String,
        /// Why it was rejected.
        message: String,
    },
    /// Packed codes (encode/decode) are only defined for formats of at most 16 bits.
    #[error("{format} has no packed per-element code: {message}")]
    NoCode {
        /// The format's SPEC string.
        format: String,
        /// Why (too wide, shared exponent, out-of-range code ...).
        message: String,
    },
    /// A tensor shape does not fit the data or the format (block `dim` out of range ...).
    #[error("shape error: {0}")]
    Shape(String),
}

/// Result alias of lowp-formats.
pub type Result<T> = core::result::Result<T, FormatError>;

/// Shorthand for an [`FormatError::InvalidParameter`].
pub(crate) fn invalid(family: &'static str, message: impl Into<String>) -> FormatError {
    FormatError::InvalidParameter {
        family,
        message: message.into(),
    }
}

/// Checks that a row-major tensor of `shape` has exactly `len` elements (the product of its
/// axes, which must not overflow `usize`).
///
/// ```
/// use lowp_formats::check_shape;
/// assert!(check_shape(&[2, 3], 6).is_ok());
/// assert!(check_shape(&[2, 3], 5).is_err());
/// assert!(check_shape(&[usize::MAX, 2], 0).is_err());
/// ```
pub fn check_shape(shape: &[usize], len: usize) -> Result<()> {
    match shape
        .iter()
        .try_fold(1usize, |n, &axis| n.checked_mul(axis))
    {
        Some(product) if product == len => Ok(()),
        Some(product) => Err(FormatError::Shape(alloc::format!(
            "shape {shape:?} has {product} elements, the data has {len}"
        ))),
        None => Err(FormatError::Shape(alloc::format!(
            "shape {shape:?} has too many elements"
        ))),
    }
}
