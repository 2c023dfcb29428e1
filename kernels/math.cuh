// lowp's portable binary32 arithmetic (crates/lowp-formats/src/math.rs), ported line for line
// from shaders/math.wgsl: the correctly rounded fma, division and square root and the
// transcendentals exp, log, tanh, erf and pow. Included after common.cuh; functions whose names
// clash with CUDA built-ins or common.cuh carry a `math_` prefix (as in WGSL).
//
// Every binary32 + - * goes through fadd / fsub / fmul. WGSL needs an opaque integer XOR there to
// stop drivers from contracting or re-associating; CUDA's __fadd_rn / __fsub_rn / __fmul_rn are
// documented never to be merged into an FMA, and NVRTC runs with --fmad=false --ftz=false, so
// they are plain IEEE binary32 operations with subnormals kept. CUDA's own transcendentals are
// never used: exp, log, tanh, erf and pow are lowp's fixed-order routines below.

__device__ __forceinline__ f32 fadd(f32 a, f32 b) {
    return __fadd_rn(a, b);
}
__device__ __forceinline__ f32 fsub(f32 a, f32 b) {
    return __fsub_rn(a, b);
}
__device__ __forceinline__ f32 fmul(f32 a, f32 b) {
    return __fmul_rn(a, b);
}

constexpr u32 SIGN = 0x80000000u;
constexpr u32 ABS = 0x7FFFFFFFu;
constexpr u32 INF = 0x7F800000u;
constexpr u32 QUIET = 0x00400000u;
constexpr u32 DEFAULT_NAN = 0x7FC00000u;

constexpr f32 SHIFT = 12582912.0f;
constexpr u32 LOG2E = 0x3FB8AA3Bu;
constexpr u32 LN2_HI = 0x3F317200u;
constexpr u32 LN2_LO = 0x35BFBE8Eu;
constexpr u32 TWO_THIRDS_HI = 0x3F2AAAABu;
constexpr u32 TWO_THIRDS_LO = 0xB2AAAAABu;
constexpr u32 TWO64 = 0x5F800000u;
constexpr u32 TWO_M64 = 0x1F800000u;

__constant__ u32 EXP_Q[5] = {0x3E2AAAAAu, 0x3D2AAA74u, 0x3C088987u, 0x3AB6A65Fu, 0x394EFDDAu};
__constant__ u32 LOG_R1[4] = {0x3ECCCCCCu, 0x3E9249DBu, 0x3E631ECEu, 0x3E484377u};
__constant__ u32 TANH_P[3] = {0xBEAAAAAAu, 0x3E0886AFu, 0xBD5A223Au};
__constant__ u32 ERF_P[7] = {0x3E0375D4u, 0xBEC093A1u, 0x3DE71700u, 0xBCDC07ECu, 0x3BAA7139u, 0xBA55C716u, 0x38B12383u};
__constant__ u32 ERFC_1[9] = {0x3DBE9FD3u, 0xBE8D06E3u, 0x3EA77843u, 0xBE2B2403u, 0xBC20FF0Fu, 0x3D604F37u, 0xBC9864ACu, 0xBBD256A2u, 0x3B6EF504u};
constexpr f32 ERFC_1_MID = 1.1875f;
__constant__ u32 ERFC_2[9] = {0x3B9947B1u, 0xBCA94DCFu, 0x3D294DADu, 0xBD458578u, 0x3D0D1A08u, 0xBC567452u, 0xBA028005u, 0x3B5DEB0Eu, 0xBABA7206u};
constexpr f32 ERFC_2_MID = 2.0f;
__constant__ u32 ERFC_3[10] = {0x36B24CBEu, 0xB815D7F1u, 0x38F13112u, 0xB9765E8Eu, 0x39B20101u, 0xB9BFD9BEu, 0x399F2E1Cu, 0xB94C69FFu, 0x38B9512Bu, 0xB7A9B531u};
constexpr f32 ERFC_3_MID = 3.21875f;

__device__ __forceinline__ f32 f(u32 bits) {
    return bitcast_f32(bits);
}
__device__ __forceinline__ u32 b(f32 x) {
    return bitcast_u32(x);
}

// ---- small helpers ------------------------------------------------------------------------------

