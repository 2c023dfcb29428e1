//! `qgemm` on the wgpu backend against `lowp_formats::gemm::reference`, bit for bit (any NaN
//! equals any NaN): every accumulation mode (sequential, compensated, blocked) with and without
//! FMA, every rounding mode (stochastic included), every format family as mul and add formats,
//! special values and subnormals, ragged shapes, transposes, batches and split dispatches.
//! Without an adapter the tests print `SKIP:` and pass, unless `LOWP_REQUIRE` contains `wgpu`.

mod common;

use common::{assert_same_bits, backend, backend_with, download};
use lowp_backend::{Backend, BackendError};
use lowp_formats::gemm::reference;
use lowp_formats::{Accumulation, Format, GemmSpec, Rounding};
use lowp_wgpu::gemm::module_source;
use lowp_wgpu::params::{GemmParams, GemmShapeParams};
use lowp_wgpu::{WgpuBackend, WgpuOptions};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use std::sync::OnceLock;

/// One backend for every test of this file (pipelines compile once).
fn shared() -> Option<&'static WgpuBackend> {
    static BACKEND: OnceLock<Option<WgpuBackend>> = OnceLock::new();
    BACKEND.get_or_init(backend).as_ref()
}

fn format(spec: &str) -> Format {
    spec.parse()
        .unwrap_or_else(|error| panic!("{spec}: {error}"))
}

/// xorshift64* values: random signs, significands and exponents in [-e, e], with a share of
/// zeros and small integers.
struct Values(u64);

impl Values {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn value(&mut self, spread: i32) -> f32 {
        let r = self.next();
        let sign = ((r >> 63) as u32) << 31;
        match r % 16 {
            0 => f32::from_bits(sign),
            1 => f32::from_bits(sign) + ((r >> 8) % 5) as f32,
            _ => {
                let exponent = ((r >> 8) % (2 * spread as u64 + 1)) as i32 - spread;
                let mantissa = (r >> 32) as u32 & 0x007F_FFFF;
                f32::from_bits(sign | (((127 + exponent) as u32) << 23) | mantissa)
            }
        }
    }

    fn vec(&mut self, len: usize, spread: i32) -> Vec<f32> {
        (0..len).map(|_| self.value(spread)).collect()
    }
}

/// Runs `spec` on the backend and compares with the reference.
fn check(backend: &WgpuBackend, context: &str, a: &[f32], b: &[f32], spec: &GemmSpec) {
    let expected = reference(a, b, spec).unwrap_or_else(|error| panic!("{context}: {error}"));
    let (da, db) = (backend.upload(a).unwrap(), backend.upload(b).unwrap());
    let c = backend
        .qgemm(&da, &db, spec)
        .unwrap_or_else(|error| panic!("{context}: {error}"));
    let got = download(backend, &c);
    assert_same_bits(context, &[], &got, &expected);
}

const ROUNDINGS: [Rounding; 7] = [
    Rounding::Nearest,
    Rounding::TowardZero,
    Rounding::Up,
    Rounding::Down,
    Rounding::NearestAway,
    Rounding::Odd,
    Rounding::Stochastic { bits: 8 },
];

/// (mul, add) pairs covering every family on both sides.
const FORMAT_PAIRS: [(&str, &str); 11] = [
    ("fp32", "fp32"),
    ("bf16", "fp32"),
    ("e4m3", "fp16"),
    ("e5m2", "bf16"),
    ("e4m3fn", "e4m3fn"),
    ("float(exp=3,man=2,subnormals=false,saturate=true)", "tf32"),
    ("binary8(p=3)", "binary8(p=4,subnormals=false)"),
    ("fixed(wl=8,fl=4)", "fixed(wl=12,fl=6,clamp=false)"),
    ("superfp(exp=3,man=2)", "superfp(exp=4,man=3,binades=2)"),
    ("block(wl=6)", "block(wl=10)"),
    ("fp16", "binary(k=10,p=5)"),
];

fn accumulations() -> Vec<(&'static str, Accumulation)> {
    vec![
        ("sequential", Accumulation::Sequential),
        ("compensated", Accumulation::Compensated),
        (
            "blocked(3, fp32)",
            Accumulation::Blocked {
                chunk: 3,
                outer: format("fp32"),
                outer_bits: 13,
            },
        ),
        (
            "blocked(2, fixed)",
            Accumulation::Blocked {
                chunk: 2,
                outer: format("fixed(wl=16,fl=8)"),
                outer_bits: 7,
            },
        ),
        (
            "blocked(4, bf16)",
            Accumulation::Blocked {
                chunk: 4,
                outer: format("bf16"),
                outer_bits: 5,
            },
        ),
    ]
}

