// lowp data movement (crates/lowp-wgpu/src/movement.rs): permute, expand, slice, concat, gather
// (one generic strided copy), scatter_add, im2col and col2im. A standalone module (it does not
// need common.wgsl).
//
// Values are binary32 bit patterns (array<u32>): copies move bits, so NaN payloads and -0 survive.
// The sums of scatter_add and col2im use `add_f32`, an integer-only binary32 addition (round to
// nearest even, subnormals kept), gathered per output element in the CPU backend's order, so the
// results do not depend on whether the GPU flushes subnormals.
//
// One invocation per output element over a 2-D grid of 1-D workgroups; an output larger than one
// grid is written by several dispatches, `params.base` giving the first element of each.

const MOVE_WORKGROUP_SIZE: u32 = 256u;
const MAX_RANK: u32 = 8u;

struct MoveParams {
    // Elements of this dispatch.
    count: u32,
    // Invocations per row of the 2-D grid.
    row_width: u32,
    // Flat index of the dispatch's first element.
    base: u32,
    // strided_copy: number of axes of the domain.
    rank: u32,
    // strided_copy: source offset of the domain's first element.
    src_base: u32,
    // strided_copy: destination offset of the domain's first element.
    dst_base: u32,
    // strided_copy: the axis whose index goes through the table at tables[3 * rank ..]
    // (0xFFFFFFFF: none).
    table_axis: u32,
    pad0: u32,
}

@group(0) @binding(0) var<uniform> params: MoveParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
// Shapes, steps, index tables and geometries (layout per entry point below).
@group(0) @binding(3) var<storage, read> tables: array<u32>;

// The flat index of this invocation's element, or 0xFFFFFFFF when it has none.
fn element(id: vec3<u32>) -> u32 {
    let j = id.x + id.y * params.row_width;
    if (j >= params.count) {
        return 0xFFFFFFFFu;
    }
    return params.base + j;
}

// ---- binary32 addition from integers -------------------------------------------------------------

fn quiet(x: u32) -> u32 {
    return x | 0x00400000u;
}

fn is_nan(x: u32) -> bool {
    return (x & 0x7FFFFFFFu) > 0x7F800000u;
}

