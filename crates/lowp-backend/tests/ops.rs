//! Element-wise operations, select and reductions of the CPU backend against plain-loop
//! references: every op on random data with specials, with and without quantizers (e4m3 nearest,
//! bf16 stochastic, a block format for element-wise ops), several shapes and every reduction axis,
//! one thread vs all threads vs the scalar path, the error cases, and exact hand-checked values.

use lowp_backend::{Backend, BackendError, CpuBackend};
use lowp_formats::ops::reduce_reference;
use lowp_formats::philox::{philox4x32_10, seed_key};
use lowp_formats::{BinaryOp, Format, Quantizer, ReduceOp, Rounding, UnaryOp};

fn format(spec: &str) -> Format {
    spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"))
}

/// No quantizer, e4m3 round-to-nearest, bf16 stochastic (seeded).
fn quantizers() -> Vec<Option<Quantizer>> {
    vec![
        None,
        Some(Quantizer::nearest(format("e4m3"))),
        Some(
            Quantizer::new(
                format("bf16"),
                Rounding::Stochastic { bits: 16 },
                0x1234_5678_9ABC_DEF0,
            )
            .unwrap(),
        ),
    ]
}

/// xorshift64 values: mostly moderate reals, some tiny/huge ones and the binary32 specials.
fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let specials = [
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(1),
        -f32::from_bits(0x0040_0000),
        f32::MAX,
        1.0,
        -1.0,
        0.5,
        2.0,
    ];
    (0..len)
        .map(|_| {
            let r = next();
            match r % 16 {
                0 => specials[(r >> 8) as usize % specials.len()],
                1 => f32::from_bits((r >> 16) as u32),
                _ => {
                    // Uniform in [-6, 6) with a random sign and 24 random bits.
                    let unit = ((r >> 40) as f32) / (1u64 << 24) as f32;
                    12.0 * unit - 6.0
                }
            }
        })
        .collect()
}

/// Bits equal, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_same(got: &[f32], expected: &[f32], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            same(g, e),
            "{what}: element {i}: got {g:e} ({:#010x}), expected {e:e} ({:#010x})",
            g.to_bits(),
            e.to_bits()
        );
    }
}

/// The CPU backends whose results must agree: all threads, one thread, three threads, scalar.
fn backends() -> Vec<(&'static str, CpuBackend)> {
    vec![
        ("all threads", CpuBackend::new()),
        ("1 thread", CpuBackend::with_threads(1)),
        ("3 threads", CpuBackend::with_threads(3)),
        ("scalar", CpuBackend::scalar()),
    ]
}

fn download(backend: &CpuBackend, buffer: &<CpuBackend as Backend>::Buffer) -> Vec<f32> {
    pollster::block_on(backend.download(buffer)).unwrap()
}

/// Output quantization of a plain loop's values: element i with word i, or the whole tensor for
/// block formats (None where the quantizer rejects the shape, e.g. a block dim beyond its axes).
fn quantize_reference(
    values: Vec<f32>,
    shape: &[usize],
    quantizer: Option<&Quantizer>,
) -> Option<Vec<f32>> {
    match quantizer {
        None => Some(values),
        Some(q) => match q.format() {
            Format::Block(_) => q.quantize_slice(&values, shape).ok(),
            _ => Some(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| q.quantize_value(v, i as u64).unwrap())
                    .collect(),
            ),
        },
    }
}

const SHAPES: [&[usize]; 6] = [&[7, 13], &[2, 3, 5], &[1], &[], &[0, 4], &[3, 20_000]];

// ---------------------------------------------------------------------------------------------
// Scalar semantics
// ---------------------------------------------------------------------------------------------

