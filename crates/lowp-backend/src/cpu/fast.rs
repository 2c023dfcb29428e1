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

#[cfg(target_arch = "x86_64")]
use super::philox_avx512;

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
    // A bit select, not `if`: LLVM turns a select between two struct fields into a gather.
    let negative_mask = 0u32.wrapping_sub(negative as u32);
    let bound = (k.upper & !negative_mask) | (k.lower & negative_mask);
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

/// The ten Philox4x32-10 rounds with key `(lo32(seed), hi32(seed))` on `N` counters in
/// structure-of-arrays form (`state[w][j]`: word `w` of counter `j`), so that LLVM vectorises
/// them (64-bit products; the same bits as `lowp_formats::philox::philox4x32_10`).
#[inline(always)]
fn soa_rounds<const N: usize>(seed: u64, state: [&mut [u32; N]; 4]) {
    let [c0, c1, c2, c3] = state;
    let key = seed_key(seed);
    let (mut k0, mut k1) = (key[0], key[1]);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
        for j in 0..N {
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
}

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
    soa_rounds(seed, [&mut c0, &mut c1, &mut c2, &mut c3]);
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
    /// Round to nearest on a float or P3109 grid, with the lean [`nearest_lane`].
    Nearest(NearestKernel),
    /// Round to nearest on a fixed point grid, with the lean [`fixed_nearest_lane`].
    FixedNearest(FixedNearestKernel),
    /// Stochastic rounding on a float or P3109 grid, with the lean [`stochastic_lane`].
    Stochastic(StochasticKernel),
    /// Stochastic rounding to fixed point, with the lean [`fixed_stochastic_lane`].
    FixedStochastic(FixedStochasticKernel),
}

/// Loop-invariant parameters of stochastic rounding on a grid (the bits of
/// [`grid_lane`]`::<STOCHASTIC>`), for grids whose normal range starts at `2^-126` or above,
/// with at least one free bit below the last mantissa bit and `bits + man <= 30`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StochasticKernel {
    /// Pattern of `2^emin`: magnitudes below it take the low-range rounding.
    min_normal_bits: u32,
    /// Normal range: keeps the random word's top `bits` bits ...
    random_mask: u32,
    /// ... and shifts them right by `32 - (23 - man)`, to just below the last kept bit.
    addend_shift: u32,
    keep_mask: u32,
    /// Low range (below `2^emin`, one quantum `2^q_low`): `|x| * 2^(bits - q_low)` as two exact
    /// power-of-two factors, and the quantum as two normal factors (a subnormal operand costs
    /// some CPUs a microcode assist in every lane).
    scale_a: f32,
    scale_b: f32,
    quantum_a: f32,
    quantum_b: f32,
    bits: u32,
    max_bits: u32,
    overflow_bits: u32,
    infinity_bits: u32,
    zero_sign: u32,
    unsigned: bool,
    /// Signed, with signed zeros and `overflow == infinity`: three tests fewer.
    simple: bool,
}

impl StochasticKernel {
    pub(crate) fn new(grid: &FloatGrid, bits: u32) -> Option<Self> {
        let q_low = grid.low_quantum_exponent();
        if grid.emin < -126
            || grid.man > 22
            || bits + grid.man > 30
            || !(1..=32).contains(&bits)
            || q_low < -149
        {
            return None;
        }
        let shift = 23 - grid.man;
        let scale = bits as i32 - q_low;
        let scale_a = scale.min(127);
        let quantum_b = if q_low < -126 { -126 } else { 0 };
        let overflow_bits = special_bits(grid.overflow, grid.max_bits);
        let infinity_bits = special_bits(grid.infinity, grid.max_bits);
        Some(Self {
            min_normal_bits: ((grid.emin + 127) as u32) << 23,
            random_mask: u32::MAX << (32 - bits),
            addend_shift: 32 - shift,
            keep_mask: !((1u32 << shift) - 1),
            scale_a: f32::from_bits(pow2(scale_a)),
            scale_b: f32::from_bits(pow2(scale - scale_a)),
            quantum_a: f32::from_bits(pow2(q_low - quantum_b)),
            quantum_b: f32::from_bits(pow2(quantum_b)),
            bits,
            max_bits: grid.max_bits,
            overflow_bits,
            infinity_bits,
            zero_sign: if grid.signed_zero { SIGN_BIT } else { 0 },
            unsigned: grid.unsigned,
            simple: grid.signed_zero && !grid.unsigned && overflow_bits == infinity_bits,
        })
    }
}

