//! The CPU fast-path quantized GEMM gives exactly the bits of `lowp_formats::gemm::reference`
//! (SEMANTICS.md §9) for every format family, rounding mode, accumulation model, shape and
//! thread count; it rejects bad specs and buffers with an error.

use lowp_backend::{Backend, BackendError, CpuBackend};
use lowp_formats::gemm::reference;
use lowp_formats::{Accumulation, Format, GemmSpec, Rounding};

fn format(spec: &str) -> Format {
    spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
}

/// xorshift64 values spread over several binades with both signs, some exact zeros and -0.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match state % 41 {
                0 => 0.0,
                1 => -0.0,
                _ => {
                    let exponent = 117 + ((state >> 8) % 14) as u32; // 2^-10 .. 2^3
                    let mantissa = (state >> 20) as u32 & 0x007F_FFFF;
                    let sign = ((state >> 63) as u32) << 31;
                    f32::from_bits(sign | (exponent << 23) | mantissa)
                }
            }
        })
        .collect()
}

fn run(
    backend: &CpuBackend,
    a: &[f32],
    b: &[f32],
    spec: &GemmSpec,
) -> Result<Vec<f32>, BackendError> {
    let out = backend.qgemm(&backend.upload(a)?, &backend.upload(b)?, spec)?;
    pollster::block_on(backend.download(&out))
}

