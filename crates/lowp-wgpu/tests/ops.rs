//! Element-wise operations, select and reductions on wgpu equal the CPU backend bit for bit
//! (NaN == NaN): every unary and binary operation on about a million inputs (every binade edge
//! of both signs, specials, subnormals, random patterns), with no quantizer, e4m3 nearest, bf16
//! stochastic (seeded) and a block format; select; Sum, Mean and Max along every axis of
//! [7, 13] and [2, 3, 5], with and without (stochastic) quantizers. Without an adapter each test
//! prints `SKIP` and passes, unless `LOWP_REQUIRE` contains `wgpu`.

mod common;

use common::{assert_same_bits, backend, download};
use lowp_backend::{Backend, BackendError, CpuBackend};
use lowp_formats::{BinaryOp, Format, Quantizer, ReduceOp, Rounding, UnaryOp};
use lowp_wgpu::WgpuBackend;
use std::time::Instant;

const SEED: u64 = 0x5EED_1234_ABCD;

/// xorshift64 (fixed seeds).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

/// Both signs of every binade edge and its neighbours, the specials and subnormals.
fn edges() -> Vec<u32> {
    let mut bits = vec![
        0u32,
        1,
        2,
        3,
        0x7F_FFFF,
        0x7F_FFFE,
        0x40_0000,
        0x7FC0_0000,
        0x7F80_0001,
    ];
    for exponent in 0..=255u32 {
        for mantissa in [
            0u32, 1, 2, 0x40_0000, 0x3F_FFFF, 0x7F_FFFF, 0x7F_FFFE, 0x10_0000,
        ] {
            bits.push((exponent << 23) | mantissa);
        }
    }
    let negatives: Vec<u32> = bits.iter().map(|b| b | 0x8000_0000).collect();
    bits.extend(negatives);
    bits
}

/// The edges, then `random` random patterns (with a bias to the interesting ranges: a quarter of
/// them have exponents within 2^-30 .. 2^8, an eighth are subnormal).
fn unary_inputs(random: usize) -> Vec<f32> {
    let mut bits = edges();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..random {
        let r = rng.next();
        let b = match i % 8 {
            0 | 1 => (r & 0x807F_FFFF) | ((97 + rng.next() % 38) << 23),
            2 => r & 0x807F_FFFF,
            _ => r,
        };
        bits.push(b);
    }
    bits.into_iter().map(f32::from_bits).collect()
}

fn quantizers() -> Vec<(&'static str, Quantizer)> {
    let e4m3: Format = "e4m3".parse().unwrap();
    let bf16: Format = "bf16".parse().unwrap();
    let block: Format = "block(wl=8,dim=0)".parse().unwrap();
    vec![
        ("e4m3 nearest", Quantizer::nearest(e4m3)),
        (
            "bf16 stochastic",
            Quantizer::new(bf16, Rounding::Stochastic { bits: 16 }, SEED).unwrap(),
        ),
        (
            "block(wl=8,dim=0) stochastic",
            Quantizer::new(block, Rounding::Stochastic { bits: 24 }, SEED).unwrap(),
        ),
    ]
}

fn check_unary(
    gpu: &WgpuBackend,
    cpu: &CpuBackend,
    data: &[f32],
    shape: &[usize],
    quantizer: Option<(&str, &Quantizer)>,
) {
    let gx = gpu.upload(data).unwrap();
    let cx = cpu.upload(data).unwrap();
    for op in UnaryOp::ALL {
        let got = gpu.unary(op, &gx, shape, quantizer.map(|q| q.1)).unwrap();
        let expected = cpu.unary(op, &cx, shape, quantizer.map(|q| q.1)).unwrap();
        assert_same_bits(
            &format!("{op:?} {:?}", quantizer.map(|q| q.0)),
            data,
            &download(gpu, &got),
            &download(cpu, &expected),
        );
    }
}

#[test]
fn unary_ops_match_the_cpu_backend() {
    let Some(gpu) = backend() else { return };
    let cpu = CpuBackend::new();
    let start = Instant::now();
    let data = unary_inputs(1 << 20);
    check_unary(&gpu, &cpu, &data, &[data.len()], None);
    // With quantizers, on the edges plus random values (shape [rows, 8]: blocks along dim 0).
    let small = unary_inputs(20_000);
    let rows = small.len() / 8;
    let small = &small[..rows * 8];
    for (name, q) in quantizers() {
        check_unary(&gpu, &cpu, small, &[rows, 8], Some((name, &q)));
    }
    eprintln!(
        "unary: {} + {} values x {} ops ({:.1?})",
        data.len(),
        small.len() * 3,
        UnaryOp::ALL.len(),
        start.elapsed()
    );
}

