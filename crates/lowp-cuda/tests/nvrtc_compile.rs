//! Compiles every kernel file of `kernels/` to PTX with NVRTC, with the backend's options
//! (SEMANTICS.md §1), for `compute_90` and `compute_80`. Needs no GPU, only libnvrtc (CI installs
//! it from PyPI, PLATFORM.md §2). Without libnvrtc the test prints `SKIP` and passes, unless
//! `LOWP_REQUIRE` names `nvrtc` or `cuda`.

#![cfg(not(target_arch = "wasm32"))]

use lowp_cuda::kernels::{Family, compile_ptx, nvrtc_available};

fn required() -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| {
            list.split(',')
                .any(|name| matches!(name.trim(), "nvrtc" | "cuda"))
        })
        .unwrap_or(false)
}

#[test]
fn every_kernel_file_compiles_with_nvrtc() {
    if !nvrtc_available() {
        assert!(
            !required(),
            "libnvrtc is required (LOWP_REQUIRE) but cannot be loaded; set LD_LIBRARY_PATH"
        );
        println!("SKIP: nvrtc: libnvrtc cannot be loaded (set LD_LIBRARY_PATH)");
        return;
    }
    let mut failures = Vec::new();
    for family in Family::ALL {
        for arch in ["90", "80"] {
            match compile_ptx(family, arch) {
                Ok(ptx) => {
                    let text = ptx.to_src();
                    assert!(
                        text.contains(&format!(".target sm_{arch}")),
                        "{}: PTX not for sm_{arch}",
                        family.file_name()
                    );
                    for entry in family.entry_points() {
                        assert!(
                            text.contains(&format!(".entry {entry}(")),
                            "{}: no kernel {entry} in the PTX",
                            family.file_name()
                        );
                    }
                    println!(
                        "{} compute_{arch}: {} bytes of PTX",
                        family.file_name(),
                        text.len()
                    );
                }
                Err(log) => failures.push(log),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