fn assert_same(got: &[f32], want: &[f32], context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "{context}: element {i} is {g:e} ({:#010x}), the reference gives {w:e} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// The backends every check runs on: all threads, one thread, and an odd pool size.
fn backends() -> [CpuBackend; 3] {
    [
        CpuBackend::new(),
        CpuBackend::with_threads(1),
        CpuBackend::with_threads(3),
    ]
}

/// Fast path (on every backend of `backends`) == reference, bit for bit.
fn check(backends: &[CpuBackend], spec: &GemmSpec, seed: u64) {
    let (a_len, b_len, _) = spec.sizes();
    let a = values(a_len, seed);
    let b = values(b_len, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 5);
    check_with(backends, spec, &a, &b);
}

fn check_with(backends: &[CpuBackend], spec: &GemmSpec, a: &[f32], b: &[f32]) {
    let want = reference(a, b, spec).unwrap();
    for backend in backends {
        let got = run(backend, a, b, spec).unwrap();
        assert_same(&got, &want, &format!("{spec:?}"));
    }
}

const PAIRS: [(&str, &str); 9] = [
    ("e4m3", "fp16"),
    ("bf16", "fp32"),
    ("fp32", "fp32"),
    ("e5m2", "bf16"),
    ("binary8(p=3)", "fp16"),
    ("fixed(wl=8,fl=4)", "fixed(wl=16,fl=8)"),
    ("superfp(exp=4,man=3,binades=1)", "fp16"),
    ("e4m3fn", "binary8(p=4)"),
    ("block(wl=6,dim=0)", "binary(k=16,p=8)"),
];

/// (batch, m, k, n), ragged on purpose; k = 300 crosses a k panel, n = 65 and 70 a column tile.
const SHAPES: [(usize, usize, usize, usize); 6] = [
    (1, 1, 1, 1),
    (1, 7, 13, 5),
    (1, 33, 65, 17),
    (3, 6, 9, 70),
    (1, 5, 300, 65),
    (2, 9, 0, 4),
];

fn spec(shape: (usize, usize, usize, usize), mul: &str, add: &str) -> GemmSpec {
    let (batch, m, k, n) = shape;
    GemmSpec::new(batch, m, k, n, format(mul), format(add))
}

#[test]
fn nearest_formats_shapes_and_transposes() {
    let backends = backends();
    for (p, (mul, add)) in PAIRS.into_iter().enumerate() {
        for (s, shape) in SHAPES.into_iter().enumerate() {
            for transposes in 0..4 {
                for fma in [false, true] {
                    let mut spec = spec(shape, mul, add);
                    spec.transpose_a = transposes & 1 != 0;
                    spec.transpose_b = transposes & 2 != 0;
                    spec.fma = fma;
                    // The large shapes once per pair; the small ones in every variant.
                    if shape.2 >= 65 && (transposes != 3 || fma) && p > 1 {
                        continue;
                    }
                    check(&backends, &spec, (p * 31 + s * 7 + transposes) as u64);
                }
            }
        }
    }
}

fn deterministic_modes() -> [Rounding; 6] {
    [
        Rounding::Nearest,
        Rounding::TowardZero,
        Rounding::Up,
        Rounding::Down,
        Rounding::NearestAway,
        Rounding::Odd,
    ]
}

#[test]
fn every_rounding_mode() {
    let backends = backends();
    let shape = (2, 5, 19, 67);
    for (mul, add) in PAIRS {
        if mul.starts_with("superfp") {
            continue; // nearest only
        }
        for mode in deterministic_modes() {
            for fma in [false, true] {
                let mut spec = spec(shape, mul, add);
                spec.rounding = mode;
                spec.fma = fma;
                spec.transpose_b = fma;
                check(&backends[..2], &spec, mode.code() as u64 + 11);
            }
        }
    }
}

#[test]
fn stochastic_rounding_with_seeds_and_bits() {
    let backends = backends();
    let shape = (2, 5, 19, 67);
    for (mul, add) in PAIRS {
        if mul.starts_with("superfp") {
            continue;
        }
        for (seed, fma) in [(0u64, false), (1, true), (0xDEAD_BEEF_CAFE_F00D, false)] {
            let mut spec = spec(shape, mul, add);
            spec.rounding = Rounding::Stochastic { bits: 8 }; // mul_bits/add_bits apply
            spec.seed = seed;
            spec.fma = fma;
            check(&backends, &spec, seed ^ 3);
            spec.mul_bits = 3;
            spec.add_bits = 32;
            check(&backends[..1], &spec, seed ^ 4);
        }
    }
    // Different seeds give different results (and the fast path follows each).
    let mut spec = spec(shape, "e4m3", "e5m2");
    spec.rounding = Rounding::Stochastic { bits: 8 };
    let a = values(spec.sizes().0, 1);
    let b = values(spec.sizes().1, 2);
    let fast = CpuBackend::new();
    let first = run(&fast, &a, &b, &spec).unwrap();
    spec.seed = 99;
    let second = run(&fast, &a, &b, &spec).unwrap();
    assert_ne!(first, second);
    assert_same(&second, &reference(&a, &b, &spec).unwrap(), "seed 99");
}

#[test]
fn compensated_accumulation() {
    let backends = backends();
    for (mul, add) in PAIRS {
        for rounding in [
            Rounding::Nearest,
            Rounding::TowardZero,
            Rounding::Stochastic { bits: 8 },
        ] {
            if mul.starts_with("superfp") && rounding != Rounding::Nearest {
                continue;
            }
            for fma in [false, true] {
                let mut spec = spec((2, 3, 40, 66), mul, add);
                spec.accumulation = Accumulation::Compensated;
                spec.rounding = rounding;
                spec.fma = fma;
                spec.transpose_a = fma;
                spec.seed = 17;
                check(&backends[..2], &spec, 23);
            }
        }
    }
}

#[test]
fn blocked_accumulation() {
    let backends = backends();
    for (mul, add) in PAIRS {
        // chunk 8 into the add format, chunk 128 into fp32 (k = 300: two full chunks and a
        // ragged one, across the 256-step panels), chunk 1 and a chunk longer than k.
        for (chunk, outer, k) in [
            (8, add, 29),
            (128, "fp32", 300),
            (1, "bf16", 7),
            (50, "e5m2", 20),
        ] {
            for rounding in [Rounding::Nearest, Rounding::Stochastic { bits: 8 }] {
                if mul.starts_with("superfp") && rounding != Rounding::Nearest {
                    continue;
                }
                let outer = format(outer);
                let mut spec = spec((1, 3, k, 65), mul, add);
                spec.accumulation = Accumulation::Blocked {
                    chunk,
                    outer,
                    outer_bits: outer.default_stochastic_bits(),
                };
                spec.rounding = rounding;
                spec.fma = chunk == 8;
                spec.seed = chunk as u64;
                check(&backends[..2], &spec, chunk as u64);
            }
        }
    }
}

#[test]
fn thread_counts_give_the_same_bits() {
    // Large enough for many tasks; every thread count must give the one reference result.
    let backends = [
        CpuBackend::new(),
        CpuBackend::with_threads(1),
        CpuBackend::with_threads(2),
        CpuBackend::with_threads(5),
    ];
    for (mul, add, rounding) in [
        ("e4m3", "fp16", Rounding::Nearest),
        ("bf16", "fp32", Rounding::Stochastic { bits: 8 }),
    ] {
        let mut spec = spec((2, 37, 70, 130), mul, add);
        spec.rounding = rounding;
        spec.seed = 5;
        check(&backends, &spec, 77);
    }
}

#[test]
fn special_values() {
    // NaN, ±Inf, ±0, binary32 subnormals, huge values: overflow, NaN propagation, 0 · Inf.
    let specials = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        f32::from_bits(1),
        -f32::from_bits(0x007F_FFFF),
        f32::MAX,
        -3.0e38,
        1.0e-30,
        448.0,
        -65504.0,
        1.0,
        -1.5,
    ];
    let (m, k, n) = (specials.len(), 3, specials.len());
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..m * k {
        a.push(specials[(i * 7 + i / k) % specials.len()]);
    }
    for i in 0..k * n {
        b.push(specials[(i * 5 + 3) % specials.len()]);
    }
    let backends = backends();
    for (mul, add) in PAIRS {
        for mode in deterministic_modes() {
            if mul.starts_with("superfp") && mode != Rounding::Nearest {
                continue;
            }
            for fma in [false, true] {
                let mut spec = GemmSpec::new(1, m, k, n, format(mul), format(add));
                spec.rounding = mode;
                spec.fma = fma;
                check_with(&backends[..2], &spec, &a, &b);
            }
        }
    }
    // Products of fp32 subnormals and of values that round to the subnormals of the formats.
    let tiny: Vec<f32> = (0..64)
        .map(|i| f32::from_bits(0x0030_0000 + i * 0x0123_4567))
        .collect();
    let ones = vec![1.0f32; 64];
    for (mul, add) in PAIRS {
        let spec = GemmSpec::new(1, 64, 1, 64, format(mul), format(add));
        check_with(&backends[..1], &spec, &tiny, &ones);
    }
}