/// Pairs (x, y): edges against a selection of edges, random patterns, nearby values (cancelling
/// sums, subnormal results), pow-friendly pairs.
fn binary_inputs(random: usize) -> (Vec<f32>, Vec<f32>) {
    let edges = edges();
    let some: Vec<u32> = edges.iter().copied().step_by(29).collect();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for &x in &some {
        for &y in &some {
            xs.push(x);
            ys.push(y);
        }
    }
    // Every edge against a few values.
    for &x in &edges {
        for y in [
            0u32,
            0x8000_0000,
            1,
            0x3F80_0000,
            0xBF80_0000,
            0x7F80_0000,
            0x0080_0000,
            x,
            x ^ 0x8000_0000,
            x.wrapping_add(1),
        ] {
            xs.push(x);
            ys.push(y);
            xs.push(y);
            ys.push(x);
        }
    }
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for i in 0..random {
        let x = rng.next();
        let (x, y) = match i % 8 {
            // Neighbours: cancellation in Sub (and Add with the sign flipped), exact ties.
            0 => (
                x,
                x.wrapping_add(rng.next() % 5) ^ (rng.next() & 0x8000_0000),
            ),
            // Small exponents: subnormal sums, products and quotients.
            1 => (x & 0x83FF_FFFF, rng.next() & 0x83FF_FFFF),
            // Products and quotients near the subnormal / overflow thresholds.
            2 => (
                (x & 0x807F_FFFF) | ((20 + rng.next() % 50) << 23),
                (rng.next() & 0x807F_FFFF) | ((20 + rng.next() % 50) << 23),
            ),
            // pow: |x| in [2^-8, 2^8), |y| in [2^-8, 2^8) (some overflow and underflow).
            3 => (
                (x & 0x807F_FFFF) | ((119 + rng.next() % 16) << 23),
                (rng.next() & 0x807F_FFFF) | ((119 + rng.next() % 16) << 23),
            ),
            // pow: x positive near 1, large y; x negative with an integer y.
            4 => (
                (x & 0x0003_FFFF) | (126 + (rng.next() & 1)) << 23,
                (rng.next() & 0x807F_FFFF) | ((130 + rng.next() % 12) << 23),
            ),
            5 => {
                let y = (rng.next() % 61) as f32 - 30.0;
                (x | 0x8000_0000, y.to_bits())
            }
            _ => (x, rng.next()),
        };
        xs.push(x);
        ys.push(y);
    }
    (
        xs.into_iter().map(f32::from_bits).collect(),
        ys.into_iter().map(f32::from_bits).collect(),
    )
}

fn check_binary(
    gpu: &WgpuBackend,
    cpu: &CpuBackend,
    x: &[f32],
    y: &[f32],
    shape: &[usize],
    quantizer: Option<(&str, &Quantizer)>,
) {
    let (gx, gy) = (gpu.upload(x).unwrap(), gpu.upload(y).unwrap());
    let (cx, cy) = (cpu.upload(x).unwrap(), cpu.upload(y).unwrap());
    for op in BinaryOp::ALL {
        let got = gpu
            .binary(op, &gx, &gy, shape, quantizer.map(|q| q.1))
            .unwrap();
        let expected = cpu
            .binary(op, &cx, &cy, shape, quantizer.map(|q| q.1))
            .unwrap();
        let got = download(gpu, &got);
        let expected = download(cpu, &expected);
        if let Some(i) = (0..got.len()).find(|&i| {
            !(got[i].to_bits() == expected[i].to_bits()
                || (got[i].is_nan() && expected[i].is_nan()))
        }) {
            panic!(
                "{op:?} {:?}: first difference at {i}: x {:#010x} y {:#010x} gave {:#010x}, CPU {:#010x}",
                quantizer.map(|q| q.0),
                x[i].to_bits(),
                y[i].to_bits(),
                got[i].to_bits(),
                expected[i].to_bits()
            );
        }
    }
}