/// `floor(|x| * scale_a * scale_b)` for the magnitude pattern `u`, exact for `u <= limit_bits`
/// (the factors are powers of two); larger magnitudes, NaN included, are first lowered to
/// `limit_bits`. Callers choose `limit_bits` and the factors so that the product stays at or
/// below `2^30`.
#[inline(always)]
fn scaled_magnitude(u: u32, limit_bits: u32, scale_a: f32, scale_b: f32) -> u32 {
    let product = f32::from_bits(u.min(limit_bits)) * scale_a * scale_b;
    // SAFETY: `product` is in [0, 2^30] (caller's contract), so it is representable as an i32.
    unsafe { product.to_int_unchecked::<i32>() as u32 }
}

/// Stochastic rounding ("stochastic A", §2) on the grid of `k` with random word `word`.
///
/// Normal range (constant shift `s = 23 - man`): with `R` the top `bits` bits of the word,
/// `floor(v * 2^bits) + R >= 2^bits` holds exactly when adding `R >> (bits - s)` (or
/// `R << (s - bits)`), which is `(word & top bits) >> (32 - s)`, to the magnitude's pattern
/// carries past the last kept bit, so the result is `(u + addend) & keep_mask`. Low range:
/// `t = floor(|x| * 2^(bits - q_low))` is exact in binary32 and at most `2^(man + bits) <= 2^30`
/// (`2^bits` without subnormals, where `q_low = emin`); its top part counts
/// whole quanta and its low `bits` bits are `floor(v * 2^bits)`, so `(t + R) >> bits` is the
/// rounded count of quanta. `SIMPLE` kernels ([`StochasticKernel::simple`]) skip the tests that
/// cannot change their result: infinity overflows to itself, a zero keeps its sign as every
/// result does, and no input is out of range for its sign. `UNSIGNED` must equal the kernel's
/// `unsigned` (negative inputs other than -0 give NaN).
#[inline(always)]
fn stochastic_lane<const SIMPLE: bool, const UNSIGNED: bool>(
    k: &StochasticKernel,
    x: f32,
    word: u32,
) -> f32 {
    let bits = x.to_bits();
    let sign = bits & SIGN_BIT;
    let u = bits & !SIGN_BIT;
    let normal = (u + ((word & k.random_mask) >> k.addend_shift)) & k.keep_mask;
    let scaled = scaled_magnitude(u, k.min_normal_bits, k.scale_a, k.scale_b);
    let quanta = (scaled + (word >> (32 - k.bits))) >> k.bits;
    let low = (quanta as f32 * k.quantum_a * k.quantum_b).to_bits();
    let rounded = if u < k.min_normal_bits { low } else { normal };
    let limited = if rounded > k.max_bits {
        k.overflow_bits
    } else {
        rounded
    };
    f32::from_bits(if u > INF_BITS {
        bits | QUIET_BIT
    } else if SIMPLE {
        sign | limited
    } else if UNSIGNED && sign != 0 && u != 0 {
        QNAN_BITS
    } else if u == INF_BITS {
        sign | k.infinity_bits
    } else if rounded == 0 {
        sign & k.zero_sign
    } else {
        sign | limited
    })
}

/// Loop-invariant parameters of stochastic rounding to fixed point (the bits of
/// [`fixed_lane`]`::<STOCHASTIC>`), for quanta `2^q` with `-126 <= q <= 103` and `bits <= 30`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedStochasticKernel {
    /// `q + 150`: the number of discarded significand bits of a normal `x` is
    /// `q + 150 - field(x)`, clamped to `[0, 23]`.
    discard_offset: i32,
    random_mask: u32,
    /// Pattern of the quantum `2^q`: magnitudes below it take the low-range rounding.
    quantum_bits: u32,
    /// `|x| * 2^(bits - q)` as two exact power-of-two factors.
    scale_a: f32,
    scale_b: f32,
    bits: u32,
    upper: u32,
    lower: u32,
}

impl FixedStochasticKernel {
    pub(crate) fn new(format: &FixedPoint, bits: u32) -> Option<Self> {
        let q = -format.fl();
        if !(-126..=103).contains(&q) || !(1..=30).contains(&bits) {
            return None;
        }
        let bounds = FixedKernel::new(format, Rounding::Stochastic { bits });
        let scale = bits as i32 - q;
        let scale_a = scale.min(127);
        Some(Self {
            discard_offset: q + 150,
            random_mask: u32::MAX << (32 - bits),
            quantum_bits: pow2(q),
            scale_a: f32::from_bits(pow2(scale_a)),
            scale_b: f32::from_bits(pow2(scale - scale_a)),
            bits,
            upper: bounds.upper,
            lower: bounds.lower,
        })
    }
}

