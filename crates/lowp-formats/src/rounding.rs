//! Rounding modes (SEMANTICS.md §2) and the one rounding decision every quantizer shares.

use crate::error::{FormatError, Result};
use alloc::string::ToString;
use core::fmt;

/// How an exact value between two neighbours `lo` (toward zero) and `hi` (away from zero) of a
/// format is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Round to nearest, ties to the neighbour whose code is even.
    Nearest,
    /// Round toward zero (truncate); never overflows to infinity.
    TowardZero,
    /// Round toward +infinity.
    Up,
    /// Round toward -infinity.
    Down,
    /// Round to nearest, ties away from zero.
    NearestAway,
    /// Round to odd: an inexact value goes to the neighbour whose code is odd.
    Odd,
    /// Stochastic rounding ("stochastic A"): with `v = (|x|-|lo|)/(|hi|-|lo|)` and `R` the top
    /// `bits` bits of the element's random word, round to `hi` iff `floor(v * 2^bits) + R >= 2^bits`.
    Stochastic {
        /// Number of random bits r, `1 <= r <= 32`.
        bits: u32,
    },
}

/// The rounding-mode names of the CLI and SPEC grammar, in the order of SEMANTICS.md §2.
pub const ROUNDING_NAMES: [&str; 7] = [
    "nearest",
    "toward-zero",
    "up",
    "down",
    "nearest-away",
    "odd",
    "stochastic",
];

impl Rounding {
    /// Parses a mode name (`nearest toward-zero up down nearest-away odd stochastic`; `_` may
    /// replace `-`, and mptorch's `truncate` means `toward-zero`). `bits` is only meaningful for
    /// `stochastic`; `None` selects `default_bits` (the format's default, see
    /// [`crate::Format::default_stochastic_bits`]).
    pub fn from_name(name: &str, bits: Option<u32>, default_bits: u32) -> Result<Self> {
        let normalized = name.trim().to_ascii_lowercase().replace('_', "-");
        let mode = match normalized.as_str() {
            "nearest" => Rounding::Nearest,
            "toward-zero" | "truncate" => Rounding::TowardZero,
            "up" => Rounding::Up,
            "down" => Rounding::Down,
            "nearest-away" => Rounding::NearestAway,
            "odd" => Rounding::Odd,
            "stochastic" => Rounding::stochastic(bits.unwrap_or(default_bits))?,
            _ => {
                return Err(FormatError::Parse {
                    input: name.to_string(),
                    message: "unknown rounding mode; expected one of nearest, toward-zero, up, down, nearest-away, odd, stochastic".to_string(),
                });
            }
        };
        if bits.is_some() && !matches!(mode, Rounding::Stochastic { .. }) {
            return Err(FormatError::Parse {
                input: name.to_string(),
                message: "random bits are only used by stochastic rounding".to_string(),
            });
        }
        Ok(mode)
    }

    /// Stochastic rounding with `bits` random bits; an error unless `1 <= bits <= 32`.
    pub fn stochastic(bits: u32) -> Result<Self> {
        if (1..=32).contains(&bits) {
            Ok(Rounding::Stochastic { bits })
        } else {
            Err(FormatError::InvalidParameter {
                family: "rounding",
                message: alloc::format!("stochastic bits = {bits}, must be in 1..=32"),
            })
        }
    }

    /// The mode's name as written in the CLI (`stochastic` without its bits).
    pub fn name(&self) -> &'static str {
        match self {
            Rounding::Nearest => "nearest",
            Rounding::TowardZero => "toward-zero",
            Rounding::Up => "up",
            Rounding::Down => "down",
            Rounding::NearestAway => "nearest-away",
            Rounding::Odd => "odd",
            Rounding::Stochastic { .. } => "stochastic",
        }
    }

    /// Whether a finite value whose rounded magnitude exceeds the format's max overflows (to
    /// infinity, NaN or a saturated max, depending on the format) rather than giving max:
    /// the IEEE rule, TowardZero never, Up only for positive and Down only for negative values.
    #[inline(always)]
    pub fn overflows(&self, negative: bool) -> bool {
        match self {
            Rounding::TowardZero => false,
            Rounding::Up => !negative,
            Rounding::Down => negative,
            _ => true,
        }
    }

    /// Numeric code of the mode for the GPU ports: 0 nearest, 1 toward-zero, 2 up, 3 down,
    /// 4 nearest-away, 5 odd, 6 stochastic.
    pub fn code(&self) -> u32 {
        match self {
            Rounding::Nearest => 0,
            Rounding::TowardZero => 1,
            Rounding::Up => 2,
            Rounding::Down => 3,
            Rounding::NearestAway => 4,
            Rounding::Odd => 5,
            Rounding::Stochastic { .. } => 6,
        }
    }

    /// Random bits r of stochastic rounding, 0 for the deterministic modes.
    pub fn random_bits(&self) -> u32 {
        match self {
            Rounding::Stochastic { bits } => *bits,
            _ => 0,
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rounding::Stochastic { bits } => write!(f, "stochastic(bits={bits})"),
            other => f.write_str(other.name()),
        }
    }
}

/// `x >> n` that is 0 for `n >= 32` (Rust, WGSL and CUDA disagree on oversized shifts).
#[inline(always)]
pub(crate) fn shr(x: u32, n: u32) -> u32 {
    if n >= 32 { 0 } else { x >> n }
}

/// The rounding decision of SEMANTICS.md §2 for a magnitude that was truncated to an integer
/// number `kept` of quanta, with the dropped part `remainder / 2^shift` of one quantum
/// (`shift >= 1`, `0 < remainder < min(2^shift, 2^24)`).
///
/// `kept_is_odd` is the parity of the truncated value's code, `negative` the input's sign and
/// `word` the element's random word (used by stochastic rounding only).
/// Returns true when the magnitude rounds away from zero to `kept + 1` quanta.
#[inline(always)]
pub fn rounds_away(
    mode: Rounding,
    kept_is_odd: bool,
    remainder: u32,
    shift: u32,
    negative: bool,
    word: u32,
) -> bool {
    // remainder < 2^24, so for shift > 24 it is below half a quantum.
    let half = if shift > 24 {
        u32::MAX
    } else {
        1u32 << (shift - 1)
    };
    match mode {
        Rounding::Nearest => remainder > half || (remainder == half && kept_is_odd),
        Rounding::NearestAway => remainder >= half,
        Rounding::TowardZero => false,
        Rounding::Up => !negative,
        Rounding::Down => negative,
        Rounding::Odd => !kept_is_odd,
        Rounding::Stochastic { bits } => {
            // floor(v * 2^bits) with v = remainder / 2^shift, exactly.
            let scaled = if shift >= bits {
                shr(remainder, shift - bits)
            } else {
                remainder << (bits - shift)
            };
            let random = word >> (32 - bits);
            let all_ones = u32::MAX >> (32 - bits);
            // scaled + random >= 2^bits, without overflowing at bits = 32.
            random > all_ones - scaled
        }
    }
}