#[test]
fn scalar_semantics_of_the_ops() {
    let xs = data(20_000, 1);
    let ys = data(20_000, 2);
    for (&x, &y) in xs.iter().zip(&ys) {
        assert!(same(UnaryOp::Sqrt.apply(x), x.sqrt()));
        assert_eq!(
            UnaryOp::Neg.apply(x).to_bits() & 0x7FFF_FFFF,
            x.to_bits() & 0x7FFF_FFFF | if x.is_nan() { 0x40_0000 } else { 0 }
        );
        assert_eq!(UnaryOp::Abs.apply(x).to_bits() >> 31, 0);
        assert!(same(BinaryOp::Add.apply(x, y), x + y));
        assert!(same(BinaryOp::Sub.apply(x, y), x - y));
        assert!(same(BinaryOp::Mul.apply(x, y), x * y));
        assert!(same(BinaryOp::Div.apply(x, y), x / y));
        let max = BinaryOp::Max.apply(x, y);
        let min = BinaryOp::Min.apply(x, y);
        if x.is_nan() || y.is_nan() {
            assert!(max.is_nan() && min.is_nan());
        } else {
            assert!(max >= x && max >= y && (max == x || max == y));
            assert!(min <= x && min <= y && (min == x || min == y));
        }
        assert_eq!(BinaryOp::Greater.apply(x, y), (x > y) as u8 as f32);
        assert_eq!(BinaryOp::GreaterEqual.apply(x, y), (x >= y) as u8 as f32);
        assert_eq!(BinaryOp::Less.apply(x, y), (x < y) as u8 as f32);
        assert_eq!(BinaryOp::LessEqual.apply(x, y), (x <= y) as u8 as f32);
        assert_eq!(BinaryOp::Equal.apply(x, y), (x == y) as u8 as f32);
    }
    // Signed zeros and NaN.
    let (pz, nz, nan) = (0.0f32, -0.0f32, f32::NAN);
    assert_eq!(BinaryOp::Max.apply(nz, pz).to_bits(), pz.to_bits());
    assert_eq!(BinaryOp::Max.apply(pz, nz).to_bits(), pz.to_bits());
    assert_eq!(BinaryOp::Min.apply(nz, pz).to_bits(), nz.to_bits());
    assert_eq!(BinaryOp::Min.apply(pz, nz).to_bits(), nz.to_bits());
    assert_eq!(BinaryOp::Max.apply(nz, nz).to_bits(), nz.to_bits());
    assert!(BinaryOp::Max.apply(1.0, nan).is_nan());
    assert!(BinaryOp::Min.apply(nan, 1.0).is_nan());
    assert_eq!(BinaryOp::Equal.apply(nan, nan), 0.0);
    assert_eq!(BinaryOp::Equal.apply(nz, pz), 1.0);
    assert_eq!(BinaryOp::Less.apply(nz, pz), 0.0);
    assert_eq!(BinaryOp::GreaterEqual.apply(nan, 1.0), 0.0);
    assert_eq!(UnaryOp::Neg.apply(pz).to_bits(), nz.to_bits());
    assert_eq!(UnaryOp::Abs.apply(nz).to_bits(), pz.to_bits());
    assert_eq!(UnaryOp::Sqrt.apply(nz).to_bits(), nz.to_bits());
    assert!(UnaryOp::Sqrt.apply(-1.0).is_nan());
    assert_eq!(BinaryOp::Pow.apply(nan, 0.0), 1.0);
    assert_eq!(BinaryOp::Pow.apply(-2.0, 3.0), -8.0);
    let snan = f32::from_bits(0x7F80_0001);
    for op in UnaryOp::ALL {
        let y = op.apply(snan);
        assert!(
            y.is_nan() && y.to_bits() & 0x40_0000 != 0,
            "{op:?}: NaN out is quiet"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Element-wise ops
// ---------------------------------------------------------------------------------------------

#[test]
fn unary_matches_plain_loop() {
    let mut quantizers = quantizers();
    quantizers.push(Some(Quantizer::nearest(format("block(wl=8,dim=0)"))));
    for shape in SHAPES {
        let len: usize = shape.iter().product();
        let x = data(len, 3 + len as u64);
        for op in UnaryOp::ALL {
            for quantizer in &quantizers {
                let q = quantizer.as_ref();
                let values: Vec<f32> = x.iter().map(|&v| op.apply(v)).collect();
                let expected = quantize_reference(values, shape, q);
                for (name, backend) in backends() {
                    let buffer = backend.upload(&x).unwrap();
                    let out = backend.unary(op, &buffer, shape, q);
                    let what = format!("{op:?} {shape:?} {q:?} on {name}");
                    match &expected {
                        Some(expected) => {
                            assert_same(&download(&backend, &out.unwrap()), expected, &what)
                        }
                        None => assert!(out.is_err(), "{what}: expected an error"),
                    }
                }
            }
        }
    }
}

#[test]
fn binary_matches_plain_loop() {
    let mut quantizers = quantizers();
    quantizers.push(Some(Quantizer::nearest(format("block(wl=6,dim=-1)"))));
    for shape in SHAPES {
        let len: usize = shape.iter().product();
        let x = data(len, 5 + len as u64);
        let mut y = data(len, 7 + len as u64);
        // Some equal pairs, so that the comparisons and max/min see ties.
        for i in (0..len).step_by(5) {
            y[i] = x[i];
        }
        for op in BinaryOp::ALL {
            for quantizer in &quantizers {
                let q = quantizer.as_ref();
                let values: Vec<f32> = x.iter().zip(&y).map(|(&a, &b)| op.apply(a, b)).collect();
                let expected = quantize_reference(values, shape, q);
                for (name, backend) in backends() {
                    let (bx, by) = (backend.upload(&x).unwrap(), backend.upload(&y).unwrap());
                    let out = backend.binary(op, &bx, &by, shape, q);
                    let what = format!("{op:?} {shape:?} {q:?} on {name}");
                    match &expected {
                        Some(expected) => {
                            assert_same(&download(&backend, &out.unwrap()), expected, &what)
                        }
                        None => assert!(out.is_err(), "{what}: expected an error"),
                    }
                }
            }
        }
    }
}

#[test]
fn element_wise_quantization_uses_word_i() {
    // bf16 with stochastic rounding: out[i] = Q(op(x[i])) with the element-wise word of i,
    // exactly what Backend::quantize does with the unquantized result.
    let q = Quantizer::new(format("bf16"), Rounding::Stochastic { bits: 16 }, 99).unwrap();
    let shape = [5, 4000];
    let x: Vec<f32> = (0..20_000).map(|i| 1.0 + i as f32 * 1e-4).collect();
    let backend = CpuBackend::new();
    let buffer = backend.upload(&x).unwrap();
    let fused = download(
        &backend,
        &backend
            .unary(UnaryOp::Exp, &buffer, &shape, Some(&q))
            .unwrap(),
    );
    let plain = backend.unary(UnaryOp::Exp, &buffer, &shape, None).unwrap();
    let separate = download(&backend, &backend.quantize(&plain, &shape, &q).unwrap());
    assert_same(&fused, &separate, "unary then quantize");
    // Stochastic rounding actually rounds both ways here.
    let plain = download(&backend, &plain);
    let (mut up, mut down) = (0, 0);
    for (&f, &p) in fused.iter().zip(&plain) {
        if f > p {
            up += 1;
        } else if f < p {
            down += 1;
        }
    }
    assert!(up > 1000 && down > 1000, "up {up}, down {down}");
}

#[test]
fn select_semantics() {
    let condition = [
        1.0,
        0.0,
        -0.0,
        f32::NAN,
        -3.0,
        f32::INFINITY,
        f32::from_bits(1),
    ];
    let x = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0];
    let y = [20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0];
    let expected = [10.0, 21.0, 22.0, 13.0, 14.0, 15.0, 16.0];
    let backend = CpuBackend::new();
    let (c, bx, by) = (
        backend.upload(&condition).unwrap(),
        backend.upload(&x).unwrap(),
        backend.upload(&y).unwrap(),
    );
    let out = backend.select(&c, &bx, &by).unwrap();
    assert_same(&download(&backend, &out), &expected, "select");
    // Random data, plain loop.
    let condition = data(50_000, 11);
    let x = data(50_000, 12);
    let y = data(50_000, 13);
    let expected: Vec<f32> = (0..50_000)
        .map(|i| {
            if condition[i] != 0.0 || condition[i].is_nan() {
                x[i]
            } else {
                y[i]
            }
        })
        .collect();
    for (name, backend) in backends() {
        let (c, bx, by) = (
            backend.upload(&condition).unwrap(),
            backend.upload(&x).unwrap(),
            backend.upload(&y).unwrap(),
        );
        let out = backend.select(&c, &bx, &by).unwrap();
        assert_same(
            &download(&backend, &out),
            &expected,
            &format!("select on {name}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------------------------

/// An independent plain-loop reduction (SEMANTICS.md §3, §10): nested loops over the output
/// coordinates, explicit Philox counters.
fn reduce_plain(
    op: ReduceOp,
    x: &[f32],
    shape: &[usize],
    axis: usize,
    quantizer: Option<&Quantizer>,
) -> Vec<f32> {
    let outer: usize = shape[..axis].iter().product();
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let round = |v: f32, o: usize, step: usize| -> f32 {
        match quantizer {
            None => v,
            Some(q) => {
                let word = philox4x32_10(
                    [o as u32, (o as u64 >> 32) as u32, step as u32, 2],
                    seed_key(q.seed()),
                )[0];
                let word = if q.is_stochastic() { word } else { 0 };
                f32::from_bits(q.quantize_bits(v.to_bits(), word).unwrap())
            }
        }
    };
    let mut out = Vec::new();
    for i in 0..outer {
        for j in 0..inner {
            let o = i * inner + j;
            let lane: Vec<f32> = (0..len).map(|k| x[(i * len + k) * inner + j]).collect();
            let value = match op {
                ReduceOp::Sum | ReduceOp::Mean => {
                    let mut acc = 0.0f32;
                    for (k, &v) in lane.iter().enumerate() {
                        acc = round(acc + v, o, k);
                    }
                    if op == ReduceOp::Sum {
                        acc
                    } else {
                        round(acc / len as f32, o, len)
                    }
                }
                ReduceOp::Max => {
                    let mut m = f32::NEG_INFINITY;
                    for &v in &lane {
                        m = if m.is_nan() || v.is_nan() {
                            f32::NAN
                        } else if v > m || (v == m && v.to_bits() == 0) {
                            v
                        } else {
                            m
                        };
                    }
                    round(m, o, len)
                }
            };
            out.push(value);
        }
    }
    out
}

#[test]
fn reductions_match_plain_loops_on_every_axis() {
    let shapes: [&[usize]; 6] = [&[7, 13], &[2, 3, 5], &[5], &[4, 0, 3], &[1, 1], &[300, 257]];
    for shape in shapes {
        let len: usize = shape.iter().product();
        let mut x = data(len, 17 + len as u64);
        if len > 1000 {
            // Fewer non-finite values in the large case, so that most lanes stay finite.
            for v in x.iter_mut() {
                if !v.is_finite() || v.abs() > 1e30 {
                    *v = 0.25;
                }
            }
        }
        for axis in 0..shape.len() {
            for op in ReduceOp::ALL {
                for quantizer in &quantizers() {
                    let q = quantizer.as_ref();
                    let what = format!("{op:?} {shape:?} axis {axis} {q:?}");
                    let expected = reduce_plain(op, &x, shape, axis, q);
                    let reference = reduce_reference(op, &x, shape, axis, q).unwrap();
                    assert_same(&reference, &expected, &format!("reduce_reference {what}"));
                    for (name, backend) in backends() {
                        let buffer = backend.upload(&x).unwrap();
                        let out = backend.reduce(op, &buffer, shape, axis, q).unwrap();
                        assert_same(
                            &download(&backend, &out),
                            &expected,
                            &format!("{what} on {name}"),
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn reductions_of_long_lanes_are_thread_independent() {
    let shape = [3, 70_000];
    let x: Vec<f32> = data(210_000, 23)
        .into_iter()
        .map(|v| if v.is_finite() { v } else { 1.0 })
        .collect();
    for axis in 0..2 {
        for op in ReduceOp::ALL {
            for quantizer in &quantizers() {
                let q = quantizer.as_ref();
                let expected = reduce_reference(op, &x, &shape, axis, q).unwrap();
                for (name, backend) in backends() {
                    let buffer = backend.upload(&x).unwrap();
                    let out = backend.reduce(op, &buffer, &shape, axis, q).unwrap();
                    assert_same(
                        &download(&backend, &out),
                        &expected,
                        &format!("{op:?} axis {axis} {q:?} {name}"),
                    );
                }
            }
        }
    }
}

fn reduce_values(
    op: ReduceOp,
    x: &[f32],
    shape: &[usize],
    axis: usize,
    q: Option<&Quantizer>,
) -> Vec<f32> {
    let backend = CpuBackend::new();
    let buffer = backend.upload(x).unwrap();
    let out = download(
        &backend,
        &backend.reduce(op, &buffer, shape, axis, q).unwrap(),
    );
    assert_same(
        &out,
        &reduce_reference(op, x, shape, axis, q).unwrap(),
        "reference",
    );
    out
}

#[test]
fn hand_checked_reductions() {
    let e4m3 = Quantizer::nearest(format("e4m3"));
    // fp32, sequential order: ((1e8 + 1) - 1e8) + 1 = (1e8 - 1e8) + 1 = 1.
    assert_eq!(
        reduce_values(ReduceOp::Sum, &[1e8, 1.0, -1e8, 1.0], &[4], 0, None),
        [1.0]
    );
    let fp32 = Quantizer::nearest(format("fp32"));
    assert_eq!(
        reduce_values(ReduceOp::Sum, &[1e8, 1.0, -1e8, 1.0], &[4], 0, Some(&fp32)),
        [1.0]
    );
    // e4m3 quantizes every partial sum: 1..16 are exact, 16 + 1 = 17 is a tie between 16 and 18
    // and rounds to even (16), so 18 ones sum to 16; the mean is Q(16/18 = 0.888...) = 0.875.
    let ones = [1.0f32; 18];
    assert_eq!(reduce_values(ReduceOp::Sum, &ones, &[18], 0, None), [18.0]);
    assert_eq!(
        reduce_values(ReduceOp::Sum, &ones, &[18], 0, Some(&e4m3)),
        [16.0]
    );
    assert_eq!(reduce_values(ReduceOp::Mean, &ones, &[18], 0, None), [1.0]);
    assert_eq!(
        reduce_values(ReduceOp::Mean, &ones, &[18], 0, Some(&e4m3)),
        [0.875]
    );
    // 1 + 0.0625 = 1.0625 is a tie in e4m3 (spacing 0.125 at 1): each step rounds back to 1.
    let mut small = vec![1.0f32];
    small.extend([0.0625f32; 8]);
    assert_eq!(
        reduce_values(ReduceOp::Sum, &small, &[9], 0, Some(&e4m3)),
        [1.0]
    );
    assert_eq!(reduce_values(ReduceOp::Sum, &small, &[9], 0, None), [1.5]);
    // Mean over rows and columns of [[1, 2, 3], [4, 5, 6]].
    let m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    assert_eq!(
        reduce_values(ReduceOp::Mean, &m, &[2, 3], 1, None),
        [2.0, 5.0]
    );
    assert_eq!(
        reduce_values(ReduceOp::Mean, &m, &[2, 3], 0, None),
        [2.5, 3.5, 4.5]
    );
    assert_eq!(
        reduce_values(ReduceOp::Sum, &m, &[2, 3], 0, None),
        [5.0, 7.0, 9.0]
    );
    // e4m3: column sums 5, 7, 9 are exact; 1 + 2 + 3 = 6 and 4 + 5 + 6 = 15 are exact too, but
    // 15 / 3 = 5 and 6 / 3 = 2.
    assert_eq!(
        reduce_values(ReduceOp::Mean, &m, &[2, 3], 1, Some(&e4m3)),
        [2.0, 5.0]
    );
    // Max: NaN propagates, max(-0, +0) = +0, a lane of -0 stays -0, then Q.
    let x = [1.0, f32::NAN, 3.0, -0.0, 0.0, -1.0, -0.0, -0.0, -5.0];
    let out = reduce_values(ReduceOp::Max, &x, &[3, 3], 1, None);
    assert!(out[0].is_nan());
    assert_eq!(out[1].to_bits(), 0.0f32.to_bits());
    assert_eq!(out[2].to_bits(), (-0.0f32).to_bits());
    assert_eq!(
        reduce_values(ReduceOp::Max, &[1.0, 1.0625, -7.0], &[3], 0, Some(&e4m3)),
        [1.0]
    );
    assert_eq!(
        reduce_values(ReduceOp::Max, &[300.0, 2.0], &[2], 0, Some(&e4m3)),
        [f32::INFINITY]
    );
    // Empty axis: Sum 0, Mean NaN, Max -inf.
    let empty: [f32; 0] = [];
    assert_eq!(
        reduce_values(ReduceOp::Sum, &empty, &[2, 0], 1, None),
        [0.0, 0.0]
    );
    assert!(
        reduce_values(ReduceOp::Mean, &empty, &[2, 0], 1, Some(&e4m3))
            .iter()
            .all(|v| v.is_nan())
    );
    assert_eq!(
        reduce_values(ReduceOp::Max, &empty, &[2, 0], 1, None),
        [f32::NEG_INFINITY; 2]
    );
    assert_eq!(
        reduce_values(ReduceOp::Sum, &empty, &[0, 2], 1, None),
        empty
    );
    // A sum of negative zeros starts from +0.
    assert_eq!(
        reduce_values(ReduceOp::Sum, &[-0.0, -0.0], &[2], 0, None)[0].to_bits(),
        0
    );
}

#[test]
fn stochastic_reduction_draws_the_documented_words() {
    // bf16 stochastic with 16 bits: sum of 1 + 2^-9 repeated; every step is inexact, so each
    // rounding consults its own word (lo32(o), hi32(o), k, 2)[0].
    let seed = 77;
    let q = Quantizer::new(format("bf16"), Rounding::Stochastic { bits: 16 }, seed).unwrap();
    let x = vec![1.0 + 2f32.powi(-9); 64 * 3];
    let out = reduce_values(ReduceOp::Sum, &x, &[3, 64], 1, Some(&q));
    for (o, &value) in out.iter().enumerate() {
        let mut acc = 0.0f32;
        for k in 0..64u32 {
            let word = philox4x32_10([o as u32, 0, k, 2], seed_key(seed))[0];
            acc = f32::from_bits(q.quantize_bits((acc + x[0]).to_bits(), word).unwrap());
        }
        assert_eq!(value, acc, "output {o}");
    }
    // Different outputs draw different words, so the three lanes differ (with overwhelming
    // probability for this seed).
    assert!(out[0] != out[1] || out[1] != out[2], "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn errors_are_reported_not_panics() {
    let backend = CpuBackend::new();
    let x = backend.upload(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let y = backend.upload(&[1.0, 2.0, 3.0]).unwrap();
    let shape_error = |r: Result<_, BackendError>| matches!(r, Err(BackendError::Shape(_)));
    // Length vs shape.
    assert!(shape_error(backend.unary(UnaryOp::Exp, &x, &[4], None)));
    assert!(shape_error(backend.unary(
        UnaryOp::Exp,
        &x,
        &[usize::MAX, 3],
        None
    )));
    assert!(shape_error(backend.binary(
        BinaryOp::Add,
        &x,
        &y,
        &[2, 3],
        None
    )));
    assert!(shape_error(backend.binary(
        BinaryOp::Add,
        &y,
        &x,
        &[2, 3],
        None
    )));
    assert!(shape_error(backend.select(&x, &y, &x)));
    assert!(shape_error(backend.select(&x, &x, &y)));
    assert!(shape_error(backend.reduce(
        ReduceOp::Sum,
        &x,
        &[4, 2],
        0,
        None
    )));
    // Axis out of range.
    assert!(shape_error(backend.reduce(
        ReduceOp::Sum,
        &x,
        &[2, 3],
        2,
        None
    )));
    let scalar = backend.upload(&[1.0]).unwrap();
    assert!(shape_error(backend.reduce(
        ReduceOp::Max,
        &scalar,
        &[],
        0,
        None
    )));
    assert!(reduce_reference(ReduceOp::Sum, &[1.0, 2.0], &[2], 1, None).is_err());
    assert!(reduce_reference(ReduceOp::Sum, &[1.0, 2.0], &[3], 0, None).is_err());
    // Block formats are not element-wise: an error in reductions (also in the reference) ...
    let block = Quantizer::nearest(format("block(wl=8,dim=-1)"));
    for op in ReduceOp::ALL {
        assert!(matches!(
            backend.reduce(op, &x, &[2, 3], 1, Some(&block)),
            Err(BackendError::Format(_))
        ));
        assert!(reduce_reference(op, &[1.0, 2.0], &[2], 0, Some(&block)).is_err());
    }
    // ... but fine for element-wise ops, where the whole result is quantized along `shape`.
    assert!(
        backend
            .unary(UnaryOp::Neg, &x, &[2, 3], Some(&block))
            .is_ok()
    );
    // A block dim out of range for the shape is reported by the quantizer.
    let block_dim = Quantizer::nearest(format("block(wl=8,dim=3)"));
    assert!(
        backend
            .unary(UnaryOp::Neg, &x, &[2, 3], Some(&block_dim))
            .is_err()
    );
}