/// Stochastic rounding ("stochastic A", §2) to the fixed-point grid of `k` with random word
/// `word`.
///
/// From `2^q` up, the quantum is `d = clamp(q + 150 - field(x), 0, 23)` bits of the binary32
/// pattern (0 for values that are already multiples of it, infinity and NaN), and the rounding
/// is the pattern addition of [`stochastic_lane`] with that per-element shift:
/// `(u + ((word & top bits) >> (32 - d))) & (!0 << d)`. Below `2^q` the result is `0` or `2^q`:
/// `t = floor(|x| * 2^(bits - q))` is below `2^bits`, and `(t + R) >> bits` says which. The
/// result is then clamped to the format's range as in [`fixed_lane`].
#[inline(always)]
fn fixed_stochastic_lane(k: &FixedStochasticKernel, x: f32, word: u32) -> f32 {
    let bits = x.to_bits();
    let sign = bits & SIGN_BIT;
    let u = bits & !SIGN_BIT;
    let discarded = (k.discard_offset - (u >> 23) as i32).clamp(0, 23) as u32;
    // Two shifts so that `discarded == 0` shifts the random bits out (a shift by 32 is not defined).
    let addend = ((word & k.random_mask) >> 1) >> (31 - discarded);
    let normal = (u + addend) & (u32::MAX << discarded);
    let scaled = scaled_magnitude(u, k.quantum_bits, k.scale_a, k.scale_b);
    let quanta = (scaled + (word >> (32 - k.bits))) >> k.bits;
    let low = k.quantum_bits & 0u32.wrapping_sub(quanta);
    let rounded = if u < k.quantum_bits { low } else { normal };
    // A bit select, not `if`: LLVM turns a select between two struct fields into a gather.
    let negative_mask = 0u32.wrapping_sub((sign != 0) as u32);
    let bound = (k.upper & !negative_mask) | (k.lower & negative_mask);
    let limited = rounded.min(bound);
    f32::from_bits(if u > INF_BITS {
        bits | QUIET_BIT
    } else if limited == 0 {
        0
    } else {
        sign | limited
    })
}

/// Loop-invariant parameters of round-to-nearest fixed point: `2^(q + 23)` and the range ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedNearestKernel {
    magic: f32,
    upper: f32,
    lower: f32,
}

impl FixedNearestKernel {
    /// The kernel of `format`, or None when the grid step `2^q` exceeds `2^104` (then
    /// `2^(q + 24)` would leave binary32).
    pub(crate) fn new(format: &FixedPoint) -> Option<Self> {
        let q = -format.fl();
        (q <= 104).then(|| {
            let kernel = FixedKernel::new(format, Rounding::Nearest);
            Self {
                magic: f32::from_bits(pow2(q + 23)),
                upper: f32::from_bits(kernel.upper),
                lower: f32::from_bits(kernel.lower),
            }
        })
    }
}

/// Round to nearest even on the grid `2^q` of `k` (the bits of [`fixed_lane`]`::<NEAREST>`):
/// a magnitude below `2^(q + 23)` is rounded by the binary32 addition `(|x| + 2^(q+23)) - 2^(q+23)`,
/// whose sum has exactly the quantum `2^q` as its last bit; larger magnitudes are on the grid.
#[inline(always)]
fn fixed_nearest_lane(k: &FixedNearestKernel, x: f32) -> f32 {
    let bits = x.to_bits();
    let sign = bits & SIGN_BIT;
    let magnitude = f32::from_bits(bits & !SIGN_BIT);
    // Two separate binary32 operations (Rust never reassociates them).
    let rounded = if magnitude < k.magic {
        (magnitude + k.magic) - k.magic
    } else {
        magnitude
    };
    // A bit select, not `if`: LLVM turns a select between two struct fields into a gather.
    let negative_mask = ((bits as i32) >> 31) as u32;
    let bound =
        f32::from_bits((k.upper.to_bits() & !negative_mask) | (k.lower.to_bits() & negative_mask));
    // NaN compares false and passes through with its payload.
    let limited = if rounded > bound { bound } else { rounded }.to_bits();
    let quiet = if limited > INF_BITS { QUIET_BIT } else { 0 };
    f32::from_bits(if limited == 0 {
        0
    } else {
        sign | limited | quiet
    })
}

/// Calls `$f::<SIMPLE, ADDITIVE>($args)` with the flags of the nearest kernel `$k`.
macro_rules! dispatch_nearest {
    ($k:expr, $f:ident, $($arg:expr),*) => {
        match ($k.simple(), $k.additive()) {
            (true, true) => $f::<true, true>($($arg),*),
            (true, false) => $f::<true, false>($($arg),*),
            (false, true) => $f::<false, true>($($arg),*),
            (false, false) => $f::<false, false>($($arg),*),
        }
    };
}
pub(crate) use dispatch_nearest;

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
        Kernel::Nearest(k) => dispatch_nearest!(k, nearest_map, k, source, target),
        Kernel::FixedNearest(k) => {
            for (x, y) in source.iter().zip(target.iter_mut()) {
                *y = fixed_nearest_lane(k, *x);
            }
        }
        Kernel::Stochastic(k) if k.simple => {
            stochastic_map::<true, false>(k, source, target, words)
        }
        Kernel::Stochastic(k) if k.unsigned => {
            stochastic_map::<false, true>(k, source, target, words)
        }
        Kernel::Stochastic(k) => stochastic_map::<false, false>(k, source, target, words),
        Kernel::FixedStochastic(k) => {
            for ((x, y), w) in source.iter().zip(target.iter_mut()).zip(words) {
                *y = fixed_stochastic_lane(k, *x, *w);
            }
        }
    }
}

