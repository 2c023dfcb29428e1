//! Branch-free, vectorisable quantize kernels for the CPU fast path.
//!
//! Each lane function computes exactly what the scalar quantizers of lowp-formats compute, but
//! with every branch turned into a select over values that are all computed, so that LLVM can
//! vectorise the element loop (variable shifts: AVX2 and later; the loops are compiled twice and
//! picked at run time). The rounding-mode `match` is resolved at compile time through the `MODE`
//! const parameter (codes of [`Rounding::code`]).

use lowp_formats::bits::{INF_BITS, QNAN_BITS, QUIET_BIT, SIGN_BIT, pow2};
use lowp_formats::philox::seed_key;
use lowp_formats::{FixedPoint, FloatGrid, Rounding, Special};

const NEAREST: u32 = 0;
const TOWARD_ZERO: u32 = 1;
const UP: u32 = 2;
const DOWN: u32 = 3;
const NEAREST_AWAY: u32 = 4;
const ODD: u32 = 5;
const STOCHASTIC: u32 = 6;

/// Loop-invariant parameters of a grid (sign/exponent/mantissa) kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GridKernel {
    /// Inputs whose binary32 exponent field is below this are in the low (subnormal) region.
    low_field: i32,
    man: i32,
    q_low: i32,
    pow2_q_low: u32,
    man_is_zero: bool,
    emin: i32,
    max_bits: u32,
    overflow_bits: u32,
    infinity_bits: u32,
    signed_zero: bool,
    unsigned: bool,
    bits: u32,
}

fn special_bits(special: Special, max_bits: u32) -> u32 {
    match special {
        Special::Infinity => INF_BITS,
        Special::Max => max_bits,
        Special::NaN => QNAN_BITS,
    }
}

impl GridKernel {
    /// The kernel of `grid`, or None when the grid's normal range starts below 2^-126 (the
    /// scalar path handles those P3109 formats).
    pub(crate) fn new(grid: &FloatGrid, rounding: Rounding) -> Option<Self> {
        if grid.emin < -126 {
            return None;
        }
        let q_low = grid.low_quantum_exponent();
        Some(Self {
            low_field: grid.emin + 127,
            man: grid.man as i32,
            q_low,
            pow2_q_low: pow2(q_low),
            man_is_zero: grid.man == 0,
            emin: grid.emin,
            max_bits: grid.max_bits,
            overflow_bits: special_bits(grid.overflow, grid.max_bits),
            infinity_bits: special_bits(grid.infinity, grid.max_bits),
            signed_zero: grid.signed_zero,
            unsigned: grid.unsigned,
            bits: rounding.random_bits(),
        })
    }
}

/// Loop-invariant parameters of a fixed point kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedKernel {
    q: i32,
    pow2_q: u32,
    upper: u32,
    lower: u32,
    bits: u32,
}

impl FixedKernel {
    pub(crate) fn new(format: &FixedPoint, rounding: Rounding) -> Self {
        let (upper, lower) = if format.clamp() {
            (format.upper_bits(), format.lower_bits())
        } else {
            (INF_BITS, INF_BITS)
        };
        Self {
            q: -format.fl(),
            pow2_q: pow2(-format.fl()),
            upper,
            lower,
            bits: rounding.random_bits(),
        }
    }
}

/// Rounds the magnitude `u` (finite) to a multiple of `2^q`; returns the magnitude pattern.
/// `low` says that `q` is the low-region quantum whose pattern is `pow2_q_low` (used when the
/// whole value is below one quantum); `field_parity` is the code parity of formats without
/// mantissa bits (valid when `use_field_parity`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn round_lane<const MODE: u32>(
    u: u32,
    q: i32,
    pow2_q_low: u32,
    use_field_parity: bool,
    field_parity: bool,
    negative: bool,
    word: u32,
    bits: u32,
) -> u32 {
    let field = u >> 23;
    let significand = if field == 0 {
        u
    } else {
        (u & 0x007F_FFFF) | 0x0080_0000
    };
    let lsb_exponent = field.max(1) as i32 - 150;
    let shift = q - lsb_exponent;
    let shift_clamped = shift.clamp(1, 31) as u32;
    let kept = significand >> shift_clamped;
    let remainder = significand & ((1u32 << shift_clamped) - 1);
    let half = 1u32 << (shift.clamp(1, 25) as u32 - 1);
    let kept_is_odd = if use_field_parity && kept != 0 {
        field_parity
    } else {
        kept & 1 == 1
    };
    let away = match MODE {
        NEAREST => remainder > half || (remainder == half && kept_is_odd),
        TOWARD_ZERO => false,
        UP => !negative,
        DOWN => negative,
        NEAREST_AWAY => remainder >= half,
        ODD => !kept_is_odd,
        _ => {
            let down_shift = (shift - bits as i32).clamp(0, 31) as u32;
            let up_shift = (bits as i32 - shift).clamp(0, 31) as u32;
            let scaled = if shift >= bits as i32 {
                remainder >> down_shift
            } else {
                remainder << up_shift
            };
            let random = word >> (32 - bits);
            let all_ones = u32::MAX >> (32 - bits);
            random > all_ones.wrapping_sub(scaled)
        }
    } && remainder != 0;
    let in_binade = ((u >> shift_clamped) + away as u32) << shift_clamped;
    let below_quantum = if away { pow2_q_low } else { 0 };
    if shift <= 0 {
        u
    } else if shift <= 23 {
        in_binade
    } else {
        below_quantum
    }
}

