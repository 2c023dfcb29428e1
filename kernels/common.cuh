// lowp common CUDA: the scalar quantizers of lowp-formats and Philox4x32-10, ported line for line
// from shaders/common.wgsl (which ports bits.rs, rounding.rs, grid.rs, fixed.rs, block.rs,
// superfp.rs, philox.rs). 32-bit integer operations only, as in WGSL: values travel as their
// binary32 bit patterns (u32), so nothing is ever flushed or canonicalised.
//
// Prepended to every kernel file of kernels/ (NVRTC compiles common.cuh + [math.cuh +] the file:
// `--fmad=false --ftz=false --prec-div=true --prec-sqrt=true`). The file is also valid host C++:
// crates/lowp-cuda/tests/host_emulation.rs compiles it with g++ (shims for __device__, __clz ...)
// and compares every quantizer with lowp-formats bit for bit.
//
// WGSL -> CUDA conventions: `let` is `const auto`, `var` is `auto` (or the named type),
// `select(f, t, c)` and `countLeadingZeros` are the functions below, vec2/vec3/vec4 are the small
// templates below, struct literals use braces.

// ---- WGSL vocabulary ------------------------------------------------------------------------------

typedef unsigned int u32;
typedef int i32;
typedef float f32;
typedef unsigned long long u64;

template <typename T>
struct vec2 {
    T x;
    T y;
    __device__ vec2() : x(), y() {}
    __device__ vec2(T x_, T y_) : x(x_), y(y_) {}
    __device__ explicit vec2(T v) : x(v), y(v) {}
};

template <typename T>
struct vec3 {
    T x;
    T y;
    T z;
    __device__ vec3(T x_, T y_, T z_) : x(x_), y(y_), z(z_) {}
};

template <typename T>
struct vec4 {
    T x;
    T y;
    T z;
    T w;
    __device__ vec4() : x(), y(), z(), w() {}
    __device__ vec4(T x_, T y_, T z_, T w_) : x(x_), y(y_), z(z_), w(w_) {}
    __device__ explicit vec4(T v) : x(v), y(v), z(v), w(v) {}
};

// WGSL select(f, t, condition).
template <typename T>
__device__ __forceinline__ T select(T if_false, T if_true, bool condition) {
    return condition ? if_true : if_false;
}

// WGSL countLeadingZeros (32 for 0, as __clz).
__device__ __forceinline__ u32 countLeadingZeros(u32 x) {
    return u32(__clz(i32(x)));
}

__device__ __forceinline__ f32 bitcast_f32(u32 x) {
    return __uint_as_float(x);
}

__device__ __forceinline__ u32 bitcast_u32(f32 x) {
    return __float_as_uint(x);
}

// WGSL @builtin(global_invocation_id) of a grid of 1-D blocks.
__device__ __forceinline__ vec3<u32> global_invocation_id() {
    return vec3<u32>(blockIdx.x * blockDim.x + threadIdx.x, blockIdx.y, blockIdx.z);
}

// ---- constants (bits.rs) ----------------------------------------------------------------------

constexpr u32 SIGN_BIT = 0x80000000u;
constexpr u32 INF_BITS = 0x7F800000u;
constexpr u32 QUIET_BIT = 0x00400000u;
constexpr u32 QNAN_BITS = 0x7FC00000u;
constexpr u32 MAGNITUDE_MASK = 0x7FFFFFFFu;
constexpr u32 MIN_NORMAL_BITS = 0x00800000u;

// Rounding::code()
constexpr u32 MODE_NEAREST = 0u;
constexpr u32 MODE_TOWARD_ZERO = 1u;
constexpr u32 MODE_UP = 2u;
constexpr u32 MODE_DOWN = 3u;
constexpr u32 MODE_NEAREST_AWAY = 4u;
constexpr u32 MODE_ODD = 5u;
constexpr u32 MODE_STOCHASTIC = 6u;

// grid.rs Special
constexpr u32 SPECIAL_INFINITY = 0u;
constexpr u32 SPECIAL_MAX = 1u;
constexpr u32 SPECIAL_NAN = 2u;

