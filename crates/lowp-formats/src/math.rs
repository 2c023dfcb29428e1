//! lowp's own portable binary32 arithmetic (SEMANTICS.md §1): the correctly rounded fused
//! multiply-add, division and square root, and the transcendentals `exp`, `log`, `tanh`, `erf`
//! and `pow`.
//!
//! Every routine is written with integer/bit operations and binary32 `+ - *` only, each operation
//! spelled out in a fixed order (no `f64`, no library math, no FMA contraction: `a * b + c` is
//! always two roundings), so the WGSL and CUDA ports, which copy these functions line for line,
//! give the same bits. The integer parts use `u32`/`i32` only (64-bit quantities are `(hi, lo)`
//! pairs of `u32`), as WGSL has no 64-bit integers.
//!
//! * [`fma`], [`div`], [`sqrt`]: correctly rounded (round to nearest even, subnormals, signed
//!   zeros, infinities and NaN as IEEE 754), equal bit for bit to `f32::mul_add`, `/` and
//!   `f32::sqrt` (NaN payloads aside: a NaN result is a quiet NaN).
//! * [`exp`], [`log`], [`tanh`], [`erf`], [`pow`]: range reduction plus polynomials with
//!   coefficients fitted for this file (weighted minimax, each coefficient rounded to binary32
//!   in turn and the rest refitted), the leading terms carried as double-binary32 (`hi + lo`)
//!   sums and products (TwoSum, Fast2Sum, Dekker's TwoProduct), so the only sizeable error is the
//!   final rounding: all are faithful, with measured maxima of 0.50 to 0.57 ulp (exhaustive for
//!   the one-argument routines). The algorithms and figures are in `docs/math-accuracy.md`;
//!   `tests/math.rs` asserts the bounds.

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

const SIGN: u32 = 0x8000_0000;
const ABS: u32 = 0x7FFF_FFFF;
const INF: u32 = 0x7F80_0000;
const QUIET: u32 = 0x0040_0000;
/// The quiet NaN returned for invalid operations (0/0, inf - inf, sqrt(-1) ...).
const DEFAULT_NAN: u32 = 0x7FC0_0000;

/// `1.5 * 2^23`: adding it rounds a binary32 of magnitude below `2^22` to an integer (RNE).
const SHIFT: f32 = 12_582_912.0;
/// `log2(e)` rounded to binary32.
const LOG2E: f32 = f32::from_bits(0x3FB8_AA3B);
/// `ln 2` split: `LN2_HI` has 15 significant bits, so `k * LN2_HI` is exact for `|k| < 512`;
/// `LN2_HI + LN2_LO` equals `ln 2` to about `2^-43` relative.
const LN2_HI: f32 = f32::from_bits(0x3F31_7200); // 0.693145751953125
const LN2_LO: f32 = f32::from_bits(0x35BF_BE8E); // 1.4286068e-6
/// `2/3` split into binary32 `hi + lo`.
const TWO_THIRDS_HI: f32 = f32::from_bits(0x3F2A_AAAB);
const TWO_THIRDS_LO: f32 = f32::from_bits(0xB2AA_AAAB);
/// `2^25`, to make subnormal inputs normal.
const TWO25: f32 = 33_554_432.0;
/// `2^64` and `2^-64`.
const TWO64: f32 = f32::from_bits(0x5F80_0000);
const TWO_M64: f32 = f32::from_bits(0x1F80_0000);

/// exp: `(e^r - 1 - r - r^2/2) / r^3 ~ Q0 + r*(Q1 + ... + r*Q4)` on `|r| <= ln2/2`
/// (relative error of `e^r` below `2^-33`).
const EXP_Q: [f32; 5] = [
    f32::from_bits(0x3E2A_AAAA), // 0.16666666
    f32::from_bits(0x3D2A_AA74), // 0.041666463
    f32::from_bits(0x3C08_8987), // 0.0083335703
    f32::from_bits(0x3AB6_A65F), // 0.0013935081
    f32::from_bits(0x394E_FDDA), // 0.00019740258
];

/// log: `2 atanh(s) = 2s + (2/3)s^3 + s^5 * R1(s^2)`, `R1(z) ~ L0 + z*(L1 + z*(L2 + z*L3))`
/// on `z <= 0.02944` (error in `log` below `2^-43` relative).
const LOG_R1: [f32; 4] = [
    f32::from_bits(0x3ECC_CCCC), // 0.39999998
    f32::from_bits(0x3E92_49DB), // 0.28571972
    f32::from_bits(0x3E63_1ECE), // 0.2217972
    f32::from_bits(0x3E48_4377), // 0.19556986
];

/// tanh: `tanh(x) = x + x * (z * P(z))`, `z = x^2 < 1/64`, `P(z) ~ T0 + z*(T1 + z*T2)`
/// (relative error of the result below `2^-35`).
const TANH_P: [f32; 3] = [
    f32::from_bits(0xBEAA_AAAA), // -0.33333331
    f32::from_bits(0x3E08_86AF), // 0.13332628
    f32::from_bits(0xBD5A_223A), // -0.053255297
];

