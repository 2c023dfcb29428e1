// Test-only driver of tests/host_emulation.rs: runs the kernels of kernels/, compiled as host C++
// with the shims and the execution model of emulation.hpp, on inputs read from stdin.
//
// `host_emulation gemm` (or `gemm_nearest_grid`, `gemm_stochastic_grid`) runs that gemm kernel: stdin holds grid x, grid
// y, grid z, then GemmParams
// (104 u32), then A and B (the sizes follow from the shape); every block of the grid runs as
// 16 x 16 std::threads meeting at a barrier for __syncthreads, blocks one after another. C goes
// to stdout.
//
// `host_emulation block` runs the block kernels as the backend launches them: stdin holds the
// element count, the number of blocks and the number of chunks, then one BlockParams (36 u32) per
// chunk, then the values. block_max runs over every chunk (256 std::threads per thread block:
// shared memory, barrier, atomics), then block_apply over every chunk. The result goes to stdout.
//
// `host_emulation quantize` runs quantize.cu over one chunk: stdin holds the element count and
// the thread count, then QuantizeParams (32 u32), then the chunk's values.
// `host_emulation ops` runs one ops.cu kernel: stdin holds the kernel (0 unary, 1 binary,
// 2 select) and the element count, then OpsParams (36 u32), then the arrays a, b and c.
// `host_emulation reduce` runs reduce.cu: stdin holds the output count and the input length,
// then ReduceParams (40 u32), then the input. Their threads run one after another (these kernels
// do not synchronise). The result goes to stdout.
// `host_emulation movement` runs one movement.cu kernel (0 strided_copy, 1 scatter_add, 2 im2col,
// 3 col2im): stdin holds the kernel, the output count, the source, destination and table
// lengths, then MoveParams (8 u32), the source, the destination's initial values and the tables.
// The destination goes to stdout.
//
// Otherwise the driver evaluates functions on records read from stdin. A record is 32
// little-endian u32: tag, a, b, c, then a 112-byte Quantizer (params.rs). One u32 result per
// record goes to stdout.
//   tag 0: quantize_bits(q, a, word b)
//   tag 1: block_quantize_element(q.block_wl, a, block max b, q.mode, q.bits, word c)
//   tag 2: unary math op b on a: 0 sqrt, 1 exp, 2 log, 3 tanh, 4 erf
//   tag 3: binary op c on (a, b): 0 div, 1 pow, 2 exact_add, 3 exact_sub, 4 exact_mul, 5 max, 6 min
//   tag 4: math_fma(a, b, c)
//   tag 5: philox4x32_10((a, b, c, q word 0), key (q words 1, 2)), output word (q word 3) & 3
//   tag 6: float_bits_of_half(half_bits(a)) (convert.cu: a rounded to binary16 and back)
//   tag 7: float_bits_of_half(a) (a binary16 code)
//   tag 8: bfloat16_bits(a) << 16 (a rounded to bfloat16, as binary32 bits)
//   tag 9: gemm.cu's gemm_quantize<q.mode>(q, a, word b) (the grid kernels' quantizers; mode
//          nearest or stochastic)

#include "emulation.hpp"

static_assert(sizeof(Quantizer) == 112, "Quantizer layout");
static_assert(sizeof(GemmParams) == 3 * 112 + 80, "GemmParams layout");

// `kernel`: 0 gemm, 1 gemm_nearest_grid, 2 gemm_stochastic_grid.
static int run_gemm(int kernel) {
    u32 grid[3];
    GemmParams params;
    if (std::fread(grid, sizeof(u32), 3, stdin) != 3 || std::fread(&params, sizeof(GemmParams), 1, stdin) != 1) {
        return 1;
    }
    const GemmShape s = params.shape;
    const size_t batch = grid[2];
    std::vector<u32> a(batch * s.m * s.k), b(batch * s.k * s.n), c(batch * s.m * s.n, 0xFFFFFFFFu);
    if (std::fread(a.data(), sizeof(u32), a.size(), stdin) != a.size() || std::fread(b.data(), sizeof(u32), b.size(), stdin) != b.size()) {
        return 1;
    }
    run_kernel(Dim3Shim{grid[0], grid[1], grid[2]}, Dim3Shim{GEMM_TILE, GEMM_TILE, 1}, true,
               [&] {
                   if (kernel == 1) {
                       gemm_nearest_grid(params, a.data(), b.data(), c.data());
                   } else if (kernel == 2) {
                       gemm_stochastic_grid(params, a.data(), b.data(), c.data());
                   } else {
                       gemm(params, a.data(), b.data(), c.data());
                   }
               });
    std::fwrite(c.data(), sizeof(u32), c.size(), stdout);
    return 0;
}

