// lowp common WGSL: the scalar quantizers of lowp-formats and Philox4x32-10, ported line for line
// (bits.rs, rounding.rs, grid.rs, fixed.rs, block.rs, superfp.rs, philox.rs). 32-bit integer
// operations only: no u64, no f16, no float arithmetic. Values travel as their binary32 bit
// patterns (array<u32>), so no GPU ever flushes or canonicalises them.
//
// This file is prepended to every op-family shader at pipeline creation.

// ---- constants (bits.rs) ----------------------------------------------------------------------

const SIGN_BIT: u32 = 0x80000000u;
const INF_BITS: u32 = 0x7F800000u;
const QUIET_BIT: u32 = 0x00400000u;
const QNAN_BITS: u32 = 0x7FC00000u;
const MAGNITUDE_MASK: u32 = 0x7FFFFFFFu;
const MIN_NORMAL_BITS: u32 = 0x00800000u;

// Rounding::code()
const MODE_NEAREST: u32 = 0u;
const MODE_TOWARD_ZERO: u32 = 1u;
const MODE_UP: u32 = 2u;
const MODE_DOWN: u32 = 3u;
const MODE_NEAREST_AWAY: u32 = 4u;
const MODE_ODD: u32 = 5u;
const MODE_STOCHASTIC: u32 = 6u;

// grid.rs Special
const SPECIAL_INFINITY: u32 = 0u;
const SPECIAL_MAX: u32 = 1u;
const SPECIAL_NAN: u32 = 2u;

// Option<bool> field parity of round_to_quantum: none, Some(false) (even), Some(true) (odd).
const PARITY_NONE: i32 = -1;
const PARITY_EVEN: i32 = 0;
const PARITY_ODD: i32 = 1;

// Quantizer.kind
const KIND_GRID: u32 = 0u;
const KIND_FIXED: u32 = 1u;
const KIND_SUPERFP: u32 = 2u;
const KIND_BLOCK: u32 = 3u;

const WORKGROUP_SIZE: u32 = 256u;

// ---- parameter structs (mirrored by #[repr(C)] structs in crates/lowp-wgpu/src/params.rs) -----
// Every struct is a multiple of 16 bytes so that it nests in a uniform buffer without padding.

// FloatGrid (grid.rs): float formats, OCP e4m3fn and P3109.
struct Grid {
    emin: i32,
    man: u32,
    subnormals: u32,
    max_bits: u32,
    overflow: u32,
    infinity: u32,
    signed_zero: u32,
    is_unsigned: u32,
}

// FixedPoint (fixed.rs) with its bounds precomputed.
struct Fixed {
    fl: i32,
    clamp: u32,
    upper_bits: u32,
    lower_bits: u32,
}

// SuperNormalFloat (superfp.rs) with its exponents precomputed.
struct SuperFp {
    man: u32,
    bias: i32,
    min_exp: i32,
    max_exp: i32,
    lowest_power: i32,
    top: i32,
    saturate: u32,
    pad0: u32,
}

// A Quantizer (quantizer.rs): format family, rounding mode, random bits and seed.
struct Quantizer {
    kind: u32,
    mode: u32,
    bits: u32,
    seed_lo: u32,
    seed_hi: u32,
    block_wl: u32,
    pad0: u32,
    pad1: u32,
    grid: Grid,
    fixed: Fixed,
    superfp: SuperFp,
}

// One dispatch over a chunk of a tensor: `count` elements, a 2-D grid whose rows hold
// `row_width` invocations, and the flat index (lo, hi) of the chunk's first element.
struct Dispatch {
    count: u32,
    row_width: u32,
    base_lo: u32,
    base_hi: u32,
}

// The chunk-local index of an invocation in a 2-D grid of 1-D workgroups.
fn local_index(id: vec3<u32>, d: Dispatch) -> u32 {
    return id.x + id.y * d.row_width;
}

// The flat (u64) index of chunk-local element j as (lo, hi).
fn global_index(d: Dispatch, j: u32) -> vec2<u32> {
    let lo = d.base_lo + j;
    return vec2<u32>(lo, d.base_hi + select(0u, 1u, lo < j));
}

// The Philox block (lo, hi) of global elements 4 * b .. 4 * b + 3 for the chunk's block g: the
// chunk starts in block base >> 2 (at element base & 3 of it), so b = (base >> 2) + g.
fn chunk_block(d: Dispatch, g: u32) -> vec2<u32> {
    let lo = ((d.base_lo >> 2u) | (d.base_hi << 30u)) + g;
    return vec2<u32>(lo, (d.base_hi >> 2u) + select(0u, 1u, lo < g));
}