/// erf on `|x| < 0.875`: `erf(x) = x + x * P(x^2)`, `P(z) ~ E0 + z*(E1 + ... + z*E6)`
/// (relative error of the result below `2^-30`).
const ERF_P: [f32; 7] = [
    f32::from_bits(0x3E03_75D4), // 0.12837917
    f32::from_bits(0xBEC0_93A1), // -0.37612632
    f32::from_bits(0x3DE7_1700), // 0.11283684
    f32::from_bits(0xBCDC_07EC), // -0.026859246
    f32::from_bits(0x3BAA_7139), // 0.0052014855
    f32::from_bits(0xBA55_C716), // -0.00081549713
    f32::from_bits(0x38B1_2383), // 8.446632e-5
];

/// erf on `0.875 <= |x| < 1.5`: `erf(x) = 1 - G(t)`, `t = |x| - 1.1875`, `G ~ erfc`
/// (error below `2^-28.5` relative to erf).
const ERFC_1: [f32; 9] = [
    f32::from_bits(0x3DBE_9FD3), // 0.093078278
    f32::from_bits(0xBE8D_06E3), // -0.27544317
    f32::from_bits(0x3EA7_7843), // 0.3270894
    f32::from_bits(0xBE2B_2403), // -0.16712956
    f32::from_bits(0xBC20_FF0F), // -0.0098264357
    f32::from_bits(0x3D60_4F37), // 0.054763045
    f32::from_bits(0xBC98_64AC), // -0.018602692
    f32::from_bits(0xBBD2_56A2), // -0.0064190188
    f32::from_bits(0x3B6E_F504), // 0.0036461959
];
const ERFC_1_MID: f32 = 1.1875;

/// erf on `1.5 <= |x| < 2.5`: `1 - G(t)`, `t = |x| - 2` (error below `2^-30`).
const ERFC_2: [f32; 9] = [
    f32::from_bits(0x3B99_47B1), // 0.0046777357
    f32::from_bits(0xBCA9_4DCF), // -0.020666985
    f32::from_bits(0x3D29_4DAD), // 0.041333843
    f32::from_bits(0xBD45_8578), // -0.048222989
    f32::from_bits(0x3D0D_1A08), // 0.034448653
    f32::from_bits(0xBC56_7452), // -0.013089256
    f32::from_bits(0xBA02_8005), // -0.00049781828
    f32::from_bits(0x3B5D_EB0E), // 0.0033862027
    f32::from_bits(0xBABA_7206), // -0.0014224655
];
const ERFC_2_MID: f32 = 2.0;

/// erf on `2.5 <= |x| < 3.9375`: `1 - G(t)`, `t = |x| - 3.21875` (error below `2^-32`).
/// From 3.9375 on, erf(x) rounds to 1.
const ERFC_3: [f32; 10] = [
    f32::from_bits(0x36B2_4CBE), // 5.3137474e-6
    f32::from_bits(0xB815_D7F1), // -3.572548e-5
    f32::from_bits(0x38F1_3112), // 0.00011500916
    f32::from_bits(0xB976_5E8E), // -0.00023495613
    f32::from_bits(0x39B2_0101), // 0.00033951554
    f32::from_bits(0xB9BF_D9BE), // -0.0003659259
    f32::from_bits(0x399F_2E1C), // 0.00030361197
    f32::from_bits(0xB94C_69FF), // -0.00019494443
    f32::from_bits(0x38B9_512B), // 8.836606e-5
    f32::from_bits(0xB7A9_B531), // -2.0230744e-5
];
const ERFC_3_MID: f32 = 3.21875;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// `x` with the quiet bit set (x is a NaN).
#[inline(always)]
fn quiet(x: f32) -> f32 {
    f32::from_bits(x.to_bits() | QUIET)
}

/// `2^k` for `-126 <= k <= 127`.
#[inline(always)]
fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// `y * 2^n` for `-126 <= n <= 254` where the result is not subnormal (exact, or overflow).
#[inline(always)]
fn scale(y: f32, n: i32) -> f32 {
    if n > 127 {
        (y * 2.0) * pow2(n - 1)
    } else {
        y * pow2(n)
    }
}

/// `(h + l) * 2^n` rounded once to binary32, for `h = round(h + l)` in `[0.7, 1.42]` and
/// `-150 <= n <= 128`. Results below `2^-126` lie on the uniform grid `2^-149`: there the
/// scaled value `u = (h + l) * 2^(n+149) < 2^23` is added to `2^23` (TwoSum, then the tail), which
/// rounds it to an integer in one step, and that integer is the result's bit pattern.
#[inline(always)]
fn scale_hilo(h: f32, l: f32, n: i32) -> f32 {
    if n > -126 || (n == -126 && h >= 1.0) {
        return scale(h, n);
    }
    let k = pow2(n + 149);
    round_subnormal(h * k, l * k)
}

/// The binary32 `(uh + ul) * 2^-149` rounded once, for `0 <= uh < 2^23` (`ul` small): adding
/// `2^23` rounds `uh + ul` to an integer (grid 1 in `[2^23, 2^24)`), which is the bit pattern.
#[inline(always)]
fn round_subnormal(uh: f32, ul: f32) -> f32 {
    let (s, e) = fast_two_sum(8_388_608.0, uh);
    let integer = s + (e + ul);
    f32::from_bits(integer.to_bits() - 0x4B00_0000)
}