static u32 math_unary(u32 op, u32 x) {
    switch (op) {
        case 0: return b(math_sqrt(f(x)));
        case 1: return b(math_exp(f(x)));
        case 2: return b(math_log(f(x)));
        case 3: return b(math_tanh(f(x)));
        default: return b(math_erf(f(x)));
    }
}

static u32 math_binary(u32 op, u32 x, u32 y) {
    switch (op) {
        case 0: return b(math_div(f(x), f(y)));
        case 1: return b(math_pow(f(x), f(y)));
        case 2: return exact_add(x, y);
        case 3: return exact_sub(x, y);
        case 4: return exact_mul(x, y);
        case 5: return max_min(x, y, true);
        default: return max_min(x, y, false);
    }
}

static_assert(sizeof(BlockParams) == 144, "BlockParams layout");

// Runs `body` over `blocks` 1-D thread blocks of WORKGROUP_SIZE threads (concurrent, at a barrier).
template <typename Body>
static void run_grid(u32 blocks, const Body& body) {
    run_kernel(Dim3Shim{blocks, 1, 1}, Dim3Shim{WORKGROUP_SIZE, 1, 1}, true, body);
}

static int run_block() {
    u32 header[3];
    if (std::fread(header, sizeof(u32), 3, stdin) != 3) {
        return 1;
    }
    std::vector<BlockParams> chunks(header[2]);
    std::vector<u32> source(header[0]), maxima(header[1], 0u), result(header[0], 0xFFFFFFFFu);
    if (std::fread(chunks.data(), sizeof(BlockParams), chunks.size(), stdin) != chunks.size() ||
        std::fread(source.data(), sizeof(u32), source.size(), stdin) != source.size()) {
        return 1;
    }
    for (const auto& params : chunks) {
        const u32 start = params.dispatch.base_lo;
        const u32 blocks = (params.dispatch.count + WORKGROUP_SIZE - 1) / WORKGROUP_SIZE;
        run_grid(blocks, [&] { block_max(params, source.data() + start, maxima.data()); });
    }
    for (const auto& params : chunks) {
        const u32 start = params.dispatch.base_lo;
        const u32 blocks = (params.dispatch.count + WORKGROUP_SIZE - 1) / WORKGROUP_SIZE;
        run_grid(blocks, [&] { block_apply(params, source.data() + start, maxima.data(), result.data() + start); });
    }
    std::fwrite(result.data(), sizeof(u32), result.size(), stdout);
    return 0;
}

static_assert(sizeof(OpsParams) == 144, "OpsParams layout");
static_assert(sizeof(QuantizeParams) == 128, "QuantizeParams layout");
static_assert(sizeof(ReduceParams) == 192, "ReduceParams layout");

// Runs `body` as `threads` threads in 1-D blocks of WORKGROUP_SIZE, one after another (for
// kernels without __syncthreads).
template <typename Body>
static void run_sequential(u32 threads, const Body& body) {
    run_kernel(Dim3Shim{(threads + WORKGROUP_SIZE - 1) / WORKGROUP_SIZE, 1, 1}, Dim3Shim{WORKGROUP_SIZE, 1, 1}, false, body);
}

static int run_quantize() {
    u32 header[2];
    QuantizeParams params;
    if (std::fread(header, sizeof(u32), 2, stdin) != 2 || std::fread(&params, sizeof(QuantizeParams), 1, stdin) != 1) {
        return 1;
    }
    const auto count = header[0];
    // A non-NaN sentinel, so that an element no thread writes shows up as a difference.
    std::vector<u32> source(count), result(count, 0x12345678u);
    if (std::fread(source.data(), sizeof(u32), count, stdin) != count) {
        return 1;
    }
    run_sequential(header[1], [&] { quantize(params, source.data(), result.data()); });
    std::fwrite(result.data(), sizeof(u32), result.size(), stdout);
    return 0;
}

static int run_ops() {
    u32 header[2];
    OpsParams params;
    if (std::fread(header, sizeof(u32), 2, stdin) != 2 || std::fread(&params, sizeof(OpsParams), 1, stdin) != 1) {
        return 1;
    }
    const u32 count = header[1];
    std::vector<u32> a(count), b(count), c(count), result(count, 0xFFFFFFFFu);
    for (auto* input : {&a, &b, &c}) {
        if (std::fread(input->data(), sizeof(u32), count, stdin) != count) {
            return 1;
        }
    }
    run_sequential(count, [&] {
        switch (header[0]) {
            case 0: unary(params, a.data(), b.data(), c.data(), result.data()); break;
            case 1: binary(params, a.data(), b.data(), c.data(), result.data()); break;
            default: select_values(params, a.data(), b.data(), c.data(), result.data());
        }
    });
    std::fwrite(result.data(), sizeof(u32), result.size(), stdout);
    return 0;
}

