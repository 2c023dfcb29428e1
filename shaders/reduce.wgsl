// lowp reductions (ReduceOp::reduce_lane of lowp-formats ops.rs): one invocation per output
// element o = i * inner + j, reducing x[(i * len + k) * inner + j] for k = 0, 1, ..., len - 1 in
// that order, each step rounded by the quantizer (if any) with the random word of Philox counter
// (lo32(o), hi32(o), k, 2) word 0; Mean and Max round once more at step len. Prepended with
// common.wgsl and math.wgsl. The input is bound whole; outputs are processed in chunks.

struct ReduceParams {
    dispatch: Dispatch,
    quantizer: Quantizer,
    // 0 Sum, 1 Mean, 2 Max.
    op: u32,
    apply_quantizer: u32,
    // Always 0: the operand of the contraction barrier (math_opaque).
    opaque: u32,
    // The reduced axis' length and its binary32 value (rounded on the CPU).
    len: u32,
    len_bits: u32,
    // The product of the axes after the reduced one.
    inner: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> source_values: array<u32>;
@group(0) @binding(2) var<storage, read_write> result_values: array<u32>;

const REDUCE_SUM: u32 = 0u;
const REDUCE_MEAN: u32 = 1u;
const REDUCE_MAX: u32 = 2u;

// reduction_round: the quantizer with step `step`'s word of output `o`.
fn reduction_round(value: u32, o: vec2<u32>, step: u32) -> u32 {
    if (params.apply_quantizer == 0u) {
        return value;
    }
    let q = params.quantizer;
    var word = 0u;
    if (q.mode == MODE_STOCHASTIC) {
        word = philox4x32_10(vec4<u32>(o.x, o.y, step, 2u), vec2<u32>(q.seed_lo, q.seed_hi)).x;
    }
    return quantize_bits(q, value, word);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce(@builtin(global_invocation_id) id: vec3<u32>) {
    math_opaque = params.opaque;
    let d = params.dispatch;
    let j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    let o = global_index(d, j);
    let len = params.len;
    let inner = params.inner;
    // With len >= 1 the outputs are fewer than the inputs, so o fits in u32.
    let first = (o.x / inner) * len * inner + o.x % inner;
    if (params.op == REDUCE_MAX) {
        var acc = SIGN | INF;
        for (var k = 0u; k < len; k++) {
            acc = max_min(acc, source_values[first + k * inner], true);
        }
        result_values[j] = reduction_round(acc, o, len);
        return;
    }
    var acc = 0u;
    for (var k = 0u; k < len; k++) {
        acc = reduction_round(exact_add(acc, source_values[first + k * inner]), o, k);
    }
    if (params.op == REDUCE_MEAN) {
        acc = reduction_round(b(math_div(f(acc), f(params.len_bits))), o, len);
    }
    result_values[j] = acc;
}