// ---- rounding.rs ----------------------------------------------------------------------------------

// `x >> n` that is 0 for n >= 32 (WGSL takes oversized shift amounts modulo 32).
fn shr(x: u32, n: u32) -> u32 {
    if (n >= 32u) {
        return 0u;
    }
    return x >> n;
}

// Rounding::overflows: the IEEE rule.
fn overflows(mode: u32, negative: bool) -> bool {
    switch mode {
        case MODE_TOWARD_ZERO: {
            return false;
        }
        case MODE_UP: {
            return !negative;
        }
        case MODE_DOWN: {
            return negative;
        }
        default: {
            return true;
        }
    }
}

// rounds_away: the rounding decision of SEMANTICS.md §2 for `kept` quanta and the dropped part
// remainder / 2^shift of one quantum (shift >= 1, 0 < remainder < min(2^shift, 2^24)).
// `bits` is used by stochastic rounding only (1 <= bits <= 32 there).
fn rounds_away(mode: u32, bits: u32, kept_is_odd: bool, remainder: u32, shift: u32, negative: bool, word: u32) -> bool {
    // remainder < 2^24, so for shift > 24 it is below half a quantum.
    var half = 0xFFFFFFFFu;
    if (shift <= 24u) {
        half = 1u << (shift - 1u);
    }
    switch mode {
        case MODE_NEAREST: {
            return remainder > half || (remainder == half && kept_is_odd);
        }
        case MODE_NEAREST_AWAY: {
            return remainder >= half;
        }
        case MODE_TOWARD_ZERO: {
            return false;
        }
        case MODE_UP: {
            return !negative;
        }
        case MODE_DOWN: {
            return negative;
        }
        case MODE_ODD: {
            return !kept_is_odd;
        }
        default: {
            // Stochastic: floor(v * 2^bits) with v = remainder / 2^shift, exactly.
            var scaled: u32;
            if (shift >= bits) {
                scaled = shr(remainder, shift - bits);
            } else {
                scaled = remainder << (bits - shift);
            }
            let random = word >> (32u - bits);
            let all_ones = 0xFFFFFFFFu >> (32u - bits);
            // scaled + random >= 2^bits, without overflowing at bits = 32.
            return random > all_ones - scaled;
        }
    }
}

// ---- bits.rs ----------------------------------------------------------------------------------

// |x| = significand * 2^lsb_exponent.
struct Split {
    significand: u32,
    lsb_exponent: i32,
}

fn split(u: u32) -> Split {
    let field = u >> 23u;
    if (field == 0u) {
        return Split(u, -149);
    }
    return Split((u & 0x007FFFFFu) | 0x00800000u, i32(field) - 150);
}

// floor(log2 |x|) of a finite nonzero magnitude pattern.
fn exponent_of(u: u32) -> i32 {
    let field = u >> 23u;
    if (field == 0u) {
        return i32(31u - countLeadingZeros(u)) - 149;
    }
    return i32(field) - 127;
}

// The magnitude pattern of k * 2^q (q >= -149), truncating beyond 24 significant bits, +Inf above
// the binary32 range.
fn compose(k: u32, q: i32) -> u32 {
    if (k == 0u) {
        return 0u;
    }
    let length = 32 - i32(countLeadingZeros(k));
    let top = q + length - 1;
    if (top > 127) {
        return INF_BITS;
    } else if (top >= -126) {
        return (u32(top + 127) << 23u) | (((k << u32(32 - length)) >> 8u) & 0x007FFFFFu);
    }
    return k << u32(q + 149);
}

// The magnitude pattern of 2^e, +Inf above binary32, 0 below its smallest subnormal.
fn pow2(e: i32) -> u32 {
    if (e > 127) {
        return INF_BITS;
    } else if (e >= -126) {
        return u32(e + 127) << 23u;
    } else if (e >= -149) {
        return 1u << u32(e + 149);
    }
    return 0u;
}

