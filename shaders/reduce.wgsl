// lowp reductions (ReduceOp::reduce_lane of lowp-formats ops.rs): one invocation per output
// element o = i * inner + j, reducing x[(i * len + k) * inner + j] for k = 0, 1, ..., len - 1 in
// that order, each step rounded by the quantizer (if any) with the random word of Philox counter
// (lo32(o), hi32(o), k, 2) word 0; Mean and Max round once more at step len. Prepended with
// common.wgsl and math.wgsl.
//
// A tensor larger than one storage binding is reduced in pieces (crates/lowp-wgpu/src/ops.rs):
// a piece covers `columns` consecutive outputs of each of some rows of the axes before the
// reduced one and steps first_step .. first_step + steps, with its source bound at a window; a
// piece that starts after step 0 continues the partial results the earlier pieces left in the
// output, so every output still sees its steps in ascending order.

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
    // Source distance between steps k and k + 1 (the product of the axes after the reduced one).
    inner: u32,
    // Outputs of the piece per row of the axes before the reduced one, and the source distance
    // between two rows.
    columns: u32,
    row_step: u32,
    // Source offset (in the bound window) of the piece's first output at its first step.
    source_base: u32,
    // The piece's steps, and the piece's index of this dispatch's first output.
    first_step: u32,
    steps: u32,
    local_base: u32,
    // Offset of this dispatch's first output in the bound result window.
    result_base: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
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
    let t = params.local_base + j;
    let first = params.source_base + (t / params.columns) * params.row_step + t % params.columns;
    let inner = params.inner;
    let last = params.first_step + params.steps == params.len;
    if (params.op == REDUCE_MAX) {
        var acc = SIGN | INF;
        if (params.first_step > 0u) {
            acc = result_values[params.result_base + j];
        }
        for (var k = 0u; k < params.steps; k++) {
            acc = max_min(acc, source_values[first + k * inner], true);
        }
        if (last) {
            acc = reduction_round(acc, o, params.len);
        }
        result_values[params.result_base + j] = acc;
        return;
    }
    var acc = 0u;
    if (params.first_step > 0u) {
        acc = result_values[params.result_base + j];
    }
    for (var k = 0u; k < params.steps; k++) {
        let step = params.first_step + k;
        acc = reduction_round(exact_add(acc, source_values[first + k * inner]), o, step);
    }
    if (params.op == REDUCE_MEAN && last) {
        acc = reduction_round(b(math_div(f(acc), f(params.len_bits))), o, params.len);
    }
    result_values[params.result_base + j] = acc;
}
