// lowp element-wise quantize (float, e4m3fn, P3109, fixed point, superfp): out[i] = Q(in[i]),
// element i drawing random word i (SEMANTICS.md §3). Prepended with common.wgsl.
//
// One invocation per Philox block of four elements over a 2-D grid of 1-D workgroups: elements
// 4b .. 4b + 3 draw the four words of block b in order, so stochastic rounding runs Philox once
// per four elements. Invocation g takes the chunk's elements of block (base >> 2) + g; a chunk
// may start and end inside a block. A tensor larger than one storage binding is quantized chunk
// by chunk, `params.dispatch` giving the chunk's size and first index.

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
    let g = local_index(id, d);
    if (block_past_chunk(d, g)) {
        return;
    }
    let q = params.quantizer;
    let words = quantizer_block_words(q, d, g);
    for (var k = 0u; k < 4u; k++) {
        let j = block_element(d, g, k);
        if (j < d.count) {
            result_values[j] = quantize_bits(q, source_values[j], word_of(words, k));
        }
    }
}