/// `s + e = a + b` exactly (Knuth's TwoSum, any magnitudes).
#[inline(always)]
fn two_sum(a: f32, b: f32) -> (f32, f32) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, e)
}

/// `s + e = a + b` exactly, for `|a| >= |b|` (or `a == 0`) (Dekker's Fast2Sum).
#[inline(always)]
fn fast_two_sum(a: f32, b: f32) -> (f32, f32) {
    let s = a + b;
    let e = b - (s - a);
    (s, e)
}

/// Veltkamp split of `a` into two 12-bit halves, `a = hi + lo` (|a| < 2^115).
#[inline(always)]
fn split(a: f32) -> (f32, f32) {
    let c = 4097.0 * a;
    let hi = c - (c - a);
    let lo = a - hi;
    (hi, lo)
}

/// `p + e = a * b` exactly (Dekker's TwoProduct; no underflow, |a|,|b| < 2^115).
#[inline(always)]
fn two_prod(a: f32, b: f32) -> (f32, f32) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    (p, e)
}

// 64-bit unsigned integers as (hi, lo) pairs of u32, for the WGSL port.

#[inline(always)]
fn w_add(a: (u32, u32), b: (u32, u32)) -> (u32, u32) {
    let lo = a.1.wrapping_add(b.1);
    let carry = (lo < a.1) as u32;
    (a.0.wrapping_add(b.0).wrapping_add(carry), lo)
}

/// `a - b` for `a >= b`.
#[inline(always)]
fn w_sub(a: (u32, u32), b: (u32, u32)) -> (u32, u32) {
    let borrow = (a.1 < b.1) as u32;
    (
        a.0.wrapping_sub(b.0).wrapping_sub(borrow),
        a.1.wrapping_sub(b.1),
    )
}

#[inline(always)]
fn w_less(a: (u32, u32), b: (u32, u32)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

#[inline(always)]
fn w_leading_zeros(a: (u32, u32)) -> u32 {
    if a.0 != 0 {
        a.0.leading_zeros()
    } else {
        32 + a.1.leading_zeros()
    }
}

/// `a << n` for `n < 64`.
#[inline(always)]
fn w_shl(a: (u32, u32), n: u32) -> (u32, u32) {
    if n == 0 {
        a
    } else if n < 32 {
        ((a.0 << n) | (a.1 >> (32 - n)), a.1 << n)
    } else {
        (a.1 << (n - 32), 0)
    }
}

/// `a >> n` with the bits shifted out ORed into bit 0 ("sticky"), any `n`.
#[inline(always)]
fn w_shr_sticky(a: (u32, u32), n: u32) -> (u32, u32) {
    if n == 0 {
        a
    } else if n < 32 {
        let lost = (a.1 & ((1u32 << n) - 1)) != 0;
        (a.0 >> n, (a.1 >> n) | (a.0 << (32 - n)) | lost as u32)
    } else if n < 64 {
        let lost = a.1 != 0 || (a.0 & ((1u32 << (n - 32)) - 1)) != 0;
        (0, (a.0 >> (n - 32)) | lost as u32)
    } else {
        (0, (a.0 != 0 || a.1 != 0) as u32)
    }
}

/// Significand and exponent of a finite nonzero magnitude `a` (bits without sign):
/// `|x| = m * 2^(e - 23)` with `2^23 <= m < 2^24` (subnormals normalised).
#[inline(always)]
fn unpack(a: u32) -> (u32, i32) {
    if a < 0x0080_0000 {
        let shift = a.leading_zeros() - 8;
        (a << shift, -126 - shift as i32)
    } else {
        ((a & 0x007F_FFFF) | 0x0080_0000, (a >> 23) as i32 - 127)
    }
}

/// Rounds the nonzero value `x * 2^f` (x a 64-bit pair) to binary32 (nearest even, gradual
/// underflow, overflow to infinity) and returns its magnitude bits.
#[inline(always)]
fn round_wide(x: (u32, u32), f: i32) -> u32 {
    let lz = w_leading_zeros(x);
    let x = w_shl(x, lz);
    // x in [2^63, 2^64); its leading bit has unbiased exponent f - lz + 63.
    let biased = f - lz as i32 + 63 + 127;
    if biased >= 255 {
        return INF;
    }
    // Bits below the result's last place: 40 for normal results, more for subnormal ones.
    let shift = if biased >= 1 { 40 } else { 41 - biased };
    if shift > 64 {
        return 0;
    }
    let s = (shift - 32) as u32; // 8..=32
    let (m, rest) = if s < 32 {
        (x.0 >> s, x.0 & ((1u32 << s) - 1))
    } else {
        (0, x.0)
    };
    let half = 1u32 << (s - 1);
    let up = rest > half || (rest == half && (x.1 != 0 || (m & 1) == 1));
    let exponent_field = if biased >= 1 { (biased - 1) as u32 } else { 0 };
    let bits = (exponent_field << 23) + m + up as u32;
    if bits >= INF { INF } else { bits }
}

// ---------------------------------------------------------------------------------------------
// Correctly rounded basic operations
// ---------------------------------------------------------------------------------------------

/// Fused multiply-add `a * b + c` with one rounding (round to nearest even), computed exactly
/// with integer arithmetic: the 48-bit product and `c` are aligned in a 64-bit window (bits
/// shifted out of the smaller operand are kept as a sticky bit), added, normalised and rounded
/// once. Equals `f32::mul_add` bit for bit (NaN payloads aside).
///
/// Zero results: an exact zero sum is `+0` unless both the product and `c` are `-0`; a nonzero
/// sum that rounds to zero keeps its sign.
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    f32::from_bits(fma_bits(a.to_bits(), b.to_bits(), c.to_bits()))
}

