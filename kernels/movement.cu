// lowp data movement (crates/lowp-cuda/src/movement.rs): permute, expand, slice, concat, gather
// (one generic strided copy), scatter_add, im2col and col2im. A port of shaders/movement.wgsl;
// compiled after common.cuh (for its vocabulary only).
//
// Values are binary32 bit patterns (u32): copies move bits, so NaN payloads and -0 survive.
// The sums of scatter_add and col2im use `add_f32`, an integer-only binary32 addition (round to
// nearest even, subnormals kept), gathered per output element in the CPU backend's order, so the
// results do not depend on whether the GPU flushes subnormals.
//
// One thread per output element over a grid of 1-D blocks; an output larger than one launch is
// written by several launches, `params.base` giving the first element of each.

constexpr u32 MOVE_WORKGROUP_SIZE = 256u;
constexpr u32 MAX_RANK = 8u;

struct MoveParams {
    // Elements of this dispatch.
    u32 count;
    // Invocations per row of the 2-D grid.
    u32 row_width;
    // Flat index of the dispatch's first element.
    u32 base;
    // strided_copy: number of axes of the domain.
    u32 rank;
    // strided_copy: source offset of the domain's first element.
    u32 src_base;
    // strided_copy: destination offset of the domain's first element.
    u32 dst_base;
    // strided_copy: the axis whose index goes through the table at tables[3 * rank ..]
    // (0xFFFFFFFF: none).
    u32 table_axis;
    u32 pad0;
};

// Every kernel takes the parameters, the source, the destination and `tables`: shapes, steps,
// index tables and geometries (layout per kernel below).

// The flat index of this invocation's element, or 0xFFFFFFFF when it has none.
__device__ __forceinline__ u32 element(const MoveParams& params, vec3<u32> id) {
    const auto j = id.x + id.y * params.row_width;
    if (j >= params.count) {
        return 0xFFFFFFFFu;
    }
    return params.base + j;
}

// ---- binary32 addition from integers -------------------------------------------------------------

__device__ __forceinline__ u32 quiet(u32 x) {
    return x | 0x00400000u;
}

__device__ __forceinline__ bool is_nan(u32 x) {
    return (x & 0x7FFFFFFFu) > 0x7F800000u;
}

// a + b in binary32, round to nearest even, subnormals as inputs and results. NaN results: the
// first NaN operand, quieted; Inf - Inf gives the default NaN 0xFFC00000 (as x86 SSE).
__device__ __forceinline__ u32 add_f32(u32 a, u32 b) {
    if (is_nan(a)) {
        return quiet(a);
    }
    if (is_nan(b)) {
        return quiet(b);
    }
    const auto mag_a = a & 0x7FFFFFFFu;
    const auto mag_b = b & 0x7FFFFFFFu;
    if (mag_a == 0x7F800000u) {
        if (mag_b == 0x7F800000u && a != b) {
            return 0xFFC00000u;
        }
        return a;
    }
    if (mag_b == 0x7F800000u) {
        return b;
    }
    if (mag_a == 0u) {
        if (mag_b == 0u) {
            return a & b;
        }
        return b;
    }
    if (mag_b == 0u) {
        return a;
    }
    // x: the operand of larger magnitude.
    auto x = a;
    auto y = b;
    if (mag_b > mag_a) {
        x = b;
        y = a;
    }
    const auto sign = x & 0x80000000u;
    const auto ex = (x >> 23u) & 0xFFu;
    const auto ey = (y >> 23u) & 0xFFu;
    // Significands with the implicit bit at 26 (3 rest_bits bits); subnormals have exponent 1.
    auto mx = (x & 0x7FFFFFu) << 3u;
    auto my = (y & 0x7FFFFFu) << 3u;
    auto e = max(ex, 1u);
    if (ex != 0u) {
        mx = mx | 0x4000000u;
    }
    if (ey != 0u) {
        my = my | 0x4000000u;
    }
    const auto d = e - max(ey, 1u);
    if (d >= 27u) {
        my = 1u;
    } else if (d > 0u) {
        const auto lost = my & ((1u << d) - 1u);
        my = (my >> d) | select(0u, 1u, lost != 0u);
    }
    u32 m;
    if (((x ^ y) & 0x80000000u) == 0u) {
        m = mx + my;
        if (m >= 0x8000000u) {
            m = (m >> 1u) | (m & 1u);
            e = e + 1u;
            if (e >= 255u) {
                return sign | 0x7F800000u;
            }
        }
    } else {
        m = mx - my;
        if (m == 0u) {
            return 0u;
        }
        while (m < 0x4000000u && e > 1u) {
            m = m << 1u;
            e = e - 1u;
        }
    }
    const auto rest_bits = m & 7u;
    m = m >> 3u;
    if (rest_bits > 4u || (rest_bits == 4u && (m & 1u) == 1u)) {
        m = m + 1u;
    }
    // (e - 1) << 23 plus the significand with its implicit bit gives the encoding, carries from
    // rounding (into the next binade or to infinity) and subnormals (e == 1, no implicit bit)
    // included.
    return sign | (((e - 1u) << 23u) + m);
}