#[inline(always)]
fn stochastic_map<const SIMPLE: bool, const UNSIGNED: bool>(
    k: &StochasticKernel,
    source: &[f32],
    target: &mut [f32],
    words: &[u32],
) {
    for ((x, y), w) in source.iter().zip(target.iter_mut()).zip(words) {
        *y = stochastic_lane::<SIMPLE, UNSIGNED>(k, *x, *w);
    }
}

#[inline(always)]
fn nearest_map<const SIMPLE: bool, const ADDITIVE: bool>(
    k: &NearestKernel,
    source: &[f32],
    target: &mut [f32],
) {
    for (x, y) in source.iter().zip(target.iter_mut()) {
        *y = nearest_lane::<SIMPLE, ADDITIVE>(k, *x);
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
            let start = first + (block_index * BLOCK) as u64;
            if start.is_multiple_of(4) && words.len() == BLOCK {
                for (i, batch) in words
                    .chunks_exact_mut(philox_avx512::BATCH_WORDS)
                    .enumerate()
                {
                    let batch_start = start + (i * philox_avx512::BATCH_WORDS) as u64;
                    // Safe to call: this function is compiled with AVX-512F enabled too.
                    philox_avx512::fill_batch(seed, batch_start, batch);
                }
            } else {
                fill_words(seed, start, words);
            }
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

// ---------------------------------------------------------------------------------------------
// GEMM lane helpers: the per-step quantizers of the quantized GEMM (cpu/gemm.rs), applied to a
// row of lanes (consecutive output columns) at a time.

/// Loop-invariant parameters of the round-to-nearest-even kernel of a sign/exponent/mantissa
/// grid, the GEMM's hot quantizer. It gives exactly the bits of [`grid_lane`] in `NEAREST` mode
/// with far fewer operations, by one of two algorithms ([`nearest_lane`]):
/// - *additive* (grids with subnormals, at least one mantissa bit and `emax - man <= 103`): with
///   `e = clamp(floor(log2|x|), emin, emax + 1)` and `M = 2^(e - man + 23)`, `(|x| + M) - M` is one
///   correctly rounded binary32 addition (the sum lies in `[M, 2M)`, whose ulp is the grid's
///   quantum `2^(e - man)`, and `M` is an even number of quanta, so ties go to the even code)
///   followed by an exact subtraction. Magnitudes clamped at `emax + 1` are at least `2^(emax+1)`
///   either way and overflow.
/// - *integer* (the others): in the grid's normal range the quantum is the last `23 - man` bits
///   of the binary32 pattern: adding `half - 1 + lsb` to the pattern and clearing those bits
///   rounds to nearest even (a carry moves into the next binade or to the overflow test on its
///   own); below `2^emin` the quantum is the fixed `2^q_low` and `(|x| + M) - M` with
///   `M = 2^(q_low + 23)` rounds as above.
///
/// NaN needs no test of its own: float comparisons with NaN are false, so a NaN takes the
/// additive rounding, which returns it quiet with its payload, and never counts as overflowing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NearestKernel {
    shift: u32,
    half_minus_one: u32,
    keep_mask: u32,
    /// XOR-ed into the parity bit: with no mantissa bits the code's parity is the parity of the
    /// grid's exponent field, `exponent - emin + 1`, not of the binary32 field `exponent + 127`.
    parity_flip: u32,
    /// `2^emin` and its pattern (the smallest exponent field of the additive algorithm).
    min_normal: f32,
    min_field: u32,
    /// The largest exponent field of the additive algorithm: that of `2^(emax + 1)`.
    max_field: u32,
    /// Added to a clamped exponent field to make `M`: `(23 - man) << 23`.
    magic_offset: u32,
    /// `M` of the integer algorithm's low region.
    magic: f32,
    max: f32,
    overflow_bits: u32,
    infinity_bits: u32,
    /// Sign bits a zero result keeps (all for signed zeros, none for +0-only formats).
    zero_sign: u32,
    /// Signed zeros and `overflow == infinity`: two selects fewer.
    simple: bool,
    additive: bool,
}

impl NearestKernel {
    /// The kernel of `grid`, or None where neither algorithm applies (unsigned grids, no free
    /// bits below the last mantissa bit, a normal range starting below `2^-126`).
    pub(crate) fn new(grid: &FloatGrid) -> Option<Self> {
        let q_low = grid.low_quantum_exponent();
        if grid.unsigned || grid.man > 22 || grid.emin < -126 || q_low + 23 > 127 || q_low < -149 {
            return None;
        }
        let shift = 23 - grid.man;
        let overflow_bits = special_bits(grid.overflow, grid.max_bits);
        let infinity_bits = special_bits(grid.infinity, grid.max_bits);
        let emax = (grid.max_bits >> 23) as i32 - 127;
        Some(Self {
            shift,
            half_minus_one: (1u32 << (shift - 1)) - 1,
            keep_mask: !((1u32 << shift) - 1),
            parity_flip: if grid.man == 0 {
                (grid.emin & 1) as u32
            } else {
                0
            },
            min_normal: f32::from_bits(pow2(grid.emin)),
            min_field: pow2(grid.emin),
            max_field: pow2(emax + 1),
            magic_offset: shift << 23,
            magic: f32::from_bits(pow2(q_low + 23)),
            max: f32::from_bits(grid.max_bits),
            overflow_bits,
            infinity_bits,
            zero_sign: if grid.signed_zero { SIGN_BIT } else { 0 },
            simple: grid.signed_zero && overflow_bits == infinity_bits,
            additive: grid.subnormals && grid.man >= 1 && emax + 1 + shift as i32 <= 127,
        })
    }

    /// Whether `nearest_lane::<true, _>` applies (signed zeros, infinities and overflow alike).
    pub(crate) fn simple(&self) -> bool {
        self.simple
    }

    /// Whether `nearest_lane::<_, true>` (the additive algorithm) applies.
    pub(crate) fn additive(&self) -> bool {
        self.additive
    }
}

/// Round to nearest even on the grid of `k` (the bits of [`grid_lane`]`::<NEAREST>`).
/// `SIMPLE` must equal [`NearestKernel::simple`] or be false (it drops the infinity and
/// unsigned-zero selects); `ADDITIVE` must equal [`NearestKernel::additive`] or be false.
#[inline(always)]
pub(crate) fn nearest_lane<const SIMPLE: bool, const ADDITIVE: bool>(
    k: &NearestKernel,
    x: f32,
) -> f32 {
    let bits = x.to_bits();
    let sign = bits & SIGN_BIT;
    let u = bits & !SIGN_BIT;
    let magnitude = f32::from_bits(u);
    let rounded = if ADDITIVE {
        let field = (bits & INF_BITS).max(k.min_field).min(k.max_field);
        let m = f32::from_bits(field + k.magic_offset);
        // Two separate binary32 operations (Rust never reassociates them).
        ((magnitude + m) - m).to_bits()
    } else {
        let parity = ((u >> k.shift) ^ k.parity_flip) & 1;
        let normal = (u + k.half_minus_one + parity) & k.keep_mask;
        let low = ((magnitude + k.magic) - k.magic).to_bits();
        // NaN compares false: the low rounding keeps it a NaN.
        if magnitude >= k.min_normal {
            normal
        } else {
            low
        }
    };
    // NaN compares false: it stays as it is.
    let limited = if f32::from_bits(rounded) > k.max {
        k.overflow_bits
    } else {
        rounded
    };
    f32::from_bits(if SIMPLE {
        sign | limited
    } else {
        let limited = if u == INF_BITS {
            k.infinity_bits
        } else {
            limited
        };
        let sign = if rounded == 0 {
            sign & k.zero_sign
        } else {
            sign
        };
        sign | limited
    })
}

#[inline(always)]
fn nearest_lanes<const SIMPLE: bool, const ADDITIVE: bool>(k: &NearestKernel, values: &mut [f32]) {
    for v in values.iter_mut() {
        *v = nearest_lane::<SIMPLE, ADDITIVE>(k, *v);
    }
}

/// The quantizer of one GEMM step, resolved once per GEMM.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StepKernel {
    /// fp32: every binary32 result is already representable.
    Identity,
    /// Round to nearest on a float or P3109 grid ([`nearest_lane`]).
    Nearest(NearestKernel),
    /// Any mode on a float or P3109 grid ([`grid_lane`]); the mode's code.
    Grid(GridKernel, u32),
    /// Stochastic rounding on a float or P3109 grid ([`stochastic_lane`]).
    Stochastic(StochasticKernel),
    /// Fixed point ([`fixed_lane`]); the mode's code.
    Fixed(FixedKernel, u32),
    /// Stochastic rounding to fixed point ([`fixed_stochastic_lane`]).
    FixedStochastic(FixedStochasticKernel),
    /// The scalar `lowp_formats::gemm::quantize_step` (superfp, block formats, P3109 grids the
    /// lane kernels do not cover).
    Scalar(lowp_formats::Format, Rounding),
}

