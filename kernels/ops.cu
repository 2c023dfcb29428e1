// lowp element-wise operations (UnaryOp / BinaryOp::apply of lowp-formats ops.rs) and select,
// then the output quantizer with element i drawing word i (as quantize.cu). Compiled after
// common.cuh and math.cuh; a port of shaders/ops.wgsl. Block-format quantizers are applied
// afterwards by the block kernels (`apply_quantizer` = 0 here). The scalar helpers (exact_add,
// max_min ...) are in math.cuh.
//
// One signature for the three kernels: unary passes x as a, b and c; binary passes x as a and b,
// y as c; select passes condition, x, y as a, b, c. All inputs are read-only, so aliasing is
// allowed (hence no __restrict__ on them).

struct OpsParams {
    Dispatch dispatch;
    Quantizer quantizer;
    u32 op;
    u32 apply_quantizer;
    // Unused by CUDA (WGSL's contraction barrier operand; the layouts stay alike).
    u32 opaque;
    u32 pad0;
};

constexpr u32 OP_NEG = 0u;
constexpr u32 OP_ABS = 1u;
constexpr u32 OP_SQRT = 2u;
constexpr u32 OP_EXP = 3u;
constexpr u32 OP_LOG = 4u;
constexpr u32 OP_TANH = 5u;
constexpr u32 OP_ERF = 6u;

constexpr u32 OP_ADD = 0u;
constexpr u32 OP_SUB = 1u;
constexpr u32 OP_MUL = 2u;
constexpr u32 OP_DIV = 3u;
constexpr u32 OP_POW = 4u;
constexpr u32 OP_MAX = 5u;
constexpr u32 OP_MIN = 6u;
constexpr u32 OP_GREATER = 7u;
constexpr u32 OP_GREATER_EQUAL = 8u;
constexpr u32 OP_LESS = 9u;
constexpr u32 OP_LESS_EQUAL = 10u;
constexpr u32 OP_EQUAL = 11u;

__device__ __forceinline__ u32 unary_op(u32 op, u32 x) {
    switch (op) {
        case OP_NEG: {
            return quiet_if_nan(x ^ SIGN);
        }
        case OP_ABS: {
            return quiet_if_nan(x & ABS);
        }
        case OP_SQRT: {
            return b(math_sqrt(f(x)));
        }
        case OP_EXP: {
            return b(math_exp(f(x)));
        }
        case OP_LOG: {
            return b(math_log(f(x)));
        }
        case OP_TANH: {
            return b(math_tanh(f(x)));
        }
        case OP_ERF: {
            return b(math_erf(f(x)));
        }
        default: {
            return x;
        }
    }
}

__device__ __forceinline__ u32 indicator(bool condition) {
    return select(0u, 0x3F800000u, condition);
}

__device__ __forceinline__ u32 binary_op(u32 op, u32 x, u32 y) {
    switch (op) {
        case OP_ADD: {
            return exact_add(x, y);
        }
        case OP_SUB: {
            return exact_sub(x, y);
        }
        case OP_MUL: {
            return exact_mul(x, y);
        }
        case OP_DIV: {
            return b(math_div(f(x), f(y)));
        }
        case OP_POW: {
            return b(math_pow(f(x), f(y)));
        }
        case OP_MAX: {
            return max_min(x, y, true);
        }
        case OP_MIN: {
            return max_min(x, y, false);
        }
        case OP_GREATER: {
            return indicator(less(y, x));
        }
        case OP_GREATER_EQUAL: {
            return indicator(less(y, x) || equal(x, y));
        }
        case OP_LESS: {
            return indicator(less(x, y));
        }
        case OP_LESS_EQUAL: {
            return indicator(less(x, y) || equal(x, y));
        }
        case OP_EQUAL: {
            return indicator(equal(x, y));
        }
        default: {
            return x;
        }
    }
}

// The output quantizer of chunk-local element j (when one applies here).
__device__ __forceinline__ u32 finish(const OpsParams& params, u32 j, u32 value) {
    if (params.apply_quantizer == 0u) {
        return value;
    }
    const auto q = params.quantizer;
    const auto word = quantizer_word(q, global_index(params.dispatch, j));
    return quantize_bits(q, value, word);
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) unary(const OpsParams params, const u32* a_values, const u32* b_values, const u32* c_values, u32* __restrict__ result_values) {
    const vec3<u32> id = global_invocation_id();
    const auto d = params.dispatch;
    const auto j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    result_values[j] = finish(params, j, unary_op(params.op, a_values[j]));
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) binary(const OpsParams params, const u32* a_values, const u32* b_values, const u32* c_values, u32* __restrict__ result_values) {
    const vec3<u32> id = global_invocation_id();
    const auto d = params.dispatch;
    const auto j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    result_values[j] = finish(params, j, binary_op(params.op, b_values[j], c_values[j]));
}

// select(condition, x, y): x where condition != 0.0 (either zero is false, NaN is true), else y.
extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) select_values(const OpsParams params, const u32* a_values, const u32* b_values, const u32* c_values, u32* __restrict__ result_values) {
    const vec3<u32> id = global_invocation_id();
    const auto d = params.dispatch;
    const auto j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    const auto condition = (a_values[j] & ABS) != 0u;
    result_values[j] = select(c_values[j], b_values[j], condition);
}