#[test]
fn order_of_the_sum_is_sequential() {
    // In fp32, 1e8 + 1 = 1e8, so ((1e8 + 1) - 1e8) + 1 = 1, whereas a pairwise sum
    // (1e8 + 1) + (-1e8 + 1) or the reversed order gives 0.
    let fp32 = format("fp32");
    let a = [1e8f32, 1.0, -1e8, 1.0];
    let b = [1.0f32; 4];
    for backend in backends() {
        for fma in [false, true] {
            let mut spec = GemmSpec::new(1, 1, 4, 1, fp32, fp32);
            spec.fma = fma;
            assert_eq!(run(&backend, &a, &b, &spec).unwrap(), vec![1.0]);
            // The same sum in every column of a wide output (vector lanes, several tiles).
            let n = 131;
            let mut spec = GemmSpec::new(1, 1, 4, n, fp32, fp32);
            spec.fma = fma;
            let wide_b: Vec<f32> = (0..4 * n).map(|_| 1.0).collect();
            assert_eq!(run(&backend, &a, &wide_b, &spec).unwrap(), vec![1.0; n]);
        }
    }
    // fp16 accumulation: 2048 + 1 = 2048 in fp16, so 2048 + 1 + 1 + 1 + 1 stays 2048.
    let fp16 = format("fp16");
    let a = [2048f32, 1.0, 1.0, 1.0, 1.0];
    let spec = GemmSpec::new(1, 1, 5, 1, fp32, fp16);
    assert_eq!(
        run(&CpuBackend::new(), &a, &[1.0; 5], &spec).unwrap(),
        vec![2048.0]
    );
    // Compensated summation recovers the lost ones: 2052.
    let mut spec = spec;
    spec.accumulation = Accumulation::Compensated;
    assert_eq!(
        run(&CpuBackend::new(), &a, &[1.0; 5], &spec).unwrap(),
        vec![2052.0]
    );
    // The sign of zero: the product -1·0 = -0 is added to acc = +0, and +0 + -0 = +0.
    let spec = GemmSpec::new(1, 1, 1, 1, fp32, fp32);
    let got = run(&CpuBackend::new(), &[-1.0], &[0.0], &spec).unwrap();
    assert_eq!(got[0].to_bits(), 0);
}