#[test]
fn gemm_module_validates_with_naga() {
    let source = module_source();
    let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|error| {
        panic!(
            "gemm.wgsl does not parse:\n{}",
            error.emit_to_string_with_path(&source, "gemm.wgsl")
        )
    });
    Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|error| {
            panic!(
                "gemm.wgsl does not validate:\n{}",
                error.emit_to_string_with_path(&source, "gemm.wgsl")
            )
        });
    let entries: Vec<&str> = module
        .entry_points
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(entries, ["gemm"]);
    assert_eq!(module.entry_points[0].workgroup_size, [16, 16, 1]);
    assert_eq!(size_of::<GemmShapeParams>() % 16, 0);
    assert_eq!(size_of::<GemmParams>() % 16, 0);
}

#[test]
fn gemm_matches_reference_in_every_mode_format_and_rounding() {
    let Some(backend) = shared() else { return };
    let mut values = Values(0x9E37_79B9_7F4A_7C15);
    let (batch, m, k, n) = (2, 3, 9, 5);
    let mut cases = 0;
    for (pair, (mul, add)) in FORMAT_PAIRS.iter().enumerate() {
        let (mul, add) = (format(mul), format(add));
        let superfp = matches!(mul, Format::SuperFp(_)) || matches!(add, Format::SuperFp(_));
        let spread = match mul {
            Format::Fixed(_) => 3,
            _ => 6,
        };
        let a = values.vec(batch * m * k, spread);
        let b = values.vec(batch * k * n, spread);
        for (name, accumulation) in accumulations() {
            for fma in [false, true] {
                for (r, rounding) in ROUNDINGS.into_iter().enumerate() {
                    if superfp && rounding != Rounding::Nearest {
                        continue;
                    }
                    let mut spec = GemmSpec::new(batch, m, k, n, mul, add);
                    spec.fma = fma;
                    spec.accumulation = accumulation;
                    spec.rounding = rounding;
                    spec.seed = 0x1234_5678_9ABC_DEF0 ^ (pair * 64 + r) as u64;
                    spec.transpose_a = r % 2 == 1;
                    spec.transpose_b = r % 3 == 1;
                    let context = format!(
                        "{} × {}, {name}, fma {fma}, {rounding:?}",
                        spec.mul, spec.add
                    );
                    check(backend, &context, &a, &b, &spec);
                    cases += 1;
                }
            }
        }
    }
    eprintln!("{cases} GEMMs compared");
}

#[test]
fn gemm_stochastic_bits_and_seeds() {
    let Some(backend) = shared() else { return };
    let mut values = Values(7);
    let (batch, m, k, n) = (1, 4, 12, 3);
    let a = values.vec(batch * m * k, 4);
    let b = values.vec(batch * k * n, 4);
    for (mul, add) in [("e4m3", "bf16"), ("fixed(wl=10,fl=5)", "block(wl=8)")] {
        for (mul_bits, add_bits, seed) in [(1, 1, 0u64), (32, 32, u64::MAX), (3, 17, 1 << 40)] {
            for accumulation in [
                Accumulation::Sequential,
                Accumulation::Compensated,
                Accumulation::Blocked {
                    chunk: 5,
                    outer: format("fp16"),
                    outer_bits: 2,
                },
                Accumulation::Blocked {
                    chunk: usize::MAX,
                    outer: format("block(wl=5)"),
                    outer_bits: 32,
                },
            ] {
                for fma in [false, true] {
                    let mut spec = GemmSpec::new(batch, m, k, n, format(mul), format(add));
                    spec.rounding = Rounding::Stochastic { bits: 1 };
                    spec.mul_bits = mul_bits;
                    spec.add_bits = add_bits;
                    spec.seed = seed;
                    spec.accumulation = accumulation;
                    spec.fma = fma;
                    let context = format!(
                        "{mul} × {add} bits {mul_bits}/{add_bits} seed {seed:#x} {accumulation:?} fma {fma}"
                    );
                    check(backend, &context, &a, &b, &spec);
                }
            }
        }
    }
}

