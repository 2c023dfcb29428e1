#!/usr/bin/env bash
# lowp GPU check: the CUDA and wgpu backends on a real NVIDIA GPU, bit for bit against the CPU.
#
#   scripts/gpu-check.sh prepare     # here, on the build machine (no GPU needed)
#   scripts/gpu-check.sh [OUTDIR]    # on the GPU machine; OUTDIR defaults to $OUT
#
# What it runs (logs and JSON go to OUTDIR; every step runs, the exit status is 1 if any failed):
#   1. the whole conformance suite on cuda and on wgpu (`lowp --backend B conformance`), and the
#      CUDA conformance test (tests/cuda_conformance.rs), with LOWP_REQUIRE=cuda,wgpu;
#   2. the primitive tests of tests/backends.rs, the layer bodies of tests/layers.rs and the training
#      steps of tests/training.rs (every body on cpu, wgpu and cuda, LOWP_REQUIRE), and three
#      epochs of `lowp --backend cuda train`;
#   3. `lowp bench --backend cuda --json` (quantize on 16M elements, two `add` rows: x + x rounded
#      to e4m3, nearest and stochastic, a device-to-device `copy` row giving the memory
#      bandwidth, qgemm 256³ to 1024³ in every bench configuration and 4096³ e4m3-mul/fp16-add
#      separate) and `lowp bench --backend wgpu --json` (small sizes);
#   4. the cuBLAS fast path (not bit-exact, docs/api.md): its tests (tests/cublas.rs, with
#      LOWP_REQUIRE=cuda, so libcublas must load), three epochs of `lowp --backend cuda --cublas
#      train --mac 'fma(fp16)'` (fused fp16 layers: their GEMMs take cuBLAS) and `lowp --backend cuda --cublas bench --json
#      --ops qgemm --gemm-sizes 4096`: per cuBLAS route (fp32, fp32 with fast mode tf32/bf16/f16,
#      fp16/fp32, fp16/fp16, bf16/fp32) a `qgemm_cublas` row (lowp's qgemm through the fast path,
#      conversions included) and a `cublas_native` row (the bare cuBLAS call), at 4096³.
# It is sized to finish in well under 8 minutes on an H100.
#
# The GPU machine has no Rust toolchain and no network, so the binaries are built here, in
# release with `--features cuda,wgpu`, and travel in the repo-ignored folder `.gpu-bin`:
#
#   1. here, once per change:   scripts/gpu-check.sh prepare
#        builds `lowp` and the test binaries `backends`, `cuda_conformance`, `layers`,
#        `training` and `cublas` into .gpu-bin/
#        (stripped and gzipped, unpacked to /tmp there; CARGO_TARGET_DIR as in .ci/run), adds /.gpu-bin/, /.gl/, /.nvrtc/ and /.whl/
#        to git's info/exclude, and
#        downloads the Vulkan/EGL loader packages into .gl/ (the device README's "Headless
#        rendering" recipe; wgpu needs libvulkan1 there);
#   2. from the session, the device tool:
#        run(command="bash scripts/gpu-check.sh", carry=[".gpu-bin", ".gl"], timeout_s=540)
#      and read OUTDIR's files (summary.txt first).
# Where `cargo` is on PATH and .gpu-bin/ is absent, the script builds in place instead.
#
# NVRTC on the GPU machine: the driver (580, CUDA 13.0) provides libcuda; libnvrtc.so.13 comes
# from the first of: the loader's cache (ldconfig), /usr/local/cuda*/lib64, a Python wheel
# installed there (site-packages/nvidia/cu13/lib), the carried folder `.nvrtc/` (made here by
#   python3 -m pip install --target .nvrtc nvidia-cuda-nvrtc==13.0.88
# ) or a carried wheel in `.whl/` (nvidia_cuda_nvrtc-13.0.88-*.whl, unpacked to /tmp). Both
# carried forms are large (the wheel is 58 MB), so carry them only when the image lacks NVRTC,
# and mind the device tool's 64 MiB limit on what travels.
#
# cuBLAS on the GPU machine: libcublas.so.13 (with libcublasLt.so.13 beside it) is searched like
# NVRTC: the loader's cache, /usr/local/cuda*/lib64, the Python package nvidia-cublas
# (site-packages/nvidia/cu13/lib; the device image has it, with PyTorch cu130, and CUDA's
# toolkit), or a carried `.cublas/` made here by
#   python3 -m pip install --target .cublas nvidia-cublas==13.0.2.14
# (CUDA 13.0 update 2, like NVRTC 13.0.88). That wheel is far larger than the 64 MiB a call can
# carry, so `prepare` does not fetch it: the image's own copy is the way. Without libcublas only
# the cuBLAS steps fail, with a message saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/.gpu-bin"

exclude() {
    local pattern file
    file=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$file")"
    for pattern in /.gpu-bin/ /.gl/ /.nvrtc/ /.whl/ /.cublas/; do
        grep -qxF "$pattern" "$file" 2>/dev/null || echo "$pattern" >>"$file"
    done
}

