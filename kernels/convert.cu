// lowp storage conversions for the cuBLAS fast path (crates/lowp-cuda/src/cublas.rs): binary32
// values to binary16 or bfloat16 storage, both rounded to nearest even (ties to even, overflow to
// ±inf, subnormals kept, NaN stays a quiet NaN of the same sign), and binary16 storage back to
// binary32 (exact). Compiled after common.cuh. Not part of the bit-exact backend: cuBLAS reads
// and writes these 16-bit arrays.
//
// One thread per element over a grid of 1-D blocks, chunk by chunk like quantize.cu.

typedef unsigned short u16;

struct ConvertParams {
    Dispatch dispatch;
};

// The binary16 bits of binary32 `x`, rounded to nearest even.
__device__ __forceinline__ u32 half_bits(u32 x) {
    const u32 sign = (x >> 16u) & 0x8000u;
    const u32 magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) {
        return sign | 0x7e00u;
    }
    if (magnitude >= 0x47800000u) {
        // |x| >= 2^16 (or inf): beyond binary16's largest finite value even before rounding.
        return sign | 0x7c00u;
    }
    const u32 biased = magnitude >> 23u;
    const u32 significand = (magnitude & 0x7fffffu) | 0x800000u;
    if (biased < 113u) {
        // Below 2^-14: a binary16 subnormal, the code round(|x| · 2^24) = significand >> shift.
        const u32 shift = 126u - biased;
        if (shift > 24u) {
            return sign;
        }
        const u32 code = significand >> shift;
        const u32 rest = significand & ((1u << shift) - 1u);
        const u32 half = 1u << (shift - 1u);
        const bool up = rest > half || (rest == half && (code & 1u) == 1u);
        return sign | (code + (up ? 1u : 0u));
    }
    // Normal: exponent and the top 10 fraction bits; a carry out of the fraction raises the
    // exponent (up to 31 = inf).
    const u32 code = ((biased - 112u) << 10u) | ((magnitude >> 13u) & 0x3ffu);
    const u32 rest = magnitude & 0x1fffu;
    const bool up = rest > 0x1000u || (rest == 0x1000u && (code & 1u) == 1u);
    return sign | (code + (up ? 1u : 0u));
}

// The bfloat16 bits of binary32 `x`, rounded to nearest even.
__device__ __forceinline__ u32 bfloat16_bits(u32 x) {
    if ((x & 0x7fffffffu) > 0x7f800000u) {
        return (x >> 16u) | 0x40u;
    }
    return (x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u;
}

// The binary32 bits of binary16 bits `h` (exact).
__device__ __forceinline__ u32 float_bits_of_half(u32 h) {
    const u32 sign = (h & 0x8000u) << 16u;
    const u32 exponent = (h >> 10u) & 0x1fu;
    const u32 fraction = h & 0x3ffu;
    if (exponent == 31u) {
        return sign | 0x7f800000u | (fraction << 13u);
    }
    if (exponent == 0u) {
        // fraction · 2^-24, exact in binary32.
        return sign | __float_as_uint(__fmul_rn(f32(fraction), 5.9604644775390625e-8f));
    }
    return sign | ((exponent + 112u) << 23u) | (fraction << 13u);
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) to_half(const ConvertParams params, const u32* __restrict__ source_values, u16* __restrict__ result_values) {
    const auto j = local_index(global_invocation_id(), params.dispatch);
    if (j >= params.dispatch.count) {
        return;
    }
    result_values[j] = u16(half_bits(source_values[j]));
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) to_bfloat16(const ConvertParams params, const u32* __restrict__ source_values, u16* __restrict__ result_values) {
    const auto j = local_index(global_invocation_id(), params.dispatch);
    if (j >= params.dispatch.count) {
        return;
    }
    result_values[j] = u16(bfloat16_bits(source_values[j]));
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) half_to_float(const ConvertParams params, const u16* __restrict__ source_values, u32* __restrict__ result_values) {
    const auto j = local_index(global_invocation_id(), params.dispatch);
    if (j >= params.dispatch.count) {
        return;
    }
    result_values[j] = float_bits_of_half(u32(source_values[j]));
}