/// [`fma`] on binary32 bit patterns: the form the GPU GEMMs use, where no operand passes
/// through a float register (a driver's NaN or subnormal handling cannot touch it).
pub fn fma_bits(ab: u32, bb: u32, cb: u32) -> u32 {
    let (aa, ba, ca) = (ab & ABS, bb & ABS, cb & ABS);
    if aa > INF {
        return ab | QUIET;
    }
    if ba > INF {
        return bb | QUIET;
    }
    if ca > INF {
        return cb | QUIET;
    }
    let product_sign = (ab ^ bb) & SIGN;
    let c_sign = cb & SIGN;
    if aa == INF || ba == INF {
        if aa == 0 || ba == 0 || (ca == INF && c_sign != product_sign) {
            return DEFAULT_NAN;
        }
        return product_sign | INF;
    }
    if ca == INF {
        return cb;
    }
    if aa == 0 || ba == 0 {
        // The product is an exact zero.
        if ca == 0 {
            return if product_sign == c_sign { c_sign } else { 0 };
        }
        return cb;
    }
    let (ma, ea) = unpack(aa);
    let (mb, eb) = unpack(ba);
    // product = p * 2^(ea + eb - 46), p in [2^46, 2^48): move its leading bit to bit 62.
    let p = crate::philox::mul_hi_lo(ma, mb);
    let p_shift = if p.0 >= 0x8000 { 15 } else { 16 };
    let p = w_shl(p, p_shift);
    let p_exp = ea + eb - 46 - p_shift as i32;
    if ca == 0 {
        // a*b + 0: the rounded product, sign of the product even if it underflows to zero.
        return product_sign | round_wide(p, p_exp);
    }
    fma_sum(p, p_exp, product_sign, cb)
}

/// `p · 2^p_exp + c` rounded once, for `p` with its leading bit at bit 62 and sign
/// `product_sign`, and `c` finite and nonzero: the tail of [`fma_bits`] (and of an addition,
/// with `p` a significand shifted left by 39).
fn fma_sum(p: (u32, u32), p_exp: i32, product_sign: u32, cb: u32) -> u32 {
    let c_sign = cb & SIGN;
    let (mc, ec) = unpack(cb & ABS);
    let q = (mc << 7, 0u32); // mc << 39: leading bit at 62
    let q_exp = ec - 23 - 39;
    let p_bigger = p_exp > q_exp || (p_exp == q_exp && !w_less(p, q));
    let (big, big_exp, big_sign, small, small_exp, small_sign) = if p_bigger {
        (p, p_exp, product_sign, q, q_exp, c_sign)
    } else {
        (q, q_exp, c_sign, p, p_exp, product_sign)
    };
    let small = w_shr_sticky(small, (big_exp - small_exp) as u32);
    let sum = if big_sign == small_sign {
        w_add(big, small)
    } else {
        w_sub(big, small)
    };
    if sum.0 == 0 && sum.1 == 0 {
        return 0;
    }
    big_sign | round_wide(sum, big_exp)
}

/// Correctly rounded division `a / b` (round to nearest even) by restoring long division of
/// the significands (26 quotient bits and a sticky remainder), `u32` operations only. Equals
/// Rust's `/` bit for bit (NaN payloads aside).
pub fn div(a: f32, b: f32) -> f32 {
    let (ab, bb) = (a.to_bits(), b.to_bits());
    let (aa, ba) = (ab & ABS, bb & ABS);
    let sign = (ab ^ bb) & SIGN;
    if aa > INF {
        return quiet(a);
    }
    if ba > INF {
        return quiet(b);
    }
    if aa == INF {
        return f32::from_bits(if ba == INF { DEFAULT_NAN } else { sign | INF });
    }
    if ba == INF {
        return f32::from_bits(sign);
    }
    if ba == 0 {
        return f32::from_bits(if aa == 0 { DEFAULT_NAN } else { sign | INF });
    }
    if aa == 0 {
        return f32::from_bits(sign);
    }
    let (ma, ea) = unpack(aa);
    let (mb, eb) = unpack(ba);
    let mut exponent = ea - eb;
    let mut remainder = ma;
    if remainder < mb {
        remainder <<= 1;
        exponent -= 1;
    }
    // quotient = floor(remainder * 2^25 / mb) in [2^25, 2^26).
    // Branch-free restoring steps: `fits` is 1 when the divisor goes into the remainder.
    let mut quotient = 0u32;
    for _ in 0..26 {
        let fits = (remainder >= mb) as u32;
        remainder -= mb & fits.wrapping_neg();
        quotient = (quotient << 1) | fits;
        remainder <<= 1;
    }
    let sticky = remainder != 0;
    let biased = exponent + 127;
    if biased >= 255 {
        return f32::from_bits(sign | INF);
    }
    let shift = if biased >= 1 { 2 } else { 3 - biased };
    if shift > 27 {
        // Below half the smallest subnormal.
        return f32::from_bits(sign);
    }
    let shift = shift as u32;
    let m = quotient >> shift;
    let rest = quotient & ((1u32 << shift) - 1);
    let half = 1u32 << (shift - 1);
    let up = rest > half || (rest == half && (sticky || (m & 1) == 1));
    let exponent_field = if biased >= 1 { (biased - 1) as u32 } else { 0 };
    let bits = (exponent_field << 23) + m + up as u32;
    f32::from_bits(sign | if bits >= INF { INF } else { bits })
}

