// lowp block floating point quantize (SEMANTICS.md §6), two passes over the tensor. Compiled
// after common.cuh; a port of shaders/block.wgsl.
//
// 1. `block_max`: the largest finite magnitude of every block (binary32 magnitude patterns order
//    like their values, so an integer atomicMax finds it). Threads whose element lies in the
//    block of their thread block's first element reduce in shared memory first, so a tensor that
//    is one block (dim = -1) costs one global atomic per thread block.
// 2. `block_apply`: every element rounded with its block's shared exponent.
//
// Element j of a chunk lies in block `block_of(params.blocks, j)`, the chunk-local form of
// `(i / inner) % extent` for the flat index i (block.rs `block_layout`): elements before
// `until_next` lie in `first_block`, each later run of `inner` elements in the next block.

struct BlockLayout {
    u32 first_block;
    u32 until_next;
    u32 inner;
    u32 extent;
};

struct BlockParams {
    Dispatch dispatch;
    Quantizer quantizer;
    BlockLayout blocks;
};

__device__ __forceinline__ u32 block_of(BlockLayout l, u32 j) {
    if (l.extent <= 1u) {
        return 0u;
    }
    if (j < l.until_next) {
        return l.first_block;
    }
    const auto steps = ((j - l.until_next) / l.inner) % l.extent;
    auto next = l.first_block + 1u;
    if (next == l.extent) {
        next = 0u;
    }
    // (next + steps) % extent without overflowing u32.
    const auto sum = next + steps;
    if (sum >= l.extent || sum < next) {
        return sum - l.extent;
    }
    return sum;
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) block_max(const BlockParams params, const u32* __restrict__ source_values, u32* block_max_bits) {
    __shared__ u32 group_max;
    const vec3<u32> id = global_invocation_id();
    const vec3<u32> group = vec3<u32>(blockIdx.x, blockIdx.y, blockIdx.z);
    const u32 lane = threadIdx.x;
    const auto d = params.dispatch;
    const auto l = params.blocks;
    const auto j = local_index(id, d);
    // The block of the thread block's first element (always inside the chunk).
    const auto group_block = block_of(l, group.x * WORKGROUP_SIZE + group.y * d.row_width);
    auto magnitude = 0u;
    auto block = group_block;
    if (j < d.count) {
        magnitude = source_values[j] & MAGNITUDE_MASK;
        if (magnitude >= INF_BITS) {
            // NaN and Inf do not set the shared exponent.
            magnitude = 0u;
        }
        block = block_of(l, j);
    }
    if (lane == 0u) {
        group_max = 0u;
    }
    __syncthreads();
    if (magnitude != 0u) {
        if (block == group_block) {
            atomicMax(&group_max, magnitude);
        } else {
            atomicMax(&block_max_bits[block], magnitude);
        }
    }
    __syncthreads();
    if (lane == 0u) {
        const auto m = group_max;
        if (m != 0u) {
            atomicMax(&block_max_bits[group_block], m);
        }
    }
}

extern "C" __global__ void __launch_bounds__(WORKGROUP_SIZE) block_apply(const BlockParams params, const u32* __restrict__ source_values, const u32* __restrict__ block_max_bits, u32* __restrict__ result_values) {
    const vec3<u32> id = global_invocation_id();
    const auto d = params.dispatch;
    const auto j = local_index(id, d);
    if (j >= d.count) {
        return;
    }
    const auto q = params.quantizer;
    const auto max_magnitude = block_max_bits[block_of(params.blocks, j)];
    const auto word = quantizer_word(q, global_index(d, j));
    result_values[j] = block_quantize_element(q.block_wl, source_values[j], max_magnitude, q.mode, q.bits, word);
}
