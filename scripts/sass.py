#!/usr/bin/env python3
"""The machine code (SASS) of one kernel family, without a GPU.

    scripts/sass.py FAMILY [--arch 90] [--out FILE]

FAMILY is a file of kernels/ without its extension (quantize, block, gemm, ops, reduce, movement,
convert). The module is built as the backend builds it (crates/lowp-cuda/src/kernels.rs:
common.cuh, then math.cuh for ops and reduce, then the family's file), compiled by NVRTC with the
backend's options to a cubin for sm_ARCH, with ptxas's resource report (registers, stack frame,
spills), and disassembled by nvdisasm. The report goes to stderr, the SASS to --out (default
stdout). For reading what the device compiler makes of a kernel: instruction counts on a path,
local-memory traffic, unrolling; it measures nothing.

Needs libnvrtc 13.0 (PLATFORM.md: `pip install --target ~/.cache/nvrtc-13.0
nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-runtime==13.0.96`, the folder .ci/run uses; NVRTC_DIR
overrides it) and nvdisasm (`pip install --target ~/.cache/nvdisasm nvidia-cuda-nvdisasm==13.2.86`,
the oldest on PyPI, which reads sm_90 cubins; NVDISASM overrides the path).
"""

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# kernels.rs: Family::needs_math and NVRTC_OPTIONS.
NEEDS_MATH = {"ops", "reduce"}
NVRTC_OPTIONS = ["--fmad=false", "--ftz=false", "--prec-div=true", "--prec-sqrt=true", "--std=c++17"]


def module_source(family):
    parts = [(ROOT / "kernels" / "common.cuh").read_text()]
    if family in NEEDS_MATH:
        parts.append((ROOT / "kernels" / "math.cuh").read_text())
    parts.append((ROOT / "kernels" / f"{family}.cu").read_text())
    return "\n".join(parts)


def load_nvrtc():
    folder = Path(os.environ.get("NVRTC_DIR", Path.home() / ".cache" / "nvrtc-13.0")) / "nvidia" / "cu13" / "lib"
    # libnvrtc opens libnvrtc-builtins from the loader's path: load it first from the same folder.
    ctypes.CDLL(str(folder / "libnvrtc-builtins.so.13.0"), mode=ctypes.RTLD_GLOBAL)
    return ctypes.CDLL(str(folder / "libnvrtc.so.13"))


def compile_cubin(family, arch):
    nvrtc = load_nvrtc()
    program = ctypes.c_void_p()
    source = module_source(family).encode()
    if nvrtc.nvrtcCreateProgram(ctypes.byref(program), source, f"{family}.cu".encode(), 0, None, None):
        sys.exit("nvrtcCreateProgram failed")
    options = [o.encode() for o in NVRTC_OPTIONS + [f"--gpu-architecture=sm_{arch}", "--ptxas-options=-v"]]
    status = nvrtc.nvrtcCompileProgram(program, len(options), (ctypes.c_char_p * len(options))(*options))
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    report = [line for line in log.value.decode().splitlines() if line.startswith("ptxas")]
    if status:
        sys.exit(f"NVRTC failed on {family}.cu:\n{log.value.decode()}")
    nvrtc.nvrtcGetCUBINSize(program, ctypes.byref(size))
    cubin = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetCUBIN(program, cubin)
    return cubin.raw, report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family")
    parser.add_argument("--arch", default="90")
    parser.add_argument("--out")
    args = parser.parse_args()
    if not (ROOT / "kernels" / f"{args.family}.cu").exists():
        sys.exit(f"no kernels/{args.family}.cu")
    nvdisasm = os.environ.get("NVDISASM", str(Path.home() / ".cache" / "nvdisasm" / "nvidia" / "cu13" / "bin" / "nvdisasm"))
    cubin, report = compile_cubin(args.family, args.arch)
    print("\n".join(report), file=sys.stderr)
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(cubin)
        file.flush()
        sass = subprocess.run([nvdisasm, "-c", file.name], check=True, capture_output=True, text=True).stdout
    if args.out:
        Path(args.out).write_text(sass)
    else:
        sys.stdout.write(sass)


if __name__ == "__main__":
    main()