#[inline(always)]
fn grid_lane<const MODE: u32>(k: &GridKernel, x: u32, word: u32) -> u32 {
    let sign = x & SIGN_BIT;
    let u = x & !SIGN_BIT;
    let negative = sign != 0;
    let field = (u >> 23) as i32;
    let low = field < k.low_field;
    let exponent = field - 127;
    let q = if low { k.q_low } else { exponent - k.man };
    let field_parity = (exponent - k.emin) & 1 == 0;
    let rounded = round_lane::<MODE>(
        u.min(INF_BITS - 1),
        q,
        k.pow2_q_low,
        k.man_is_zero && !low,
        field_parity,
        negative,
        word,
        k.bits,
    );
    let overflows = match MODE {
        TOWARD_ZERO => false,
        UP => !negative,
        DOWN => negative,
        _ => true,
    };
    let overflowed = if overflows {
        k.overflow_bits
    } else {
        k.max_bits
    };
    let zero = if k.signed_zero { sign } else { 0 };
    let finite = if rounded == 0 {
        zero
    } else if rounded > k.max_bits {
        sign | overflowed
    } else {
        sign | rounded
    };
    if u > INF_BITS {
        x | QUIET_BIT
    } else if k.unsigned && negative && u != 0 {
        QNAN_BITS
    } else if u == 0 {
        zero
    } else if u == INF_BITS {
        sign | k.infinity_bits
    } else {
        finite
    }
}

#[inline(always)]
fn fixed_lane<const MODE: u32>(k: &FixedKernel, x: u32, word: u32) -> u32 {
    let sign = x & SIGN_BIT;
    let u = x & !SIGN_BIT;
    let negative = sign != 0;
    let rounded = round_lane::<MODE>(
        u.min(INF_BITS - 1),
        k.q,
        k.pow2_q,
        false,
        false,
        negative,
        word,
        k.bits,
    );
    let rounded = if u == INF_BITS { INF_BITS } else { rounded };
    let bound = if negative { k.lower } else { k.upper };
    let limited = rounded.min(bound);
    if u > INF_BITS {
        x | QUIET_BIT
    } else if limited == 0 {
        0
    } else {
        sign | limited
    }
}

/// Philox blocks per batch of random words (4 words each).
const WORD_BLOCKS: usize = 64;

/// Fills `words` with the random words of elements `first ..` (SEMANTICS.md §3): four words per
/// Philox4x32-10 block, computed for [`WORD_BLOCKS`] blocks at once in structure-of-arrays form
/// so the rounds vectorise (64-bit products; the same bits as the 16-bit-halves scalar code).
#[inline(always)]
fn fill_words(seed: u64, first: u64, words: &mut [u32]) {
    if first & 3 != 0 || words.len() > 4 * WORD_BLOCKS {
        for (i, word) in words.iter_mut().enumerate() {
            *word = lowp_formats::philox::elementwise_word(seed, first + i as u64);
        }
        return;
    }
    let key = seed_key(seed);
    let first_block = first >> 2;
    let mut c0 = [0u32; WORD_BLOCKS];
    let mut c1 = [0u32; WORD_BLOCKS];
    let mut c2 = [0u32; WORD_BLOCKS];
    let mut c3 = [0u32; WORD_BLOCKS];
    for (j, (lo, hi)) in c0.iter_mut().zip(c1.iter_mut()).enumerate() {
        let block = first_block + j as u64;
        *lo = block as u32;
        *hi = (block >> 32) as u32;
    }
    let (mut k0, mut k1) = (key[0], key[1]);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
        for j in 0..WORD_BLOCKS {
            let p0 = u64::from(0xD251_1F53u32) * u64::from(c0[j]);
            let p1 = u64::from(0xCD9E_8D57u32) * u64::from(c2[j]);
            let next0 = (p1 >> 32) as u32 ^ c1[j] ^ k0;
            let next2 = (p0 >> 32) as u32 ^ c3[j] ^ k1;
            c0[j] = next0;
            c1[j] = p1 as u32;
            c2[j] = next2;
            c3[j] = p0 as u32;
        }
    }
    let mut interleaved = [0u32; 4 * WORD_BLOCKS];
    for (j, group) in interleaved.chunks_exact_mut(4).enumerate() {
        group.copy_from_slice(&[c0[j], c1[j], c2[j], c3[j]]);
    }
    words.copy_from_slice(&interleaved[..words.len()]);
}

