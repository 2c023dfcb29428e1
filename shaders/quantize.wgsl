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
    // Elements of the first block before the chunk, then the block's first position.
    let lead = d.base_lo & 3u;
    let first = g * 4u;
    if (first >= lead + d.count) {
        return;
    }
    let q = params.quantizer;
    var words = vec4<u32>(0u);
    if (q.mode == MODE_STOCHASTIC) {
        words = elementwise_block_words(q.seed_lo, q.seed_hi, chunk_block(d, g));
    }
    for (var k = 0u; k < 4u; k++) {
        let position = first + k;
        if (position >= lead && position - lead < d.count) {
            let j = position - lead;
            result_values[j] = quantize_bits(q, source_values[j], word_of(words, k));
        }
    }
}