// ---- strided copy: permute, expand, slice, gather, concat ---------------------------------------

// tables: shape[rank], source steps[rank], destination steps[rank], then the table of
// `params.table_axis` (the source index of that axis is table[index]).
extern "C" __global__ void __launch_bounds__(MOVE_WORKGROUP_SIZE) strided_copy(const MoveParams params, const u32* __restrict__ src, u32* __restrict__ dst, const u32* __restrict__ tables) {
    const vec3<u32> id = global_invocation_id();
    const auto i = element(params, id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    const auto rank = params.rank;
    auto rest = i;
    auto source_at = params.src_base;
    auto dest_at = params.dst_base;
    auto axis = rank;
    while (axis > 0u) {
        axis = axis - 1u;
        const auto extent = tables[axis];
        const auto index = rest % extent;
        rest = rest / extent;
        auto source_index = index;
        if (axis == params.table_axis) {
            source_index = tables[3u * rank + index];
        }
        source_at = source_at + source_index * tables[rank + axis];
        dest_at = dest_at + index * tables[2u * rank + axis];
    }
    dst[dest_at] = src[source_at];
}

// ---- scatter_add --------------------------------------------------------------------------------

// The output is [outer, extent, inner]; tables: outer, extent, inner, len (the source axis),
// starts[extent + 1], then the positions t grouped by index (ascending t within each index).
extern "C" __global__ void __launch_bounds__(MOVE_WORKGROUP_SIZE) scatter_add(const MoveParams params, const u32* __restrict__ src, u32* __restrict__ dst, const u32* __restrict__ tables) {
    const vec3<u32> id = global_invocation_id();
    const auto i = element(params, id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    const auto extent = tables[1];
    const auto inner = tables[2];
    const auto len = tables[3];
    const auto within = i % inner;
    const auto j = (i / inner) % extent;
    const auto o = i / inner / extent;
    auto sum = 0u;
    const auto end = tables[4u + j + 1u];
    for (auto k = tables[4u + j]; k < end; k = k + 1u) {
        const auto t = tables[4u + extent + 1u + k];
        sum = add_f32(sum, src[(o * len + t) * inner + within]);
    }
    dst[i] = sum;
}

// ---- im2col / col2im ----------------------------------------------------------------------------

// tables: batch, channels per group, groups, then input[3], kernel[3], stride[3], pad_before[3],
// dilation[3], output[3] (geometries lifted to three spatial axes).
__device__ __forceinline__ u32 g_input(const u32* tables, u32 axis) {
    return tables[3u + axis];
}
__device__ __forceinline__ u32 g_kernel(const u32* tables, u32 axis) {
    return tables[6u + axis];
}
__device__ __forceinline__ u32 g_stride(const u32* tables, u32 axis) {
    return tables[9u + axis];
}
__device__ __forceinline__ u32 g_pad(const u32* tables, u32 axis) {
    return tables[12u + axis];
}
__device__ __forceinline__ u32 g_dilation(const u32* tables, u32 axis) {
    return tables[15u + axis];
}
__device__ __forceinline__ u32 g_output(const u32* tables, u32 axis) {
    return tables[18u + axis];
}

// Patch matrix [groups, cpg, k0, k1, k2, batch, o0, o1, o2] from input [batch, groups * cpg,
// i0, i1, i2]; zeros in the padding.
extern "C" __global__ void __launch_bounds__(MOVE_WORKGROUP_SIZE) im2col(const MoveParams params, const u32* __restrict__ src, u32* __restrict__ dst, const u32* __restrict__ tables) {
    const vec3<u32> id = global_invocation_id();
    const auto i = element(params, id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    auto rest = i;
    u32 position[3] = {0u, 0u, 0u};
    for (auto a = 3u; a > 0u; a = a - 1u) {
        position[a - 1u] = rest % g_output(tables, a - 1u);
        rest = rest / g_output(tables, a - 1u);
    }
    const auto n = rest % tables[0];
    rest = rest / tables[0];
    u32 tap[3] = {0u, 0u, 0u};
    for (auto a = 3u; a > 0u; a = a - 1u) {
        tap[a - 1u] = rest % g_kernel(tables, a - 1u);
        rest = rest / g_kernel(tables, a - 1u);
    }
    // rest = g * cpg + c: the input channel.
    const auto channel = rest;
    auto offset = n * tables[1] * tables[2] + channel;
    auto inside = true;
    for (auto a = 0u; a < 3u; a = a + 1u) {
        const auto padded = position[a] * g_stride(tables, a) + tap[a] * g_dilation(tables, a);
        const auto pad = g_pad(tables, a);
        if (padded < pad || padded - pad >= g_input(tables, a)) {
            inside = false;
        }
        offset = offset * g_input(tables, a) + (padded - pad);
    }
    auto value = 0u;
    if (inside) {
        value = src[offset];
    }
    dst[i] = value;
}

// Input [batch, channels, i0, i1, i2]: each element sums its patch entries in ascending kernel
// offset order, from +0.
extern "C" __global__ void __launch_bounds__(MOVE_WORKGROUP_SIZE) col2im(const MoveParams params, const u32* __restrict__ src, u32* __restrict__ dst, const u32* __restrict__ tables) {
    const vec3<u32> id = global_invocation_id();
    const auto i = element(params, id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    const auto cpg = tables[1];
    const auto groups = tables[2];
    auto rest = i;
    u32 x[3] = {0u, 0u, 0u};
    for (auto a = 3u; a > 0u; a = a - 1u) {
        x[a - 1u] = rest % g_input(tables, a - 1u);
        rest = rest / g_input(tables, a - 1u);
    }
    const auto channel = rest % (cpg * groups);
    const auto n = rest / (cpg * groups);
    const auto g = channel / cpg;
    const auto c = channel % cpg;
    const auto taps = g_kernel(tables, 0) * g_kernel(tables, 1) * g_kernel(tables, 2);
    const auto outputs = g_output(tables, 0) * g_output(tables, 1) * g_output(tables, 2);
    const auto columns = tables[0] * outputs;
    const auto rows = cpg * taps;
    auto sum = 0u;
    for (auto k0 = 0u; k0 < g_kernel(tables, 0); k0 = k0 + 1u) {
        for (auto k1 = 0u; k1 < g_kernel(tables, 1); k1 = k1 + 1u) {
            for (auto k2 = 0u; k2 < g_kernel(tables, 2); k2 = k2 + 1u) {
                const u32 tap[3] = {k0, k1, k2};
                auto column = 0u;
                auto inside = true;
                for (auto a = 0u; a < 3u; a = a + 1u) {
                    // o * stride + tap * dilation - pad == x.
                    const auto shifted = x[a] + g_pad(tables, a);
                    const auto reach = tap[a] * g_dilation(tables, a);
                    auto o = 0u;
                    if (shifted < reach) {
                        inside = false;
                    } else {
                        const auto t = shifted - reach;
                        o = t / g_stride(tables, a);
                        if (t % g_stride(tables, a) != 0u || o >= g_output(tables, a)) {
                            inside = false;
                        }
                    }
                    column = column * g_output(tables, a) + o;
                }
                if (inside) {
                    const auto row = c * taps + (k0 * g_kernel(tables, 1) + k1) * g_kernel(tables, 2) + k2;
                    const auto at = (g * rows + row) * columns + n * outputs + column;
                    sum = add_f32(sum, src[at]);
                }
            }
        }
    }
    dst[i] = sum;
}