// a + b in binary32, round to nearest even, subnormals as inputs and results. NaN results: the
// first NaN operand, quieted; Inf - Inf gives the default NaN 0xFFC00000 (as x86 SSE).
fn add_f32(a: u32, b: u32) -> u32 {
    if (is_nan(a)) {
        return quiet(a);
    }
    if (is_nan(b)) {
        return quiet(b);
    }
    let mag_a = a & 0x7FFFFFFFu;
    let mag_b = b & 0x7FFFFFFFu;
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
    var x = a;
    var y = b;
    if (mag_b > mag_a) {
        x = b;
        y = a;
    }
    let sign = x & 0x80000000u;
    let ex = (x >> 23u) & 0xFFu;
    let ey = (y >> 23u) & 0xFFu;
    // Significands with the implicit bit at 26 (3 rest_bits bits); subnormals have exponent 1.
    var mx = (x & 0x7FFFFFu) << 3u;
    var my = (y & 0x7FFFFFu) << 3u;
    var e = max(ex, 1u);
    if (ex != 0u) {
        mx = mx | 0x4000000u;
    }
    if (ey != 0u) {
        my = my | 0x4000000u;
    }
    let d = e - max(ey, 1u);
    if (d >= 27u) {
        my = 1u;
    } else if (d > 0u) {
        let lost = my & ((1u << d) - 1u);
        my = (my >> d) | select(0u, 1u, lost != 0u);
    }
    var m: u32;
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
    let rest_bits = m & 7u;
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
@compute @workgroup_size(MOVE_WORKGROUP_SIZE)
fn strided_copy(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = element(id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    let rank = params.rank;
    var rest = i;
    var source_at = params.src_base;
    var dest_at = params.dst_base;
    var axis = rank;
    while (axis > 0u) {
        axis = axis - 1u;
        let extent = tables[axis];
        let index = rest % extent;
        rest = rest / extent;
        var source_index = index;
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
@compute @workgroup_size(MOVE_WORKGROUP_SIZE)
fn scatter_add(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = element(id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    let extent = tables[1];
    let inner = tables[2];
    let len = tables[3];
    let within = i % inner;
    let j = (i / inner) % extent;
    let o = i / inner / extent;
    var sum = 0u;
    let end = tables[4u + j + 1u];
    for (var k = tables[4u + j]; k < end; k = k + 1u) {
        let t = tables[4u + extent + 1u + k];
        sum = add_f32(sum, src[(o * len + t) * inner + within]);
    }
    dst[i] = sum;
}

// ---- im2col / col2im ----------------------------------------------------------------------------

// tables: batch, channels per group, groups, then input[3], kernel[3], stride[3], pad_before[3],
// dilation[3], output[3] (geometries lifted to three spatial axes).
fn g_input(axis: u32) -> u32 {
    return tables[3u + axis];
}
fn g_kernel(axis: u32) -> u32 {
    return tables[6u + axis];
}
fn g_stride(axis: u32) -> u32 {
    return tables[9u + axis];
}
fn g_pad(axis: u32) -> u32 {
    return tables[12u + axis];
}
fn g_dilation(axis: u32) -> u32 {
    return tables[15u + axis];
}
fn g_output(axis: u32) -> u32 {
    return tables[18u + axis];
}

// Patch matrix [groups, cpg, k0, k1, k2, batch, o0, o1, o2] from input [batch, groups * cpg,
// i0, i1, i2]; zeros in the padding.
@compute @workgroup_size(MOVE_WORKGROUP_SIZE)
fn im2col(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = element(id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    var rest = i;
    var position = array<u32, 3>(0u, 0u, 0u);
    for (var a = 3u; a > 0u; a = a - 1u) {
        position[a - 1u] = rest % g_output(a - 1u);
        rest = rest / g_output(a - 1u);
    }
    let n = rest % tables[0];
    rest = rest / tables[0];
    var tap = array<u32, 3>(0u, 0u, 0u);
    for (var a = 3u; a > 0u; a = a - 1u) {
        tap[a - 1u] = rest % g_kernel(a - 1u);
        rest = rest / g_kernel(a - 1u);
    }
    // rest = g * cpg + c: the input channel.
    let channel = rest;
    var offset = n * tables[1] * tables[2] + channel;
    var inside = true;
    for (var a = 0u; a < 3u; a = a + 1u) {
        let padded = position[a] * g_stride(a) + tap[a] * g_dilation(a);
        let pad = g_pad(a);
        if (padded < pad || padded - pad >= g_input(a)) {
            inside = false;
        }
        offset = offset * g_input(a) + (padded - pad);
    }
    var value = 0u;
    if (inside) {
        value = src[offset];
    }
    dst[i] = value;
}

// Input [batch, channels, i0, i1, i2]: each element sums its patch entries in ascending kernel
// offset order, from +0.
@compute @workgroup_size(MOVE_WORKGROUP_SIZE)
fn col2im(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = element(id);
    if (i == 0xFFFFFFFFu) {
        return;
    }
    let cpg = tables[1];
    let groups = tables[2];
    var rest = i;
    var x = array<u32, 3>(0u, 0u, 0u);
    for (var a = 3u; a > 0u; a = a - 1u) {
        x[a - 1u] = rest % g_input(a - 1u);
        rest = rest / g_input(a - 1u);
    }
    let channel = rest % (cpg * groups);
    let n = rest / (cpg * groups);
    let g = channel / cpg;
    let c = channel % cpg;
    let taps = g_kernel(0) * g_kernel(1) * g_kernel(2);
    let outputs = g_output(0) * g_output(1) * g_output(2);
    let columns = tables[0] * outputs;
    let rows = cpg * taps;
    var sum = 0u;
    for (var k0 = 0u; k0 < g_kernel(0); k0 = k0 + 1u) {
        for (var k1 = 0u; k1 < g_kernel(1); k1 = k1 + 1u) {
            for (var k2 = 0u; k2 < g_kernel(2); k2 = k2 + 1u) {
                let tap = array<u32, 3>(k0, k1, k2);
                var column = 0u;
                var inside = true;
                for (var a = 0u; a < 3u; a = a + 1u) {
                    // o * stride + tap * dilation - pad == x.
                    let shifted = x[a] + g_pad(a);
                    let reach = tap[a] * g_dilation(a);
                    var o = 0u;
                    if (shifted < reach) {
                        inside = false;
                    } else {
                        let t = shifted - reach;
                        o = t / g_stride(a);
                        if (t % g_stride(a) != 0u || o >= g_output(a)) {
                            inside = false;
                        }
                    }
                    column = column * g_output(a) + o;
                }
                if (inside) {
                    let row = c * taps + (k0 * g_kernel(1) + k1) * g_kernel(2) + k2;
                    let at = (g * rows + row) * columns + n * outputs + column;
                    sum = add_f32(sum, src[at]);
                }
            }
        }
    }
    dst[i] = sum;
}
