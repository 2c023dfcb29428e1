// lowp reductions (ReduceOp::reduce_lane of lowp-formats ops.rs): one invocation per output
// element o = i * inner + j, reducing x[(i * len + k) * inner + j] for k = 0, 1, ..., len - 1 in
// that order, each step rounded by the quantizer (if any) with the random word of Philox counter
// (lo32(o), hi32(o), k, 2) word 0; Mean and Max round once more at step len. Compiled after
// common.cuh and math.cuh; a port of shaders/reduce.wgsl. The input pointer is the whole tensor
// (one piece: first_step 0, all steps, columns = inner); outputs are processed in chunks (the
// output pointer starts at the chunk, result_base 0).

struct ReduceParams {
    Dispatch dispatch;
    Quantizer quantizer;
    // 0 Sum, 1 Mean, 2 Max.
    u32 op;
    u32 apply_quantizer;
    // Unused by CUDA (WGSL's contraction barrier operand; the layouts stay alike).
    u32 opaque;
    // The reduced axis' length and its binary32 value (rounded on the CPU).
    u32 len;
    u32 len_bits;
    // Source distance between steps k and k + 1 (the product of the axes after the reduced one).
    u32 inner;
    // Outputs of the piece per row of the axes before the reduced one, and the source distance
    // between two rows.
    u32 columns;
    u32 row_step;
    // Source offset (in the bound window) of the piece's first output at its first step.
    u32 source_base;
    // The piece's steps, and the piece's index of this dispatch's first output.
    u32 first_step;
    u32 steps;
    u32 local_base;
    // Offset of this dispatch's first output in the bound result window.
    u32 result_base;
    u32 pad0;
    u32 pad1;
    u32 pad2;
};

constexpr u32 REDUCE_SUM = 0u;
constexpr u32 REDUCE_MEAN = 1u;
constexpr u32 REDUCE_MAX = 2u;

// reduction_round: the quantizer with step `step`'s word of output `o`.
__device__ __forceinline__ u32 reduction_round(const ReduceParams& params, u32 value, vec2<u32> o, u32 step) {
    if (params.apply_quantizer == 0u) {
        return value;
    }
    const auto q = params.quantizer;
    auto word = 0u;
    if (q.mode == MODE_STOCHASTIC) {
        word = philox4x32_10(vec4<u32>(o.x, o.y, step, 2u), vec2<u32>(q.seed_lo, q.seed_hi)).x;
    }
    return quantize_bits(q, value, word);
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) reduce(const ReduceParams params, const u32* __restrict__ source_values, u32* __restrict__ result_values) {
    const vec3<u32> id = global_invocation_id();
    const auto d = params.dispatch;
    const auto j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    const auto o = global_index(d, j);
    const auto t = params.local_base + j;
    const auto first = params.source_base + (t / params.columns) * params.row_step + t % params.columns;
    const auto inner = params.inner;
    const auto last = params.first_step + params.steps == params.len;
    if (params.op == REDUCE_MAX) {
        auto acc = SIGN | INF;
        if (params.first_step > 0u) {
            acc = result_values[params.result_base + j];
        }
        for (auto k = 0u; k < params.steps; k++) {
            acc = max_min(acc, source_values[first + k * inner], true);
        }
        if (last) {
            acc = reduction_round(params, acc, o, params.len);
        }
        result_values[params.result_base + j] = acc;
        return;
    }
    auto acc = 0u;
    if (params.first_step > 0u) {
        acc = result_values[params.result_base + j];
    }
    for (auto k = 0u; k < params.steps; k++) {
        const auto step = params.first_step + k;
        acc = reduction_round(params, exact_add(acc, source_values[first + k * inner]), o, step);
    }
    if (params.op == REDUCE_MEAN && last) {
        acc = reduction_round(params, b(math_div(f(acc), f(params.len_bits))), o, params.len);
    }
    result_values[params.result_base + j] = acc;
}