/// Which lane function a chunk runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kernel {
    Grid(GridKernel),
    Fixed(FixedKernel),
}

macro_rules! dispatch_mode {
    ($mode:expr, $f:ident, $($arg:expr),*) => {
        match $mode {
            NEAREST => $f::<NEAREST>($($arg),*),
            TOWARD_ZERO => $f::<TOWARD_ZERO>($($arg),*),
            UP => $f::<UP>($($arg),*),
            DOWN => $f::<DOWN>($($arg),*),
            NEAREST_AWAY => $f::<NEAREST_AWAY>($($arg),*),
            ODD => $f::<ODD>($($arg),*),
            _ => $f::<STOCHASTIC>($($arg),*),
        }
    };
}

#[inline(always)]
fn chunk_body<const MODE: u32>(kernel: &Kernel, source: &[f32], target: &mut [f32], words: &[u32]) {
    match kernel {
        Kernel::Grid(k) => {
            for ((x, y), w) in source.iter().zip(target.iter_mut()).zip(words) {
                *y = f32::from_bits(grid_lane::<MODE>(k, x.to_bits(), *w));
            }
        }
        Kernel::Fixed(k) => {
            for ((x, y), w) in source.iter().zip(target.iter_mut()).zip(words) {
                *y = f32::from_bits(fixed_lane::<MODE>(k, x.to_bits(), *w));
            }
        }
    }
}

#[inline(always)]
fn chunk_generic<const MODE: u32>(
    kernel: &Kernel,
    seed: u64,
    first: u64,
    source: &[f32],
    target: &mut [f32],
) {
    const BLOCK: usize = 4 * WORD_BLOCKS;
    let mut words = [0u32; BLOCK];
    for (block_index, (src, dst)) in source
        .chunks(BLOCK)
        .zip(target.chunks_mut(BLOCK))
        .enumerate()
    {
        let words = &mut words[..src.len()];
        if MODE == STOCHASTIC {
            fill_words(seed, first + (block_index * BLOCK) as u64, words);
        }
        chunk_body::<MODE>(kernel, src, dst, words);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn chunk_avx2<const MODE: u32>(
    kernel: &Kernel,
    seed: u64,
    first: u64,
    source: &[f32],
    target: &mut [f32],
) {
    chunk_generic::<MODE>(kernel, seed, first, source, target)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2")]
fn chunk_avx512<const MODE: u32>(
    kernel: &Kernel,
    seed: u64,
    first: u64,
    source: &[f32],
    target: &mut [f32],
) {
    use std::arch::x86_64::{_mm_sfence, _mm512_load_ps, _mm512_stream_ps};
    const BLOCK: usize = 4 * WORD_BLOCKS;
    #[repr(align(64))]
    struct Aligned([f32; BLOCK]);
    let mut staged = Aligned([0f32; BLOCK]);
    let mut words = [0u32; BLOCK];
    for (block_index, (src, dst)) in source
        .chunks(BLOCK)
        .zip(target.chunks_mut(BLOCK))
        .enumerate()
    {
        let words = &mut words[..src.len()];
        if MODE == STOCHASTIC {
            fill_words(seed, first + (block_index * BLOCK) as u64, words);
        }
        if src.len() == BLOCK && (dst.as_ptr() as usize).is_multiple_of(64) {
            // Full, aligned block: compute into an L1-resident buffer and stream it out with
            // non-temporal stores (no read-for-ownership of the output's cache lines).
            chunk_body::<MODE>(kernel, src, &mut staged.0, words);
            for (i, line) in staged.0.chunks_exact(16).enumerate() {
                // SAFETY: `line` is 64-byte aligned (Aligned, 16-float steps) and `dst` holds BLOCK
                // floats starting at a 64-byte aligned address.
                unsafe {
                    _mm512_stream_ps(dst.as_mut_ptr().add(16 * i), _mm512_load_ps(line.as_ptr()))
                };
            }
        } else {
            chunk_body::<MODE>(kernel, src, dst, words);
        }
    }
    // Order the streamed stores before returning.
    _mm_sfence();
}

/// Quantizes `source` into `target` (same length); element `j` is tensor element `first + j`.
pub(crate) fn quantize_chunk(
    kernel: &Kernel,
    mode: Rounding,
    seed: u64,
    first: u64,
    source: &[f32],
    target: &mut [f32],
) {
    let code = mode.code();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU supports the features the function was compiled for.
            return unsafe {
                dispatch_mode!(code, chunk_avx512, kernel, seed, first, source, target)
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe {
                dispatch_mode!(code, chunk_avx2, kernel, seed, first, source, target)
            };
        }
    }
    dispatch_mode!(code, chunk_generic, kernel, seed, first, source, target)
}