// Declared ahead (WGSL needs no declarations; the definitions keep the WGSL order).
__device__ __forceinline__ f32 round_subnormal(f32 uh, f32 ul);
__device__ __forceinline__ vec2<f32> fast_two_sum(f32 a, f32 bb_);

__device__ __forceinline__ f32 quiet(f32 x) {
    return f(b(x) | QUIET);
}

// 2^k for -126 <= k <= 127.
__device__ __forceinline__ f32 math_pow2(i32 k) {
    return f(u32(k + 127) << 23u);
}

__device__ __forceinline__ f32 scale(f32 y, i32 n) {
    if (n > 127) {
        return fmul(fmul(y, 2.0f), math_pow2(n - 1));
    }
    return fmul(y, math_pow2(n));
}

__device__ __forceinline__ f32 scale_hilo(f32 h, f32 l, i32 n) {
    if (n > -126 || (n == -126 && h >= 1.0f)) {
        return scale(h, n);
    }
    const auto k = math_pow2(n + 149);
    return round_subnormal(fmul(h, k), fmul(l, k));
}

__device__ __forceinline__ f32 round_subnormal(f32 uh, f32 ul) {
    const auto se = fast_two_sum(8388608.0f, uh);
    const auto integer = fadd(se.x, fadd(se.y, ul));
    return f(b(integer) - 0x4B000000u);
}

__device__ __forceinline__ vec2<f32> two_sum(f32 a, f32 bb_) {
    const auto s = fadd(a, bb_);
    const auto bb = fsub(s, a);
    const auto e = fadd(fsub(a, fsub(s, bb)), fsub(bb_, bb));
    return vec2<f32>(s, e);
}

__device__ __forceinline__ vec2<f32> fast_two_sum(f32 a, f32 bb_) {
    const auto s = fadd(a, bb_);
    const auto e = fsub(bb_, fsub(s, a));
    return vec2<f32>(s, e);
}

__device__ __forceinline__ vec2<f32> math_split(f32 a) {
    const auto c = fmul(4097.0f, a);
    const auto hi = fsub(c, fsub(c, a));
    const auto lo = fsub(a, hi);
    return vec2<f32>(hi, lo);
}

__device__ __forceinline__ vec2<f32> two_prod(f32 a, f32 bb_) {
    const auto p = fmul(a, bb_);
    const auto sa = math_split(a);
    const auto sb = math_split(bb_);
    const auto ah = sa.x;
    const auto al = sa.y;
    const auto bh = sb.x;
    const auto bl = sb.y;
    const auto e = fadd(fadd(fadd(fsub(fmul(ah, bh), p), fmul(ah, bl)), fmul(al, bh)), fmul(al, bl));
    return vec2<f32>(p, e);
}

// 64-bit unsigned integers as vec2(hi, lo).

__device__ __forceinline__ vec2<u32> w_add(vec2<u32> a, vec2<u32> c) {
    const auto lo = a.y + c.y;
    const auto carry = select(0u, 1u, lo < a.y);
    return vec2<u32>(a.x + c.x + carry, lo);
}

__device__ __forceinline__ vec2<u32> w_sub(vec2<u32> a, vec2<u32> c) {
    const auto borrow = select(0u, 1u, a.y < c.y);
    return vec2<u32>(a.x - c.x - borrow, a.y - c.y);
}

__device__ __forceinline__ bool w_less(vec2<u32> a, vec2<u32> c) {
    return a.x < c.x || (a.x == c.x && a.y < c.y);
}

__device__ __forceinline__ u32 w_leading_zeros(vec2<u32> a) {
    if (a.x != 0u) {
        return countLeadingZeros(a.x);
    }
    return 32u + countLeadingZeros(a.y);
}

// a << n for n < 64.
__device__ __forceinline__ vec2<u32> w_shl(vec2<u32> a, u32 n) {
    if (n == 0u) {
        return a;
    } else if (n < 32u) {
        return vec2<u32>((a.x << n) | (a.y >> (32u - n)), a.y << n);
    }
    return vec2<u32>(a.y << (n - 32u), 0u);
}