impl StepKernel {
    /// The fastest kernel that gives the bits of `quantize_step(format, rounding, ..)`.
    pub(crate) fn new(format: &lowp_formats::Format, rounding: Rounding) -> Self {
        use lowp_formats::Format;
        if format.is_identity() {
            return StepKernel::Identity;
        }
        let grid = match format {
            Format::Float(f) => Some(f.grid()),
            Format::P3109(p) => Some(p.grid()),
            _ => None,
        };
        if let Some(grid) = grid {
            if rounding == Rounding::Nearest
                && let Some(k) = NearestKernel::new(&grid)
            {
                return StepKernel::Nearest(k);
            }
            if let Rounding::Stochastic { bits } = rounding
                && let Some(k) = StochasticKernel::new(&grid, bits)
            {
                return StepKernel::Stochastic(k);
            }
            if let Some(k) = GridKernel::new(&grid, rounding) {
                return StepKernel::Grid(k, rounding.code());
            }
        }
        match format {
            Format::Fixed(f) => match rounding {
                Rounding::Stochastic { bits } => {
                    FixedStochasticKernel::new(f, bits).map(StepKernel::FixedStochastic)
                }
                _ => None,
            }
            .unwrap_or_else(|| StepKernel::Fixed(FixedKernel::new(f, rounding), rounding.code())),
            _ => StepKernel::Scalar(*format, rounding),
        }
    }
}

