#!/usr/bin/env bash
# The CUDA backend's whole test suite without a GPU, on an emulated CUDA driver.
#
#   scripts/emulated-cuda.sh [cargo test arguments...]
#
# Builds crates/lowp-cuda/tests/fake_libcuda.cpp (the driver functions cudarc calls, with host
# memory; cuLaunchKernel runs the kernels of kernels/ compiled as host C++, thread blocks as
# std::threads at a barrier) into $CARGO_TARGET_DIR/emulated-cuda/libcuda.so, puts it first on
# LD_LIBRARY_PATH and runs, with LOWP_REQUIRE=cuda, every cross-backend test body on cuda
# (tests/backends.rs), every layer body (tests/layers.rs), training steps (tests/training.rs),
# the conformance vectors on cuda (tests/cuda_conformance.rs), the cuBLAS fast path
# (tests/cublas.rs, on crates/lowp-cuda/tests/fake_libcublas.cpp built into cublas/libcublas.so
# there: cudarc's first library name is libcublas.so) and the CLI's cuda tests. The
# backend itself is unchanged: cudarc, NVRTC (which must be installed: PLATFORM.md
# §2, LD_LIBRARY_PATH), the PTX (compiled, then ignored by the emulation) and every launch.
#
# The library is named libcuda.so only: cudarc finds that name, while NVRTC, which opens
# libcuda.so.1 itself when present, would call private driver entry points the emulation lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lowp-target}"
DIR="$CARGO_TARGET_DIR/emulated-cuda"
mkdir -p "$DIR"
${CXX:-c++} -std=c++20 -pthread -O2 -ffp-contract=off -shared -fPIC \
    -D__device__= -D__forceinline__=inline -D__constant__= -I kernels \
    -o "$DIR/libcuda.so" crates/lowp-cuda/tests/fake_libcuda.cpp
# libcublas in a folder of its own, so that tests/cublas.rs can hide it and keep the driver.
mkdir -p "$DIR/cublas"
${CXX:-c++} -std=c++20 -O2 -shared -fPIC -o "$DIR/cublas/libcublas.so" \
    crates/lowp-cuda/tests/fake_libcublas.cpp
export LD_LIBRARY_PATH="$DIR:$DIR/cublas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LOWP_REQUIRE=cuda
cargo test --features cuda --test backends --test cuda_conformance --test layers --test training cuda "$@"
cargo test --features cuda --test cublas "$@"
cargo test -p lowp-cli --features cuda --test backend_cli cuda "$@"