__device__ __forceinline__ vec2<u32> w_shr_sticky(vec2<u32> a, u32 n) {
    if (n == 0u) {
        return a;
    } else if (n < 32u) {
        const auto lost = (a.y & ((1u << n) - 1u)) != 0u;
        return vec2<u32>(a.x >> n, (a.y >> n) | (a.x << (32u - n)) | select(0u, 1u, lost));
    } else if (n < 64u) {
        const auto lost = a.y != 0u || (a.x & ((1u << (n - 32u)) - 1u)) != 0u;
        return vec2<u32>(0u, (a.x >> (n - 32u)) | select(0u, 1u, lost));
    }
    return vec2<u32>(0u, select(0u, 1u, a.x != 0u || a.y != 0u));
}

struct Unpacked {
    u32 m;
    i32 e;
};

__device__ __forceinline__ Unpacked unpack(u32 a) {
    if (a < 0x00800000u) {
        const auto shift = countLeadingZeros(a) - 8u;
        return Unpacked{a << shift, -126 - i32(shift)};
    }
    return Unpacked{(a & 0x007FFFFFu) | 0x00800000u, i32(a >> 23u) - 127};
}

__device__ __forceinline__ u32 round_wide(vec2<u32> x0, i32 f_) {
    const auto lz = w_leading_zeros(x0);
    const auto x = w_shl(x0, lz);
    const auto biased = f_ - i32(lz) + 63 + 127;
    if (biased >= 255) {
        return INF;
    }
    const auto shift = select(41 - biased, 40, biased >= 1);
    if (shift > 64) {
        return 0u;
    }
    const auto s = u32(shift - 32);
    auto m = 0u;
    auto rest = x.x;
    if (s < 32u) {
        m = x.x >> s;
        rest = x.x & ((1u << s) - 1u);
    }
    const auto half = 1u << (s - 1u);
    const auto up = rest > half || (rest == half && (x.y != 0u || (m & 1u) == 1u));
    const auto exponent_field = select(0u, u32(biased - 1), biased >= 1);
    const auto bits = (exponent_field << 23u) + m + select(0u, 1u, up);
    return select(bits, INF, bits >= INF);
}

// ---- correctly rounded basic operations ---------------------------------------------------------

// p * 2^p_exp (p's leading bit at bit 62, sign product_sign) + c for finite nonzero c, rounded
// once: the tail of fma_bits (and of an addition, p a significand shifted left by 39).
__device__ __forceinline__ u32 fma_sum(vec2<u32> p, i32 p_exp, u32 product_sign, u32 cb) {
    const auto c_sign = cb & SIGN;
    const auto uc = unpack(cb & ABS);
    const auto q = vec2<u32>(uc.m << 7u, 0u);
    const auto q_exp = uc.e - 23 - 39;
    const auto p_bigger = p_exp > q_exp || (p_exp == q_exp && !w_less(p, q));
    auto big = q;
    auto big_exp = q_exp;
    auto big_sign = c_sign;
    auto small = p;
    auto small_exp = p_exp;
    auto small_sign = product_sign;
    if (p_bigger) {
        big = p;
        big_exp = p_exp;
        big_sign = product_sign;
        small = q;
        small_exp = q_exp;
        small_sign = c_sign;
    }
    small = w_shr_sticky(small, u32(big_exp - small_exp));
    vec2<u32> sum;
    if (big_sign == small_sign) {
        sum = w_add(big, small);
    } else {
        sum = w_sub(big, small);
    }
    if (sum.x == 0u && sum.y == 0u) {
        return 0u;
    }
    return big_sign | round_wide(sum, big_exp);
}

// math_fma on bit patterns (the GEMM's form: no operand passes through a float register).
__device__ __forceinline__ u32 fma_bits(u32 ab, u32 bb, u32 cb) {
    const auto aa = ab & ABS;
    const auto ba = bb & ABS;
    const auto ca = cb & ABS;
    if (aa > INF) {
        return ab | QUIET;
    }
    if (ba > INF) {
        return bb | QUIET;
    }
    if (ca > INF) {
        return cb | QUIET;
    }
    const auto product_sign = (ab ^ bb) & SIGN;
    const auto c_sign = cb & SIGN;
    if (aa == INF || ba == INF) {
        if (aa == 0u || ba == 0u || (ca == INF && c_sign != product_sign)) {
            return DEFAULT_NAN;
        }
        return product_sign | INF;
    }
    if (ca == INF) {
        return cb;
    }
    if (aa == 0u || ba == 0u) {
        if (ca == 0u) {
            return select(0u, c_sign, product_sign == c_sign);
        }
        return cb;
    }
    const auto ua = unpack(aa);
    const auto ub = unpack(ba);
    const auto p0 = mul_hi_lo(ua.m, ub.m);
    const auto p_shift = select(16u, 15u, p0.x >= 0x8000u);
    const auto p = w_shl(p0, p_shift);
    const auto p_exp = ua.e + ub.e - 46 - i32(p_shift);
    if (ca == 0u) {
        return product_sign | round_wide(p, p_exp);
    }
    return fma_sum(p, p_exp, product_sign, cb);
}

