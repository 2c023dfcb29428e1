//! Low-precision layers against scalar oracles written here from the documented formulas:
//! every intermediate rounded with lowp-formats' scalar quantizer (round to nearest), the
//! binary32 operations of `BinaryOp::apply` / `UnaryOp::apply`, sequential sums. Bit for bit.

use lowp_formats::{BinaryOp, Format, Quantizer, UnaryOp};
use lowp_nn::functional::qlayernorm;
use lowp_nn::functional::qsoftmax;
use lowp_nn::{QLayerNormFormats, QSoftmaxFormats};
use lowp_tensor::{Device, Tensor};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 + 1.0) * 0.731 + seed as f32).sin() * 2.1)
        .collect()
}

fn same_bits(got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len());
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "element {i}: {a:e} vs {b:e}");
    }
}

/// `Q(op(a, b))` with round to nearest.
fn q2(q: &Quantizer, op: BinaryOp, a: f32, b: f32) -> f32 {
    q.quantize_value(op.apply(a, b), 0).unwrap()
}

fn q1(q: &Quantizer, op: UnaryOp, a: f32) -> f32 {
    q.quantize_value(op.apply(a), 0).unwrap()
}

/// Sequential sum with every partial sum rounded.
fn qsum(q: &Quantizer, items: impl Iterator<Item = f32>) -> f32 {
    items.fold(0.0, |acc, v| q.quantize_value(acc + v, 0).unwrap())
}

#[test]
fn qsoftmax_regular_is_its_formula_step_by_step() {
    let (bf16, fp16, e5m2) = (
        Format::preset("bf16").unwrap(),
        Format::preset("fp16").unwrap(),
        Format::preset("e5m2").unwrap(),
    );
    let formats = QSoftmaxFormats {
        fwd_off: Some(bf16),
        fwd_exp: Some(e5m2),
        fwd_acc: Some(fp16),
        bwd_add: Some(fp16),
        bwd_mul: Some(bf16),
        ..QSoftmaxFormats::default()
    };
    let (off, exp, acc) = (
        Quantizer::nearest(bf16),
        Quantizer::nearest(e5m2),
        Quantizer::nearest(fp16),
    );
    let (badd, bmul) = (Quantizer::nearest(fp16), Quantizer::nearest(bf16));
    let (rows, width) = (3, 7);
    let x = values(rows * width, 1);
    let g = values(rows * width, 2);
    let device = Device::cpu();
    let input = Tensor::var(&x, &[rows, width], &device).unwrap();
    let y = qsoftmax(&input, -1, &formats).unwrap();
    y.backward_with(&Tensor::from_slice(&g, &[rows, width], &device).unwrap())
        .unwrap();
    let (mut ey, mut egx) = (vec![], vec![]);
    for r in 0..rows {
        let row = &x[r * width..(r + 1) * width];
        let gr = &g[r * width..(r + 1) * width];
        let m = row
            .iter()
            .fold(f32::NEG_INFINITY, |a, &b| BinaryOp::Max.apply(a, b));
        let e: Vec<f32> = row
            .iter()
            .map(|&v| q1(&exp, UnaryOp::Exp, q2(&off, BinaryOp::Sub, v, m)))
            .collect();
        let s = qsum(&acc, e.iter().copied());
        let yr: Vec<f32> = e.iter().map(|&v| q2(&acc, BinaryOp::Div, v, s)).collect();
        let t = qsum(
            &badd,
            (0..width).map(|j| q2(&bmul, BinaryOp::Mul, gr[j], yr[j])),
        );
        egx.extend((0..width).map(|j| {
            q2(
                &bmul,
                BinaryOp::Mul,
                yr[j],
                q2(&badd, BinaryOp::Sub, gr[j], t),
            )
        }));
        ey.extend(yr);
    }
    same_bits(&y.to_vec().unwrap(), &ey);
    same_bits(&input.grad().unwrap().to_vec().unwrap(), &egx);
}

