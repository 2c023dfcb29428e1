// lowp quantized GEMM (SEMANTICS.md §9): C[b] = A[b] · B[b], every step rounded exactly as
// lowp_formats::gemm::reference does. Compiled after common.cuh; a port of shaders/gemm.wgsl.
//
// Binary32 arithmetic: WGSL routes every a*b, acc + p, difference and fused multiply-add through
// an integer-only exactly rounded fma, because a driver may flush subnormals or contract. CUDA
// needs no emulation: NVRTC runs with --fmad=false --ftz=false, and __fmul_rn / __fadd_rn /
// __fsub_rn / __fmaf_rn are IEEE binary32 operations with round to nearest even and subnormals
// kept, which the compiler never fuses or reorders. They give the integer routine's bits (NaN
// payloads aside, which SEMANTICS.md §2 leaves open; every step's quantizer quiets them).
//   gemm_mul(a, b) = a * b      gemm_add(a, c) = a + c      gemm_sub(a, b) = a - b
//
// Tiling: a block of GEMM_TILE × GEMM_TILE threads computes a GEMM_BLOCK × GEMM_BLOCK tile of C
// for one batch entry, each thread GEMM_REG × GEMM_REG outputs held in registers (rows
// ty + GEMM_TILE * r, columns tx + GEMM_TILE * c). Slices of GEMM_K_TILE steps of A and B pass
// through shared memory, and every output walks k strictly ascending from 0, so the result does
// not depend on the tiling. Indices are 64-bit; the host splits grids larger than CUDA's limits
// over several launches (row_tile0, col_tile0, and the batch entries of each launch).
//
// Three instantiations of one body (C++ templates; WGSL, without them, has the general one only):
//   gemm                  every format family, rounding mode and accumulation;
//   gemm_nearest_grid     the host's choices for sequential accumulation when the add quantizer,
//   gemm_stochastic_grid  and the mul quantizer unless the steps are fused, are float grids
//                         (KIND_GRID) rounding to nearest, or stochastically: kind, mode and
//                         accumulation are constants, so each quantization is grid_quantize's
//                         short path with the general one out of line, and each thread steps
//                         its 4 × 4 outputs together (16 independent chains in registers).

constexpr u32 GEMM_TILE = 16u;
constexpr u32 GEMM_REG = 4u;
constexpr u32 GEMM_BLOCK = GEMM_TILE * GEMM_REG;
constexpr u32 GEMM_K_TILE = 16u;

constexpr u32 ACC_SEQUENTIAL = 0u;
constexpr u32 ACC_COMPENSATED = 1u;
constexpr u32 ACC_BLOCKED = 2u;

// Mirrored by GemmShapeParams (crates/lowp-backend/src/kernel_params.rs).
struct GemmShape {
    u32 m;
    u32 k;
    u32 n;
    u32 transpose_a;
    u32 transpose_b;
    u32 fma;
    u32 accumulation;
    u32 chunk;
    u32 stochastic;
    u32 seed_lo;
    u32 seed_hi;
    // Offsets (in values) of this launch's first batch entry from the pointers (0 on CUDA: the
    // host passes pointers to the launch's first batch entry).
    u32 a_base;
    u32 b_base;
    u32 c_base;
    // First row tile and column tile of this launch.
    u32 row_tile0;
    u32 col_tile0;
    // Flat (u64) index of this launch's first output element: (b0 * M * N) as (lo, hi).
    u32 o_lo;
    u32 o_hi;
    // WGSL's distance between two rows of C in pieces of a product larger than one binding
    // (unused: CUDA never splits C into pieces).
    u32 o_row;
    // WGSL's contraction barrier (always 0; unused: __fmul_rn and __fadd_rn are never contracted).
    u32 opaque;
};

struct GemmParams {
    Quantizer mul;
    Quantizer add;
    Quantizer outer;
    GemmShape shape;
};

// ---- binary32 arithmetic (see the header) ------------------------------------------------------

__device__ __forceinline__ u32 gemm_fma(u32 a, u32 b, u32 c) {
    return bitcast_u32(__fmaf_rn(bitcast_f32(a), bitcast_f32(b), bitcast_f32(c)));
}

__device__ __forceinline__ u32 gemm_mul(u32 a, u32 b) {
    return bitcast_u32(__fmul_rn(bitcast_f32(a), bitcast_f32(b)));
}

__device__ __forceinline__ u32 gemm_add(u32 a, u32 c) {
    return bitcast_u32(__fadd_rn(bitcast_f32(a), bitcast_f32(c)));
}

__device__ __forceinline__ u32 gemm_sub(u32 a, u32 b) {
    return bitcast_u32(__fsub_rn(bitcast_f32(a), bitcast_f32(b)));
}

