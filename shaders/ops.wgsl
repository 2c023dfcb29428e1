// lowp element-wise operations (UnaryOp / BinaryOp::apply of lowp-formats ops.rs) and select,
// then the output quantizer with element i drawing word i (as quantize.wgsl). Prepended with
// common.wgsl and math.wgsl. Block-format quantizers are applied afterwards by the block
// pipelines (`apply_quantizer` = 0 here). The scalar helpers (exact_add, max_min ...) are in
// math.wgsl.
//
// One layout for the three entry points: unary binds x to a, b and c; binary binds x to a and b,
// y to c; select binds condition, x, y to a, b, c. All inputs are read-only, so aliasing is allowed.

struct OpsParams {
    dispatch: Dispatch,
    quantizer: Quantizer,
    op: u32,
    apply_quantizer: u32,
    // Always 0: the operand of the contraction barrier (math_opaque).
    opaque: u32,
    pad0: u32,
}

@group(0) @binding(0) var<uniform> params: OpsParams;
@group(0) @binding(1) var<storage, read> a_values: array<u32>;
@group(0) @binding(2) var<storage, read> b_values: array<u32>;
@group(0) @binding(3) var<storage, read> c_values: array<u32>;
@group(0) @binding(4) var<storage, read_write> result_values: array<u32>;

const OP_NEG: u32 = 0u;
const OP_ABS: u32 = 1u;
const OP_SQRT: u32 = 2u;
const OP_EXP: u32 = 3u;
const OP_LOG: u32 = 4u;
const OP_TANH: u32 = 5u;
const OP_ERF: u32 = 6u;

const OP_ADD: u32 = 0u;
const OP_SUB: u32 = 1u;
const OP_MUL: u32 = 2u;
const OP_DIV: u32 = 3u;
const OP_POW: u32 = 4u;
const OP_MAX: u32 = 5u;
const OP_MIN: u32 = 6u;
const OP_GREATER: u32 = 7u;
const OP_GREATER_EQUAL: u32 = 8u;
const OP_LESS: u32 = 9u;
const OP_LESS_EQUAL: u32 = 10u;
const OP_EQUAL: u32 = 11u;

fn unary_op(op: u32, x: u32) -> u32 {
    switch op {
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

fn indicator(condition: bool) -> u32 {
    return select(0u, 0x3F800000u, condition);
}

fn binary_op(op: u32, x: u32, y: u32) -> u32 {
    switch op {
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
fn finish(j: u32, value: u32) -> u32 {
    if (params.apply_quantizer == 0u) {
        return value;
    }
    let q = params.quantizer;
    let word = quantizer_word(q, global_index(params.dispatch, j));
    return quantize_bits(q, value, word);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn unary(@builtin(global_invocation_id) id: vec3<u32>) {
    math_opaque = params.opaque;
    let d = params.dispatch;
    let j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    result_values[j] = finish(j, unary_op(params.op, a_values[j]));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn binary(@builtin(global_invocation_id) id: vec3<u32>) {
    math_opaque = params.opaque;
    let d = params.dispatch;
    let j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    result_values[j] = finish(j, binary_op(params.op, b_values[j], c_values[j]));
}

// select(condition, x, y): x where condition != 0.0 (either zero is false, NaN is true), else y.
@compute @workgroup_size(WORKGROUP_SIZE)
fn select_values(@builtin(global_invocation_id) id: vec3<u32>) {
    let d = params.dispatch;
    let j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    let condition = (a_values[j] & ABS) != 0u;
    result_values[j] = select(c_values[j], b_values[j], condition);
}