build_binaries() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lowp-target}"
    cargo build --release -p lowp-cli --features lowp-cli/cuda,lowp-cli/wgpu
    cargo test --release --no-run --features cuda,wgpu --test backends --test cuda_conformance \
        --test layers --test training --test cublas --message-format=json \
        >"$CARGO_TARGET_DIR/gpu-check-tests.json"
    mkdir -p "$BIN"
    cp "$CARGO_TARGET_DIR/release/lowp" "$BIN/lowp"
    python3 - "$CARGO_TARGET_DIR/gpu-check-tests.json" "$BIN" <<'EOF'
import json, shutil, sys
for line in open(sys.argv[1]):
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable"):
        name = message["target"]["name"]
        if name in ("backends", "cuda_conformance", "layers", "training", "cublas"):
            shutil.copy(message["executable"], f"{sys.argv[2]}/{name}")
EOF
    strip "$BIN"/* 2>/dev/null || true
    ls -l "$BIN"
}

if [ "${1:-}" = prepare ]; then
    exclude
    build_binaries
    # gzip: with the working tree they must fit the device tool's 64 MiB (about 3x smaller).
    rm -f "$BIN"/*.gz
    gzip -9 "$BIN"/*
    if [ ! -d .gl ] || ! ls .gl/*.deb >/dev/null 2>&1; then
        mkdir -p .gl /tmp/amd64/partial
        o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        apt-get $o update -qq
        # shellcheck disable=SC2086
        (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    fi
    du -sh .gpu-bin .gl
    echo "prepared: run scripts/gpu-check.sh on the GPU machine with carry [\".gpu-bin\", \".gl\"]"
    exit 0
fi

OUTDIR="${1:-${OUT:-}}"
if [ -z "$OUTDIR" ]; then
    echo "usage: scripts/gpu-check.sh [OUTDIR] (or set OUT), or scripts/gpu-check.sh prepare" >&2
    exit 2
fi
mkdir -p "$OUTDIR"
SUMMARY="$OUTDIR/summary.txt"
: >"$SUMMARY"
START=$SECONDS
note() {
    echo "$*" | tee -a "$SUMMARY"
}

# ---- environment: Vulkan loader, NVRTC ----------------------------------------------------------
if ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}"

# The folder of CUDA library $1 (e.g. libnvrtc.so.13): "(ldconfig)" when the loader's cache
# lists it, else CUDA's folders, the Python package's nvidia/cu13/lib, the carried folder $2;
# empty when none has it.
find_cuda_library() {
    local name=$1 carried=$2 dir
    if ldconfig -p 2>/dev/null | grep -qF "$name"; then
        echo "(ldconfig)"
        return
    fi
    for dir in /usr/local/cuda/lib64 /usr/local/cuda-13*/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
        [ -e "$dir/$name" ] && echo "$dir" && return
    done
    dir=$(python3 -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13", "lib"))' 2>/dev/null || true)
    [ -n "$dir" ] && [ -e "$dir/$name" ] && echo "$dir" && return
    [ -e "$ROOT/$carried/nvidia/cu13/lib/$name" ] && echo "$ROOT/$carried/nvidia/cu13/lib" && return
    echo ""
}
# NVRTC: as above, or a carried wheel in .whl/ (unpacked to /tmp).
find_nvrtc() {
    local dir
    dir=$(find_cuda_library libnvrtc.so.13 .nvrtc)
    if [ -z "$dir" ] && ls "$ROOT"/.whl/nvidia_cuda_nvrtc-*.whl >/dev/null 2>&1; then
        python3 -m zipfile -e "$(ls "$ROOT"/.whl/nvidia_cuda_nvrtc-*.whl | head -1)" /tmp/lowp-nvrtc
        dir=/tmp/lowp-nvrtc/nvidia/cu13/lib
    fi
    echo "$dir"
}
# libcuda: the driver's folder when the loader's cache does not list it.
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
    for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
        if [ -e "$dir/libcuda.so.1" ]; then
            export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
            break
        fi
    done
fi
NVRTC_DIR=$(find_nvrtc)
if [ -z "$NVRTC_DIR" ]; then
    note "FAIL: no libnvrtc.so.13 found (see the header of this script)"
    exit 1
fi
if [ "$NVRTC_DIR" != "(ldconfig)" ]; then
    export LD_LIBRARY_PATH="$NVRTC_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
note "NVRTC: $NVRTC_DIR"
# libcublas for the cuBLAS fast path (see the header): the loader's cache, CUDA's folders, the
# Python package, or a carried .cublas/.
CUBLAS_DIR=$(find_cuda_library libcublas.so.13 .cublas)
if [ -z "$CUBLAS_DIR" ]; then
    note "no libcublas.so.13 found: the cuBLAS steps will fail (see the header of this script)"
elif [ "$CUBLAS_DIR" != "(ldconfig)" ]; then
    export LD_LIBRARY_PATH="$CUBLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
note "cuBLAS: ${CUBLAS_DIR:-none}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$SUMMARY" || true
# The carried binaries were linked on Debian 12 and need glibc 2.35 or newer.
note "$(ldd --version 2>&1 | head -n 1)"

