// lowp quantized GEMM (SEMANTICS.md §9): C[b] = A[b] · B[b], every step rounded exactly as
// lowp_formats::gemm::reference does. Prepended with common.wgsl and math.wgsl.
//
// Binary32 arithmetic: the fused multiply-add of FMA mode goes through gemm_fma, math.wgsl's
// fma_bits: lowp-formats' portable exactly rounded fma (math.rs) in u32 operations. A product, sum
// or difference takes the GPU's own operation where both operands and the result are normal
// (WGSL rounds f32 +, - and * correctly; math.wgsl's fadd/fmul carry the contraction barrier),
// and the integer routine otherwise, so no driver's subnormal flushing, NaN handling or
// contraction shows in the bits:
//   a * b = fma(a, b, -0)      a + b = fma(a, 1, b)      a - b = fma(a, 1, -b)
// (gemm_add_integer computes fma(a, 1, b) without forming the product).
//
// Tiling: one workgroup computes a GEMM_TILE × GEMM_TILE tile of C for one batch entry; tiles of A
// and B pass through workgroup memory, and every invocation walks k strictly ascending from 0, so
// the result does not depend on the tiling.

const GEMM_TILE: u32 = 16u;
const GEMM_ONE: u32 = 0x3F800000u;

const ACC_SEQUENTIAL: u32 = 0u;
const ACC_COMPENSATED: u32 = 1u;
const ACC_BLOCKED: u32 = 2u;

// Mirrored by GemmShapeParams (crates/lowp-backend/src/kernel_params.rs).
struct GemmShape {
    m: u32,
    k: u32,
    n: u32,
    transpose_a: u32,
    transpose_b: u32,
    fma: u32,
    accumulation: u32,
    chunk: u32,
    stochastic: u32,
    seed_lo: u32,
    seed_hi: u32,
    // Offsets (in values) of this dispatch's first batch entry inside the bound ranges.
    a_base: u32,
    b_base: u32,
    c_base: u32,
    // First row tile and column tile of this dispatch.
    row_tile0: u32,
    col_tile0: u32,
    // Flat (u64) index of this dispatch's first output element in the whole product, as
    // (lo, hi), and the distance between two rows of C there (N; a piece of a product larger
    // than one binding keeps the random words of its place in the whole).
    o_lo: u32,
    o_hi: u32,
    o_row: u32,
    // Always 0: the operand of the contraction barrier (math_opaque).
    opaque: u32,
}

struct GemmParams {
    mul: Quantizer,
    add: Quantizer,
    outer: Quantizer,
    shape: GemmShape,
}

@group(0) @binding(0) var<uniform> params: GemmParams;
@group(0) @binding(1) var<storage, read> a_values: array<u32>;
@group(0) @binding(2) var<storage, read> b_values: array<u32>;
@group(0) @binding(3) var<storage, read_write> c_values: array<u32>;

var<workgroup> tile_a: array<u32, 256>;
var<workgroup> tile_b: array<u32, 256>;

// ---- binary32 arithmetic (see the header) ------------------------------------------------------

// a * b + c with one rounding to nearest even: math.wgsl's fma_bits.
fn gemm_fma(a: u32, b: u32, c: u32) -> u32 {
    return fma_bits(a, b, c);
}