// The common case of round_to_quantum, with the same bits in fewer steps: a normal binary32
// magnitude u whose quantum 2^shift lies inside its stored fraction (1 <= shift <= 22). The kept
// quanta are u's bits above the shift, the last of them a fraction bit (so its parity is the
// parity of the kept quanta); rounding away from zero adds one quantum, so every mode is one
// increment added to u, then the dropped bits masked off. A carry out of the fraction moves into
// the exponent field exactly when the rounded value reaches the next binade (2^128 gives +Inf's
// pattern, as compose does). Increments:
//   nearest: half - 1 + the last kept bit   nearest_away: half   toward_zero: 0
//   up / down: the dropped mask when rounding away from zero, else 0   odd: kept | 1 if inexact
//   stochastic: the top `bits` of the word aligned with the dropped bits' top, which carries
//   exactly when floor(remainder * 2^bits / 2^shift) + random >= 2^bits (rounds_away).
fn round_within_significand(u: u32, shift: u32, mode: u32, bits: u32, negative: bool, word: u32) -> u32 {
    let quantum = 1u << shift;
    let dropped_mask = quantum - 1u;
    var increment = 0u;
    switch (mode) {
        case MODE_NEAREST: {
            increment = (quantum >> 1u) - 1u + ((u >> shift) & 1u);
        }
        case MODE_NEAREST_AWAY: {
            increment = quantum >> 1u;
        }
        case MODE_TOWARD_ZERO: {
            increment = 0u;
        }
        case MODE_UP: {
            increment = select(dropped_mask, 0u, negative);
        }
        case MODE_DOWN: {
            increment = select(0u, dropped_mask, negative);
        }
        case MODE_ODD: {
            return (u & ~dropped_mask) | select(0u, quantum, (u & dropped_mask) != 0u);
        }
        default: {
            let random = word >> (32u - bits);
            if (shift >= bits) {
                increment = random << (shift - bits);
            } else {
                increment = random >> (bits - shift);
            }
        }
    }
    return (u + increment) & ~dropped_mask;
}

// Rounds the finite nonzero magnitude pattern u to a multiple of 2^q with the mode.
// field_parity: PARITY_NONE, or the parity of the target code when it is not the parity of the
// number of quanta (PARITY_ODD = odd).
fn round_to_quantum(u: u32, q: i32, mode: u32, bits: u32, field_parity: i32, negative: bool, word: u32) -> u32 {
    if (field_parity == PARITY_NONE && u >= MIN_NORMAL_BITS) {
        let shift = q - (i32(u >> 23u) - 150);
        if (shift >= 1 && shift <= 22) {
            return round_within_significand(u, u32(shift), mode, bits, negative, word);
        }
    }
    let s = split(u);
    if (q <= s.lsb_exponent) {
        return u;
    }
    let shift = u32(q - s.lsb_exponent);
    let kept = shr(s.significand, shift);
    var dropped = 0u;
    if (shift < 32u) {
        dropped = kept << shift;
    }
    let remainder = s.significand - dropped;
    if (remainder == 0u) {
        return compose(kept, q);
    }
    var kept_is_odd = (kept & 1u) == 1u;
    if (field_parity != PARITY_NONE && kept != 0u) {
        kept_is_odd = field_parity == PARITY_ODD;
    }
    let away = rounds_away(mode, bits, kept_is_odd, remainder, shift, negative, word);
    return compose(kept + select(0u, 1u, away), q);
}

// ---- grid.rs: float, e4m3fn, P3109 --------------------------------------------------------------

fn grid_special(g: Grid, outcome: u32, sign: u32) -> u32 {
    switch outcome {
        case SPECIAL_INFINITY: {
            return sign | INF_BITS;
        }
        case SPECIAL_MAX: {
            return sign | g.max_bits;
        }
        default: {
            return sign | QNAN_BITS;
        }
    }
}

// Whether grid_quantize's short path applies: a binary32 that is normal, finite and at least the
// format's smallest normal 2^emin, in a format with 1 to 23 fraction bits (not an unsigned
// format's negative). Its quantum is 2^(exponent - man), bit 23 - man of its own fraction.
fn in_grid_normal_range(g: Grid, magnitude: u32, negative: bool) -> bool {
    let smallest_normal = select(MIN_NORMAL_BITS, u32(g.emin + 127) << 23u, g.emin > -126);
    return g.man - 1u < 23u && magnitude >= smallest_normal && magnitude < INF_BITS && !(g.is_unsigned != 0u && negative);
}

// The rounded magnitude of a value in_grid_normal_range (a binary32 with man = 23 fraction bits is
// on the grid already).
fn grid_round_normal(g: Grid, magnitude: u32, mode: u32, bits: u32, negative: bool, word: u32) -> u32 {
    if (g.man == 23u) {
        return magnitude;
    }
    return round_within_significand(magnitude, 23u - g.man, mode, bits, negative, word);
}