#[test]
fn errors_are_reported_not_panics() {
    let fast = CpuBackend::new();
    let e4m3 = format("e4m3");
    let fp16 = format("fp16");
    let spec = GemmSpec::new(2, 3, 4, 5, e4m3, fp16);
    let (a_len, b_len, _) = spec.sizes();
    let a = vec![1.0; a_len];
    let b = vec![1.0; b_len];
    assert!(run(&fast, &a, &b, &spec).is_ok());
    // Wrong buffer sizes.
    assert!(matches!(
        run(&fast, &a[1..], &b, &spec),
        Err(BackendError::Shape(_))
    ));
    assert!(matches!(
        run(&fast, &a, &[b.clone(), vec![1.0]].concat(), &spec),
        Err(BackendError::Shape(_))
    ));
    // superfp with stochastic rounding.
    let mut bad = GemmSpec::new(1, 1, 1, 1, format("superfp(exp=4,man=3,binades=1)"), fp16);
    bad.rounding = Rounding::Stochastic { bits: 8 };
    bad.mul_bits = 8;
    assert!(matches!(
        run(&fast, &[1.0], &[1.0], &bad),
        Err(BackendError::Format(_))
    ));
    // chunk 0.
    let mut bad = GemmSpec::new(1, 1, 1, 1, e4m3, fp16);
    bad.accumulation = Accumulation::Blocked {
        chunk: 0,
        outer: fp16,
        outer_bits: 13,
    };
    assert!(matches!(
        run(&fast, &[1.0], &[1.0], &bad),
        Err(BackendError::Format(_))
    ));
    // Random bits out of range.
    let mut bad = GemmSpec::new(1, 1, 1, 1, e4m3, fp16);
    bad.rounding = Rounding::Stochastic { bits: 8 };
    bad.add_bits = 33;
    assert!(run(&fast, &[1.0], &[1.0], &bad).is_err());
    // Sizes that overflow the address space.
    let huge = GemmSpec::new(usize::MAX / 2, 4, 4, 4, e4m3, fp16);
    assert!(run(&fast, &[], &[], &huge).is_err());
    // Empty products are fine: zero-sized outputs and k = 0 (all +0).
    let empty = GemmSpec::new(1, 0, 3, 4, e4m3, fp16);
    assert_eq!(
        run(&fast, &[], &[1.0; 12], &empty).unwrap(),
        Vec::<f32>::new()
    );
    let no_steps = GemmSpec::new(1, 2, 0, 3, e4m3, fp16);
    assert_eq!(run(&fast, &[], &[], &no_steps).unwrap(), vec![0.0; 6]);
    // The scalar path rejects the same inputs.
    let scalar = CpuBackend::scalar();
    assert!(run(&scalar, &a[1..], &b, &spec).is_err());
}