// a * b + c rounded once (math.rs fma).
__device__ __forceinline__ f32 math_fma(f32 a, f32 bv, f32 c) {
    return f(fma_bits(b(a), b(bv), b(c)));
}

__device__ __forceinline__ f32 math_div(f32 a, f32 bv) {
    const auto ab = b(a);
    const auto bb = b(bv);
    const auto aa = ab & ABS;
    const auto ba = bb & ABS;
    const auto sign = (ab ^ bb) & SIGN;
    if (aa > INF) {
        return quiet(a);
    }
    if (ba > INF) {
        return quiet(bv);
    }
    if (aa == INF) {
        return f(select(sign | INF, DEFAULT_NAN, ba == INF));
    }
    if (ba == INF) {
        return f(sign);
    }
    if (ba == 0u) {
        return f(select(sign | INF, DEFAULT_NAN, aa == 0u));
    }
    if (aa == 0u) {
        return f(sign);
    }
    const auto ua = unpack(aa);
    const auto ub = unpack(ba);
    const auto mb = ub.m;
    auto exponent = ua.e - ub.e;
    auto remainder = ua.m;
    if (remainder < mb) {
        remainder = remainder << 1u;
        exponent -= 1;
    }
    auto quotient = 0u;
    for (auto i = 0u; i < 26u; i++) {
        const auto fits = select(0u, 1u, remainder >= mb);
        remainder -= mb & (0u - fits);
        quotient = (quotient << 1u) | fits;
        remainder = remainder << 1u;
    }
    const auto sticky = remainder != 0u;
    const auto biased = exponent + 127;
    if (biased >= 255) {
        return f(sign | INF);
    }
    const auto shift_i = select(3 - biased, 2, biased >= 1);
    if (shift_i > 27) {
        return f(sign);
    }
    const auto shift = u32(shift_i);
    const auto m = quotient >> shift;
    const auto rest = quotient & ((1u << shift) - 1u);
    const auto half = 1u << (shift - 1u);
    const auto up = rest > half || (rest == half && (sticky || (m & 1u) == 1u));
    const auto exponent_field = select(0u, u32(biased - 1), biased >= 1);
    const auto bits = (exponent_field << 23u) + m + select(0u, 1u, up);
    return f(sign | select(bits, INF, bits >= INF));
}

__device__ __forceinline__ f32 math_sqrt(f32 a) {
    const auto bits = b(a);
    const auto magnitude = bits & ABS;
    if (magnitude > INF) {
        return quiet(a);
    }
    if (magnitude == 0u) {
        return a;
    }
    if ((bits & SIGN) != 0u) {
        return f(DEFAULT_NAN);
    }
    if (magnitude == INF) {
        return a;
    }
    const auto u = unpack(magnitude);
    const auto m = u.m;
    const auto e = u.e;
    const i32 k = select(26, 25, ((e - 23) & 1) != 0);
    const auto top = m << u32(k - 24);
    auto remainder = 0u;
    auto root = 0u;
    for (auto i = 0u; i < 25u; i++) {
        auto pair = 0u;
        if (i < 13u) {
            pair = (top >> (24u - 2u * i)) & 3u;
        }
        remainder = (remainder << 2u) | pair;
        const auto trial = (root << 2u) | 1u;
        const auto fits = select(0u, 1u, remainder >= trial);
        remainder -= trial & (0u - fits);
        root = (root << 1u) | fits;
    }
    const auto mantissa = root >> 1u;
    const auto up = (root & 1u) == 1u && (remainder != 0u || (mantissa & 1u) == 1u);
    const auto result_exponent = ((e - 23 - k) >> 1u) + 24;
    return f((u32(result_exponent + 126) << 23u) + mantissa + select(0u, 1u, up));
}

// ---- exp ----------------------------------------------------------------------------------------

struct ExpCore {
    i32 n;
    f32 yh;
    f32 yl;
};