# ---- binaries ------------------------------------------------------------------------------------
if [ -e "$BIN/lowp.gz" ]; then
    UNPACKED=$(mktemp -d)
    for f in "$BIN"/*.gz; do
        gunzip -c "$f" >"$UNPACKED/$(basename "$f" .gz)"
    done
    chmod +x "$UNPACKED"/*
    BIN=$UNPACKED
fi
if [ ! -x "$BIN/lowp" ]; then
    if command -v cargo >/dev/null; then
        build_binaries 2>&1 | tee "$OUTDIR/build.log"
    else
        note "FAIL: no .gpu-bin/ (run scripts/gpu-check.sh prepare first and carry .gpu-bin) and no cargo"
        exit 1
    fi
fi

export LOWP_REQUIRE=cuda,wgpu
status=0
step() {
    local name=$1 log="$OUTDIR/$1.log"
    shift
    local start=$SECONDS
    if "$@" >"$log" 2>&1; then
        note "ok    $name ($((SECONDS - start)) s)"
    else
        note "FAIL  $name ($((SECONDS - start)) s): see $name.log"
        tail -n 30 "$log" | tee -a "$SUMMARY"
        status=1
    fi
}

MANIFEST="$ROOT/tests/conformance/manifest.json"
step conformance-cuda "$BIN/lowp" --backend cuda conformance --manifest "$MANIFEST"
step conformance-wgpu "$BIN/lowp" --backend wgpu conformance --manifest "$MANIFEST"
step cuda-conformance-test env LOWP_CONFORMANCE_MANIFEST="$MANIFEST" "$BIN/cuda_conformance" --nocapture
step primitives "$BIN/backends" --test-threads 4
step layers "$BIN/layers" --test-threads 4
step training "$BIN/training"
step train-cuda sh -c "\"$BIN/lowp\" --backend cuda train --quiet --epochs 3 --out \"$OUTDIR/train-cuda\""
step bench-cuda sh -c "\"$BIN/lowp\" --backend cuda bench --json --n 16777216 --gemm-sizes 256,512,1024,4096 >\"$OUTDIR/bench-cuda.json\""
step cublas-test "$BIN/cublas" --nocapture
step train-cublas sh -c "\"$BIN/lowp\" --backend cuda --cublas train --quiet --epochs 3 --mac 'fma(fp16)' --out \"$OUTDIR/train-cublas\""
step bench-cublas sh -c "\"$BIN/lowp\" --backend cuda --cublas bench --json --ops qgemm --gemm-sizes 4096 >\"$OUTDIR/bench-cublas.json\""
step bench-wgpu sh -c "\"$BIN/lowp\" --backend wgpu bench --json --n 4194304 --gemm-sizes 256,512 >\"$OUTDIR/bench-wgpu.json\""
if [ -s "$OUTDIR/bench-cuda.json" ]; then
    python3 - "$OUTDIR/bench-cuda.json" <<'EOF' | tee -a "$SUMMARY"
import json, sys
rows = json.load(open(sys.argv[1]))
copy = [row["ns_per_element"] for row in rows if row["op"] == "copy"]
for row in rows:
    if row["op"] == "copy":
        print(f"cuda copy: {row['ns_per_element']:.4f} ns/element = {8 / row['ns_per_element']:.0f} GB/s (read + write)")
    elif row["op"] == "quantize":
        # 4 bytes read and 4 written per element, as the copy.
        share = f", {100 * copy[0] / row['ns_per_element']:.0f}% of the copy's bandwidth" if copy else ""
        print(f"cuda quantize {row['format']:>18} {row['rounding']:>12}: {row['ns_per_element']:.4f} ns/element = {8 / row['ns_per_element']:.0f} GB/s{share}")
    elif row["op"] == "add":
        print(f"cuda add (x + x) to {row['format']} {row['rounding']:>12}: {row['ns_per_element']:.4f} ns/element")
    else:
        print(f"cuda qgemm {row['m']}^3 {row['mul']}/{row['add']} {row['mode']}: {row['ns_per_mac'] * 1e3:.3f} ps/MAC")
EOF
fi
if [ -s "$OUTDIR/bench-cublas.json" ]; then
    python3 - "$OUTDIR/bench-cublas.json" <<'EOF' | tee -a "$SUMMARY"
import json, sys
rows = json.load(open(sys.argv[1]))
key = lambda r: (r["mul"], r["add"], r["mode"], r["m"])
native = {key(r): r for r in rows if r["op"] == "cublas_native"}
tflops = lambda r: 2e-3 / r["ns_per_mac"]
for row in rows:
    if row["op"] == "qgemm_cublas":
        base = native[key(row)]
        print(f"cuda cuBLAS {row['m']}^3 {row['mul']}/{row['add']} {row['mode']:>13}: fast path {row['ns_per_mac'] * 1e3:.3f} ps/MAC ({tflops(row):.0f} TFLOP/s), native {base['ns_per_mac'] * 1e3:.3f} ps/MAC ({tflops(base):.0f} TFLOP/s), fast path / native time {row['ns_per_mac'] / base['ns_per_mac']:.2f}")
EOF
fi
note "total $((SECONDS - START)) s; status $status"
exit $status
