//! Compiles every kernel file of `kernels/` to PTX with NVRTC, with the backend's options
//! (SEMANTICS.md §1), for `compute_90` and `compute_80`, and the kernels that must not use local
//! memory to machine code for sm_90, reading ptxas's report. Needs no GPU, only libnvrtc (CI
//! installs it from PyPI, PLATFORM.md §2). Without libnvrtc the tests print `SKIP` and pass,
//! unless `LOWP_REQUIRE` names `nvrtc` or `cuda`.

#![cfg(not(target_arch = "wasm32"))]

use lowp_cuda::kernels::{Family, NVRTC_OPTIONS, compile_ptx, module_source, nvrtc_available};

fn required() -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| {
            list.split(',')
                .any(|name| matches!(name.trim(), "nvrtc" | "cuda"))
        })
        .unwrap_or(false)
}

/// Whether libnvrtc loads; otherwise prints `SKIP` (and fails when `LOWP_REQUIRE` names it).
fn nvrtc_or_skip() -> bool {
    if nvrtc_available() {
        return true;
    }
    assert!(
        !required(),
        "libnvrtc is required (LOWP_REQUIRE) but cannot be loaded; set LD_LIBRARY_PATH"
    );
    println!("SKIP: nvrtc: libnvrtc cannot be loaded (set LD_LIBRARY_PATH)");
    false
}

#[test]
fn every_kernel_file_compiles_with_nvrtc() {
    if !nvrtc_or_skip() {
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

/// ptxas's report of one kernel: (stack frame bytes, spill store bytes, spill load bytes,
/// registers), from NVRTC's log of a compilation for a real architecture with
/// `--ptxas-options=-v`.
fn resource_usage(log: &str, entry: &str) -> Option<(u32, u32, u32, u32)> {
    let number_before = |line: &str, unit: &str| -> Option<u32> {
        let end = line.find(unit)?;
        line[..end].split_whitespace().last()?.parse().ok()
    };
    let mut lines = log.lines().skip_while(|line| {
        !line
            .trim_end()
            .ends_with(&format!("Function properties for {entry}"))
    });
    lines.next()?;
    let frame = lines.next()?;
    let registers = lines.next()?;
    Some((
        number_before(frame, "bytes stack frame")?,
        number_before(frame, "bytes spill stores")?,
        number_before(frame, "bytes spill loads")?,
        number_before(registers, "registers")?,
    ))
}

/// The kernels that must not use local memory, as the device compiler builds them for an H100
/// (sm_90): the grid GEMM instantiations keep their 4 × 4 outputs' states in registers, which is
/// what they are for, and the element-wise quantize kernel has no stack either.
const REGISTER_ONLY: [(Family, &[&str]); 2] = [
    (Family::Gemm, &["gemm_nearest_grid", "gemm_stochastic_grid"]),
    (Family::Quantize, &["quantize"]),
];

#[test]
fn the_grid_gemm_kernels_keep_their_states_in_registers() {
    if !nvrtc_or_skip() {
        return;
    }
    for (family, entries) in REGISTER_ONLY {
        let source = std::ffi::CString::new(module_source(family)).unwrap();
        let program = cudarc::nvrtc::result::create_program(&source, None).expect("program");
        let mut options: Vec<String> = NVRTC_OPTIONS.iter().map(|o| o.to_string()).collect();
        options.extend(
            [
                "--gpu-architecture=sm_90",
                "--std=c++17",
                "--ptxas-options=-v",
            ]
            .map(String::from),
        );
        // SAFETY: `program` is a live program; it is destroyed once, after its log is read.
        let (compiled, log) = unsafe {
            let compiled = cudarc::nvrtc::result::compile_program(program, &options);
            let log = cudarc::nvrtc::result::get_program_log(program).expect("log");
            cudarc::nvrtc::result::destroy_program(program).expect("destroy");
            (compiled, log)
        };
        let log: String = log
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8 as char)
            .collect();
        assert!(compiled.is_ok(), "{}: {log}", family.file_name());
        for entry in entries {
            let (frame, stores, loads, registers) = resource_usage(&log, entry)
                .unwrap_or_else(|| panic!("no ptxas report for {entry} in:\n{log}"));
            println!(
                "{entry} (sm_90): {registers} registers, {frame}-byte stack frame, {stores}/{loads} bytes spilled"
            );
            assert_eq!(
                (frame, stores, loads),
                (0, 0, 0),
                "{entry} uses local memory"
            );
        }
    }
}