/// Correctly rounded square root (round to nearest even) by the digit-by-digit integer square
/// root of the significand (25 root bits and a sticky remainder), `u32` operations only. Equals
/// `f32::sqrt` bit for bit: `sqrt(-0) = -0`, negative inputs give NaN, `sqrt(+inf) = +inf`.
pub fn sqrt(a: f32) -> f32 {
    let bits = a.to_bits();
    let magnitude = bits & ABS;
    if magnitude > INF {
        return quiet(a);
    }
    if magnitude == 0 {
        return a;
    }
    if bits & SIGN != 0 {
        return f32::from_bits(DEFAULT_NAN);
    }
    if magnitude == INF {
        return a;
    }
    let (m, e) = unpack(magnitude);
    // a = m * 2^(e - 23). Radicand X = m * 2^k with k in {25, 26} so that e - 23 - k is even:
    // X in [2^48, 2^50), its root in [2^24, 2^25) (25 bits: 24 + a rounding bit).
    let k: i32 = if (e - 23) & 1 != 0 { 25 } else { 26 };
    let top = m << (k - 24); // X = top * 2^24: 13 bit pairs of `top`, then 12 zero pairs
    // Branch-free digit steps: bring down the next bit pair, subtract 4*root + 1 if it fits.
    let mut remainder = 0u32;
    let mut root = 0u32;
    for i in 0..25u32 {
        let pair = if i < 13 { (top >> (24 - 2 * i)) & 3 } else { 0 };
        remainder = (remainder << 2) | pair;
        let trial = (root << 2) | 1;
        let fits = (remainder >= trial) as u32;
        remainder -= trial & fits.wrapping_neg();
        root = (root << 1) | fits;
    }
    // sqrt(a) = sqrt(X) * 2^((e - 23 - k) / 2); result significand root >> 1 in [2^23, 2^24).
    let mantissa = root >> 1;
    let up = (root & 1) == 1 && (remainder != 0 || (mantissa & 1) == 1);
    let result_exponent = ((e - 23 - k) >> 1) + 24; // unbiased exponent of the result
    let bits = (((result_exponent + 126) as u32) << 23) + mantissa + up as u32;
    f32::from_bits(bits)
}

// ---------------------------------------------------------------------------------------------
// exp
// ---------------------------------------------------------------------------------------------

/// The core of `exp(xh + xl)` for `|xh| <= 105`, `|xl| <= 2^-17`:
/// returns `(n, yh, yl)` with `exp(xh + xl) ~ (yh + yl) * 2^n`, `yh + yl` in `[0.7, 1.42]` to
/// about `2^-32` relative (`yh = 1 + r + r^2/2` rounded, not normalised against `yl`).
///
/// `n = round(xh * log2 e)` (adding 1.5 * 2^23), `r = (xh - n*LN2_HI) - (n*LN2_LO - xl)`
/// (the first difference is exact) kept as `r + e` by TwoSum,
/// `e^(r+e) ~ y + e*y`, `y = 1 + r + r^2/2 + r^3 * Q(r)` with `1 + r + r^2/2` summed exactly
/// (TwoProduct for `r^2`, Fast2Sum).
#[inline(always)]
fn exp_core(xh: f32, xl: f32) -> (i32, f32, f32) {
    let t = xh * LOG2E;
    let k = t + SHIFT;
    let kf = k - SHIFT;
    let n = k.to_bits() as i32 - SHIFT.to_bits() as i32;
    let hi = xh - kf * LN2_HI;
    let lo = kf * LN2_LO - xl;
    let (r, e) = two_sum(hi, -lo);
    let (rr, rr_lo) = two_prod(r, r);
    let q = EXP_Q[0] + r * (EXP_Q[1] + r * (EXP_Q[2] + r * (EXP_Q[3] + r * EXP_Q[4])));
    let (s, s_lo) = fast_two_sum(1.0, r);
    let (t, t_lo) = fast_two_sum(s, rr * 0.5);
    let y_lo = (s_lo + t_lo) + (rr_lo * 0.5 + (r * rr) * q);
    // e^(r + e) = e^r + e * e^r (+ O(e^2)).
    let yl = y_lo + e * (t + y_lo);
    (n, t, yl)
}