__device__ __forceinline__ ExpCore exp_core(f32 xh, f32 xl) {
    const auto t = fmul(xh, f(LOG2E));
    const auto k = fadd(t, SHIFT);
    const auto kf = fsub(k, SHIFT);
    const auto n = i32(b(k)) - i32(b(SHIFT));
    const auto hi = fsub(xh, fmul(kf, f(LN2_HI)));
    const auto lo = fsub(fmul(kf, f(LN2_LO)), xl);
    const auto re = two_sum(hi, -lo);
    const auto r = re.x;
    const auto e = re.y;
    const auto rr2 = two_prod(r, r);
    const auto rr = rr2.x;
    const auto rr_lo = rr2.y;
    const auto q = fadd(f(EXP_Q[0]), fmul(r, fadd(f(EXP_Q[1]), fmul(r, fadd(f(EXP_Q[2]), fmul(r, fadd(f(EXP_Q[3]), fmul(r, f(EXP_Q[4])))))))));
    const auto s2 = fast_two_sum(1.0f, r);
    const auto t2 = fast_two_sum(s2.x, fmul(rr, 0.5f));
    const auto y_lo = fadd(fadd(s2.y, t2.y), fadd(fmul(rr_lo, 0.5f), fmul(fmul(r, rr), q)));
    const auto yl = fadd(y_lo, fmul(e, fadd(t2.x, y_lo)));
    return ExpCore{n, t2.x, yl};
}

__device__ __forceinline__ f32 math_exp(f32 x) {
    const auto bits = b(x);
    const auto magnitude = bits & ABS;
    if (magnitude > INF) {
        return quiet(x);
    }
    if (magnitude < 0x33000000u) {
        // |x| < 2^-25: e^x rounds to 1 (1 + x, whatever a subnormal x is flushed to).
        return 1.0f;
    }
    if (x > 89.0f) {
        return f(INF);
    }
    if (x < -104.0f) {
        return 0.0f;
    }
    const auto c = exp_core(x, 0.0f);
    const auto hl = fast_two_sum(c.yh, c.yl);
    return scale_hilo(hl.x, hl.y, c.n);
}

// ---- log ----------------------------------------------------------------------------------------

__device__ __forceinline__ vec2<f32> log_hilo(f32 x) {
    auto ix = b(x);
    i32 k = 0;
    if (ix < 0x00800000u) {
        // x * 2^25, exact, with integer operations (x is subnormal).
        const auto u = unpack(ix);
        ix = (u32(u.e + 25 + 127) << 23u) | (u.m & 0x007FFFFFu);
        k = -25;
    }
    ix += 0x3F800000u - 0x3F3504F3u;
    k += i32(ix >> 23u) - 127;
    const auto m = f((ix & 0x007FFFFFu) + 0x3F3504F3u);
    const auto fv = fsub(m, 1.0f);
    const auto d = fadd(2.0f, fv);
    const auto d_lo = fadd(fsub(2.0f, d), fv);
    const auto inv = fadd(0.5f, fmul(fv, fadd(-0.25f, fmul(fv, fadd(0.125f, fmul(fv, fadd(-0.0625f, fmul(fv, fadd(0.03125f, fmul(fv, fadd(-0.015625f, fmul(fv, fadd(0.0078125f, fmul(fv, fadd(-0.00390625f, fmul(fv, 0.001953125f))))))))))))))));
    const auto s0 = fmul(fv, inv);
    const auto pp = two_prod(s0, d);
    const auto residual = fsub(fsub(fsub(fv, pp.x), pp.y), fmul(s0, d_lo));
    const auto shl = fast_two_sum(s0, fmul(residual, inv));
    const auto sh = shl.x;
    const auto sl = shl.y;
    const auto z = two_prod(sh, sh);
    const auto zh = z.x;
    const auto zl = z.y;
    const auto c = two_prod(sh, zh);
    const auto ch = c.x;
    const auto c_lo = fadd(c.y, fmul(sh, zl));
    const auto t = two_prod(ch, f(TWO_THIRDS_HI));
    const auto th = t.x;
    const auto t_lo = fadd(t.y, fadd(fmul(ch, f(TWO_THIRDS_LO)), fmul(c_lo, f(TWO_THIRDS_HI))));
    const auto higher = fmul(fmul(sh, fmul(zh, zh)), fadd(f(LOG_R1[0]), fmul(zh, fadd(f(LOG_R1[1]), fmul(zh, fadd(f(LOG_R1[2]), fmul(zh, f(LOG_R1[3]))))))));
    const auto correction = fadd(fadd(sl, sl), fmul(fadd(zh, zh), sl));
    const auto kf = f32(k);
    const auto u = two_sum(fmul(kf, f(LN2_HI)), fadd(sh, sh));
    const auto v = two_sum(u.x, th);
    const auto lo = fadd(fadd(fadd(u.y, v.y), fadd(fmul(kf, f(LN2_LO)), correction)), fadd(t_lo, higher));
    return fast_two_sum(v.x, lo);
}

