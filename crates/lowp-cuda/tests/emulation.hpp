// Test-only: the CUDA kernels of kernels/ compiled as host C++, and an emulation of CUDA's
// execution model to run them. Shared by host_emulation.cpp (the driver of
// tests/host_emulation.rs) and fake_libcuda.cpp (an emulated CUDA driver library for
// tests/emulated_device.rs). Compile with -std=c++20 -pthread -ffp-contract=off
// -D__device__= -D__forceinline__=inline -D__constant__= -I kernels.
//
// The shims stand in for CUDA's intrinsics (x86-64 SSE binary32 arithmetic is IEEE with
// subnormals, like CUDA's __fadd_rn & co. under --ftz=false); a thread block runs as
// std::threads meeting at a std::barrier for __syncthreads, or one thread after another for
// kernels that never synchronise.

#pragma once

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

using std::max;
using std::min;

struct Dim3Shim {
    unsigned x, y, z;
};
static thread_local Dim3Shim blockIdx, blockDim, threadIdx;
static std::barrier<>* block_barrier = nullptr;
static inline void __syncthreads() {
    block_barrier->arrive_and_wait();
}
#define __global__
#define __launch_bounds__(...)
#define __shared__ static
// Inlining is the device compiler's concern only.
#define __noinline__
// CUDA's built-in 16-byte vector of four unsigned ints.
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};
// atomicMax on 32-bit words shared by the emulated threads.
static inline unsigned atomicMax(unsigned* address, unsigned value) {
    std::atomic_ref<unsigned> word(*address);
    unsigned old = word.load();
    while (old < value && !word.compare_exchange_weak(old, value)) {
    }
    return old;
}
static inline int __clz(int x) {
    return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x));
}
static inline unsigned __umulhi(unsigned a, unsigned b) {
    return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
static inline float __uint_as_float(unsigned x) {
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}
static inline unsigned __float_as_uint(float x) {
    unsigned u;
    std::memcpy(&u, &x, 4);
    return u;
}
// Built with -ffp-contract=off on x86-64 (SSE): plain IEEE binary32 operations.
static inline float __fadd_rn(float a, float b) {
    return a + b;
}
static inline float __fsub_rn(float a, float b) {
    return a - b;
}
static inline float __fmul_rn(float a, float b) {
    return a * b;
}
// glibc's fmaf is correctly rounded.
static inline float __fmaf_rn(float a, float b, float c) {
    return std::fmaf(a, b, c);
}

#include "common.cuh"
#include "math.cuh"
#include "gemm.cu"
#include "block.cu"
#include "quantize.cu"
#include "convert.cu"
// ops.cu and reduce.cu compile together with math.cuh (included above).
#include "ops.cu"
#include "reduce.cu"
// movement.cu is its own module on the device (without math.cuh, whose is_nan it repeats).
namespace movement_module {
#include "movement.cu"
}
using movement_module::MoveParams;

// Runs `body` as every thread of a grid of `grid` blocks of `block` threads, blocks one after
// another. With `synchronising`, the threads of a block run concurrently and meet at a barrier
// for __syncthreads (and __shared__ variables, static here, serve one block at a time);
// otherwise they run one after another on the calling thread.
template <typename Body>
static void run_kernel(Dim3Shim grid, Dim3Shim block, bool synchronising, const Body& body) {
    const unsigned threads = block.x * block.y * block.z;
    for (unsigned z = 0; z < grid.z; z++) {
        for (unsigned y = 0; y < grid.y; y++) {
            for (unsigned x = 0; x < grid.x; x++) {
                const Dim3Shim group{x, y, z};
                auto thread_body = [&, group](unsigned t) {
                    blockIdx = group;
                    blockDim = block;
                    threadIdx = Dim3Shim{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                    body();
                };
                if (!synchronising) {
                    for (unsigned t = 0; t < threads; t++) {
                        thread_body(t);
                    }
                    continue;
                }
                std::barrier<> barrier(threads);
                block_barrier = &barrier;
                std::vector<std::thread> workers;
                for (unsigned t = 0; t < threads; t++) {
                    workers.emplace_back(thread_body, t);
                }
                for (auto& worker : workers) {
                    worker.join();
                }
            }
        }
    }
}

