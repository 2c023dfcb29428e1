// lowp block floating point quantize (SEMANTICS.md §6), two passes over the tensor. Prepended
// with common.wgsl.
//
// 1. `block_max`: the largest finite magnitude of every block (binary32 magnitude patterns order
//    like their values, so an integer atomicMax finds it). Invocations whose element lies in the
//    block of their workgroup's first element reduce in workgroup memory first, so a tensor that is
//    one block (dim = -1) costs one global atomic per workgroup.
// 2. `block_apply`: every element rounded with its block's shared exponent.
//
// Element j of a chunk lies in block `block_of(params.blocks, j)`, the chunk-local form of
// `(i / inner) % extent` for the flat index i (block.rs `block_layout`): elements before
// `until_next` lie in `first_block`, each later run of `inner` elements in the next block.

struct BlockLayout {
    first_block: u32,
    until_next: u32,
    inner: u32,
    extent: u32,
}

struct BlockParams {
    dispatch: Dispatch,
    quantizer: Quantizer,
    blocks: BlockLayout,
}

@group(0) @binding(0) var<uniform> params: BlockParams;
@group(0) @binding(1) var<storage, read> source_values: array<u32>;
@group(0) @binding(2) var<storage, read_write> block_max_bits: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> result_values: array<u32>;

var<workgroup> group_max: atomic<u32>;

fn block_of(l: BlockLayout, j: u32) -> u32 {
    if (l.extent <= 1u) {
        return 0u;
    }
    if (j < l.until_next) {
        return l.first_block;
    }
    let steps = ((j - l.until_next) / l.inner) % l.extent;
    var next = l.first_block + 1u;
    if (next == l.extent) {
        next = 0u;
    }
    // (next + steps) % extent without overflowing u32.
    let sum = next + steps;
    if (sum >= l.extent || sum < next) {
        return sum - l.extent;
    }
    return sum;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn block_max(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let d = params.dispatch;
    let l = params.blocks;
    let j = local_index(id, d);
    // The block of the workgroup's first element (always inside the chunk).
    let group_block = block_of(l, group.x * WORKGROUP_SIZE + group.y * d.row_width);
    var magnitude = 0u;
    var block = group_block;
    if (j < d.count) {
        magnitude = source_values[j] & MAGNITUDE_MASK;
        if (magnitude >= INF_BITS) {
            // NaN and Inf do not set the shared exponent.
            magnitude = 0u;
        }
        block = block_of(l, j);
    }
    if (lane == 0u) {
        atomicStore(&group_max, 0u);
    }
    workgroupBarrier();
    if (magnitude != 0u) {
        if (block == group_block) {
            atomicMax(&group_max, magnitude);
        } else {
            atomicMax(&block_max_bits[block], magnitude);
        }
    }
    workgroupBarrier();
    if (lane == 0u) {
        let m = atomicLoad(&group_max);
        if (m != 0u) {
            atomicMax(&block_max_bits[group_block], m);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn block_apply(@builtin(global_invocation_id) id: vec3<u32>) {
    let d = params.dispatch;
    let j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    let q = params.quantizer;
    let max_magnitude = atomicLoad(&block_max_bits[block_of(params.blocks, j)]);
    let word = quantizer_word(q, global_index(d, j));
    result_values[j] = block_quantize_element(q.block_wl, source_values[j], max_magnitude, q.mode, q.bits, word);
}