#[inline(always)]
fn grid_lanes<const MODE: u32>(k: &GridKernel, values: &mut [f32], words: &[u32]) {
    for (v, w) in values.iter_mut().zip(words) {
        *v = f32::from_bits(grid_lane::<MODE>(k, v.to_bits(), *w));
    }
}

#[inline(always)]
fn stochastic_lanes<const SIMPLE: bool, const UNSIGNED: bool>(
    k: &StochasticKernel,
    values: &mut [f32],
    words: &[u32],
) {
    for (v, w) in values.iter_mut().zip(words) {
        *v = stochastic_lane::<SIMPLE, UNSIGNED>(k, *v, *w);
    }
}

#[inline(always)]
fn fixed_lanes<const MODE: u32>(k: &FixedKernel, values: &mut [f32], words: &[u32]) {
    for (v, w) in values.iter_mut().zip(words) {
        *v = f32::from_bits(fixed_lane::<MODE>(k, v.to_bits(), *w));
    }
}

/// Quantizes `values` in place with `kernel`; `words[j]` is the random word of lane `j` (read by
/// stochastic rounding only; `words` is at least as long as `values`).
#[inline(always)]
pub(crate) fn quantize_lanes(kernel: &StepKernel, values: &mut [f32], words: &[u32]) {
    match kernel {
        StepKernel::Identity => {}
        StepKernel::Nearest(k) => dispatch_nearest!(k, nearest_lanes, k, values),
        StepKernel::Grid(k, mode) => dispatch_mode!(*mode, grid_lanes, k, values, words),
        StepKernel::Stochastic(k) if k.simple => stochastic_lanes::<true, false>(k, values, words),
        StepKernel::Stochastic(k) if k.unsigned => {
            stochastic_lanes::<false, true>(k, values, words)
        }
        StepKernel::Stochastic(k) => stochastic_lanes::<false, false>(k, values, words),
        StepKernel::Fixed(k, mode) => dispatch_mode!(*mode, fixed_lanes, k, values, words),
        StepKernel::FixedStochastic(k) => {
            for (v, w) in values.iter_mut().zip(words) {
                *v = fixed_stochastic_lane(k, *v, *w);
            }
        }
        StepKernel::Scalar(format, rounding) => {
            for (v, w) in values.iter_mut().zip(words) {
                *v = lowp_formats::gemm::quantize_step(format, *rounding, *v, *w);
            }
        }
    }
}