// ---- gemm.rs quantize_step: block formats treat the value as a block of its own ----------------

// The instantiations: GEMM_ANY_MODE for the general kernel, else the grids' rounding mode.
constexpr u32 GEMM_ANY_MODE = 0xFFFFFFFFu;

// grid_quantize out of line: the grid instantiations inline only its short paths.
__device__ __noinline__ u32 grid_quantize_out_of_line(Grid g, u32 x, u32 mode, u32 bits, u32 word) {
    return grid_quantize(g, x, mode, bits, word);
}

// Below the smallest normal 2^emin (zero included), a grid with subnormals has the one quantum
// 2^(emin - man), and rounding to nearest there is binary32 arithmetic: adding
// C = 1.5 * 2^(emin - man + 23) puts the magnitude into the binade whose unit in the last place
// is that quantum, where __fadd_rn rounds it (ties to even: C is an even number of quanta), and
// subtracting C again is exact. Needs 1 <= man <= 22 (the sum stays in that binade) and
// emin >= -126 (2^emin is a binary32 normal). Not an unsigned format's negative.
__device__ __forceinline__ bool in_grid_subnormal_range(Grid g, u32 magnitude, bool negative) {
    return g.subnormals != 0u && g.man - 1u < 22u && g.emin >= -126 && magnitude < (u32(g.emin + 127) << 23u) && !(g.is_unsigned != 0u && negative);
}

__device__ __forceinline__ u32 grid_round_subnormal_nearest(Grid g, u32 magnitude) {
    const auto c = bitcast_f32((u32(g.emin - i32(g.man) + 23 + 127) << 23u) | 0x00400000u);
    return bitcast_u32(__fsub_rn(__fadd_rn(bitcast_f32(magnitude), c), c));
}

template <u32 GRID_MODE>
__device__ __forceinline__ u32 gemm_quantize(const Quantizer& q, u32 x, u32 word) {
    if constexpr (GRID_MODE != GEMM_ANY_MODE) {
        // grid_quantize's results for finite values in short paths, else all of it out of line.
        const auto sign = x & SIGN_BIT;
        const auto magnitude = x & MAGNITUDE_MASK;
        const auto negative = sign != 0u;
        if (in_grid_normal_range(q.grid, magnitude, negative)) {
            const auto rounded = grid_round_normal(q.grid, magnitude, GRID_MODE, q.bits, negative, word);
            if (rounded <= q.grid.max_bits) {
                return sign | rounded;
            }
        } else if (GRID_MODE == MODE_NEAREST && in_grid_subnormal_range(q.grid, magnitude, negative)) {
            const auto rounded = grid_round_subnormal_nearest(q.grid, magnitude);
            if (rounded == 0u) {
                return select(0u, sign, q.grid.signed_zero != 0u);
            }
            return sign | rounded;
        }
        return grid_quantize_out_of_line(q.grid, x, GRID_MODE, q.bits, word);
    }
    if (q.kind == KIND_BLOCK) {
        const auto magnitude = x & MAGNITUDE_MASK;
        auto max_magnitude = 0u;
        if (magnitude < INF_BITS) {
            max_magnitude = magnitude;
        }
        return block_quantize_element(q.block_wl, x, max_magnitude, q.mode, q.bits, word);
    }
    return quantize_bits(q, x, word);
}

// ---- one step of k for one output element ------------------------------------------------------

struct GemmState {
    u32 acc;
    u32 compensation;
    u32 outer;
};

__device__ __forceinline__ vec4<u32> gemm_words(const GemmParams& params, vec2<u32> o, u32 kk, u32 stream) {
    const auto s = params.shape;
    return philox4x32_10(vec4<u32>(o.x, o.y, kk, stream), vec2<u32>(s.seed_lo, s.seed_hi));
}

