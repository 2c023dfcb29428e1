//! The public golden vectors (vendored in tests/conformance/) on every CPU path.

use lowp::backend::CpuBackend;
use lowp::conformance::{Manifest, run};
use std::path::Path;

fn manifest() -> Manifest {
    Manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/manifest.json"))
        .expect("vendored manifest loads")
}

#[test]
fn every_elementwise_vector_passes_on_the_scalar_path() {
    let report = run(&manifest(), &CpuBackend::scalar());
    println!("{report}");
    assert!(report.passed(), "{report}");
}

#[test]
fn every_elementwise_vector_passes_on_the_fast_path() {
    let report = run(&manifest(), &CpuBackend::new());
    println!("{report}");
    assert!(report.passed(), "{report}");
}