// Option<bool> field parity of round_to_quantum: none, Some(false) (even), Some(true) (odd).
constexpr i32 PARITY_NONE = -1;
constexpr i32 PARITY_EVEN = 0;
constexpr i32 PARITY_ODD = 1;

// Quantizer.kind
constexpr u32 KIND_GRID = 0u;
constexpr u32 KIND_FIXED = 1u;
constexpr u32 KIND_SUPERFP = 2u;
constexpr u32 KIND_BLOCK = 3u;

constexpr u32 WORKGROUP_SIZE = 256u;

// ---- parameter structs (mirrored by #[repr(C)] structs in crates/lowp-cuda/src/params.rs) -----
// Every struct is a multiple of 16 bytes (the WGSL uniform layout); kernels take them by value.

// FloatGrid (grid.rs): float formats, OCP e4m3fn and P3109.
struct Grid {
    i32 emin;
    u32 man;
    u32 subnormals;
    u32 max_bits;
    u32 overflow;
    u32 infinity;
    u32 signed_zero;
    u32 is_unsigned;
};

// FixedPoint (fixed.rs) with its bounds precomputed.
struct Fixed {
    i32 fl;
    u32 clamp;
    u32 upper_bits;
    u32 lower_bits;
};

// SuperNormalFloat (superfp.rs) with its exponents precomputed.
struct SuperFp {
    u32 man;
    i32 bias;
    i32 min_exp;
    i32 max_exp;
    i32 lowest_power;
    i32 top;
    u32 saturate;
    u32 pad0;
};

// A Quantizer (quantizer.rs): format family, rounding mode, random bits and seed.
struct Quantizer {
    u32 kind;
    u32 mode;
    u32 bits;
    u32 seed_lo;
    u32 seed_hi;
    u32 block_wl;
    u32 pad0;
    u32 pad1;
    Grid grid;
    Fixed fixed;
    SuperFp superfp;
};

// One dispatch over a chunk of a tensor: `count` elements, a 2-D grid whose rows hold
// `row_width` invocations, and the flat index (lo, hi) of the chunk's first element.
struct Dispatch {
    u32 count;
    u32 row_width;
    u32 base_lo;
    u32 base_hi;
};

// The chunk-local index of an invocation in a 2-D grid of 1-D workgroups.
__device__ __forceinline__ u32 local_index(vec3<u32> id, Dispatch d) {
    return id.x + id.y * d.row_width;
}

// The flat (u64) index of chunk-local element j as (lo, hi).
__device__ __forceinline__ vec2<u32> global_index(Dispatch d, u32 j) {
    const auto lo = d.base_lo + j;
    return vec2<u32>(lo, d.base_hi + select(0u, 1u, lo < j));
}

// The Philox block (lo, hi) of global elements 4 * b .. 4 * b + 3 for the chunk's block g: the
// chunk starts in block base >> 2 (at element base & 3 of it), so b = (base >> 2) + g.
__device__ __forceinline__ vec2<u32> chunk_block(Dispatch d, u32 g) {
    const auto lo = ((d.base_lo >> 2u) | (d.base_hi << 30u)) + g;
    return vec2<u32>(lo, (d.base_hi >> 2u) + select(0u, 1u, lo < g));
}

// ---- rounding.rs ----------------------------------------------------------------------------------

// `x >> n` that is 0 for n >= 32 (WGSL takes oversized shift amounts modulo 32).
__device__ __forceinline__ u32 shr(u32 x, u32 n) {
    if (n >= 32u) {
        return 0u;
    }
    return x >> n;
}