fn grid_quantize(g: Grid, x: u32, mode: u32, bits: u32, word: u32) -> u32 {
    let sign = x & SIGN_BIT;
    let magnitude = x & MAGNITUDE_MASK;
    let negative = sign != 0u;
    var rounded: u32;
    if (in_grid_normal_range(g, magnitude, negative)) {
        // Never 0: rounding keeps a value of at least 2^emin.
        rounded = grid_round_normal(g, magnitude, mode, bits, negative, word);
    } else {
        if (magnitude > INF_BITS) {
            return x | QUIET_BIT;
        }
        if (g.is_unsigned != 0u && negative && magnitude != 0u) {
            return QNAN_BITS;
        }
        var zero = 0u;
        if (g.signed_zero != 0u) {
            zero = sign;
        }
        if (magnitude == 0u) {
            return zero;
        }
        if (magnitude == INF_BITS) {
            return grid_special(g, g.infinity, sign);
        }
        let exponent = exponent_of(magnitude);
        var q: i32;
        var field_parity = PARITY_NONE;
        if (exponent < g.emin) {
            // low_quantum_exponent
            if (g.subnormals != 0u) {
                q = g.emin - i32(g.man);
            } else {
                q = g.emin;
            }
        } else {
            // With no mantissa bits the code's last bit is the exponent field `exponent - emin + 1`.
            q = exponent - i32(g.man);
            if (g.man == 0u) {
                field_parity = select(PARITY_EVEN, PARITY_ODD, ((exponent - g.emin) & 1) == 0);
            }
        }
        rounded = round_to_quantum(magnitude, q, mode, bits, field_parity, negative, word);
        if (rounded == 0u) {
            return zero;
        }
    }
    if (rounded > g.max_bits) {
        var outcome = SPECIAL_MAX;
        if (overflows(mode, negative)) {
            outcome = g.overflow;
        }
        return grid_special(g, outcome, sign);
    }
    return sign | rounded;
}

// ---- fixed.rs -----------------------------------------------------------------------------------

fn fixed_quantize(f: Fixed, x: u32, mode: u32, bits: u32, word: u32) -> u32 {
    let sign = x & SIGN_BIT;
    let magnitude = x & MAGNITUDE_MASK;
    let negative = sign != 0u;
    if (magnitude > INF_BITS) {
        return x | QUIET_BIT;
    }
    if (magnitude == 0u) {
        return 0u;
    }
    var rounded = INF_BITS;
    if (magnitude != INF_BITS) {
        rounded = round_to_quantum(magnitude, -f.fl, mode, bits, PARITY_NONE, negative, word);
    }
    var limited = rounded;
    if (f.clamp != 0u) {
        limited = min(rounded, select(f.upper_bits, f.lower_bits, negative));
    }
    if (limited == 0u) {
        return 0u;
    }
    return sign | limited;
}

// ---- superfp.rs -------------------------------------------------------------------------------

// Whether a finite nonzero magnitude's significand is at least 1.5.
fn at_least_one_and_a_half(magnitude: u32) -> bool {
    let s = split(magnitude);
    let leading = 31u - countLeadingZeros(s.significand);
    return leading > 0u && ((s.significand >> (leading - 1u)) & 1u) == 1u;
}

// Round to nearest (the only mode superfp defines).
fn superfp_quantize(s: SuperFp, x: u32) -> u32 {
    let sign = x & SIGN_BIT;
    let magnitude = x & MAGNITUDE_MASK;
    if (magnitude > INF_BITS) {
        return x | QUIET_BIT;
    }
    if (magnitude == 0u) {
        return x;
    }
    var overflow = INF_BITS;
    if (s.saturate != 0u) {
        overflow = pow2(s.top);
    }
    if (magnitude == INF_BITS) {
        return sign | overflow;
    }
    let exponent = exponent_of(magnitude);
    var result: u32;
    if (exponent >= s.min_exp && exponent <= s.max_exp) {
        // With no mantissa bits the code's last bit is the exponent field `exponent + bias`.
        var field_parity = PARITY_NONE;
        if (s.man == 0u) {
            field_parity = select(PARITY_EVEN, PARITY_ODD, ((exponent + s.bias) & 1) == 1);
        }
        let rounded = round_to_quantum(magnitude, exponent - i32(s.man), MODE_NEAREST, 0u, field_parity, false, 0u);
        if (rounded > pow2(s.top)) {
            result = overflow;
        } else {
            result = rounded;
        }
    } else if (exponent < s.lowest_power) {
        // Below the smallest power: midpoint half of it, a tie rounds up.
        if (exponent == s.lowest_power - 1) {
            result = pow2(s.lowest_power);
        } else {
            result = 0u;
        }
    } else {
        // Log range: between 2^E and 2^(E+1) the midpoint is 1.5 * 2^E, ties round up.
        let power = exponent + select(0, 1, at_least_one_and_a_half(magnitude));
        if (power > s.top) {
            result = overflow;
        } else {
            result = pow2(power);
        }
    }
    return sign | result;
}