#[test]
fn binary_ops_match_the_cpu_backend() {
    let Some(gpu) = backend() else { return };
    let cpu = CpuBackend::new();
    let start = Instant::now();
    let (x, y) = binary_inputs(1 << 20);
    check_binary(&gpu, &cpu, &x, &y, &[x.len()], None);
    let (x, y) = binary_inputs(20_000);
    let rows = x.len() / 8;
    let (x, y) = (&x[..rows * 8], &y[..rows * 8]);
    for (name, q) in quantizers() {
        check_binary(&gpu, &cpu, x, y, &[rows, 8], Some((name, &q)));
    }
    eprintln!(
        "binary: {} ops ({:.1?})",
        BinaryOp::ALL.len(),
        start.elapsed()
    );
}

#[test]
fn select_matches_the_cpu_backend() {
    let Some(gpu) = backend() else { return };
    let cpu = CpuBackend::new();
    let conditions: Vec<f32> = edges().into_iter().map(f32::from_bits).collect();
    let n = conditions.len();
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let y: Vec<f32> = (0..n).map(|i| -(i as f32) - 0.5).collect();
    let got = gpu
        .select(
            &gpu.upload(&conditions).unwrap(),
            &gpu.upload(&x).unwrap(),
            &gpu.upload(&y).unwrap(),
        )
        .unwrap();
    let expected = cpu
        .select(
            &cpu.upload(&conditions).unwrap(),
            &cpu.upload(&x).unwrap(),
            &cpu.upload(&y).unwrap(),
        )
        .unwrap();
    assert_same_bits(
        "select",
        &conditions,
        &download(&gpu, &got),
        &download(&cpu, &expected),
    );
    let short = gpu.upload(&x[..3]).unwrap();
    let error = gpu.select(&short, &gpu.upload(&x).unwrap(), &gpu.upload(&y).unwrap());
    assert!(matches!(error, Err(BackendError::Shape(_))), "{error:?}");
}

/// Data for reductions: ordinary values, with NaN, infinities, zeros of both signs and
/// subnormals mixed in (every fifth tensor position of the special kinds).
fn reduce_data(n: usize, specials: bool) -> Vec<f32> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|i| {
            let r = rng.next();
            if specials {
                match i % 23 {
                    3 => return f32::from_bits(r & 0x8000_0007), // subnormal / zero
                    7 => return f32::from_bits((r & 0x807F_FFFF) | 0x0080_0000), // tiny normal
                    11 if i % 3 == 0 => return f32::INFINITY,
                    13 if i % 5 == 0 => return f32::NAN,
                    17 => return -0.0,
                    19 if i % 7 == 0 => return f32::NEG_INFINITY,
                    _ => {}
                }
            }
            f32::from_bits((r & 0x807F_FFFF) | ((120 + r % 14) << 23))
        })
        .collect()
}

#[test]
fn reductions_match_the_cpu_backend_along_every_axis() {
    let Some(gpu) = backend() else { return };
    let cpu = CpuBackend::new();
    let start = Instant::now();
    let mut cases = 0;
    let e4m3: Format = "e4m3".parse().unwrap();
    let bf16: Format = "bf16".parse().unwrap();
    let fp16: Format = "fp16".parse().unwrap();
    let quantizers: Vec<Option<Quantizer>> = vec![
        None,
        Some(Quantizer::nearest(e4m3)),
        Some(Quantizer::new(bf16, Rounding::Stochastic { bits: 16 }, SEED).unwrap()),
        Some(Quantizer::new(fp16, Rounding::Stochastic { bits: 5 }, SEED + 1).unwrap()),
        Some(Quantizer::new(e4m3, Rounding::TowardZero, SEED).unwrap()),
    ];
    for shape in [
        vec![7, 13],
        vec![2, 3, 5],
        vec![1000, 3],
        vec![3, 0, 2],
        vec![5],
        vec![0],
    ] {
        let n: usize = shape.iter().product();
        for specials in [false, true] {
            let data = reduce_data(n, specials);
            let gx = gpu.upload(&data).unwrap();
            let cx = cpu.upload(&data).unwrap();
            for axis in 0..shape.len() {
                for op in ReduceOp::ALL {
                    for q in &quantizers {
                        let got = gpu.reduce(op, &gx, &shape, axis, q.as_ref()).unwrap();
                        let expected = cpu.reduce(op, &cx, &shape, axis, q.as_ref()).unwrap();
                        assert_same_bits(
                            &format!(
                                "{op:?} axis {axis} of {shape:?} ({q:?}, specials {specials})"
                            ),
                            &[],
                            &download(&gpu, &got),
                            &download(&cpu, &expected),
                        );
                        cases += 1;
                    }
                }
            }
        }
    }
    eprintln!(
        "{cases} reductions equal the CPU backend ({:.1?})",
        start.elapsed()
    );
}

