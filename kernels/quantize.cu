// lowp element-wise quantize (float, e4m3fn, P3109, fixed point, superfp): out[i] = Q(in[i]),
// element i drawing random word i (SEMANTICS.md §3). Compiled after common.cuh; a port of
// shaders/quantize.wgsl.
//
// One thread per element over a grid of 1-D blocks; a large tensor is quantized chunk by chunk,
// `params.dispatch` giving the chunk's size and first index (the pointers start at the chunk).

struct QuantizeParams {
    Dispatch dispatch;
    Quantizer quantizer;
};

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) quantize(const QuantizeParams params, const u32* __restrict__ source_values, u32* __restrict__ result_values) {
    const vec3<u32> id = global_invocation_id();
    const auto d = params.dispatch;
    const auto j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    const auto q = params.quantizer;
    const auto word = quantizer_word(q, global_index(d, j));
    result_values[j] = quantize_bits(q, source_values[j], word);
}
