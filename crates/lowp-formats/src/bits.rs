//! binary32 bit-pattern helpers shared by every quantizer: split a magnitude into an integer
//! significand and exponent, round it to a power-of-two quantum, and build it back.
//! Integer operations only, so the WGSL and CUDA ports read the same.

use crate::rounding::{Rounding, rounds_away, shr};

/// Sign bit of a binary32 pattern.
pub const SIGN_BIT: u32 = 0x8000_0000;
/// Pattern of +Inf.
pub const INF_BITS: u32 = 0x7F80_0000;
/// The quiet bit of a NaN.
pub const QUIET_BIT: u32 = 0x0040_0000;
/// The canonical quiet NaN.
pub const QNAN_BITS: u32 = 0x7FC0_0000;

/// `|x| = significand * 2^lsb_exponent` for a finite magnitude pattern `u` (sign cleared):
/// the 24-bit significand (implicit bit included for normals) and the exponent of its last bit.
#[inline(always)]
pub fn split(u: u32) -> (u32, i32) {
    let field = u >> 23;
    if field == 0 {
        (u, -149)
    } else {
        ((u & 0x007F_FFFF) | 0x0080_0000, field as i32 - 150)
    }
}

/// `floor(log2 |x|)` of a finite nonzero magnitude pattern `u`.
#[inline(always)]
pub fn exponent_of(u: u32) -> i32 {
    let field = u >> 23;
    if field == 0 {
        (31 - u.leading_zeros()) as i32 - 149
    } else {
        field as i32 - 127
    }
}

/// The magnitude pattern of `k * 2^q` (`q >= -149`), truncating significand bits beyond 24
/// (callers only pass exact values, or want the value rounded toward zero) and giving +Inf
/// above the binary32 range.
#[inline(always)]
pub fn compose(k: u32, q: i32) -> u32 {
    if k == 0 {
        return 0;
    }
    let length = 32 - k.leading_zeros() as i32;
    let top = q + length - 1;
    if top > 127 {
        INF_BITS
    } else if top >= -126 {
        (((top + 127) as u32) << 23) | (((k << (32 - length)) >> 8) & 0x007F_FFFF)
    } else {
        k << (q + 149)
    }
}

/// The magnitude pattern of `2^e`, or +Inf above binary32 and 0 below its smallest subnormal.
#[inline(always)]
pub fn pow2(e: i32) -> u32 {
    if e > 127 {
        INF_BITS
    } else if e >= -126 {
        ((e + 127) as u32) << 23
    } else if e >= -149 {
        1u32 << (e + 149)
    } else {
        0
    }
}

/// Rounds the finite nonzero magnitude pattern `u` to a multiple of `2^q` with `mode`
/// (`q >= -149` whenever rounding is needed; a value already on the grid is returned unchanged).
///
/// `field_parity` gives the parity of the target code when it is not the parity of the number of
/// quanta (formats with no mantissa bits in their normal range, where the code's last bit is the
/// exponent field's); `negative` is the input's sign and `word` its random word.
/// The result may be +Inf when it leaves the binary32 range.
#[inline(always)]
pub fn round_to_quantum(
    u: u32,
    q: i32,
    mode: Rounding,
    field_parity: Option<bool>,
    negative: bool,
    word: u32,
) -> u32 {
    let (significand, lsb_exponent) = split(u);
    if q <= lsb_exponent {
        return u;
    }
    let shift = (q - lsb_exponent) as u32;
    let kept = shr(significand, shift);
    let remainder = significand - if shift >= 32 { 0 } else { kept << shift };
    if remainder == 0 {
        return compose(kept, q);
    }
    let kept_is_odd = match field_parity {
        Some(parity) if kept != 0 => parity,
        _ => kept & 1 == 1,
    };
    let away = rounds_away(mode, kept_is_odd, remainder, shift, negative, word);
    compose(kept + away as u32, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_inverts_split() {
        for u in [
            1u32,
            2,
            0x7F_FFFF,
            0x80_0000,
            0x3F80_0000,
            0x7F7F_FFFF,
            0x1234_5678,
        ] {
            let (m, e) = split(u);
            assert_eq!(compose(m, e), u, "{u:#x}");
        }
    }

    #[test]
    fn rounding_carries_into_the_next_binade() {
        // 1.9999999 rounded to quantum 2^-1 gives 2.0.
        assert_eq!(
            round_to_quantum(0x3FFF_FFFF, -1, Rounding::Nearest, None, false, 0),
            0x4000_0000
        );
        // The largest subnormal rounded to 2^-126 gives the smallest normal.
        assert_eq!(
            round_to_quantum(0x007F_FFFF, -126, Rounding::Nearest, None, false, 0),
            0x0080_0000
        );
        // Ties go to even: 2.5 with quantum 1 -> 2, 3.5 -> 4.
        assert_eq!(
            round_to_quantum(0x4020_0000, 0, Rounding::Nearest, None, false, 0),
            0x4000_0000
        );
        assert_eq!(
            round_to_quantum(0x4060_0000, 0, Rounding::Nearest, None, false, 0),
            0x4080_0000
        );
    }
}