/// `e^x`. Specials: NaN -> NaN, `+inf -> +inf`, `-inf -> +0`; overflow above
/// `88.7228...` gives `+inf`, results below half the smallest subnormal round to `+0`;
/// subnormal results are rounded once from the double-binary32 `yh + yl` (no double rounding).
pub fn exp(x: f32) -> f32 {
    let bits = x.to_bits();
    let magnitude = bits & ABS;
    if magnitude > INF {
        return quiet(x);
    }
    if magnitude < 0x3300_0000 {
        // |x| < 2^-25: e^x rounds to 1 (handles zeros and subnormals).
        return 1.0 + x;
    }
    if x > 89.0 {
        return f32::from_bits(INF);
    }
    if x < -104.0 {
        return 0.0;
    }
    let (n, s, s_lo) = exp_core(x, 0.0);
    let (h, l) = fast_two_sum(s, s_lo);
    scale_hilo(h, l, n)
}

// ---------------------------------------------------------------------------------------------
// log
// ---------------------------------------------------------------------------------------------

/// `ln x = H + L` (double-binary32, about `2^-34` relative) for finite `x > 0`.
///
/// `x = 2^k * m`, `m` in `[sqrt(1/2), sqrt(2))` (integer operations on the bits), `f = m - 1`
/// (exact), `s = f / (2 + f)` as `sh + sl` without division (a series for `1/(2+f)`, then the
/// exact residual by TwoProduct), `ln m = 2 atanh(s) = 2s + (2/3)s^3 + s^5 R1(s^2)`,
/// `ln x = k*LN2_HI + 2sh + (2/3)sh^3 + [k*LN2_LO + 2sl(1 + sh^2) + s^5 R1]`, the leading terms
/// summed exactly.
#[inline(always)]
fn log_hilo(x: f32) -> (f32, f32) {
    let mut ix = x.to_bits();
    let mut k: i32 = 0;
    if ix < 0x0080_0000 {
        ix = (x * TWO25).to_bits();
        k = -25;
    }
    ix += 0x3F80_0000 - 0x3F35_04F3;
    k += (ix >> 23) as i32 - 127;
    let m = f32::from_bits((ix & 0x007F_FFFF) + 0x3F35_04F3);
    let f = m - 1.0;
    // s = f / d, d = 2 + f = d + d_lo exactly.
    let d = 2.0 + f;
    let d_lo = (2.0 - d) + f;
    // 1/(2+f) = sum (-f)^j / 2^(j+1), to f^8 (relative error below 2^-20).
    let inv = 0.5
        + f * (-0.25
            + f * (0.125
                + f * (-0.0625
                    + f * (0.03125
                        + f * (-0.015625
                            + f * (0.0078125 + f * (-0.00390625 + f * 0.001953125)))))));
    let s0 = f * inv;
    let (p, p_lo) = two_prod(s0, d);
    let residual = ((f - p) - p_lo) - s0 * d_lo;
    let (sh, sl) = fast_two_sum(s0, residual * inv);
    // (2/3) sh^3 as th + t_lo.
    let (zh, zl) = two_prod(sh, sh);
    let (ch, cl) = two_prod(sh, zh);
    let c_lo = cl + sh * zl;
    let (th, tl) = two_prod(ch, TWO_THIRDS_HI);
    let t_lo = tl + (ch * TWO_THIRDS_LO + c_lo * TWO_THIRDS_HI);
    let higher =
        (sh * (zh * zh)) * (LOG_R1[0] + zh * (LOG_R1[1] + zh * (LOG_R1[2] + zh * LOG_R1[3])));
    let correction = (sl + sl) + (zh + zh) * sl;
    let kf = k as f32;
    let (u, u_lo) = two_sum(kf * LN2_HI, sh + sh);
    let (v, v_lo) = two_sum(u, th);
    let lo = ((u_lo + v_lo) + (kf * LN2_LO + correction)) + (t_lo + higher);
    fast_two_sum(v, lo)
}

/// Natural logarithm. Specials: NaN -> NaN, `x < 0` -> NaN, `+-0 -> -inf`, `+inf -> +inf`,
/// `log(1) = +0`.
pub fn log(x: f32) -> f32 {
    let bits = x.to_bits();
    let magnitude = bits & ABS;
    if magnitude > INF {
        return quiet(x);
    }
    if magnitude == 0 {
        return f32::from_bits(SIGN | INF);
    }
    if bits & SIGN != 0 {
        return f32::from_bits(DEFAULT_NAN);
    }
    if magnitude == INF {
        return x;
    }
    log_hilo(x).0
}

// ---------------------------------------------------------------------------------------------
// tanh
// ---------------------------------------------------------------------------------------------