/// Subnormal inputs and products, zeros of both signs, infinities, NaNs, overflow and exact
/// cancellation: the fp32 identity path must keep every subnormal (no FTZ/DAZ) and never fuse.
#[test]
fn gemm_special_values_and_subnormals() {
    let Some(backend) = shared() else { return };
    let specials: Vec<f32> = vec![
        0.0,
        -0.0,
        f32::from_bits(1),
        f32::from_bits(0x8000_0001),
        f32::from_bits(0x007F_FFFF),
        f32::from_bits(0x0080_0000),
        f32::MIN_POSITIVE * 3.0,
        1e-20,
        -3e-25,
        1e-30,
        f32::MAX,
        -f32::MAX,
        1e20,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1.0,
        -1.0,
        1.0 + f32::EPSILON,
        0.5,
        3.0,
        1e-3,
        65504.0,
        2.0f32.powi(-70),
        -(2.0f32.powi(-75)),
        2.0f32.powi(100),
    ];
    let mut values = Values(99);
    let pick = |values: &mut Values, len: usize, with_nan: bool| -> Vec<f32> {
        (0..len)
            .map(|_| {
                loop {
                    let x = specials[(values.next() % specials.len() as u64) as usize];
                    if with_nan || !(x.is_nan() || x.is_infinite()) {
                        break x;
                    }
                }
            })
            .collect()
    };
    let (batch, m, k, n) = (2, 5, 7, 6);
    for with_nan in [false, true] {
        let a = pick(&mut values, batch * m * k, with_nan);
        let b = pick(&mut values, batch * k * n, with_nan);
        for (mul, add) in [
            ("fp32", "fp32"),
            ("bf16", "fp32"),
            ("fp32", "fp16"),
            ("e4m3fn", "e5m2"),
            ("binary8(p=3,overflow=saturate_infty)", "fixed(wl=16,fl=8)"),
            ("block(wl=8)", "fp32"),
            ("superfp(exp=3,man=2)", "fp32"),
        ] {
            for (name, accumulation) in accumulations() {
                for fma in [false, true] {
                    for rounding in [
                        Rounding::Nearest,
                        Rounding::Up,
                        Rounding::Stochastic { bits: 9 },
                    ] {
                        let superfp = mul.starts_with("superfp");
                        if superfp && rounding != Rounding::Nearest {
                            continue;
                        }
                        let mut spec = GemmSpec::new(batch, m, k, n, format(mul), format(add));
                        spec.fma = fma;
                        spec.accumulation = accumulation;
                        spec.rounding = rounding;
                        spec.seed = 5;
                        let context = format!(
                            "specials (NaN/Inf {with_nan}) {mul} × {add}, {name}, fma {fma}, {rounding:?}"
                        );
                        check(backend, &context, &a, &b, &spec);
                    }
                }
            }
        }
    }
    // Products of subnormals and normals that land in the subnormal range, summed exactly.
    let tiny: Vec<f32> = (0..16).map(|i| f32::from_bits(1 + i * 12345)).collect();
    let scale: Vec<f32> = (0..16).map(|i| 0.75 + i as f32 * 0.0625).collect();
    for fma in [false, true] {
        let mut spec = GemmSpec::new(1, 4, 4, 4, format("fp32"), format("fp32"));
        spec.fma = fma;
        check(
            backend,
            &format!("subnormal products, fma {fma}"),
            &tiny,
            &scale,
            &spec,
        );
        let halves: Vec<f32> = (0..16).map(|i| 2.0f32.powi(-(i % 5) - 1)).collect();
        check(
            backend,
            &format!("subnormal halving, fma {fma}"),
            &tiny,
            &halves,
            &spec,
        );
    }
}

#[test]
fn gemm_ragged_shapes_transposes_and_batches() {
    let Some(backend) = shared() else { return };
    let mut values = Values(2024);
    for (batch, m, k, n) in [
        (1, 1, 1, 1),
        (1, 7, 13, 5),
        (1, 33, 65, 17),
        (3, 7, 13, 5),
        (3, 17, 16, 33),
        (2, 16, 32, 16),
        (1, 3, 0, 4),
        (2, 0, 3, 4),
        (0, 3, 3, 3),
    ] {
        let a = values.vec(batch * m * k, 5);
        let b = values.vec(batch * k * n, 5);
        for (transpose_a, transpose_b) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            for (mul, add, rounding, accumulation) in [
                ("fp32", "fp32", Rounding::Nearest, Accumulation::Sequential),
                (
                    "bf16",
                    "fp16",
                    Rounding::Stochastic { bits: 12 },
                    Accumulation::Compensated,
                ),
                (
                    "e4m3",
                    "bf16",
                    Rounding::TowardZero,
                    Accumulation::Blocked {
                        chunk: 8,
                        outer: format("fp32"),
                        outer_bits: 13,
                    },
                ),
            ] {
                let mut spec = GemmSpec::new(batch, m, k, n, format(mul), format(add));
                spec.transpose_a = transpose_a;
                spec.transpose_b = transpose_b;
                spec.rounding = rounding;
                spec.accumulation = accumulation;
                spec.seed = 77;
                let context = format!(
                    "{batch}×{m}×{k}×{n} ta {transpose_a} tb {transpose_b} {mul} × {add} {rounding:?}"
                );
                check(backend, &context, &a, &b, &spec);
            }
        }
    }
}

