//! The public golden vectors (vendored in tests/conformance/) on every CPU path.

use lowp::backend::CpuBackend;
use lowp::conformance::{Manifest, Outcome, compare, run};
use std::path::Path;

fn manifest() -> Manifest {
    Manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/manifest.json"))
        .expect("vendored manifest loads")
}

#[test]
fn every_public_vector_passes_on_the_scalar_path() {
    let report = run(&manifest(), &CpuBackend::scalar());
    println!("{report}");
    assert!(report.passed(), "{report}");
    // Every case runs, the layer case (qlinear_forward, through lowp-nn's qlinear) included.
    assert!(
        report.cases.iter().all(|c| matches!(
            c.outcome,
            Outcome::Pass { .. } | Outcome::RejectedAsExpected { .. }
        )),
        "{report}"
    );
    assert_eq!(report.cases.len(), 776);
}

#[test]
fn every_public_vector_passes_on_the_fast_path() {
    let report = run(&manifest(), &CpuBackend::new());
    println!("{report}");
    assert!(report.passed(), "{report}");
}

#[test]
fn comparison_is_bitwise_with_nan_equal_to_nan() {
    let nan_a = f32::from_bits(0x7FC0_0001);
    let nan_b = f32::from_bits(0xFF80_0001);
    assert!(matches!(
        compare(&[], &[1.0, nan_a], &[1.0, nan_b]),
        Outcome::Pass { elements: 2 }
    ));
    // The sign of zero counts.
    match compare(&[0.5, -0.5], &[0.0, 0.0], &[0.0, -0.0]) {
        Outcome::Mismatch {
            count: 1,
            first: (1, _, got, expected),
            ..
        } => {
            assert_eq!((got, expected), (0, 0x8000_0000));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        compare(&[], &[1.0], &[1.0, 2.0]),
        Outcome::Failed { .. }
    ));
}

#[test]
fn a_wrong_answer_is_reported_per_case() {
    // Change every e4m3 case into e5m2: the runner must report mismatches, not passes.
    let mut manifest = manifest();
    manifest.cases.retain(|c| {
        c.op == "float_quantize" && c.params.get("exp").and_then(|v| v.as_u64()) == Some(4)
    });
    for case in &mut manifest.cases {
        case.params.insert("exp".into(), 5.into());
        case.params.insert("man".into(), 2.into());
        case.params.remove("preset");
    }
    let report = run(&manifest, &CpuBackend::new());
    assert!(!report.passed());
    assert!(
        report
            .failures()
            .all(|f| matches!(f.outcome, Outcome::Mismatch { .. } | Outcome::NotRejected))
    );
    assert!(report.to_string().contains("FAIL"));
}