/// Hyperbolic tangent. `|x| < 2^-13`: `x` (also for zeros and subnormals); `|x| < 0.125`:
/// `x + x * (z * P(z))`, `z = x^2`; `0.125 <= |x| < 9.5`: with `E = e^(-2|x|)` as a
/// double-binary32 from the exp core, `tanh|x| = 1 - 2E / (1 + E)`, the quotient `q` from a
/// Newton reciprocal plus its exact residual (TwoProduct) as a correction; `|x| >= 9.5`: `+-1`.
/// NaN -> NaN, `+-inf -> +-1`. Odd: `tanh(-x) = -tanh(x)`.
pub fn tanh(x: f32) -> f32 {
    let bits = x.to_bits();
    let magnitude = bits & ABS;
    let sign = bits & SIGN;
    if magnitude > INF {
        return quiet(x);
    }
    if magnitude < 0x3900_0000 {
        return x;
    }
    if magnitude >= 0x4118_0000 {
        return f32::from_bits(sign | 0x3F80_0000);
    }
    let ax = f32::from_bits(magnitude);
    if ax < 0.125 {
        let z = x * x;
        let p = TANH_P[0] + z * (TANH_P[1] + z * TANH_P[2]);
        return x + x * (z * p);
    }
    let (n, s, s_lo) = exp_core(-2.0 * ax, 0.0);
    let (yh, yl) = fast_two_sum(s, s_lo);
    let scale_n = pow2(n); // -28 <= n <= 0: exact scaling
    let eh = yh * scale_n;
    let el = yl * scale_n;
    // D = 1 + E = dh + dl.
    let (dh, d0) = fast_two_sum(1.0, eh);
    let dl = d0 + el;
    // inv ~ 1/dh (dh in [1, 1.78]): the chord (2.78 - dh) / 1.78 (relative error below 0.09),
    // then three Newton steps.
    let mut inv = 1.5622 - 0.5622 * dh;
    inv = inv * (2.0 - dh * inv);
    inv = inv * (2.0 - dh * inv);
    inv = inv * (2.0 - dh * inv);
    let two_e = eh + eh;
    let q = two_e * inv;
    let (pp, pp_lo) = two_prod(q, dh);
    let residual = (two_e - pp) - pp_lo;
    let q_lo = (residual + ((el + el) - q * dl)) * inv;
    // tanh = 1 - (q + q_lo).
    let (w, w_lo) = two_sum(1.0, -q);
    let result = w + (w_lo - q_lo);
    f32::from_bits(sign | result.to_bits())
}

// ---------------------------------------------------------------------------------------------
// erf
// ---------------------------------------------------------------------------------------------

/// The last two Horner steps `c0 + t * (c1 + t * w)` in double-binary32, for `t + t_lo`
/// (`|t_lo| <= ulp(t)/2`): returns `(p, p_lo)`.
#[inline(always)]
fn horner_tail(c0: f32, c1: f32, w: f32, t: f32, t_lo: f32) -> (f32, f32) {
    let (a, a_lo) = two_prod(t, w);
    let (v, v0) = two_sum(c1, a);
    let v_lo = v0 + a_lo;
    let (b, b0) = two_prod(t, v);
    let b_lo = b0 + (t * v_lo + t_lo * v);
    let (p, p0) = two_sum(c0, b);
    (p, p0 + b_lo)
}

/// The polynomial `c[0] + c[1] t + ...` at an exact `t`: Horner from the highest coefficient
/// down to `c[2]` in binary32, the last two steps in double-binary32.
#[inline(always)]
fn poly(c: &[f32], t: f32) -> (f32, f32) {
    let mut w = c[c.len() - 1];
    let mut i = c.len() - 1;
    while i > 2 {
        i -= 1;
        w = c[i] + t * w;
    }
    horner_tail(c[0], c[1], w, t, 0.0)
}

/// Error function. `|x| < 2^-100`: `x + x*E0` formed as `(y + y*E0) * 2^-64` with
/// `y = x * 2^64` in double-binary32 and rounded once (also to subnormal results); `|x| < 0.875`: `x + x * P(x^2)`; `0.875 <= |x| < 3.9375`: `1 - G_i(|x| - mid_i)`
/// on three intervals (`G_i ~ erfc`, `|x| - mid_i` exact); beyond: `+-1`. The last two Horner
/// steps, `x^2`, the product `x * P` and the final sum are carried in double-binary32.
/// NaN -> NaN, `+-inf -> +-1`, odd.
pub fn erf(x: f32) -> f32 {
    let bits = x.to_bits();
    let magnitude = bits & ABS;
    let sign = bits & SIGN;
    if magnitude > INF {
        return quiet(x);
    }
    if magnitude >= 0x407C_0000 {
        // |x| >= 3.9375 (and infinities): erf rounds to +-1.
        return f32::from_bits(sign | 0x3F80_0000);
    }
    let ax = f32::from_bits(magnitude);
    if magnitude < 0x0D80_0000 {
        // |x| < 2^-100: erf(x) = x + x*E0, scaled by 2^64 (x*2^64 is normal), rounded once.
        let y = ax * TWO64;
        let (m, m_lo) = two_prod(y, ERF_P[0]);
        let (s, s0) = fast_two_sum(y, m);
        let (h, l) = fast_two_sum(s, s0 + m_lo);
        let result = if h < f32::from_bits(0x2080_0000) {
            // Subnormal result (h * 2^-64 < 2^-126): round on the grid 2^-149, 2^85 = 2^(149-64).
            let k = f32::from_bits(0x6A00_0000);
            round_subnormal(h * k, l * k)
        } else {
            h * TWO_M64
        };
        return f32::from_bits(sign | result.to_bits());
    }
    if ax < 0.875 {
        let (z, z_lo) = two_prod(x, x);
        let w = ERF_P[2] + z * (ERF_P[3] + z * (ERF_P[4] + z * (ERF_P[5] + z * ERF_P[6])));
        let (p, p_lo) = horner_tail(ERF_P[0], ERF_P[1], w, z, z_lo);
        let (m, m_lo) = two_prod(x, p);
        let (s, s_lo) = fast_two_sum(x, m);
        return s + (s_lo + (m_lo + x * p_lo));
    }
    let (g, g_lo) = if ax < 1.5 {
        poly(&ERFC_1, ax - ERFC_1_MID)
    } else if ax < 2.5 {
        poly(&ERFC_2, ax - ERFC_2_MID)
    } else {
        poly(&ERFC_3, ax - ERFC_3_MID)
    };
    let (s, s_lo) = fast_two_sum(1.0, -g);
    let result = s + (s_lo - g_lo);
    f32::from_bits(sign | result.to_bits())
}