#[test]
fn qlayernorm_is_its_formula_step_by_step() {
    let (bf16, fp16) = (
        Format::preset("bf16").unwrap(),
        Format::preset("fp16").unwrap(),
    );
    let tf32 = Format::preset("tf32").unwrap();
    let formats = QLayerNormFormats {
        fwd_acc: Some(fp16),
        fwd_mul: Some(bf16),
        fwd_div: Some(tf32),
        fwd_sqrt: Some(bf16),
        bwd_acc: Some(fp16),
        bwd_mul: Some(bf16),
        bwd_div: Some(tf32),
        ..QLayerNormFormats::default()
    };
    let (acc, mul, div, sqrt) = (
        Quantizer::nearest(fp16),
        Quantizer::nearest(bf16),
        Quantizer::nearest(tf32),
        Quantizer::nearest(bf16),
    );
    let (rows, n, eps) = (2, 6, 1e-5f32);
    let (x, gamma, beta, g) = (
        values(rows * n, 3),
        values(n, 4),
        values(n, 5),
        values(rows * n, 6),
    );
    let device = Device::cpu();
    let input = Tensor::var(&x, &[rows, n], &device).unwrap();
    let w = Tensor::var(&gamma, &[n], &device).unwrap();
    let b = Tensor::var(&beta, &[n], &device).unwrap();
    let y = qlayernorm(&input, &[n], Some(&w), Some(&b), eps, &formats).unwrap();
    y.backward_with(&Tensor::from_slice(&g, &[rows, n], &device).unwrap())
        .unwrap();
    let nf = n as f32;
    let (mut ey, mut egx) = (vec![], vec![]);
    let mut xhats = vec![];
    for r in 0..rows {
        let row = &x[r * n..(r + 1) * n];
        let mean = q2(&div, BinaryOp::Div, qsum(&acc, row.iter().copied()), nf);
        let d: Vec<f32> = row
            .iter()
            .map(|&v| q2(&acc, BinaryOp::Sub, v, mean))
            .collect();
        let var = q2(
            &div,
            BinaryOp::Div,
            qsum(&acc, d.iter().map(|&v| q2(&mul, BinaryOp::Mul, v, v))),
            nf,
        );
        let sigma = q1(&sqrt, UnaryOp::Sqrt, q2(&acc, BinaryOp::Add, var, eps));
        let xhat: Vec<f32> = d
            .iter()
            .map(|&v| q2(&div, BinaryOp::Div, v, sigma))
            .collect();
        ey.extend((0..n).map(|j| {
            q2(
                &acc,
                BinaryOp::Add,
                q2(&mul, BinaryOp::Mul, xhat[j], gamma[j]),
                beta[j],
            )
        }));
        let gr = &g[r * n..(r + 1) * n];
        let ghat: Vec<f32> = (0..n)
            .map(|j| q2(&mul, BinaryOp::Mul, gr[j], gamma[j]))
            .collect();
        let a = qsum(&acc, ghat.iter().copied());
        let bsum = qsum(
            &acc,
            (0..n).map(|j| q2(&mul, BinaryOp::Mul, ghat[j], xhat[j])),
        );
        let (am, bm) = (
            q2(&div, BinaryOp::Div, a, nf),
            q2(&div, BinaryOp::Div, bsum, nf),
        );
        egx.extend((0..n).map(|j| {
            let t = q2(&acc, BinaryOp::Sub, ghat[j], am);
            let u = q2(&mul, BinaryOp::Mul, xhat[j], bm);
            q2(&div, BinaryOp::Div, q2(&acc, BinaryOp::Sub, t, u), sigma)
        }));
        xhats.push(xhat);
    }
    same_bits(&y.to_vec().unwrap(), &ey);
    same_bits(&input.grad().unwrap().to_vec().unwrap(), &egx);
    let egamma: Vec<f32> = (0..n)
        .map(|j| {
            qsum(
                &acc,
                (0..rows).map(|r| q2(&mul, BinaryOp::Mul, g[r * n + j], xhats[r][j])),
            )
        })
        .collect();
    let ebeta: Vec<f32> = (0..n)
        .map(|j| qsum(&acc, (0..rows).map(|r| g[r * n + j])))
        .collect();
    same_bits(&w.grad().unwrap().to_vec().unwrap(), &egamma);
    same_bits(&b.grad().unwrap().to_vec().unwrap(), &ebeta);
}

