// lowp element-wise quantize (float, e4m3fn, P3109, fixed point, superfp): out[i] = Q(in[i]),
// element i drawing random word i (SEMANTICS.md §3). Compiled after common.cuh; a port of
// shaders/quantize.wgsl.
//
// One thread per Philox block of four elements over a grid of 1-D blocks: elements 4b .. 4b + 3
// draw the four words of block b in order, so stochastic rounding runs Philox once per four
// elements. Thread g takes the chunk's elements of block (base >> 2) + g; a chunk may start and
// end inside a block. A large tensor is quantized chunk by chunk, `params.dispatch` giving the
// chunk's size and first index (the pointers start at the chunk). Where the four elements are
// whole and 16-byte aligned, CUDA moves them as one uint4 (WGSL reads them one by one).

struct QuantizeParams {
    Dispatch dispatch;
    Quantizer quantizer;
};

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) quantize(const QuantizeParams params, const u32* __restrict__ source_values, u32* __restrict__ result_values) {
    const vec3<u32> id = global_invocation_id();
    const auto d = params.dispatch;
    const auto g = local_index(id, d);
    // Elements of the first block before the chunk, then the block's first position.
    const auto lead = d.base_lo & 3u;
    const auto first = g * 4u;
    if (first >= lead + d.count) {
        return;
    }
    const auto q = params.quantizer;
    auto words = vec4<u32>(0u);
    if (q.mode == MODE_STOCHASTIC) {
        words = elementwise_block_words(q.seed_lo, q.seed_hi, chunk_block(d, g));
    }
    const auto aligned = ((reinterpret_cast<u64>(source_values) | reinterpret_cast<u64>(result_values)) & 15u) == 0u;
    if (lead == 0u && first + 4u <= d.count && aligned) {
        const auto x = reinterpret_cast<const uint4*>(source_values)[g];
        uint4 y;
        y.x = quantize_bits(q, x.x, words.x);
        y.y = quantize_bits(q, x.y, words.y);
        y.z = quantize_bits(q, x.z, words.z);
        y.w = quantize_bits(q, x.w, words.w);
        reinterpret_cast<uint4*>(result_values)[g] = y;
        return;
    }
    for (auto k = 0u; k < 4u; k++) {
        const auto position = first + k;
        if (position >= lead && position - lead < d.count) {
            const auto j = position - lead;
            result_values[j] = quantize_bits(q, source_values[j], word_of(words, k));
        }
    }
}
