#!/usr/bin/env python3
"""Copy the public conformance vectors into tests/conformance/, keeping only what lowp checks:
each case's inputs and its `expected` file (mptorch's own `output` files are left out unless a case's
expected answer *is* that file), and a manifest with the fields the runner reads.

Usage: python3 scripts/vendor-conformance.py [../shared/conformance] [tests/conformance]
"""
import json
import os
import shutil
import sys

KEEP = ["id", "op", "params", "input", "expected", "expected_sha256", "shape", "shapes", "layout",
        "error", "reason", "n", "deviations", "spec", "random", "data"]


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "conformance")
    target = sys.argv[2] if len(sys.argv) > 2 else os.path.join("tests", "conformance")
    with open(os.path.join(source, "manifest.json")) as f:
        manifest = json.load(f)
    os.makedirs(os.path.join(target, "vectors"), exist_ok=True)
    files = set()
    cases = []
    for case in manifest["cases"]:
        inputs = case["input"]
        files.update(inputs.values() if isinstance(inputs, dict) else [inputs])
        if "expected" in case:
            files.add(case["expected"])
        cases.append({key: case[key] for key in KEEP if key in case})
    for name in sorted(files):
        shutil.copyfile(os.path.join(source, "vectors", name), os.path.join(target, "vectors", name))
    header = {key: manifest[key] for key in ("format_version", "set", "seed", "oracle", "expected_oracle")
              if key in manifest}
    header["note"] = ("Vendored from the lowp shared conformance set by scripts/vendor-conformance.py: "
                      "inputs and `expected` (SEMANTICS.md) files only.")
    header["cases"] = cases
    with open(os.path.join(target, "manifest.json"), "w") as f:
        json.dump(header, f, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(target, "vectors", n)) for n in files)
    print(f"{len(cases)} cases, {len(files)} files, {size / 1e6:.1f} MB -> {target}")


if __name__ == "__main__":
    main()