#[test]
fn qgelu_is_its_formula_step_by_step() {
    use lowp_nn::functional::{GeluApproximation, qgelu};
    let bf16 = Format::preset("bf16").unwrap();
    let formats = lowp_nn::QGELUFormats {
        inter_quant: Some(lowp_nn::Cast::nearest(bf16)),
        ..Default::default()
    };
    let q = Quantizer::nearest(bf16);
    let x = values(9, 7);
    let g = values(9, 8);
    let device = Device::cpu();
    let (sqrt_2_over_pi, c) = (0.797_884_6f32, 0.044_715f32);
    for approximate in [GeluApproximation::None, GeluApproximation::Tanh] {
        let input = Tensor::var(&x, &[9], &device).unwrap();
        let y = qgelu(&input, &formats, approximate).unwrap();
        y.backward_with(&Tensor::from_slice(&g, &[9], &device).unwrap())
            .unwrap();
        let (mut ey, mut egx) = (vec![], vec![]);
        for (&v, &gv) in x.iter().zip(&g) {
            let t = match approximate {
                GeluApproximation::None => q1(
                    &q,
                    UnaryOp::Erf,
                    q2(&q, BinaryOp::Mul, v, std::f32::consts::FRAC_1_SQRT_2),
                ),
                GeluApproximation::Tanh => {
                    let cube = q2(&q, BinaryOp::Mul, q2(&q, BinaryOp::Mul, v, v), v);
                    let inner = q2(&q, BinaryOp::Add, v, q2(&q, BinaryOp::Mul, cube, c));
                    q1(
                        &q,
                        UnaryOp::Tanh,
                        q2(&q, BinaryOp::Mul, inner, sqrt_2_over_pi),
                    )
                }
            };
            let half = q2(&q, BinaryOp::Mul, v, 0.5);
            let one_plus = q2(&q, BinaryOp::Add, t, 1.0);
            ey.push(q2(&q, BinaryOp::Mul, half, one_plus));
            let cdf = q2(&q, BinaryOp::Mul, one_plus, 0.5);
            let slope = match approximate {
                GeluApproximation::None => {
                    let e = q1(
                        &q,
                        UnaryOp::Exp,
                        q2(&q, BinaryOp::Mul, q2(&q, BinaryOp::Mul, v, v), -0.5),
                    );
                    q2(&q, BinaryOp::Mul, v, q2(&q, BinaryOp::Mul, e, 0.398_942_3))
                }
                GeluApproximation::Tanh => {
                    let sech2 = q2(&q, BinaryOp::Sub, 1.0, q2(&q, BinaryOp::Mul, t, t));
                    let poly = q2(
                        &q,
                        BinaryOp::Add,
                        q2(&q, BinaryOp::Mul, q2(&q, BinaryOp::Mul, v, v), 3.0 * c),
                        1.0,
                    );
                    let k = q2(&q, BinaryOp::Mul, poly, sqrt_2_over_pi);
                    q2(&q, BinaryOp::Mul, q2(&q, BinaryOp::Mul, half, sech2), k)
                }
            };
            egx.push(q2(&q, BinaryOp::Mul, gv, q2(&q, BinaryOp::Add, cdf, slope)));
        }
        same_bits(&y.to_vec().unwrap(), &ey);
        same_bits(&input.grad().unwrap().to_vec().unwrap(), &egx);
    }
}