template <u32 GRID_MODE>
__device__ __forceinline__ GemmState gemm_step(const GemmParams& params, GemmState state, u32 x, u32 y, u32 kk, vec2<u32> o) {
    const auto s = params.shape;
    const auto stochastic = GRID_MODE == MODE_STOCHASTIC || (GRID_MODE == GEMM_ANY_MODE && s.stochastic != 0u);
    const auto accumulation = GRID_MODE == GEMM_ANY_MODE ? s.accumulation : ACC_SEQUENTIAL;
    auto st = state;
    auto words = vec4<u32>(0u);
    if (stochastic) {
        words = gemm_words(params, o, kk, 1u);
    }
    if (accumulation == ACC_COMPENSATED) {
        auto inner = vec4<u32>(0u);
        if (stochastic) {
            inner = gemm_words(params, o, kk, 3u);
        }
        u32 corrected;
        if (s.fma != 0u) {
            corrected = gemm_quantize<GRID_MODE>(params.add, gemm_fma(x, y, st.compensation ^ SIGN_BIT), words.z);
        } else {
            const auto product = gemm_quantize<GRID_MODE>(params.mul, gemm_mul(x, y), words.x);
            corrected = gemm_quantize<GRID_MODE>(params.add, gemm_sub(product, st.compensation), words.z);
        }
        const auto total = gemm_quantize<GRID_MODE>(params.add, gemm_add(st.acc, corrected), words.y);
        const auto difference = gemm_quantize<GRID_MODE>(params.add, gemm_sub(total, st.acc), inner.x);
        st.compensation = gemm_quantize<GRID_MODE>(params.add, gemm_sub(difference, corrected), words.w);
        st.acc = total;
    } else {
        if (s.fma != 0u) {
            st.acc = gemm_quantize<GRID_MODE>(params.add, gemm_fma(x, y, st.acc), words.y);
        } else {
            const auto product = gemm_quantize<GRID_MODE>(params.mul, gemm_mul(x, y), words.x);
            st.acc = gemm_quantize<GRID_MODE>(params.add, gemm_add(st.acc, product), words.y);
        }
    }
    if (accumulation == ACC_BLOCKED && ((kk + 1u) % s.chunk == 0u || kk + 1u == s.k)) {
        auto word = 0u;
        if (stochastic) {
            word = gemm_words(params, o, kk, 3u).y;
        }
        st.outer = gemm_quantize<GRID_MODE>(params.outer, gemm_add(st.outer, st.acc), word);
        st.acc = 0u;
    }
    return st;
}

// Index of A[bz][i][kk] from the launch's A pointer (64-bit).
__device__ __forceinline__ u64 gemm_a_index(const GemmShape& s, u32 bz, u32 i, u32 kk) {
    const auto base = u64(s.a_base) + u64(bz) * u64(s.m) * u64(s.k);
    if (s.transpose_a != 0u) {
        return base + u64(kk) * u64(s.m) + u64(i);
    }
    return base + u64(i) * u64(s.k) + u64(kk);
}

// Index of B[bz][kk][j] from the launch's B pointer (64-bit).
__device__ __forceinline__ u64 gemm_b_index(const GemmShape& s, u32 bz, u32 kk, u32 j) {
    const auto base = u64(s.b_base) + u64(bz) * u64(s.k) * u64(s.n);
    if (s.transpose_b != 0u) {
        return base + u64(j) * u64(s.k) + u64(kk);
    }
    return base + u64(kk) * u64(s.n) + u64(j);
}

