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