__device__ __forceinline__ f32 math_log(f32 x) {
    const auto bits = b(x);
    const auto magnitude = bits & ABS;
    if (magnitude > INF) {
        return quiet(x);
    }
    if (magnitude == 0u) {
        return f(SIGN | INF);
    }
    if ((bits & SIGN) != 0u) {
        return f(DEFAULT_NAN);
    }
    if (magnitude == INF) {
        return x;
    }
    return log_hilo(x).x;
}

// ---- tanh ---------------------------------------------------------------------------------------

__device__ __forceinline__ f32 math_tanh(f32 x) {
    const auto bits = b(x);
    const auto magnitude = bits & ABS;
    const auto sign = bits & SIGN;
    if (magnitude > INF) {
        return quiet(x);
    }
    if (magnitude < 0x39000000u) {
        return x;
    }
    if (magnitude >= 0x41180000u) {
        return f(sign | 0x3F800000u);
    }
    const auto ax = f(magnitude);
    if (ax < 0.125f) {
        const auto z = fmul(x, x);
        const auto p = fadd(f(TANH_P[0]), fmul(z, fadd(f(TANH_P[1]), fmul(z, f(TANH_P[2])))));
        return fadd(x, fmul(x, fmul(z, p)));
    }
    const auto c = exp_core(fmul(-2.0f, ax), 0.0f);
    const auto y = fast_two_sum(c.yh, c.yl);
    const auto scale_n = math_pow2(c.n);
    const auto eh = fmul(y.x, scale_n);
    const auto el = fmul(y.y, scale_n);
    const auto d = fast_two_sum(1.0f, eh);
    const auto dh = d.x;
    const auto dl = fadd(d.y, el);
    auto inv = fsub(1.5622f, fmul(0.5622f, dh));
    inv = fmul(inv, fsub(2.0f, fmul(dh, inv)));
    inv = fmul(inv, fsub(2.0f, fmul(dh, inv)));
    inv = fmul(inv, fsub(2.0f, fmul(dh, inv)));
    const auto two_e = fadd(eh, eh);
    const auto q = fmul(two_e, inv);
    const auto pp = two_prod(q, dh);
    const auto residual = fsub(fsub(two_e, pp.x), pp.y);
    const auto q_lo = fmul(fadd(residual, fsub(fadd(el, el), fmul(q, dl))), inv);
    const auto w = two_sum(1.0f, -q);
    const auto result = fadd(w.x, fsub(w.y, q_lo));
    return f(sign | b(result));
}

// ---- erf ----------------------------------------------------------------------------------------

__device__ __forceinline__ vec2<f32> horner_tail(f32 c0, f32 c1, f32 w, f32 t, f32 t_lo) {
    const auto a = two_prod(t, w);
    const auto v2 = two_sum(c1, a.x);
    const auto v = v2.x;
    const auto v_lo = fadd(v2.y, a.y);
    const auto bb = two_prod(t, v);
    const auto b_lo = fadd(bb.y, fadd(fmul(t, v_lo), fmul(t_lo, v)));
    const auto p = two_sum(c0, bb.x);
    return vec2<f32>(p.x, fadd(p.y, b_lo));
}

// poly(c, t) for the 9- and 10-coefficient erfc tables (Horner down to c[2], then horner_tail).
__device__ __forceinline__ vec2<f32> poly9(const u32* c, f32 t) {
    auto w = f(c[8]);
    w = fadd(f(c[7]), fmul(t, w));
    w = fadd(f(c[6]), fmul(t, w));
    w = fadd(f(c[5]), fmul(t, w));
    w = fadd(f(c[4]), fmul(t, w));
    w = fadd(f(c[3]), fmul(t, w));
    w = fadd(f(c[2]), fmul(t, w));
    return horner_tail(f(c[0]), f(c[1]), w, t, 0.0f);
}