// ---------------------------------------------------------------------------------------------
// pow
// ---------------------------------------------------------------------------------------------

/// 0: `y` is not an integer, 1: odd integer, 2: even integer (finite `y`; infinities count as
/// even).
#[inline(always)]
fn integer_class(y: f32) -> u32 {
    let magnitude = y.to_bits() & ABS;
    if magnitude == 0 {
        return 2;
    }
    let e = (magnitude >> 23) as i32 - 127;
    if e < 0 {
        return 0;
    }
    if e >= 24 {
        return 2;
    }
    let m = (magnitude & 0x007F_FFFF) | 0x0080_0000;
    let fraction_bits = (23 - e) as u32;
    if fraction_bits > 0 && (m & ((1u32 << fraction_bits) - 1)) != 0 {
        return 0;
    }
    if ((m >> fraction_bits) & 1) == 1 {
        1
    } else {
        2
    }
}

/// `x^y`, with the special cases of C99 `pow` (F.9.4.4):
/// `pow(x, +-0) = 1` for any x (NaN too); `pow(+1, y) = 1` for any y (NaN too);
/// otherwise NaN if x or y is NaN; `pow(-1, +-inf) = 1`; `|x| < 1`: `pow(x, -inf) = +inf`,
/// `pow(x, +inf) = +0`; `|x| > 1`: `pow(x, -inf) = +0`, `pow(x, +inf) = +inf`;
/// `pow(+-0, y)`: `y` odd integer < 0 -> `+-inf`, other `y < 0` -> `+inf`, `y` odd integer > 0 ->
/// `+-0`, other `y > 0` -> `+0`; `pow(-inf, y)`: `y` odd integer < 0 -> `-0`, other `y < 0` -> `+0`,
/// odd integer > 0 -> `-inf`, other `y > 0` -> `+inf`; `pow(+inf, y)`: `+0` for `y < 0`, `+inf`
/// for `y > 0`; finite `x < 0` with finite non-integer `y` -> NaN.
///
/// Otherwise `|x|^y = exp(y * ln|x|)` with `ln|x|` as a double-binary32 (`log` core), the product
/// `y * (H + L)` formed exactly (TwoProduct) and passed as `hi + lo` to the exp core; the sign is
/// negative when `x < 0` and `y` is an odd integer.
pub fn pow(x: f32, y: f32) -> f32 {
    let (xb, yb) = (x.to_bits(), y.to_bits());
    let (xa, ya) = (xb & ABS, yb & ABS);
    if ya == 0 || xb == 0x3F80_0000 {
        return 1.0;
    }
    if xa > INF {
        return quiet(x);
    }
    if ya > INF {
        return quiet(y);
    }
    let y_negative = yb & SIGN != 0;
    let x_negative = xb & SIGN != 0;
    if ya == INF {
        if xa == 0x3F80_0000 {
            return 1.0; // pow(-1, +-inf)
        }
        let big = xa > 0x3F80_0000;
        return if big != y_negative {
            f32::from_bits(INF)
        } else {
            0.0
        };
    }
    let class = integer_class(y);
    let odd_sign = if x_negative && class == 1 { SIGN } else { 0 };
    if xa == 0 {
        return f32::from_bits(odd_sign | if y_negative { INF } else { 0 });
    }
    if xa == INF {
        return f32::from_bits(odd_sign | if y_negative { 0 } else { INF });
    }
    if x_negative && class == 0 {
        return f32::from_bits(DEFAULT_NAN);
    }
    if xa == 0x3F80_0000 {
        return f32::from_bits(odd_sign | 0x3F80_0000); // (-1)^integer
    }
    let ax = f32::from_bits(xa);
    let (h, l) = log_hilo(ax);
    // |ln|x|| >= 2^-24.1 here, so |y| >= 2^32 is a certain overflow or underflow.
    let grows = (h > 0.0) != y_negative;
    if ya >= 0x4F80_0000 {
        return f32::from_bits(odd_sign | if grows { INF } else { 0 });
    }
    let (p, p_lo) = two_prod(y, h);
    let (zh, zl) = fast_two_sum(p, p_lo + y * l);
    if zh > 89.0 {
        return f32::from_bits(odd_sign | INF);
    }
    if zh < -104.0 {
        return f32::from_bits(odd_sign);
    }
    let (n, s, s_lo) = exp_core(zh, zl);
    let (h, l) = fast_two_sum(s, s_lo);
    f32::from_bits(odd_sign | scale_hilo(h, l, n).to_bits())
}
