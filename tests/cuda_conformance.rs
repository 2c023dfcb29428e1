//! The public conformance vectors on the CUDA backend (`--features cuda`): every case the CPU
//! backend runs (quantize in every family and mode, GEMM in every mode), bit for bit. Without a
//! driver, NVRTC or device the test prints `SKIP: <reason>` and passes, unless `LOWP_REQUIRE`
//! contains `cuda`. `LOWP_CONFORMANCE_MANIFEST` overrides the manifest's path (a test binary
//! copied to another machine, as scripts/gpu-check.sh does).

#![cfg(feature = "cuda")]

use lowp::BackendError;
use lowp::conformance::{Manifest, Outcome, run};
use lowp_cuda::CudaBackend;
use std::path::{Path, PathBuf};

fn required() -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| list.split(',').any(|name| name.trim() == "cuda"))
        .unwrap_or(false)
}

#[test]
fn public_vectors_pass_on_cuda() {
    let backend = match CudaBackend::new() {
        Ok(backend) => backend,
        Err(error @ BackendError::Unavailable { .. }) if !required() => {
            println!("SKIP: {error}");
            return;
        }
        Err(error) => panic!("the cuda backend is required (LOWP_REQUIRE) but failed: {error}"),
    };
    println!(
        "cuda device: {} (compute_{})",
        backend.device_name(),
        backend.arch()
    );
    let path = std::env::var_os("LOWP_CONFORMANCE_MANIFEST")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/manifest.json")
        });
    let manifest = Manifest::load(&path).expect("vendored manifest loads");
    let report = run(&manifest, &backend);
    println!("{report}");
    assert!(report.passed(), "{report}");
    // Every case runs, the layer case (qlinear_forward) on a CUDA tensor device.
    assert!(
        report.cases.iter().all(|case| matches!(
            case.outcome,
            Outcome::Pass { .. } | Outcome::RejectedAsExpected { .. }
        )),
        "{report}"
    );
}