// The kernel body: one block's 64 × 64 outputs (see the header).
template <u32 GRID_MODE>
__device__ __forceinline__ void gemm_block(const GemmParams& params, const u32* __restrict__ a_values, const u32* __restrict__ b_values, u32* __restrict__ c_values) {
    __shared__ u32 tile_a[GEMM_K_TILE][GEMM_BLOCK];
    __shared__ u32 tile_b[GEMM_K_TILE][GEMM_BLOCK];
    const auto s = params.shape;
    const vec3<u32> group = vec3<u32>(blockIdx.x, blockIdx.y, blockIdx.z);
    const vec3<u32> local = vec3<u32>(threadIdx.x, threadIdx.y, 0u);
    const auto lane = local.y * GEMM_TILE + local.x;
    const auto row0 = (u64(s.row_tile0) + group.y) * GEMM_BLOCK;
    const auto col0 = (u64(s.col_tile0) + group.x) * GEMM_BLOCK;
    const auto bz = group.z;
    // The first output element of this launch, as a u64.
    const auto launch_o = (u64(s.o_hi) << 32u) | u64(s.o_lo);
    GemmState state[GEMM_REG][GEMM_REG];
    // The flat index of each row's first output, for stochastic rounding's words.
    u64 row_flat[GEMM_REG];
#pragma unroll
    for (auto r = 0u; r < GEMM_REG; r++) {
        row_flat[r] = launch_o + (u64(bz) * u64(s.m) + row0 + local.y + GEMM_TILE * r) * u64(s.n) + col0 + local.x;
#pragma unroll
        for (auto c = 0u; c < GEMM_REG; c++) {
            state[r][c] = GemmState{0u, 0u, 0u};
        }
    }
    for (auto k0 = 0u; k0 < s.k; k0 += GEMM_K_TILE) {
        // Stage A[row0 ..][k0 ..] and B[k0 ..][col0 ..], reading along memory's contiguous axis.
        for (auto l = lane; l < GEMM_K_TILE * GEMM_BLOCK; l += GEMM_TILE * GEMM_TILE) {
            u32 t;
            u32 row;
            if (s.transpose_a != 0u) {
                row = l % GEMM_BLOCK;
                t = l / GEMM_BLOCK;
            } else {
                row = l / GEMM_K_TILE;
                t = l % GEMM_K_TILE;
            }
            const auto i = row0 + row;
            auto va = 0u;
            if (i < s.m && k0 + t < s.k) {
                va = a_values[gemm_a_index(s, bz, u32(i), k0 + t)];
            }
            tile_a[t][row] = va;
            u32 column;
            if (s.transpose_b != 0u) {
                column = l / GEMM_K_TILE;
                t = l % GEMM_K_TILE;
            } else {
                column = l % GEMM_BLOCK;
                t = l / GEMM_BLOCK;
            }
            const auto j = col0 + column;
            auto vb = 0u;
            if (k0 + t < s.k && j < s.n) {
                vb = b_values[gemm_b_index(s, bz, k0 + t, u32(j))];
            }
            tile_b[t][column] = vb;
        }
        __syncthreads();
        const auto steps = min(GEMM_K_TILE, s.k - k0);
        if constexpr (GRID_MODE != GEMM_ANY_MODE) {
            // Step by step over the 4 × 4 outputs, unrolled: 16 independent chains in registers.
            // Outputs outside C step over the tiles' zeros too (their words are never used;
            // no side effects) and are never stored.
            for (auto t = 0u; t < steps; t++) {
#pragma unroll
                for (auto r = 0u; r < GEMM_REG; r++) {
                    const auto x = tile_a[t][local.y + GEMM_TILE * r];
#pragma unroll
                    for (auto c = 0u; c < GEMM_REG; c++) {
                        const auto flat = row_flat[r] + GEMM_TILE * c;
                        const auto o = vec2<u32>(u32(flat), u32(flat >> 32u));
                        state[r][c] = gemm_step<GRID_MODE>(params, state[r][c], x, tile_b[t][local.x + GEMM_TILE * c], k0 + t, o);
                    }
                }
            }
        } else {
            for (auto r = 0u; r < GEMM_REG; r++) {
                const auto i = row0 + local.y + GEMM_TILE * r;
                for (auto c = 0u; c < GEMM_REG; c++) {
                    const auto j = col0 + local.x + GEMM_TILE * c;
                    if (i < s.m && j < s.n) {
                        const auto flat = launch_o + (u64(bz) * u64(s.m) + i) * u64(s.n) + j;
                        const auto o = vec2<u32>(u32(flat), u32(flat >> 32u));
                        auto st = state[r][c];
                        for (auto t = 0u; t < steps; t++) {
                            st = gemm_step<GEMM_ANY_MODE>(params, st, tile_a[t][local.y + GEMM_TILE * r], tile_b[t][local.x + GEMM_TILE * c], k0 + t, o);
                        }
                        state[r][c] = st;
                    }
                }
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (auto r = 0u; r < GEMM_REG; r++) {
        const auto i = row0 + local.y + GEMM_TILE * r;
#pragma unroll
        for (auto c = 0u; c < GEMM_REG; c++) {
            const auto j = col0 + local.x + GEMM_TILE * c;
            if (i < s.m && j < s.n) {
                auto result = state[r][c].acc;
                if (s.accumulation == ACC_BLOCKED) {
                    result = state[r][c].outer;
                }
                c_values[u64(s.c_base) + (u64(bz) * u64(s.m) + i) * u64(s.n) + j] = result;
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(GEMM_TILE * GEMM_TILE) gemm(const GemmParams params, const u32* __restrict__ a_values, const u32* __restrict__ b_values, u32* __restrict__ c_values) {
    gemm_block<GEMM_ANY_MODE>(params, a_values, b_values, c_values);
}

extern "C" __global__ void __launch_bounds__(GEMM_TILE * GEMM_TILE) gemm_nearest_grid(const GemmParams params, const u32* __restrict__ a_values, const u32* __restrict__ b_values, u32* __restrict__ c_values) {
    gemm_block<MODE_NEAREST>(params, a_values, b_values, c_values);
}

// At most 128 registers, so that two blocks share an SM (Philox's words take many registers).
extern "C" __global__ void __launch_bounds__(GEMM_TILE * GEMM_TILE, 2) gemm_stochastic_grid(const GemmParams params, const u32* __restrict__ a_values, const u32* __restrict__ b_values, u32* __restrict__ c_values) {
    gemm_block<MODE_STOCHASTIC>(params, a_values, b_values, c_values);
}