#[test]
fn errors_match_the_cpu_backend() {
    let Some(gpu) = backend() else { return };
    let x = gpu.upload(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    let block = Quantizer::nearest("block(wl=8,dim=0)".parse().unwrap());
    assert!(matches!(
        gpu.reduce(ReduceOp::Sum, &x, &[2, 2], 0, Some(&block)),
        Err(BackendError::Format(_))
    ));
    assert!(matches!(
        gpu.reduce(ReduceOp::Sum, &x, &[2, 2], 2, None),
        Err(BackendError::Shape(_))
    ));
    assert!(matches!(
        gpu.reduce(ReduceOp::Sum, &x, &[3], 0, None),
        Err(BackendError::Shape(_))
    ));
    assert!(matches!(
        gpu.unary(UnaryOp::Exp, &x, &[5], None),
        Err(BackendError::Shape(_))
    ));
    let y = gpu.upload(&[1.0, 2.0]).unwrap();
    assert!(matches!(
        gpu.binary(BinaryOp::Add, &x, &y, &[4], None),
        Err(BackendError::Shape(_))
    ));
    // Empty tensors.
    let empty = gpu.upload(&[]).unwrap();
    let out = gpu.unary(UnaryOp::Neg, &empty, &[0], None).unwrap();
    assert!(download(&gpu, &out).is_empty());
    let out = gpu
        .binary(BinaryOp::Add, &empty, &empty, &[0, 3], None)
        .unwrap();
    assert!(download(&gpu, &out).is_empty());
}

#[test]
fn chunked_and_2d_dispatches_match_the_cpu_backend() {
    // 4 KiB bindings (1024 values per dispatch) and at most 2 workgroups per grid dimension
    // (where the device's alignment allows): many dispatches, 2-D grids, words across chunks.
    let Some(gpu) = common::backend_with(lowp_wgpu::WgpuOptions {
        max_binding_bytes: Some(4096),
        max_workgroups_per_dimension: Some(2),
    }) else {
        return;
    };
    let cpu = CpuBackend::new();
    let (x, y) = binary_inputs(4000);
    let rows = x.len() / 8;
    let (x, y) = (&x[..rows * 8], &y[..rows * 8]);
    let shape = [rows, 8];
    for (name, q) in quantizers() {
        check_binary(&gpu, &cpu, x, y, &shape, Some((name, &q)));
        check_unary(&gpu, &cpu, x, &shape, Some((name, &q)));
    }
    check_unary(&gpu, &cpu, x, &shape, None);
    let bf16: Format = "bf16".parse().unwrap();
    let q = Quantizer::new(bf16, Rounding::Stochastic { bits: 16 }, SEED).unwrap();
    let data = reduce_data(3000 * 3, true);
    let (gx, cx) = (gpu.upload(&data).unwrap(), cpu.upload(&data).unwrap());
    // Pieces of whole rows, of columns and steps (an axis longer than a binding), and of single
    // steps over blocks of columns (rows wider than a binding).
    for (shape, axis) in [
        ([3000, 3, 1], 0),
        ([3000, 3, 1], 1),
        ([3, 3000, 1], 0),
        ([3, 1, 3000], 0),
        ([2, 3, 1500], 1),
    ] {
        for op in ReduceOp::ALL {
            let got = gpu.reduce(op, &gx, &shape, axis, Some(&q)).unwrap();
            let expected = cpu.reduce(op, &cx, &shape, axis, Some(&q)).unwrap();
            assert_same_bits(
                &format!("chunked {op:?} shape {shape:?} axis {axis}"),
                &[],
                &download(&gpu, &got),
                &download(&cpu, &expected),
            );
        }
    }
}
