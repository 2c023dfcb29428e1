// lowp's portable binary32 arithmetic (crates/lowp-formats/src/math.rs), ported line for line:
// the correctly rounded fma, division and square root and the transcendentals exp, log, tanh,
// erf and pow. Prepended with common.wgsl; functions whose names clash with WGSL built-ins or
// common.wgsl carry a `math_` prefix.
//
// Every binary32 + - * goes through fadd / fsub / fmul, which pass the IEEE result through an
// opaque integer XOR (`math_opaque`, zero at run time, loaded from a uniform by each entry point),
// so no driver can contract a*b+c into an FMA or re-associate the Dekker/Knuth error-free sums.
// Subnormal operands of the routines are normalised with integer operations, so GPUs that flush
// subnormal f32 operands (DAZ) give the CPU's bits.

var<private> math_opaque: u32;

fn fbar(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) ^ math_opaque);
}
fn fadd(a: f32, b: f32) -> f32 {
    return fbar(a + b);
}
fn fsub(a: f32, b: f32) -> f32 {
    return fbar(a - b);
}
fn fmul(a: f32, b: f32) -> f32 {
    return fbar(a * b);
}

const SIGN: u32 = 0x80000000u;
const ABS: u32 = 0x7FFFFFFFu;
const INF: u32 = 0x7F800000u;
const QUIET: u32 = 0x00400000u;
const DEFAULT_NAN: u32 = 0x7FC00000u;

const SHIFT: f32 = 12582912.0;
const LOG2E: u32 = 0x3FB8AA3Bu;
const LN2_HI: u32 = 0x3F317200u;
const LN2_LO: u32 = 0x35BFBE8Eu;
const TWO_THIRDS_HI: u32 = 0x3F2AAAABu;
const TWO_THIRDS_LO: u32 = 0xB2AAAAABu;
const TWO64: u32 = 0x5F800000u;
const TWO_M64: u32 = 0x1F800000u;

const EXP_Q = array<u32, 5>(0x3E2AAAAAu, 0x3D2AAA74u, 0x3C088987u, 0x3AB6A65Fu, 0x394EFDDAu);
const LOG_R1 = array<u32, 4>(0x3ECCCCCCu, 0x3E9249DBu, 0x3E631ECEu, 0x3E484377u);
const TANH_P = array<u32, 3>(0xBEAAAAAAu, 0x3E0886AFu, 0xBD5A223Au);
const ERF_P = array<u32, 7>(0x3E0375D4u, 0xBEC093A1u, 0x3DE71700u, 0xBCDC07ECu, 0x3BAA7139u, 0xBA55C716u, 0x38B12383u);
const ERFC_1 = array<u32, 9>(0x3DBE9FD3u, 0xBE8D06E3u, 0x3EA77843u, 0xBE2B2403u, 0xBC20FF0Fu, 0x3D604F37u, 0xBC9864ACu, 0xBBD256A2u, 0x3B6EF504u);
const ERFC_1_MID: f32 = 1.1875;
const ERFC_2 = array<u32, 9>(0x3B9947B1u, 0xBCA94DCFu, 0x3D294DADu, 0xBD458578u, 0x3D0D1A08u, 0xBC567452u, 0xBA028005u, 0x3B5DEB0Eu, 0xBABA7206u);
const ERFC_2_MID: f32 = 2.0;
const ERFC_3 = array<u32, 10>(0x36B24CBEu, 0xB815D7F1u, 0x38F13112u, 0xB9765E8Eu, 0x39B20101u, 0xB9BFD9BEu, 0x399F2E1Cu, 0xB94C69FFu, 0x38B9512Bu, 0xB7A9B531u);
const ERFC_3_MID: f32 = 3.21875;

fn f(bits: u32) -> f32 {
    return bitcast<f32>(bits);
}
fn b(x: f32) -> u32 {
    return bitcast<u32>(x);
}

// ---- small helpers ------------------------------------------------------------------------------

fn quiet(x: f32) -> f32 {
    return f(b(x) | QUIET);
}

// 2^k for -126 <= k <= 127.
fn math_pow2(k: i32) -> f32 {
    return f(u32(k + 127) << 23u);
}