static int run_reduce() {
    u32 header[2];
    ReduceParams params;
    if (std::fread(header, sizeof(u32), 2, stdin) != 2 || std::fread(&params, sizeof(ReduceParams), 1, stdin) != 1) {
        return 1;
    }
    std::vector<u32> source(header[1]), result(header[0], 0xFFFFFFFFu);
    if (std::fread(source.data(), sizeof(u32), source.size(), stdin) != source.size()) {
        return 1;
    }
    run_sequential(header[0], [&] { reduce(params, source.data(), result.data()); });
    std::fwrite(result.data(), sizeof(u32), result.size(), stdout);
    return 0;
}

static_assert(sizeof(MoveParams) == 32, "MoveParams layout");

static int run_movement() {
    u32 header[5];
    MoveParams params;
    if (std::fread(header, sizeof(u32), 5, stdin) != 5 || std::fread(&params, sizeof(MoveParams), 1, stdin) != 1) {
        return 1;
    }
    const u32 count = header[1];
    std::vector<u32> src(header[2]), dst(header[3]), tables(header[4]);
    for (auto* input : {&src, &dst, &tables}) {
        if (std::fread(input->data(), sizeof(u32), input->size(), stdin) != input->size()) {
            return 1;
        }
    }
    params.count = count;
    params.row_width = (count + WORKGROUP_SIZE - 1) / WORKGROUP_SIZE * WORKGROUP_SIZE;
    params.base = 0;
    run_sequential(count, [&] {
        switch (header[0]) {
            case 0: movement_module::strided_copy(params, src.data(), dst.data(), tables.data()); break;
            case 1: movement_module::scatter_add(params, src.data(), dst.data(), tables.data()); break;
            case 2: movement_module::im2col(params, src.data(), dst.data(), tables.data()); break;
            default: movement_module::col2im(params, src.data(), dst.data(), tables.data());
        }
    });
    std::fwrite(dst.data(), sizeof(u32), dst.size(), stdout);
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "movement") == 0) {
        return run_movement();
    }
    if (argc > 1 && std::strcmp(argv[1], "quantize") == 0) {
        return run_quantize();
    }
    if (argc > 1 && std::strcmp(argv[1], "ops") == 0) {
        return run_ops();
    }
    if (argc > 1 && std::strcmp(argv[1], "reduce") == 0) {
        return run_reduce();
    }
    if (argc > 1 && std::strcmp(argv[1], "gemm") == 0) {
        return run_gemm(0);
    }
    if (argc > 1 && std::strcmp(argv[1], "gemm_nearest_grid") == 0) {
        return run_gemm(1);
    }
    if (argc > 1 && std::strcmp(argv[1], "gemm_stochastic_grid") == 0) {
        return run_gemm(2);
    }
    if (argc > 1 && std::strcmp(argv[1], "block") == 0) {
        return run_block();
    }
    u32 record[32];
    while (std::fread(record, sizeof(u32), 32, stdin) == 32) {
        Quantizer q;
        std::memcpy(&q, record + 4, sizeof(Quantizer));
        const u32 tag = record[0], a = record[1], b_ = record[2], c = record[3];
        u32 out = 0;
        switch (tag) {
            case 0: out = quantize_bits(q, a, b_); break;
            case 1: out = block_quantize_element(q.block_wl, a, b_, q.mode, q.bits, c); break;
            case 2: out = math_unary(b_, a); break;
            case 3: out = math_binary(c, a, b_); break;
            case 4: out = b(math_fma(f(a), f(b_), f(c))); break;
            case 6: out = float_bits_of_half(half_bits(a)); break;
            case 7: out = float_bits_of_half(a); break;
            case 8: out = bfloat16_bits(a) << 16u; break;
            case 9:
                out = q.mode == MODE_NEAREST ? gemm_quantize<MODE_NEAREST>(q, a, b_) : gemm_quantize<MODE_STOCHASTIC>(q, a, b_);
                break;
            default: {
                const vec4<u32> words = philox4x32_10(vec4<u32>(a, b_, c, record[4]), vec2<u32>(record[5], record[6]));
                const u32 which = record[7] & 3u;
                out = which == 0 ? words.x : which == 1 ? words.y : which == 2 ? words.z : words.w;
            }
        }
        std::fwrite(&out, sizeof(u32), 1, stdout);
    }
    return 0;
}