/// Tiny bindings and one workgroup per grid dimension: batch groups bound at aligned offsets and
/// several dispatches per tile grid.
#[test]
fn gemm_split_dispatches_match() {
    let Some(backend) = backend_with(WgpuOptions {
        max_binding_bytes: Some(1024),
        max_workgroups_per_dimension: Some(1),
    }) else {
        return;
    };
    let mut values = Values(31);
    for (batch, m, k, n) in [(5, 7, 13, 5), (3, 20, 5, 10), (2, 5, 3, 40), (4, 1, 1, 1)] {
        let a = values.vec(batch * m * k, 4);
        let b = values.vec(batch * k * n, 4);
        for transpose in [false, true] {
            let mut spec = GemmSpec::new(batch, m, k, n, format("bf16"), format("fp16"));
            spec.transpose_a = transpose;
            spec.transpose_b = !transpose;
            spec.rounding = Rounding::Stochastic { bits: 10 };
            spec.seed = 3;
            check(
                &backend,
                &format!("split {batch}×{m}×{k}×{n}"),
                &a,
                &b,
                &spec,
            );
        }
    }
    // Matrices larger than a binding: pieces of C, each with the random words of its place.
    for (batch, m, k, n) in [(2, 30, 20, 25), (1, 70, 3, 9), (1, 3, 9, 90)] {
        let a = values.vec(batch * m * k, 4);
        let b = values.vec(batch * k * n, 4);
        for (transpose_a, transpose_b) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            for accumulation in [
                Accumulation::Sequential,
                Accumulation::Compensated,
                Accumulation::Blocked {
                    chunk: 4,
                    outer: format("fp32"),
                    outer_bits: 23,
                },
            ] {
                let mut spec = GemmSpec::new(batch, m, k, n, format("e4m3"), format("fp16"));
                spec.transpose_a = transpose_a;
                spec.transpose_b = transpose_b;
                spec.accumulation = accumulation;
                spec.rounding = Rounding::Stochastic { bits: 8 };
                spec.seed = 11;
                check(
                    &backend,
                    &format!(
                        "pieces {batch}×{m}×{k}×{n} {transpose_a} {transpose_b} {accumulation:?}"
                    ),
                    &a,
                    &b,
                    &spec,
                );
            }
        }
    }
    // A reduction longer than one binding is refused with a shape error, not computed wrongly.
    let (a, b) = (vec![1.0; 300], vec![1.0; 300]);
    let spec = GemmSpec::new(1, 1, 300, 1, format("fp32"), format("fp32"));
    let (da, db) = (backend.upload(&a).unwrap(), backend.upload(&b).unwrap());
    assert!(matches!(
        backend.qgemm(&da, &db, &spec),
        Err(BackendError::Shape(_))
    ));
}

#[test]
fn gemm_rejects_bad_shapes_and_specs() {
    let Some(backend) = shared() else { return };
    let a = backend.upload(&[1.0; 6]).unwrap();
    let b = backend.upload(&[1.0; 6]).unwrap();
    let spec = GemmSpec::new(1, 2, 3, 3, format("fp32"), format("fp32"));
    assert!(matches!(
        backend.qgemm(&a, &b, &spec),
        Err(BackendError::Shape(_))
    ));
    let mut spec = GemmSpec::new(1, 2, 3, 2, format("superfp(exp=3,man=2)"), format("fp32"));
    spec.rounding = Rounding::Up;
    assert!(backend.qgemm(&a, &b, &spec).is_err());
    let mut spec = GemmSpec::new(1, 2, 3, 2, format("fp32"), format("fp32"));
    spec.accumulation = Accumulation::Blocked {
        chunk: 0,
        outer: format("fp32"),
        outer_bits: 1,
    };
    assert!(backend.qgemm(&a, &b, &spec).is_err());
}

/// Timing of one larger GEMM (run with `--ignored --nocapture`, preferably in release).
#[test]
#[ignore]
fn gemm_timing() {
    let Some(backend) = shared() else { return };
    let mut values = Values(1);
    let (m, k, n) = (128, 128, 128);
    let a = values.vec(m * k, 4);
    let b = values.vec(k * n, 4);
    let (da, db) = (backend.upload(&a).unwrap(), backend.upload(&b).unwrap());
    for (mul, add, rounding) in [
        ("fp32", "fp32", Rounding::Nearest),
        ("bf16", "fp16", Rounding::Nearest),
        ("bf16", "fp16", Rounding::Stochastic { bits: 8 }),
    ] {
        let mut spec = GemmSpec::new(1, m, k, n, format(mul), format(add));
        spec.rounding = rounding;
        let _ = download(backend, &backend.qgemm(&da, &db, &spec).unwrap());
        let start = std::time::Instant::now();
        let got = download(backend, &backend.qgemm(&da, &db, &spec).unwrap());
        let gpu = start.elapsed();
        let start = std::time::Instant::now();
        let expected = reference(&a, &b, &spec).unwrap();
        let cpu = start.elapsed();
        assert_same_bits("timing", &[], &got, &expected);
        eprintln!("{m}×{k}×{n} {mul} × {add} {rounding:?}: wgpu {gpu:?}, CPU reference {cpu:?}");
    }
}
