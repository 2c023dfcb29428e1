//! The public conformance vectors' quantize and GEMM cases on the wgpu backend
//! (`--features wgpu`). The layer case (qlinear_forward) runs through lowp-nn on the CPU
//! (tests/conformance.rs); on wgpu, tests/layers.rs checks every layer against the CPU bit for
//! bit, so it is filtered out here. Without an adapter the test prints `SKIP: <reason>` and passes, unless
//! `LOWP_REQUIRE` contains `wgpu`.

#![cfg(feature = "wgpu")]

use lowp::BackendError;
use lowp::conformance::{Manifest, Outcome, run};
use lowp_wgpu::WgpuBackend;
use std::path::Path;

/// The element-wise and block quantize ops of the manifest.
const QUANTIZE_OPS: [&str; 6] = [
    "float_quantize",
    "fixed_point_quantize",
    "block_quantize",
    "binary8_quantize",
    "binaryK_quantize",
    "superfp_quantize",
];

/// The GEMM ops of the manifest.
const GEMM_OPS: [&str; 4] = ["float_mm", "float_bmm", "fxp_mm", "superfp_mm"];

fn required() -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| list.split(',').any(|name| name.trim() == "wgpu"))
        .unwrap_or(false)
}

#[test]
fn public_quantize_and_gemm_vectors_pass_on_wgpu() {
    let backend = match WgpuBackend::new() {
        Ok(backend) => backend,
        Err(error @ BackendError::Unavailable { .. }) if !required() => {
            println!("SKIP: {error}");
            return;
        }
        Err(error) => panic!("the wgpu backend is required (LOWP_REQUIRE) but failed: {error}"),
    };
    let info = backend.adapter_info();
    println!("wgpu adapter: {} ({:?})", info.name, info.backend);
    let mut manifest = Manifest::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/manifest.json"),
    )
    .expect("vendored manifest loads");
    let total = manifest.cases.len();
    manifest.cases.retain(|case| {
        QUANTIZE_OPS.contains(&case.op.as_str()) || GEMM_OPS.contains(&case.op.as_str())
    });
    let gemm_cases = manifest
        .cases
        .iter()
        .filter(|case| GEMM_OPS.contains(&case.op.as_str()))
        .count();
    assert!(
        manifest.cases.len() - gemm_cases > 400,
        "{} quantize cases",
        manifest.cases.len() - gemm_cases
    );
    assert!(gemm_cases > 200, "{gemm_cases} GEMM cases");
    let report = run(&manifest, &backend);
    println!("{report}");
    println!(
        "{} of {total} cases are quantize or GEMM cases ({gemm_cases} GEMM); the layer case is covered by tests/layers.rs",
        manifest.cases.len()
    );
    assert!(report.passed(), "{report}");
    assert!(
        report.cases.iter().all(|case| matches!(
            case.outcome,
            Outcome::Pass { .. } | Outcome::RejectedAsExpected { .. }
        )),
        "{report}"
    );
}
