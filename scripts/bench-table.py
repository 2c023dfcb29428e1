#!/usr/bin/env python3
"""Turn `lowp bench --json` output (stdin) into the markdown tables of docs/performance.md."""
import json
import sys

rows = json.load(sys.stdin)
# Element-wise rows (quantize, add, copy) give ns per element, GEMM rows ns per MAC.
quantize = [r for r in rows if "ns_per_element" in r]
gemm = [r for r in rows if "ns_per_mac" in r]
threads = sorted({r["threads"] for r in rows})


def label(t):
    """Column label of a thread count (0: a GPU backend, timed with the download)."""
    return "GPU, download included" if t == 0 else f"{t} thread{'s' if t > 1 else ''}"

if quantize:
    print("| op | format | rounding | " + " | ".join(f"{label(t)} (ns/element)" for t in threads) + " |")
    print("|---|---|---|" + "---:|" * len(threads))
    keys = []
    for r in quantize:
        key = (r["op"], r["format"], r["rounding"])
        if key not in keys:
            keys.append(key)
    for op, fmt, rounding in keys:
        cells = []
        for t in threads:
            match = [r for r in quantize if (r["op"], r["format"], r["rounding"], r["threads"]) == (op, fmt, rounding, t)]
            cells.append(f"{match[0]['ns_per_element']:.3f}" if match else "–")
        print(f"| {op} | {fmt} | {rounding} | " + " | ".join(cells) + " |")
    print()

if gemm:
    sizes = sorted({r["m"] for r in gemm})
    columns = [(s, t) for s in sizes for t in threads]
    print("| op | mul | add | mode | " + " | ".join(f"{s}³, {label(t)} (ns/MAC)" for s, t in columns) + " |")
    print("|---|---|---|---|" + "---:|" * len(columns))
    keys = []
    for r in gemm:
        key = (r["op"], r["mul"], r["add"], r["mode"])
        if key not in keys:
            keys.append(key)
    for op, mul, add, mode in keys:
        cells = []
        for s, t in columns:
            match = [r for r in gemm if (r["op"], r["mul"], r["add"], r["mode"], r["m"], r["threads"]) == (op, mul, add, mode, s, t)]
            cells.append(f"{match[0]['ns_per_mac']:.3f}" if match else "–")
        print(f"| {op} | {mul} | {add} | {mode} | " + " | ".join(cells) + " |")
