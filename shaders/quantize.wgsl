// lowp element-wise quantize (float, e4m3fn, P3109, fixed point, superfp): out[i] = Q(in[i]),
// element i drawing random word i (SEMANTICS.md §3). Prepended with common.wgsl.
//
// One invocation per element over a 2-D grid of 1-D workgroups; a tensor larger than one storage
// binding is quantized chunk by chunk, `params.dispatch` giving the chunk's size and first index.

struct QuantizeParams {
    dispatch: Dispatch,
    quantizer: Quantizer,
}

@group(0) @binding(0) var<uniform> params: QuantizeParams;
@group(0) @binding(1) var<storage, read> source_values: array<u32>;
@group(0) @binding(2) var<storage, read_write> result_values: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn quantize(@builtin(global_invocation_id) id: vec3<u32>) {
    let d = params.dispatch;
    let j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    let q = params.quantizer;
    let word = quantizer_word(q, global_index(d, j));
    result_values[j] = quantize_bits(q, source_values[j], word);
}