// Rounding::overflows: the IEEE rule.
__device__ __forceinline__ bool overflows(u32 mode, bool negative) {
    switch (mode) {
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
__device__ __forceinline__ bool rounds_away(u32 mode, u32 bits, bool kept_is_odd, u32 remainder, u32 shift, bool negative, u32 word) {
    // remainder < 2^24, so for shift > 24 it is below half a quantum.
    auto half = 0xFFFFFFFFu;
    if (shift <= 24u) {
        half = 1u << (shift - 1u);
    }
    switch (mode) {
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
            u32 scaled;
            if (shift >= bits) {
                scaled = shr(remainder, shift - bits);
            } else {
                scaled = remainder << (bits - shift);
            }
            const auto random = word >> (32u - bits);
            const auto all_ones = 0xFFFFFFFFu >> (32u - bits);
            // scaled + random >= 2^bits, without overflowing at bits = 32.
            return random > all_ones - scaled;
        }
    }
}

// ---- bits.rs ----------------------------------------------------------------------------------

// |x| = significand * 2^lsb_exponent.
struct Split {
    u32 significand;
    i32 lsb_exponent;
};

__device__ __forceinline__ Split split(u32 u) {
    const auto field = u >> 23u;
    if (field == 0u) {
        return Split{u, -149};
    }
    return Split{(u & 0x007FFFFFu) | 0x00800000u, i32(field) - 150};
}

// floor(log2 |x|) of a finite nonzero magnitude pattern.
__device__ __forceinline__ i32 exponent_of(u32 u) {
    const auto field = u >> 23u;
    if (field == 0u) {
        return i32(31u - countLeadingZeros(u)) - 149;
    }
    return i32(field) - 127;
}

// The magnitude pattern of k * 2^q (q >= -149), truncating beyond 24 significant bits, +Inf above
// the binary32 range.
__device__ __forceinline__ u32 compose(u32 k, i32 q) {
    if (k == 0u) {
        return 0u;
    }
    const auto length = 32 - i32(countLeadingZeros(k));
    const auto top = q + length - 1;
    if (top > 127) {
        return INF_BITS;
    } else if (top >= -126) {
        return (u32(top + 127) << 23u) | (((k << u32(32 - length)) >> 8u) & 0x007FFFFFu);
    }
    return k << u32(q + 149);
}

// The magnitude pattern of 2^e, +Inf above binary32, 0 below its smallest subnormal.
__device__ __forceinline__ u32 pow2(i32 e) {
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
__device__ __forceinline__ u32 round_within_significand(u32 u, u32 shift, u32 mode, u32 bits, bool negative, u32 word) {
    const auto quantum = 1u << shift;
    const auto dropped_mask = quantum - 1u;
    auto increment = 0u;
    switch (mode) {
        case MODE_NEAREST: {
            increment = (quantum >> 1u) - 1u + ((u >> shift) & 1u);
            break;
        }
        case MODE_NEAREST_AWAY: {
            increment = quantum >> 1u;
            break;
        }
        case MODE_TOWARD_ZERO: {
            increment = 0u;
            break;
        }
        case MODE_UP: {
            increment = select(dropped_mask, 0u, negative);
            break;
        }
        case MODE_DOWN: {
            increment = select(0u, dropped_mask, negative);
            break;
        }
        case MODE_ODD: {
            return (u & ~dropped_mask) | select(0u, quantum, (u & dropped_mask) != 0u);
        }
        default: {
            const auto random = word >> (32u - bits);
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
__device__ __forceinline__ u32 round_to_quantum(u32 u, i32 q, u32 mode, u32 bits, i32 field_parity, bool negative, u32 word) {
    if (field_parity == PARITY_NONE && u >= MIN_NORMAL_BITS) {
        const auto shift = q - (i32(u >> 23u) - 150);
        if (shift >= 1 && shift <= 22) {
            return round_within_significand(u, u32(shift), mode, bits, negative, word);
        }
    }
    const auto s = split(u);
    if (q <= s.lsb_exponent) {
        return u;
    }
    const auto shift = u32(q - s.lsb_exponent);
    const auto kept = shr(s.significand, shift);
    auto dropped = 0u;
    if (shift < 32u) {
        dropped = kept << shift;
    }
    const auto remainder = s.significand - dropped;
    if (remainder == 0u) {
        return compose(kept, q);
    }
    auto kept_is_odd = (kept & 1u) == 1u;
    if (field_parity != PARITY_NONE && kept != 0u) {
        kept_is_odd = field_parity == PARITY_ODD;
    }
    const auto away = rounds_away(mode, bits, kept_is_odd, remainder, shift, negative, word);
    return compose(kept + select(0u, 1u, away), q);
}

// ---- grid.rs: float, e4m3fn, P3109 --------------------------------------------------------------

__device__ __forceinline__ u32 grid_special(Grid g, u32 outcome, u32 sign) {
    switch (outcome) {
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
__device__ __forceinline__ bool in_grid_normal_range(Grid g, u32 magnitude, bool negative) {
    const auto smallest_normal = select(MIN_NORMAL_BITS, u32(g.emin + 127) << 23u, g.emin > -126);
    return g.man - 1u < 23u && magnitude >= smallest_normal && magnitude < INF_BITS && !(g.is_unsigned != 0u && negative);
}

// The rounded magnitude of a value in_grid_normal_range (a binary32 with man = 23 fraction bits is
// on the grid already).
__device__ __forceinline__ u32 grid_round_normal(Grid g, u32 magnitude, u32 mode, u32 bits, bool negative, u32 word) {
    if (g.man == 23u) {
        return magnitude;
    }
    return round_within_significand(magnitude, 23u - g.man, mode, bits, negative, word);
}

__device__ __forceinline__ u32 grid_quantize(Grid g, u32 x, u32 mode, u32 bits, u32 word) {
    const auto sign = x & SIGN_BIT;
    const auto magnitude = x & MAGNITUDE_MASK;
    const auto negative = sign != 0u;
    u32 rounded;
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
        auto zero = 0u;
        if (g.signed_zero != 0u) {
            zero = sign;
        }
        if (magnitude == 0u) {
            return zero;
        }
        if (magnitude == INF_BITS) {
            return grid_special(g, g.infinity, sign);
        }
        const auto exponent = exponent_of(magnitude);
        i32 q;
        auto field_parity = PARITY_NONE;
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
        auto outcome = SPECIAL_MAX;
        if (overflows(mode, negative)) {
            outcome = g.overflow;
        }
        return grid_special(g, outcome, sign);
    }
    return sign | rounded;
}

// ---- fixed.rs -----------------------------------------------------------------------------------

__device__ __forceinline__ u32 fixed_quantize(Fixed f, u32 x, u32 mode, u32 bits, u32 word) {
    const auto sign = x & SIGN_BIT;
    const auto magnitude = x & MAGNITUDE_MASK;
    const auto negative = sign != 0u;
    if (magnitude > INF_BITS) {
        return x | QUIET_BIT;
    }
    if (magnitude == 0u) {
        return 0u;
    }
    auto rounded = INF_BITS;
    if (magnitude != INF_BITS) {
        rounded = round_to_quantum(magnitude, -f.fl, mode, bits, PARITY_NONE, negative, word);
    }
    auto limited = rounded;
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
__device__ __forceinline__ bool at_least_one_and_a_half(u32 magnitude) {
    const auto s = split(magnitude);
    const auto leading = 31u - countLeadingZeros(s.significand);
    return leading > 0u && ((s.significand >> (leading - 1u)) & 1u) == 1u;
}

// Round to nearest (the only mode superfp defines).
__device__ __forceinline__ u32 superfp_quantize(SuperFp s, u32 x) {
    const auto sign = x & SIGN_BIT;
    const auto magnitude = x & MAGNITUDE_MASK;
    if (magnitude > INF_BITS) {
        return x | QUIET_BIT;
    }
    if (magnitude == 0u) {
        return x;
    }
    auto overflow = INF_BITS;
    if (s.saturate != 0u) {
        overflow = pow2(s.top);
    }
    if (magnitude == INF_BITS) {
        return sign | overflow;
    }
    const auto exponent = exponent_of(magnitude);
    u32 result;
    if (exponent >= s.min_exp && exponent <= s.max_exp) {
        // With no mantissa bits the code's last bit is the exponent field `exponent + bias`.
        auto field_parity = PARITY_NONE;
        if (s.man == 0u) {
            field_parity = select(PARITY_EVEN, PARITY_ODD, ((exponent + s.bias) & 1) == 1);
        }
        const auto rounded = round_to_quantum(magnitude, exponent - i32(s.man), MODE_NEAREST, 0u, field_parity, false, 0u);
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
        const auto power = exponent + select(0, 1, at_least_one_and_a_half(magnitude));
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
__device__ __forceinline__ u32 block_quantize_element(u32 wl, u32 x, u32 max_magnitude, u32 mode, u32 bits, u32 word) {
    const auto sign = x & SIGN_BIT;
    const auto magnitude = x & MAGNITUDE_MASK;
    if (magnitude > INF_BITS) {
        return x | QUIET_BIT;
    }
    if (max_magnitude == 0u) {
        return x;
    }
    const auto e = exponent_of(max_magnitude);
    const auto q = e + 2 - i32(wl);
    // The bound (2^(wl-1) - 1) * 2^q, rounded toward zero to binary32 below 2^-149.
    const auto bound_quanta = (1u << (wl - 1u)) - 1u;
    u32 bound;
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
    const auto rounded = round_to_quantum(magnitude, q, mode, bits, PARITY_NONE, sign != 0u, word);
    return sign | min(rounded, bound);
}

// ---- philox.rs ----------------------------------------------------------------------------------

constexpr u32 PHILOX_M0 = 0xD2511F53u;
constexpr u32 PHILOX_M1 = 0xCD9E8D57u;
constexpr u32 PHILOX_W0 = 0x9E3779B9u;
constexpr u32 PHILOX_W1 = 0xBB67AE85u;

// The (hi, lo) 32-bit halves of the 64-bit product a * b. WGSL has no 32 x 32 -> 64-bit product
// and builds it from 16-bit partial products; CUDA has it: __umulhi gives the high half
// (IMAD.HI), a * b the low half.
__device__ __forceinline__ vec2<u32> mul_hi_lo(u32 a, u32 b) {
    return vec2<u32>(__umulhi(a, b), a * b);
}

// One Philox4x32-10 block: 10 rounds over `counter` with `key`.
__device__ __forceinline__ vec4<u32> philox4x32_10(vec4<u32> counter, vec2<u32> key) {
    auto c = counter;
    auto k = key;
    for (auto r = 0u; r < 10u; r++) {
        if (r > 0u) {
            k.x = k.x + PHILOX_W0;
            k.y = k.y + PHILOX_W1;
        }
        const auto p0 = mul_hi_lo(PHILOX_M0, c.x);
        const auto p1 = mul_hi_lo(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// The four random words of Philox block `block` (lo, hi) of an element-wise quantize: elements
// 4 * block .. 4 * block + 3 draw them in order (SEMANTICS.md §3, counter (block lo, hi, 0, 0)).
__device__ __forceinline__ vec4<u32> elementwise_block_words(u32 seed_lo, u32 seed_hi, vec2<u32> block) {
    return philox4x32_10(vec4<u32>(block.x, block.y, 0u, 0u), vec2<u32>(seed_lo, seed_hi));
}

// Word k (0 to 3) of a block's four words.
__device__ __forceinline__ u32 word_of(vec4<u32> words, u32 k) {
    switch (k) {
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
__device__ __forceinline__ u32 elementwise_word(u32 seed_lo, u32 seed_hi, vec2<u32> index) {
    const auto block = vec2<u32>((index.x >> 2u) | (index.y << 30u), index.y >> 2u);
    return word_of(elementwise_block_words(seed_lo, seed_hi, block), index.x & 3u);
}

// Quantizer::word: the element's random word, 0 for deterministic modes.
__device__ __forceinline__ u32 quantizer_word(Quantizer q, vec2<u32> index) {
    if (q.mode == MODE_STOCHASTIC) {
        return elementwise_word(q.seed_lo, q.seed_hi, index);
    }
    return 0u;
}

// ---- quantizer.rs ---------------------------------------------------------------------------------

// Quantizer::quantize_bits for the element-wise families (block formats need their block's
// largest magnitude: block_quantize_element).
__device__ __forceinline__ u32 quantize_bits(Quantizer q, u32 x, u32 word) {
    switch (q.kind) {
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