// x * y: the GPU's product for normal operands and product; a zero times a finite value is the
// zero of the signs' product (as gemm_fma gives it); else gemm_fma(x, y, -0).
fn gemm_mul(x: u32, y: u32) -> u32 {
    let p = b(fmul(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(p)) {
        let xa = x & MAGNITUDE_MASK;
        let ya = y & MAGNITUDE_MASK;
        if ((xa == 0u && ya < INF_BITS) || (ya == 0u && xa < INF_BITS)) {
            return (x ^ y) & SIGN_BIT;
        }
        return gemm_fma(x, y, SIGN_BIT);
    }
    return p;
}

// x + y: the GPU's sum for normal operands and sum; a zero added to a non-NaN value leaves it
// (two zeros give -0 only when both are -0); else gemm_add_integer.
fn gemm_add(x: u32, y: u32) -> u32 {
    let s = b(fadd(f(x), f(y)));
    if (is_edge(x) || is_edge(y) || is_edge(s)) {
        let xa = x & MAGNITUDE_MASK;
        let ya = y & MAGNITUDE_MASK;
        if (xa == 0u && ya == 0u) {
            return x & y;
        }
        if (ya == 0u && xa <= INF_BITS) {
            return x;
        }
        if (xa == 0u && ya <= INF_BITS) {
            return y;
        }
        return gemm_add_integer(x, y);
    }
    return s;
}

// a + c: gemm_fma(a, 1, c) without the product (a's significand m gives p = m << 39, 2^(e-62)).
fn gemm_add_integer(a: u32, c: u32) -> u32 {
    let aa = a & MAGNITUDE_MASK;
    let ca = c & MAGNITUDE_MASK;
    if (aa > INF_BITS) {
        return a | QUIET_BIT;
    }
    if (ca > INF_BITS) {
        return c | QUIET_BIT;
    }
    let a_sign = a & SIGN_BIT;
    let c_sign = c & SIGN_BIT;
    if (aa == INF_BITS) {
        if (ca == INF_BITS && c_sign != a_sign) {
            return QNAN_BITS;
        }
        return a;
    }
    if (ca == INF_BITS) {
        return c;
    }
    if (aa == 0u) {
        if (ca == 0u) {
            return select(0u, c_sign, a_sign == c_sign);
        }
        return c;
    }
    if (ca == 0u) {
        return a;
    }
    let ua = unpack(aa);
    return fma_sum(vec2<u32>(ua.m << 7u, 0u), ua.e - 62, a_sign, c);
}

fn gemm_sub(a: u32, b: u32) -> u32 {
    return gemm_add(a, b ^ SIGN_BIT);
}

// ---- gemm.rs quantize_step: block formats treat the value as a block of its own ----------------

fn gemm_quantize(q: Quantizer, x: u32, word: u32) -> u32 {
    if (q.kind == KIND_BLOCK) {
        let magnitude = x & MAGNITUDE_MASK;
        var max_magnitude = 0u;
        if (magnitude < INF_BITS) {
            max_magnitude = magnitude;
        }
        return block_quantize_element(q.block_wl, x, max_magnitude, q.mode, q.bits, word);
    }
    return quantize_bits(q, x, word);
}

// ---- one step of k for one output element ------------------------------------------------------

struct GemmState {
    acc: u32,
    compensation: u32,
    outer: u32,
}

fn gemm_words(o: vec2<u32>, kk: u32, stream: u32) -> vec4<u32> {
    let s = params.shape;
    return philox4x32_10(vec4<u32>(o.x, o.y, kk, stream), vec2<u32>(s.seed_lo, s.seed_hi));
}

fn gemm_step(state: GemmState, x: u32, y: u32, kk: u32, o: vec2<u32>) -> GemmState {
    let s = params.shape;
    let stochastic = s.stochastic != 0u;
    var st = state;
    var words = vec4<u32>(0u);
    if (stochastic) {
        words = gemm_words(o, kk, 1u);
    }
    if (s.accumulation == ACC_COMPENSATED) {
        var inner = vec4<u32>(0u);
        if (stochastic) {
            inner = gemm_words(o, kk, 3u);
        }
        var corrected: u32;
        if (s.fma != 0u) {
            corrected = gemm_quantize(params.add, gemm_fma(x, y, st.compensation ^ SIGN_BIT), words.z);
        } else {
            let product = gemm_quantize(params.mul, gemm_mul(x, y), words.x);
            corrected = gemm_quantize(params.add, gemm_sub(product, st.compensation), words.z);
        }
        let total = gemm_quantize(params.add, gemm_add(st.acc, corrected), words.y);
        let difference = gemm_quantize(params.add, gemm_sub(total, st.acc), inner.x);
        st.compensation = gemm_quantize(params.add, gemm_sub(difference, corrected), words.w);
        st.acc = total;
    } else {
        if (s.fma != 0u) {
            st.acc = gemm_quantize(params.add, gemm_fma(x, y, st.acc), words.y);
        } else {
            let product = gemm_quantize(params.mul, gemm_mul(x, y), words.x);
            st.acc = gemm_quantize(params.add, gemm_add(st.acc, product), words.y);
        }
    }
    if (s.accumulation == ACC_BLOCKED && ((kk + 1u) % s.chunk == 0u || kk + 1u == s.k)) {
        var word = 0u;
        if (stochastic) {
            word = gemm_words(o, kk, 3u).y;
        }
        st.outer = gemm_quantize(params.outer, gemm_add(st.outer, st.acc), word);
        st.acc = 0u;
    }
    return st;
}

// Index of A[bz][i][kk] inside the bound range of A.
fn gemm_a_index(bz: u32, i: u32, kk: u32) -> u32 {
    let s = params.shape;
    let base = s.a_base + bz * s.m * s.k;
    if (s.transpose_a != 0u) {
        return base + kk * s.m + i;
    }
    return base + i * s.k + kk;
}

// Index of B[bz][kk][j] inside the bound range of B.
fn gemm_b_index(bz: u32, kk: u32, j: u32) -> u32 {
    let s = params.shape;
    let base = s.b_base + bz * s.k * s.n;
    if (s.transpose_b != 0u) {
        return base + j * s.k + kk;
    }
    return base + kk * s.n + j;
}

@compute @workgroup_size(16, 16, 1)
fn gemm(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
    math_opaque = params.shape.opaque;
    let s = params.shape;
    let i = (s.row_tile0 + group.y) * GEMM_TILE + local.y;
    let j = (s.col_tile0 + group.x) * GEMM_TILE + local.x;
    let bz = group.z;
    let in_range = i < s.m && j < s.n;
    // Output element: its place in the bound range of C and its flat index o (u64).
    let local_o = bz * s.m * s.n + i * s.n + j;
    let from_first = (bz * s.m + i) * s.o_row + j;
    let o_lo = s.o_lo + from_first;
    let o = vec2<u32>(o_lo, s.o_hi + select(0u, 1u, o_lo < from_first));
    var state = GemmState(0u, 0u, 0u);
    for (var k0 = 0u; k0 < s.k; k0 += GEMM_TILE) {
        // Stage A[i][k0 .. k0 + 16] and B[k0 .. k0 + 16][j] of this tile.
        let ka = k0 + local.x;
        var va = 0u;
        if (i < s.m && ka < s.k) {
            va = a_values[gemm_a_index(bz, i, ka)];
        }
        tile_a[local.y * GEMM_TILE + local.x] = va;
        let kb = k0 + local.y;
        var vb = 0u;
        if (kb < s.k && j < s.n) {
            vb = b_values[gemm_b_index(bz, kb, j)];
        }
        tile_b[local.y * GEMM_TILE + local.x] = vb;
        workgroupBarrier();
        if (in_range) {
            let steps = min(GEMM_TILE, s.k - k0);
            for (var t = 0u; t < steps; t++) {
                let x = tile_a[local.y * GEMM_TILE + t];
                let y = tile_b[t * GEMM_TILE + local.x];
                state = gemm_step(state, x, y, k0 + t, o);
            }
        }
        workgroupBarrier();
    }
    if (in_range) {
        var result = state.acc;
        if (s.accumulation == ACC_BLOCKED) {
            result = state.outer;
        }
        c_values[s.c_base + local_o] = result;
    }
}