fn scale(y: f32, n: i32) -> f32 {
    if (n > 127) {
        return fmul(fmul(y, 2.0), math_pow2(n - 1));
    }
    return fmul(y, math_pow2(n));
}

fn scale_hilo(h: f32, l: f32, n: i32) -> f32 {
    if (n > -126 || (n == -126 && h >= 1.0)) {
        return scale(h, n);
    }
    let k = math_pow2(n + 149);
    return round_subnormal(fmul(h, k), fmul(l, k));
}

fn round_subnormal(uh: f32, ul: f32) -> f32 {
    let se = fast_two_sum(8388608.0, uh);
    let integer = fadd(se.x, fadd(se.y, ul));
    return f(b(integer) - 0x4B000000u);
}

fn two_sum(a: f32, bb_: f32) -> vec2<f32> {
    let s = fadd(a, bb_);
    let bb = fsub(s, a);
    let e = fadd(fsub(a, fsub(s, bb)), fsub(bb_, bb));
    return vec2<f32>(s, e);
}

fn fast_two_sum(a: f32, bb_: f32) -> vec2<f32> {
    let s = fadd(a, bb_);
    let e = fsub(bb_, fsub(s, a));
    return vec2<f32>(s, e);
}

fn math_split(a: f32) -> vec2<f32> {
    let c = fmul(4097.0, a);
    let hi = fsub(c, fsub(c, a));
    let lo = fsub(a, hi);
    return vec2<f32>(hi, lo);
}

fn two_prod(a: f32, bb_: f32) -> vec2<f32> {
    let p = fmul(a, bb_);
    let sa = math_split(a);
    let sb = math_split(bb_);
    let ah = sa.x;
    let al = sa.y;
    let bh = sb.x;
    let bl = sb.y;
    let e = fadd(fadd(fadd(fsub(fmul(ah, bh), p), fmul(ah, bl)), fmul(al, bh)), fmul(al, bl));
    return vec2<f32>(p, e);
}

// 64-bit unsigned integers as vec2(hi, lo).

fn w_add(a: vec2<u32>, c: vec2<u32>) -> vec2<u32> {
    let lo = a.y + c.y;
    let carry = select(0u, 1u, lo < a.y);
    return vec2<u32>(a.x + c.x + carry, lo);
}

fn w_sub(a: vec2<u32>, c: vec2<u32>) -> vec2<u32> {
    let borrow = select(0u, 1u, a.y < c.y);
    return vec2<u32>(a.x - c.x - borrow, a.y - c.y);
}

fn w_less(a: vec2<u32>, c: vec2<u32>) -> bool {
    return a.x < c.x || (a.x == c.x && a.y < c.y);
}

fn w_leading_zeros(a: vec2<u32>) -> u32 {
    if (a.x != 0u) {
        return countLeadingZeros(a.x);
    }
    return 32u + countLeadingZeros(a.y);
}

// a << n for n < 64.
fn w_shl(a: vec2<u32>, n: u32) -> vec2<u32> {
    if (n == 0u) {
        return a;
    } else if (n < 32u) {
        return vec2<u32>((a.x << n) | (a.y >> (32u - n)), a.y << n);
    }
    return vec2<u32>(a.y << (n - 32u), 0u);
}

fn w_shr_sticky(a: vec2<u32>, n: u32) -> vec2<u32> {
    if (n == 0u) {
        return a;
    } else if (n < 32u) {
        let lost = (a.y & ((1u << n) - 1u)) != 0u;
        return vec2<u32>(a.x >> n, (a.y >> n) | (a.x << (32u - n)) | select(0u, 1u, lost));
    } else if (n < 64u) {
        let lost = a.y != 0u || (a.x & ((1u << (n - 32u)) - 1u)) != 0u;
        return vec2<u32>(0u, (a.x >> (n - 32u)) | select(0u, 1u, lost));
    }
    return vec2<u32>(0u, select(0u, 1u, a.x != 0u || a.y != 0u));
}

struct Unpacked {
    m: u32,
    e: i32,
}

fn unpack(a: u32) -> Unpacked {
    if (a < 0x00800000u) {
        let shift = countLeadingZeros(a) - 8u;
        return Unpacked(a << shift, -126 - i32(shift));
    }
    return Unpacked((a & 0x007FFFFFu) | 0x00800000u, i32(a >> 23u) - 127);
}