__device__ __forceinline__ vec2<f32> poly10(const u32* c, f32 t) {
    auto w = f(c[9]);
    w = fadd(f(c[8]), fmul(t, w));
    w = fadd(f(c[7]), fmul(t, w));
    w = fadd(f(c[6]), fmul(t, w));
    w = fadd(f(c[5]), fmul(t, w));
    w = fadd(f(c[4]), fmul(t, w));
    w = fadd(f(c[3]), fmul(t, w));
    w = fadd(f(c[2]), fmul(t, w));
    return horner_tail(f(c[0]), f(c[1]), w, t, 0.0f);
}

__device__ __forceinline__ f32 math_erf(f32 x) {
    const auto bits = b(x);
    const auto magnitude = bits & ABS;
    const auto sign = bits & SIGN;
    if (magnitude > INF) {
        return quiet(x);
    }
    if (magnitude >= 0x407C0000u) {
        return f(sign | 0x3F800000u);
    }
    const auto ax = f(magnitude);
    if (magnitude < 0x0D800000u) {
        // y = ax * 2^64, exact, with integer operations (ax may be subnormal).
        auto y = 0.0f;
        if (magnitude != 0u) {
            const auto u = unpack(magnitude);
            y = f((u32(u.e + 64 + 127) << 23u) | (u.m & 0x007FFFFFu));
        }
        const auto mm = two_prod(y, f(ERF_P[0]));
        const auto s = fast_two_sum(y, mm.x);
        const auto hl = fast_two_sum(s.x, fadd(s.y, mm.y));
        f32 result;
        if (hl.x < f(0x20800000u)) {
            const auto k = f(0x6A000000u);
            result = round_subnormal(fmul(hl.x, k), fmul(hl.y, k));
        } else {
            result = fmul(hl.x, f(TWO_M64));
        }
        return f(sign | b(result));
    }
    if (ax < 0.875f) {
        const auto z = two_prod(x, x);
        const auto w = fadd(f(ERF_P[2]), fmul(z.x, fadd(f(ERF_P[3]), fmul(z.x, fadd(f(ERF_P[4]), fmul(z.x, fadd(f(ERF_P[5]), fmul(z.x, f(ERF_P[6])))))))));
        const auto p = horner_tail(f(ERF_P[0]), f(ERF_P[1]), w, z.x, z.y);
        const auto m = two_prod(x, p.x);
        const auto s = fast_two_sum(x, m.x);
        return fadd(s.x, fadd(s.y, fadd(m.y, fmul(x, p.y))));
    }
    vec2<f32> g;
    if (ax < 1.5f) {
        g = poly9(ERFC_1, fsub(ax, ERFC_1_MID));
    } else if (ax < 2.5f) {
        g = poly9(ERFC_2, fsub(ax, ERFC_2_MID));
    } else {
        g = poly10(ERFC_3, fsub(ax, ERFC_3_MID));
    }
    const auto s = fast_two_sum(1.0f, -g.x);
    const auto result = fadd(s.x, fsub(s.y, g.y));
    return f(sign | b(result));
}

// ---- pow ----------------------------------------------------------------------------------------

__device__ __forceinline__ u32 integer_class(f32 y) {
    const auto magnitude = b(y) & ABS;
    if (magnitude == 0u) {
        return 2u;
    }
    const auto e = i32(magnitude >> 23u) - 127;
    if (e < 0) {
        return 0u;
    }
    if (e >= 24) {
        return 2u;
    }
    const auto m = (magnitude & 0x007FFFFFu) | 0x00800000u;
    const auto fraction_bits = u32(23 - e);
    if (fraction_bits > 0u && (m & ((1u << fraction_bits) - 1u)) != 0u) {
        return 0u;
    }
    if (((m >> fraction_bits) & 1u) == 1u) {
        return 1u;
    }
    return 2u;
}