// ---- block.rs -----------------------------------------------------------------------------------

// Quantizes one element of a block whose largest finite magnitude is `max_magnitude` (0: no finite
// nonzero element, values are kept).
fn block_quantize_element(wl: u32, x: u32, max_magnitude: u32, mode: u32, bits: u32, word: u32) -> u32 {
    let sign = x & SIGN_BIT;
    let magnitude = x & MAGNITUDE_MASK;
    if (magnitude > INF_BITS) {
        return x | QUIET_BIT;
    }
    if (max_magnitude == 0u) {
        return x;
    }
    let e = exponent_of(max_magnitude);
    let q = e + 2 - i32(wl);
    // The bound (2^(wl-1) - 1) * 2^q, rounded toward zero to binary32 below 2^-149.
    let bound_quanta = (1u << (wl - 1u)) - 1u;
    var bound: u32;
    if (q >= -149) {
        bound = compose(bound_quanta, q);
    } else {
        bound = shr(bound_quanta, u32(-149 - q));
    }
    if (magnitude == INF_BITS) {
        return sign | bound;
    }
    if (magnitude == 0u) {
        return x;
    }
    let rounded = round_to_quantum(magnitude, q, mode, bits, PARITY_NONE, sign != 0u, word);
    return sign | min(rounded, bound);
}

// ---- philox.rs ----------------------------------------------------------------------------------

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The (hi, lo) 32-bit halves of the 64-bit product a * b, from 16-bit partial products.
fn mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xFFFFu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xFFFFu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> 16u) + (hi_lo & 0xFFFFu) + (lo_hi & 0xFFFFu);
    let hi = hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (middle >> 16u);
    let lo = (middle << 16u) | (lo_lo & 0xFFFFu);
    return vec2<u32>(hi, lo);
}

// One Philox4x32-10 block: 10 rounds over `counter` with `key`.
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        if (r > 0u) {
            k.x = k.x + PHILOX_W0;
            k.y = k.y + PHILOX_W1;
        }
        let p0 = mul_hi_lo(PHILOX_M0, c.x);
        let p1 = mul_hi_lo(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// The four random words of Philox block `block` (lo, hi) of an element-wise quantize: elements
// 4 * block .. 4 * block + 3 draw them in order (SEMANTICS.md §3, counter (block lo, hi, 0, 0)).
fn elementwise_block_words(seed_lo: u32, seed_hi: u32, block: vec2<u32>) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(block.x, block.y, 0u, 0u), vec2<u32>(seed_lo, seed_hi));
}

// Word k (0 to 3) of a block's four words.
fn word_of(words: vec4<u32>, k: u32) -> u32 {
    switch k {
        case 0u: {
            return words.x;
        }
        case 1u: {
            return words.y;
        }
        case 2u: {
            return words.z;
        }
        default: {
            return words.w;
        }
    }
}

// The random word of element `index` (lo, hi) of an element-wise quantize: word index & 3 of
// block index >> 2.
fn elementwise_word(seed_lo: u32, seed_hi: u32, index: vec2<u32>) -> u32 {
    let block = vec2<u32>((index.x >> 2u) | (index.y << 30u), index.y >> 2u);
    return word_of(elementwise_block_words(seed_lo, seed_hi, block), index.x & 3u);
}

// Quantizer::word: the element's random word, 0 for deterministic modes.
fn quantizer_word(q: Quantizer, index: vec2<u32>) -> u32 {
    if (q.mode == MODE_STOCHASTIC) {
        return elementwise_word(q.seed_lo, q.seed_hi, index);
    }
    return 0u;
}

// ---- quantizer.rs ---------------------------------------------------------------------------------

// Quantizer::quantize_bits for the element-wise families (block formats need their block's
// largest magnitude: block_quantize_element).
fn quantize_bits(q: Quantizer, x: u32, word: u32) -> u32 {
    switch q.kind {
        case KIND_GRID: {
            return grid_quantize(q.grid, x, q.mode, q.bits, word);
        }
        case KIND_FIXED: {
            return fixed_quantize(q.fixed, x, q.mode, q.bits, word);
        }
        case KIND_SUPERFP: {
            return superfp_quantize(q.superfp, x);
        }
        default: {
            return x;
        }
    }
}