fn round_wide(x0: vec2<u32>, f_: i32) -> u32 {
    let lz = w_leading_zeros(x0);
    let x = w_shl(x0, lz);
    let biased = f_ - i32(lz) + 63 + 127;
    if (biased >= 255) {
        return INF;
    }
    let shift = select(41 - biased, 40, biased >= 1);
    if (shift > 64) {
        return 0u;
    }
    let s = u32(shift - 32);
    var m = 0u;
    var rest = x.x;
    if (s < 32u) {
        m = x.x >> s;
        rest = x.x & ((1u << s) - 1u);
    }
    let half = 1u << (s - 1u);
    let up = rest > half || (rest == half && (x.y != 0u || (m & 1u) == 1u));
    let exponent_field = select(0u, u32(biased - 1), biased >= 1);
    let bits = (exponent_field << 23u) + m + select(0u, 1u, up);
    return select(bits, INF, bits >= INF);
}

// ---- correctly rounded basic operations ---------------------------------------------------------

// p * 2^p_exp (p's leading bit at bit 62, sign product_sign) + c for finite nonzero c, rounded
// once: the tail of fma_bits (and of an addition, p a significand shifted left by 39).
fn fma_sum(p: vec2<u32>, p_exp: i32, product_sign: u32, cb: u32) -> u32 {
    let c_sign = cb & SIGN;
    let uc = unpack(cb & ABS);
    let q = vec2<u32>(uc.m << 7u, 0u);
    let q_exp = uc.e - 23 - 39;
    let p_bigger = p_exp > q_exp || (p_exp == q_exp && !w_less(p, q));
    var big = q;
    var big_exp = q_exp;
    var big_sign = c_sign;
    var small = p;
    var small_exp = p_exp;
    var small_sign = product_sign;
    if (p_bigger) {
        big = p;
        big_exp = p_exp;
        big_sign = product_sign;
        small = q;
        small_exp = q_exp;
        small_sign = c_sign;
    }
    small = w_shr_sticky(small, u32(big_exp - small_exp));
    var sum: vec2<u32>;
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
fn fma_bits(ab: u32, bb: u32, cb: u32) -> u32 {
    let aa = ab & ABS;
    let ba = bb & ABS;
    let ca = cb & ABS;
    if (aa > INF) {
        return ab | QUIET;
    }
    if (ba > INF) {
        return bb | QUIET;
    }
    if (ca > INF) {
        return cb | QUIET;
    }
    let product_sign = (ab ^ bb) & SIGN;
    let c_sign = cb & SIGN;
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
    let ua = unpack(aa);
    let ub = unpack(ba);
    let p0 = mul_hi_lo(ua.m, ub.m);
    let p_shift = select(16u, 15u, p0.x >= 0x8000u);
    let p = w_shl(p0, p_shift);
    let p_exp = ua.e + ub.e - 46 - i32(p_shift);
    if (ca == 0u) {
        return product_sign | round_wide(p, p_exp);
    }
    return fma_sum(p, p_exp, product_sign, cb);
}

// a * b + c rounded once (math.rs fma).
fn math_fma(a: f32, bv: f32, c: f32) -> f32 {
    return f(fma_bits(b(a), b(bv), b(c)));
}

fn math_div(a: f32, bv: f32) -> f32 {
    let ab = b(a);
    let bb = b(bv);
    let aa = ab & ABS;
    let ba = bb & ABS;
    let sign = (ab ^ bb) & SIGN;
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
    let ua = unpack(aa);
    let ub = unpack(ba);
    let mb = ub.m;
    var exponent = ua.e - ub.e;
    var remainder = ua.m;
    if (remainder < mb) {
        remainder = remainder << 1u;
        exponent -= 1;
    }
    var quotient = 0u;
    for (var i = 0u; i < 26u; i++) {
        let fits = select(0u, 1u, remainder >= mb);
        remainder -= mb & (0u - fits);
        quotient = (quotient << 1u) | fits;
        remainder = remainder << 1u;
    }
    let sticky = remainder != 0u;
    let biased = exponent + 127;
    if (biased >= 255) {
        return f(sign | INF);
    }
    let shift_i = select(3 - biased, 2, biased >= 1);
    if (shift_i > 27) {
        return f(sign);
    }
    let shift = u32(shift_i);
    let m = quotient >> shift;
    let rest = quotient & ((1u << shift) - 1u);
    let half = 1u << (shift - 1u);
    let up = rest > half || (rest == half && (sticky || (m & 1u) == 1u));
    let exponent_field = select(0u, u32(biased - 1), biased >= 1);
    let bits = (exponent_field << 23u) + m + select(0u, 1u, up);
    return f(sign | select(bits, INF, bits >= INF));
}

fn math_sqrt(a: f32) -> f32 {
    let bits = b(a);
    let magnitude = bits & ABS;
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
    let u = unpack(magnitude);
    let m = u.m;
    let e = u.e;
    let k: i32 = select(26, 25, ((e - 23) & 1) != 0);
    let top = m << u32(k - 24);
    var remainder = 0u;
    var root = 0u;
    for (var i = 0u; i < 25u; i++) {
        var pair = 0u;
        if (i < 13u) {
            pair = (top >> (24u - 2u * i)) & 3u;
        }
        remainder = (remainder << 2u) | pair;
        let trial = (root << 2u) | 1u;
        let fits = select(0u, 1u, remainder >= trial);
        remainder -= trial & (0u - fits);
        root = (root << 1u) | fits;
    }
    let mantissa = root >> 1u;
    let up = (root & 1u) == 1u && (remainder != 0u || (mantissa & 1u) == 1u);
    let result_exponent = ((e - 23 - k) >> 1u) + 24;
    return f((u32(result_exponent + 126) << 23u) + mantissa + select(0u, 1u, up));
}

// ---- exp ----------------------------------------------------------------------------------------

struct ExpCore {
    n: i32,
    yh: f32,
    yl: f32,
}

fn exp_core(xh: f32, xl: f32) -> ExpCore {
    let t = fmul(xh, f(LOG2E));
    let k = fadd(t, SHIFT);
    let kf = fsub(k, SHIFT);
    let n = bitcast<i32>(b(k)) - bitcast<i32>(b(SHIFT));
    let hi = fsub(xh, fmul(kf, f(LN2_HI)));
    let lo = fsub(fmul(kf, f(LN2_LO)), xl);
    let re = two_sum(hi, -lo);
    let r = re.x;
    let e = re.y;
    let rr2 = two_prod(r, r);
    let rr = rr2.x;
    let rr_lo = rr2.y;
    let q = fadd(f(EXP_Q[0]), fmul(r, fadd(f(EXP_Q[1]), fmul(r, fadd(f(EXP_Q[2]), fmul(r, fadd(f(EXP_Q[3]), fmul(r, f(EXP_Q[4])))))))));
    let s2 = fast_two_sum(1.0, r);
    let t2 = fast_two_sum(s2.x, fmul(rr, 0.5));
    let y_lo = fadd(fadd(s2.y, t2.y), fadd(fmul(rr_lo, 0.5), fmul(fmul(r, rr), q)));
    let yl = fadd(y_lo, fmul(e, fadd(t2.x, y_lo)));
    return ExpCore(n, t2.x, yl);
}

fn math_exp(x: f32) -> f32 {
    let bits = b(x);
    let magnitude = bits & ABS;
    if (magnitude > INF) {
        return quiet(x);
    }
    if (magnitude < 0x33000000u) {
        // |x| < 2^-25: e^x rounds to 1 (1 + x, whatever a subnormal x is flushed to).
        return 1.0;
    }
    if (x > 89.0) {
        return f(INF);
    }
    if (x < -104.0) {
        return 0.0;
    }
    let c = exp_core(x, 0.0);
    let hl = fast_two_sum(c.yh, c.yl);
    return scale_hilo(hl.x, hl.y, c.n);
}

// ---- log ----------------------------------------------------------------------------------------

fn log_hilo(x: f32) -> vec2<f32> {
    var ix = b(x);
    var k: i32 = 0;
    if (ix < 0x00800000u) {
        // x * 2^25, exact, with integer operations (x is subnormal).
        let u = unpack(ix);
        ix = (u32(u.e + 25 + 127) << 23u) | (u.m & 0x007FFFFFu);
        k = -25;
    }
    ix += 0x3F800000u - 0x3F3504F3u;
    k += i32(ix >> 23u) - 127;
    let m = f((ix & 0x007FFFFFu) + 0x3F3504F3u);
    let fv = fsub(m, 1.0);
    let d = fadd(2.0, fv);
    let d_lo = fadd(fsub(2.0, d), fv);
    let inv = fadd(0.5, fmul(fv, fadd(-0.25, fmul(fv, fadd(0.125, fmul(fv, fadd(-0.0625, fmul(fv, fadd(0.03125, fmul(fv, fadd(-0.015625, fmul(fv, fadd(0.0078125, fmul(fv, fadd(-0.00390625, fmul(fv, 0.001953125))))))))))))))));
    let s0 = fmul(fv, inv);
    let pp = two_prod(s0, d);
    let residual = fsub(fsub(fsub(fv, pp.x), pp.y), fmul(s0, d_lo));
    let shl = fast_two_sum(s0, fmul(residual, inv));
    let sh = shl.x;
    let sl = shl.y;
    let z = two_prod(sh, sh);
    let zh = z.x;
    let zl = z.y;
    let c = two_prod(sh, zh);
    let ch = c.x;
    let c_lo = fadd(c.y, fmul(sh, zl));
    let t = two_prod(ch, f(TWO_THIRDS_HI));
    let th = t.x;
    let t_lo = fadd(t.y, fadd(fmul(ch, f(TWO_THIRDS_LO)), fmul(c_lo, f(TWO_THIRDS_HI))));
    let higher = fmul(fmul(sh, fmul(zh, zh)), fadd(f(LOG_R1[0]), fmul(zh, fadd(f(LOG_R1[1]), fmul(zh, fadd(f(LOG_R1[2]), fmul(zh, f(LOG_R1[3]))))))));
    let correction = fadd(fadd(sl, sl), fmul(fadd(zh, zh), sl));
    let kf = f32(k);
    let u = two_sum(fmul(kf, f(LN2_HI)), fadd(sh, sh));
    let v = two_sum(u.x, th);
    let lo = fadd(fadd(fadd(u.y, v.y), fadd(fmul(kf, f(LN2_LO)), correction)), fadd(t_lo, higher));
    return fast_two_sum(v.x, lo);
}

fn math_log(x: f32) -> f32 {
    let bits = b(x);
    let magnitude = bits & ABS;
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

fn math_tanh(x: f32) -> f32 {
    let bits = b(x);
    let magnitude = bits & ABS;
    let sign = bits & SIGN;
    if (magnitude > INF) {
        return quiet(x);
    }
    if (magnitude < 0x39000000u) {
        return x;
    }
    if (magnitude >= 0x41180000u) {
        return f(sign | 0x3F800000u);
    }
    let ax = f(magnitude);
    if (ax < 0.125) {
        let z = fmul(x, x);
        let p = fadd(f(TANH_P[0]), fmul(z, fadd(f(TANH_P[1]), fmul(z, f(TANH_P[2])))));
        return fadd(x, fmul(x, fmul(z, p)));
    }
    let c = exp_core(fmul(-2.0, ax), 0.0);
    let y = fast_two_sum(c.yh, c.yl);
    let scale_n = math_pow2(c.n);
    let eh = fmul(y.x, scale_n);
    let el = fmul(y.y, scale_n);
    let d = fast_two_sum(1.0, eh);
    let dh = d.x;
    let dl = fadd(d.y, el);
    var inv = fsub(1.5622, fmul(0.5622, dh));
    inv = fmul(inv, fsub(2.0, fmul(dh, inv)));
    inv = fmul(inv, fsub(2.0, fmul(dh, inv)));
    inv = fmul(inv, fsub(2.0, fmul(dh, inv)));
    let two_e = fadd(eh, eh);
    let q = fmul(two_e, inv);
    let pp = two_prod(q, dh);
    let residual = fsub(fsub(two_e, pp.x), pp.y);
    let q_lo = fmul(fadd(residual, fsub(fadd(el, el), fmul(q, dl))), inv);
    let w = two_sum(1.0, -q);
    let result = fadd(w.x, fsub(w.y, q_lo));
    return f(sign | b(result));
}

// ---- erf ----------------------------------------------------------------------------------------

fn horner_tail(c0: f32, c1: f32, w: f32, t: f32, t_lo: f32) -> vec2<f32> {
    let a = two_prod(t, w);
    let v2 = two_sum(c1, a.x);
    let v = v2.x;
    let v_lo = fadd(v2.y, a.y);
    let bb = two_prod(t, v);
    let b_lo = fadd(bb.y, fadd(fmul(t, v_lo), fmul(t_lo, v)));
    let p = two_sum(c0, bb.x);
    return vec2<f32>(p.x, fadd(p.y, b_lo));
}

// poly(c, t) for the 9- and 10-coefficient erfc tables (Horner down to c[2], then horner_tail).
fn poly9(c: array<u32, 9>, t: f32) -> vec2<f32> {
    var w = f(c[8]);
    w = fadd(f(c[7]), fmul(t, w));
    w = fadd(f(c[6]), fmul(t, w));
    w = fadd(f(c[5]), fmul(t, w));
    w = fadd(f(c[4]), fmul(t, w));
    w = fadd(f(c[3]), fmul(t, w));
    w = fadd(f(c[2]), fmul(t, w));
    return horner_tail(f(c[0]), f(c[1]), w, t, 0.0);
}

fn poly10(c: array<u32, 10>, t: f32) -> vec2<f32> {
    var w = f(c[9]);
    w = fadd(f(c[8]), fmul(t, w));
    w = fadd(f(c[7]), fmul(t, w));
    w = fadd(f(c[6]), fmul(t, w));
    w = fadd(f(c[5]), fmul(t, w));
    w = fadd(f(c[4]), fmul(t, w));
    w = fadd(f(c[3]), fmul(t, w));
    w = fadd(f(c[2]), fmul(t, w));
    return horner_tail(f(c[0]), f(c[1]), w, t, 0.0);
}

fn math_erf(x: f32) -> f32 {
    let bits = b(x);
    let magnitude = bits & ABS;
    let sign = bits & SIGN;
    if (magnitude > INF) {
        return quiet(x);
    }
    if (magnitude >= 0x407C0000u) {
        return f(sign | 0x3F800000u);
    }
    let ax = f(magnitude);
    if (magnitude < 0x0D800000u) {
        // y = ax * 2^64, exact, with integer operations (ax may be subnormal).
        var y = 0.0;
        if (magnitude != 0u) {
            let u = unpack(magnitude);
            y = f((u32(u.e + 64 + 127) << 23u) | (u.m & 0x007FFFFFu));
        }
        let mm = two_prod(y, f(ERF_P[0]));
        let s = fast_two_sum(y, mm.x);
        let hl = fast_two_sum(s.x, fadd(s.y, mm.y));
        var result: f32;
        if (hl.x < f(0x20800000u)) {
            let k = f(0x6A000000u);
            result = round_subnormal(fmul(hl.x, k), fmul(hl.y, k));
        } else {
            result = fmul(hl.x, f(TWO_M64));
        }
        return f(sign | b(result));
    }
    if (ax < 0.875) {
        let z = two_prod(x, x);
        let w = fadd(f(ERF_P[2]), fmul(z.x, fadd(f(ERF_P[3]), fmul(z.x, fadd(f(ERF_P[4]), fmul(z.x, fadd(f(ERF_P[5]), fmul(z.x, f(ERF_P[6])))))))));
        let p = horner_tail(f(ERF_P[0]), f(ERF_P[1]), w, z.x, z.y);
        let m = two_prod(x, p.x);
        let s = fast_two_sum(x, m.x);
        return fadd(s.x, fadd(s.y, fadd(m.y, fmul(x, p.y))));
    }
    var g: vec2<f32>;
    if (ax < 1.5) {
        g = poly9(ERFC_1, fsub(ax, ERFC_1_MID));
    } else if (ax < 2.5) {
        g = poly9(ERFC_2, fsub(ax, ERFC_2_MID));
    } else {
        g = poly10(ERFC_3, fsub(ax, ERFC_3_MID));
    }
    let s = fast_two_sum(1.0, -g.x);
    let result = fadd(s.x, fsub(s.y, g.y));
    return f(sign | b(result));
}

// ---- pow ----------------------------------------------------------------------------------------

fn integer_class(y: f32) -> u32 {
    let magnitude = b(y) & ABS;
    if (magnitude == 0u) {
        return 2u;
    }
    let e = i32(magnitude >> 23u) - 127;
    if (e < 0) {
        return 0u;
    }
    if (e >= 24) {
        return 2u;
    }
    let m = (magnitude & 0x007FFFFFu) | 0x00800000u;
    let fraction_bits = u32(23 - e);
    if (fraction_bits > 0u && (m & ((1u << fraction_bits) - 1u)) != 0u) {
        return 0u;
    }
    if (((m >> fraction_bits) & 1u) == 1u) {
        return 1u;
    }
    return 2u;
}

fn math_pow(x: f32, y: f32) -> f32 {
    let xb = b(x);
    let yb = b(y);
    let xa = xb & ABS;
    let ya = yb & ABS;
    if (ya == 0u || xb == 0x3F800000u) {
        return 1.0;
    }
    if (xa > INF) {
        return quiet(x);
    }
    if (ya > INF) {
        return quiet(y);
    }
    let y_negative = (yb & SIGN) != 0u;
    let x_negative = (xb & SIGN) != 0u;
    if (ya == INF) {
        if (xa == 0x3F800000u) {
            return 1.0;
        }
        let big = xa > 0x3F800000u;
        return select(0.0, f(INF), big != y_negative);
    }
    let cls = integer_class(y);
    let odd_sign = select(0u, SIGN, x_negative && cls == 1u);
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
    let ax = f(xa);
    let hl = log_hilo(ax);
    let grows = (hl.x > 0.0) != y_negative;
    if (ya >= 0x4F800000u) {
        return f(odd_sign | select(0u, INF, grows));
    }
    let p = two_prod(y, hl.x);
    let z = fast_two_sum(p.x, fadd(p.y, fmul(y, hl.y)));
    if (z.x > 89.0) {
        return f(odd_sign | INF);
    }
    if (z.x < -104.0) {
        return f(odd_sign);
    }
    let c = exp_core(z.x, z.y);
    let r = fast_two_sum(c.yh, c.yl);
    return f(odd_sign | b(scale_hilo(r.x, r.y, c.n)));
}

// ---- ops.rs scalar helpers (shared by ops.wgsl and reduce.wgsl) -------------------------------

fn quiet_if_nan(x: u32) -> u32 {
    if ((x & ABS) > INF) {
        return x | QUIET;
    }
    return x;
}

fn is_nan(x: u32) -> bool {
    return (x & ABS) > INF;
}

// An exponent field of 0 (zero, subnormal) or 255 (infinity, NaN).
fn is_edge(x: u32) -> bool {
    let e = x & INF;
    return e == 0u || e == INF;
}

// IEEE binary32 x + y, subnormals kept even where the GPU flushes them: the native sum when
// the operands and the result are normal, else the integer fma (x * 1 + y, exact).
fn exact_add(x: u32, y: u32) -> u32 {
    let s = b(fadd(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(s)) {
        return b(math_fma(f(x), 1.0, f(y)));
    }
    return s;
}

fn exact_sub(x: u32, y: u32) -> u32 {
    let s = b(fsub(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(s)) {
        return b(math_fma(f(x), 1.0, f(y ^ SIGN)));
    }
    return s;
}

fn exact_mul(x: u32, y: u32) -> u32 {
    let p = b(fmul(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(p)) {
        return b(math_fma(f(x), f(y), f(SIGN)));
    }
    return p;
}

// The IEEE order of non-NaN values as an integer key (-0 and +0 equal), from the bits only.
fn order_key(x: u32) -> i32 {
    let magnitude = i32(x & ABS);
    return select(magnitude, -magnitude, (x & SIGN) != 0u);
}

// x < y as IEEE binary32 (false if either is NaN).
fn less(x: u32, y: u32) -> bool {
    if (is_nan(x) || is_nan(y)) {
        return false;
    }
    return order_key(x) < order_key(y);
}

fn equal(x: u32, y: u32) -> bool {
    if (is_nan(x) || is_nan(y)) {
        return false;
    }
    return order_key(x) == order_key(y);
}

fn max_min(x: u32, y: u32, is_max: bool) -> u32 {
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