__device__ __forceinline__ f32 math_pow(f32 x, f32 y) {
    const auto xb = b(x);
    const auto yb = b(y);
    const auto xa = xb & ABS;
    const auto ya = yb & ABS;
    if (ya == 0u || xb == 0x3F800000u) {
        return 1.0f;
    }
    if (xa > INF) {
        return quiet(x);
    }
    if (ya > INF) {
        return quiet(y);
    }
    const auto y_negative = (yb & SIGN) != 0u;
    const auto x_negative = (xb & SIGN) != 0u;
    if (ya == INF) {
        if (xa == 0x3F800000u) {
            return 1.0f;
        }
        const auto big = xa > 0x3F800000u;
        return select(0.0f, f(INF), big != y_negative);
    }
    const auto cls = integer_class(y);
    const auto odd_sign = select(0u, SIGN, x_negative && cls == 1u);
    if (xa == 0u) {
        return f(odd_sign | select(0u, INF, y_negative));
    }
    if (xa == INF) {
        return f(odd_sign | select(INF, 0u, y_negative));
    }
    if (x_negative && cls == 0u) {
        return f(DEFAULT_NAN);
    }
    if (xa == 0x3F800000u) {
        return f(odd_sign | 0x3F800000u);
    }
    const auto ax = f(xa);
    const auto hl = log_hilo(ax);
    const auto grows = (hl.x > 0.0f) != y_negative;
    if (ya >= 0x4F800000u) {
        return f(odd_sign | select(0u, INF, grows));
    }
    const auto p = two_prod(y, hl.x);
    const auto z = fast_two_sum(p.x, fadd(p.y, fmul(y, hl.y)));
    if (z.x > 89.0f) {
        return f(odd_sign | INF);
    }
    if (z.x < -104.0f) {
        return f(odd_sign);
    }
    const auto c = exp_core(z.x, z.y);
    const auto r = fast_two_sum(c.yh, c.yl);
    return f(odd_sign | b(scale_hilo(r.x, r.y, c.n)));
}

// ---- ops.rs scalar helpers (shared by ops.wgsl and reduce.wgsl) -------------------------------

__device__ __forceinline__ u32 quiet_if_nan(u32 x) {
    if ((x & ABS) > INF) {
        return x | QUIET;
    }
    return x;
}

__device__ __forceinline__ bool is_nan(u32 x) {
    return (x & ABS) > INF;
}

// An exponent field of 0 (zero, subnormal) or 255 (infinity, NaN).
__device__ __forceinline__ bool is_edge(u32 x) {
    const auto e = x & INF;
    return e == 0u || e == INF;
}

// IEEE binary32 x + y, subnormals kept even where the GPU flushes them: the native sum when
// the operands and the result are normal, else the integer fma (x * 1 + y, exact).
__device__ __forceinline__ u32 exact_add(u32 x, u32 y) {
    const auto s = b(fadd(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(s)) {
        return b(math_fma(f(x), 1.0f, f(y)));
    }
    return s;
}

__device__ __forceinline__ u32 exact_sub(u32 x, u32 y) {
    const auto s = b(fsub(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(s)) {
        return b(math_fma(f(x), 1.0f, f(y ^ SIGN)));
    }
    return s;
}

__device__ __forceinline__ u32 exact_mul(u32 x, u32 y) {
    const auto p = b(fmul(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(p)) {
        return b(math_fma(f(x), f(y), f(SIGN)));
    }
    return p;
}

// The IEEE order of non-NaN values as an integer key (-0 and +0 equal), from the bits only.
__device__ __forceinline__ i32 order_key(u32 x) {
    const auto magnitude = i32(x & ABS);
    return select(magnitude, -magnitude, (x & SIGN) != 0u);
}

// x < y as IEEE binary32 (false if either is NaN).
__device__ __forceinline__ bool less(u32 x, u32 y) {
    if (is_nan(x) || is_nan(y)) {
        return false;
    }
    return order_key(x) < order_key(y);
}

__device__ __forceinline__ bool equal(u32 x, u32 y) {
    if (is_nan(x) || is_nan(y)) {
        return false;
    }
    return order_key(x) == order_key(y);
}

__device__ __forceinline__ u32 max_min(u32 x, u32 y, bool is_max) {
    if (is_nan(x)) {
        return quiet_if_nan(x);
    }
    if (is_nan(y)) {
        return quiet_if_nan(y);
    }
    if (less(y, x)) {
        return select(y, x, is_max);
    } else if (less(x, y)) {
        return select(x, y, is_max);
    } else if (is_max) {
        return x & y;
    }
    return x | y;
}