/// The GEMM Philox words (SEMANTICS.md §3) of `LANES` consecutive output elements
/// `first, first + 1, ..` at step `k` of stream `stream`: `words[w][j]` is word `w` of counter
/// `(lo32(first + j), hi32(first + j), k, stream)`. Structure-of-arrays rounds, so they vectorise
/// (64-bit products; the same bits as `lowp_formats::gemm::gemm_words`).
#[inline(always)]
pub(crate) fn gemm_word_lanes<const LANES: usize>(
    seed: u64,
    first: u64,
    k: u32,
    stream: u32,
    words: &mut [[u32; LANES]; 4],
) {
    let [c0, c1, c2, c3] = words;
    for j in 0..LANES {
        let o = first.wrapping_add(j as u64);
        c0[j] = o as u32;
        c1[j] = (o >> 32) as u32;
        c2[j] = k;
        c3[j] = stream;
    }
    soa_rounds(seed, [c0, c1, c2, c3]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use lowp_formats::Format;

    /// Every binade edge and its neighbours, both signs, specials and pseudo-random patterns.
    fn patterns() -> Vec<u32> {
        let mut bits = vec![
            0u32,
            1,
            2,
            3,
            0x7F_FFFF,
            0x80_0000,
            0x7F7F_FFFF,
            0x7F80_0000,
        ];
        bits.extend([0x7FC0_0000, 0x7F80_0001, 0x7FFF_FFFF]);
        for exponent in 0..=255u32 {
            for mantissa in [
                0u32, 1, 2, 0x40_0000, 0x3F_FFFF, 0x7F_FFFF, 0x10_0000, 0x08_0001,
            ] {
                bits.push((exponent << 23) | mantissa);
            }
            // Ties and their neighbours for every mantissa width.
            for man in 0..23u32 {
                let half = 1u32 << (22 - man);
                for m in [half - 1, half, half + 1, 3 * half, (3 * half) | 1] {
                    bits.push((exponent << 23) | (m & 0x7F_FFFF));
                }
            }
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bits.push(state as u32 & 0x7FFF_FFFF);
        }
        let negatives: Vec<u32> = bits.iter().map(|b| b | SIGN_BIT).collect();
        bits.extend(negatives);
        bits
    }

    #[test]
    fn nearest_lane_equals_the_scalar_grid() {
        let specs = [
            "tf32",
            "bf16",
            "fp16",
            "e5m2",
            "e4m3",
            "e4m3fn",
            "e4m3fn(saturate=true)",
            "e5m2(subnormals=false)",
            "bf16(subnormals=false,saturate=true)",
            "float(exp=2,man=0)",
            "float(exp=3,man=0)",
            "float(exp=2,man=1,subnormals=false)",
            "float(exp=3,man=0,subnormals=false)",
            "float(exp=8,man=0)",
            "float(exp=6,man=9,saturate=true)",
            "float(exp=8,man=22)",
            "binary8(p=3)",
            "binary8(p=1)",
            "binary8(p=4,subnormals=false)",
            "binary8(p=3,overflow=saturate_infty)",
            "binary(k=3,p=1)",
            "binary(k=12,p=4,overflow=saturate_infty)",
            "binary(k=16,p=9,subnormals=false)",
        ];
        let inputs = patterns();
        let (mut covered, mut additive) = (0, 0);
        for spec in specs {
            let format: Format = spec.parse().unwrap();
            let grid = match format {
                Format::Float(f) => f.grid(),
                Format::P3109(p) => p.grid(),
                _ => unreachable!(),
            };
            let Some(kernel) = NearestKernel::new(&grid) else {
                continue;
            };
            covered += 1;
            additive += kernel.additive() as usize;
            for &x in &inputs {
                let want = grid.quantize_bits(x, Rounding::Nearest, 0);
                let x = f32::from_bits(x);
                let general = nearest_lane::<false, false>(&kernel, x).to_bits();
                assert_eq!(general, want, "{spec}: {:#010x}", x.to_bits());
                let fastest = dispatch_nearest!(kernel, nearest_lane, &kernel, x).to_bits();
                assert_eq!(fastest, want, "{spec} (fastest): {:#010x}", x.to_bits());
            }
        }
        assert!(
            covered >= 18,
            "only {covered} formats have a nearest kernel"
        );
        assert!(
            additive >= 8,
            "only {additive} formats use the additive algorithm"
        );
    }

    /// Random words that reach every case of the rounding decision: none or all of the random
    /// bits set, one bit at either end of the kept bits, and pseudo-random words.
    fn words() -> Vec<u32> {
        let mut words = vec![
            0,
            1,
            u32::MAX,
            0x8000_0000,
            0x7FFF_FFFF,
            0x0000_0100,
            0xFFFF_FE00,
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..9 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            words.push((state >> 32) as u32);
        }
        words
    }

    #[test]
    fn stochastic_lanes_equal_the_scalar_quantizers() {
        let specs = [
            "bf16",
            "fp16",
            "e5m2",
            "e4m3",
            "e4m3fn",
            "e4m3fn(saturate=true)",
            "e5m2(subnormals=false)",
            "float(exp=2,man=0)",
            "float(exp=8,man=0)",
            "float(exp=8,man=22)",
            "binary8(p=3)",
            "binary8(p=1,subnormals=false)",
            "binary8(p=5,signed=false,overflow=saturate_maxfloat2)",
            "binary(k=16,p=9,signed=false,subnormals=false)",
            "fixed(wl=8,fl=4)",
            "fixed(wl=16,fl=8,symmetric=true)",
            "fixed(wl=12,fl=0,clamp=false)",
            "fixed(wl=32,fl=126)",
            "fixed(wl=32,fl=-103,clamp=false)",
            "fixed(wl=1,fl=3)",
        ];
        let inputs = patterns();
        let words = words();
        let (mut grids, mut simple, mut unsigned, mut fixed) = (0, 0, 0, 0);
        for spec in specs {
            let format: Format = spec.parse().unwrap();
            for bits in [1, 3, 8, 13, format.default_stochastic_bits(), 24, 30] {
                let mode = Rounding::Stochastic { bits };
                let quantizer = lowp_formats::Quantizer::new(format, mode, 0).unwrap();
                let lane: Box<dyn Fn(f32, u32) -> f32> = match format {
                    Format::Float(_) | Format::P3109(_) => {
                        let grid = match format {
                            Format::Float(f) => f.grid(),
                            Format::P3109(p) => p.grid(),
                            _ => unreachable!(),
                        };
                        let Some(k) = StochasticKernel::new(&grid, bits) else {
                            continue;
                        };
                        grids += 1;
                        if k.simple {
                            simple += 1;
                            Box::new(move |x, w| stochastic_lane::<true, false>(&k, x, w))
                        } else if k.unsigned {
                            unsigned += 1;
                            Box::new(move |x, w| stochastic_lane::<false, true>(&k, x, w))
                        } else {
                            Box::new(move |x, w| stochastic_lane::<false, false>(&k, x, w))
                        }
                    }
                    Format::Fixed(f) => {
                        let Some(k) = FixedStochasticKernel::new(&f, bits) else {
                            continue;
                        };
                        fixed += 1;
                        Box::new(move |x, w| fixed_stochastic_lane(&k, x, w))
                    }
                    _ => unreachable!(),
                };
                for &x in &inputs {
                    for &word in &words {
                        let want = quantizer.quantize_bits(x, word).unwrap();
                        let got = lane(f32::from_bits(x), word).to_bits();
                        assert!(
                            got == want
                                || (f32::from_bits(got).is_nan() && f32::from_bits(want).is_nan()),
                            "{spec} {mode}: {x:#010x} with word {word:#010x} gave {got:#010x}, scalar {want:#010x}"
                        );
                    }
                }
            }
        }
        assert!(
            grids >= 60 && simple >= 20 && unsigned >= 5 && fixed >= 30,
            "{grids} grid, {simple} simple, {unsigned} unsigned, {fixed} fixed kernels"
        );
    }

    /// All 2^32 inputs for the GEMM's common formats (minutes in release:
    /// `cargo test -p lowp-backend --release --lib -- --ignored nearest_lane_exhaustive`).
    #[test]
    #[ignore]
    fn nearest_lane_exhaustive() {
        for spec in [
            "e4m3",
            "e5m2",
            "fp16",
            "bf16",
            "e4m3fn",
            "binary8(p=3)",
            "binary8(p=4)",
            "float(exp=3,man=0)",
            "e5m2(subnormals=false)",
            "fp16(saturate=true)",
        ] {
            let format: Format = spec.parse().unwrap();
            let grid = match format {
                Format::Float(f) => f.grid(),
                Format::P3109(p) => p.grid(),
                _ => unreachable!(),
            };
            let kernel = NearestKernel::new(&grid).unwrap();
            let mismatch = (0..=u32::MAX).find(|&x| {
                let want = grid.quantize_bits(x, Rounding::Nearest, 0);
                let x = f32::from_bits(x);
                let fastest = dispatch_nearest!(kernel, nearest_lane, &kernel, x);
                let general = nearest_lane::<false, false>(&kernel, x);
                fastest.to_bits() != want || general.to_bits() != want
            });
            assert_eq!(mismatch, None, "{spec}");
        }
    }

    #[test]
    fn gemm_word_lanes_equal_the_scalar_words() {
        let mut words = [[0u32; 8]; 4];
        for (seed, first, k, stream) in [
            (0u64, 0u64, 0u32, 1u32),
            (0xDEAD_BEEF, 0xFFFF_FFFC, 17, 3),
            (u64::MAX, 123_456_789_012, u32::MAX, 1),
        ] {
            gemm_word_lanes(seed, first, k, stream, &mut words);
            let want: Vec<[u32; 4]> = (0..8)
                .map(|j| lowp_formats::gemm::gemm_words(seed, first + j, k, stream))
                .collect();
            for (w, lane) in words.iter().enumerate() {
                for (j, got) in lane.iter().enumerate() {
                    assert_eq!(
                        *got, want[j][w],
                        "{seed} {first} {k} {stream} lane {j} word {w}"
                    );
                }
            }
        }
    }
}
