//! The public conformance vectors' quantize and GEMM cases on the wgpu backend
//! (`--features wgpu`), and the layer case (qlinear_forward) through lowp-nn's tensors on a
//! wgpu device: every public vector. Without an adapter the test prints `SKIP: <reason>` and passes, unless
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
fn every_public_vector_passes_on_wgpu() {
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
    let manifest = Manifest::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/manifest.json"),
    )
    .expect("vendored manifest loads");
    let total = manifest.cases.len();
    // Every case is a quantize, GEMM or layer case.
    assert!(manifest.cases.iter().all(|case| {
        QUANTIZE_OPS.contains(&case.op.as_str())
            || GEMM_OPS.contains(&case.op.as_str())
            || case.op == "qlinear_forward"
    }));
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
    println!("{total} cases ({gemm_cases} GEMM)");
    assert!(report.passed(), "{report}");
    assert!(
        report.cases.iter().all(|case| matches!(
            case.outcome,
            Outcome::Pass { .. } | Outcome::RejectedAsExpected { .. }
        )),
        "{report}"
    );
    assert_eq!(report.cases.len(), total);
}
