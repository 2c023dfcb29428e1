//! The element-wise, reduction, softmax, LayerNorm and GELU functional ops: with every format
//! binary32 they match f64 references (forward) and finite differences / analytic f64
//! gradients (backward); shapes and the mptorch bugs listed in the issue are pinned.

use lowp_formats::{Format, Rounding};
use lowp_nn::functional::{
    GeluApproximation, QuantPair, qadd, qdiv, qgelu, qlayernorm, qmean, qmul, qpow, qsoftmax,
    qsqrt, qsum,
};
use lowp_nn::seeds::SeedStream;
use lowp_nn::{
    Cast, Module, QGELUFormats, QLayerNorm, QLayerNormFormats, QSoftmaxFormats, Quantizer,
    quantizer,
};
use lowp_tensor::{Device, Tensor};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 + 1.0) * 0.731 + seed as f32).sin() * 1.7)
        .collect()
}

fn close(got: &[f32], expected: &[f64], tolerance: f64) {
    assert_eq!(got.len(), expected.len());
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g as f64 - e).abs() <= tolerance * (1.0 + e.abs()),
            "element {i}: {g} vs {e}\n{got:?}\n{expected:?}"
        );
    }
}

/// The gradient of `sum(f(x) * weights)` by autograd against central differences.
fn check_gradient(x: &[f32], shape: &[usize], f: impl Fn(&Tensor) -> Tensor) {
    let device = Device::cpu();
    let input = Tensor::var(x, shape, &device).unwrap();
    let out = f(&input);
    let weights = Tensor::from_vec(values(out.len(), 9), out.shape(), &device).unwrap();
    out.mul(&weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let grad = input.grad().unwrap().to_vec().unwrap();
    let h = 1e-2f32;
    let expected: Vec<f64> = (0..x.len())
        .map(|i| {
            let eval = |delta: f32| {
                let mut v = x.to_vec();
                v[i] += delta;
                let t = Tensor::from_slice(&v, shape, &device).unwrap();
                f(&t)
                    .mul(&weights)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar()
                    .unwrap() as f64
            };
            (eval(h) - eval(-h)) / (2.0 * h as f64)
        })
        .collect();
    close(&grad, &expected, 1e-2);
}

#[test]
fn elementwise_ops_in_fp32_have_true_gradients() {
    let pair = QuantPair::default();
    let x = values(6, 1);
    let y: Vec<f32> = values(6, 2).iter().map(|v| v + 3.0).collect();
    let device = Device::cpu();
    let yt = Tensor::from_slice(&y, &[2, 3], &device).unwrap();
    check_gradient(&x, &[2, 3], |t| qadd(t, &yt, &pair).unwrap());
    check_gradient(&x, &[2, 3], |t| qmul(t, &yt, &pair).unwrap());
    check_gradient(&x, &[2, 3], |t| qdiv(t, &yt, &pair).unwrap());
    // qdiv's gradient with respect to the divisor is -g·x/y² (mptorch documents -g·x/y).
    let xt = Tensor::from_slice(&x, &[2, 3], &device).unwrap();
    check_gradient(&y, &[2, 3], |t| qdiv(&xt, t, &pair).unwrap());
    check_gradient(&y, &[2, 3], |t| qsqrt(t, &pair).unwrap());
    check_gradient(&y, &[2, 3], |t| {
        qpow(t, &Tensor::scalar(2.5, &device).unwrap(), &pair).unwrap()
    });
    // broadcasting: y of shape [3]
    let row = Tensor::from_slice(&y[..3], &[3], &device).unwrap();
    check_gradient(&x, &[2, 3], |t| qmul(t, &row, &pair).unwrap());
    check_gradient(&y[..3], &[3], |t| qmul(&xt, t, &pair).unwrap());
}

#[test]
fn elementwise_ops_quantize_forward_and_backward() {
    let device = Device::cpu();
    let bf16 = Cast::nearest(Format::preset("bf16").unwrap());
    let e5m2 = Cast::nearest(Format::preset("e5m2").unwrap());
    let pair = QuantPair::new(Some(bf16), Some(e5m2), 0);
    let x = Tensor::var(&values(6, 1), &[6], &device).unwrap();
    let y = Tensor::from_slice(&values(6, 2), &[6], &device).unwrap();
    let out = qmul(&x, &y, &pair).unwrap();
    let expected = bf16
        .apply(
            &x.detach()
                .binary_raw(lowp_formats::BinaryOp::Mul, &y, None)
                .unwrap(),
            0,
        )
        .unwrap();
    assert_eq!(out.to_vec().unwrap(), expected.to_vec().unwrap());
    out.sum_all().unwrap().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec().unwrap(),
        e5m2.apply(&y, 0).unwrap().to_vec().unwrap()
    );
}

/// mptorch bug "qsum/qmean shapes": dims given as one axis, several axes or None, with and
/// without keepdim, give torch's shapes and values.
#[test]
fn qsum_and_qmean_shapes() {
    let device = Device::cpu();
    let x = Tensor::var(&values(24, 3), &[2, 3, 4], &device).unwrap();
    let seeds = SeedStream::default();
    let shape = |dim: Option<&[isize]>, keepdim| {
        qsum(&x, dim, None, keepdim, &seeds)
            .unwrap()
            .shape()
            .to_vec()
    };
    assert_eq!(shape(None, false), Vec::<usize>::new());
    assert_eq!(shape(None, true), vec![1, 1, 1]);
    assert_eq!(shape(Some(&[1]), false), vec![2, 4]);
    assert_eq!(shape(Some(&[-1, 0]), true), vec![1, 3, 1]);
    assert_eq!(shape(Some(&[0, 2]), false), vec![3]);
    let pair = QuantPair::default();
    let mean = qmean(&x, &pair, Some(&[0, 2]), false).unwrap();
    assert_eq!(mean.shape(), &[3]);
    let v = values(24, 3);
    let expected: Vec<f64> = (0..3)
        .map(|j| {
            (0..2)
                .flat_map(|i| (0..4).map(move |k| (i, k)))
                .map(|(i, k)| v[i * 12 + j * 4 + k] as f64)
                .sum::<f64>()
                / 8.0
        })
        .collect();
    close(&mean.to_vec().unwrap(), &expected, 1e-6);
    mean.sum_all().unwrap().backward().unwrap();
    close(&x.grad().unwrap().to_vec().unwrap(), &[0.125; 24], 0.0);
    assert!(qsum(&x, Some(&[3]), None, false, &seeds).is_err());
    let total = qsum(&x, None, None, false, &seeds)
        .unwrap()
        .to_scalar()
        .unwrap();
    close(&[total], &[v.iter().map(|&a| a as f64).sum()], 1e-6);
}

fn softmax64(x: &[f32], width: usize) -> Vec<f64> {
    x.chunks(width)
        .flat_map(|row| {
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let total: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
            row.iter()
                .map(move |&v| (v as f64 - m).exp() / total)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn qsoftmax_in_fp32_matches_f64_in_both_forms() {
    let device = Device::cpu();
    let x = values(12, 4);
    let t = Tensor::from_slice(&x, &[3, 4], &device).unwrap();
    let regular = qsoftmax(&t, -1, &QSoftmaxFormats::default()).unwrap();
    close(&regular.to_vec().unwrap(), &softmax64(&x, 4), 1e-6);
    let lse = QSoftmaxFormats {
        fwd_lse: Some(Format::preset("fp32").unwrap()),
        ..QSoftmaxFormats::default()
    };
    close(
        &qsoftmax(&t, 1, &lse).unwrap().to_vec().unwrap(),
        &softmax64(&x, 4),
        1e-5,
    );
    // along axis 0: the transpose's softmax
    let along0 = qsoftmax(&t, 0, &QSoftmaxFormats::default())
        .unwrap()
        .t()
        .unwrap()
        .to_vec()
        .unwrap();
    let xt: Vec<f32> = (0..12).map(|i| x[(i % 3) * 4 + i / 3]).collect();
    close(&along0, &softmax64(&xt, 3), 1e-6);
    check_gradient(&x, &[3, 4], |t| {
        qsoftmax(t, -1, &QSoftmaxFormats::default()).unwrap()
    });
    check_gradient(&x, &[3, 4], |t| qsoftmax(t, 0, &lse).unwrap());
    assert!(qsoftmax(&t, 2, &QSoftmaxFormats::default()).is_err());
}

#[test]
fn qsoftmax_low_precision_outputs_lie_on_the_grid() {
    let device = Device::cpu();
    let bf16 = Format::preset("bf16").unwrap();
    let formats = QSoftmaxFormats {
        fwd_off: Some(bf16),
        fwd_exp: Some(bf16),
        fwd_acc: Some(bf16),
        bwd_add: Some(bf16),
        bwd_mul: Some(bf16),
        ..QSoftmaxFormats::default()
    };
    let t = Tensor::var(&values(12, 4), &[3, 4], &device).unwrap();
    let y = qsoftmax(&t, -1, &formats).unwrap();
    let q = lowp_formats::Quantizer::nearest(bf16);
    let values = y.to_vec().unwrap();
    assert_eq!(q.quantize_slice(&values, &[12]).unwrap(), values);
    close(&values, &softmax64(&t.to_vec().unwrap(), 4), 1e-2);
}

/// LayerNorm over the last axis in f64: forward and the gradients of sum(y * c).
fn layernorm64(
    x: &[f32],
    n: usize,
    gamma: &[f32],
    beta: &[f32],
    c: &[f32],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let rows = x.len() / n;
    let (mut y, mut gx, mut gg, mut gb) = (vec![], vec![], vec![0.0; n], vec![0.0; n]);
    for r in 0..rows {
        let row: Vec<f64> = x[r * n..(r + 1) * n].iter().map(|&v| v as f64).collect();
        let mu = row.iter().sum::<f64>() / n as f64;
        let var = row.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n as f64;
        let sigma = (var + eps).sqrt();
        let xhat: Vec<f64> = row.iter().map(|v| (v - mu) / sigma).collect();
        let g: Vec<f64> = (0..n).map(|i| c[r * n + i] as f64).collect();
        let ghat: Vec<f64> = (0..n).map(|i| g[i] * gamma[i] as f64).collect();
        let a = ghat.iter().sum::<f64>() / n as f64;
        let b = ghat.iter().zip(&xhat).map(|(p, q)| p * q).sum::<f64>() / n as f64;
        for i in 0..n {
            y.push(xhat[i] * gamma[i] as f64 + beta[i] as f64);
            gx.push((ghat[i] - a - xhat[i] * b) / sigma);
            gg[i] += g[i] * xhat[i];
            gb[i] += g[i];
        }
    }
    (y, gx, gg, gb)
}

/// mptorch bug "LayerNorm default backward": the default formats give the full gradient.
#[test]
fn qlayernorm_in_fp32_matches_f64_forward_and_backward() {
    let device = Device::cpu();
    let (rows, n) = (3, 5);
    let x = values(rows * n, 5);
    let (gamma, beta, c) = (values(n, 6), values(n, 7), values(rows * n, 8));
    let layer = QLayerNorm::new(
        &[n],
        QLayerNormFormats::default(),
        1e-5,
        true,
        true,
        &device,
    )
    .unwrap();
    layer
        .weight
        .as_ref()
        .unwrap()
        .set_data(&Tensor::from_slice(&gamma, &[n], &device).unwrap())
        .unwrap();
    layer
        .bias
        .as_ref()
        .unwrap()
        .set_data(&Tensor::from_slice(&beta, &[n], &device).unwrap())
        .unwrap();
    let input = Tensor::var(&x, &[rows, n], &device).unwrap();
    let y = layer.forward(&input).unwrap();
    let (ey, egx, egg, egb) = layernorm64(&x, n, &gamma, &beta, &c, 1e-5);
    close(&y.to_vec().unwrap(), &ey, 1e-5);
    y.backward_with(&Tensor::from_slice(&c, &[rows, n], &device).unwrap())
        .unwrap();
    close(&input.grad().unwrap().to_vec().unwrap(), &egx, 1e-5);
    close(
        &layer
            .weight
            .as_ref()
            .unwrap()
            .grad()
            .unwrap()
            .to_vec()
            .unwrap(),
        &egg,
        1e-5,
    );
    close(
        &layer
            .bias
            .as_ref()
            .unwrap()
            .grad()
            .unwrap()
            .to_vec()
            .unwrap(),
        &egb,
        1e-5,
    );
    let names: Vec<String> = layer.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
    // two normalised axes, no affine parameters: finite differences
    check_gradient(&values(12, 2), &[2, 2, 3], |t| {
        qlayernorm(t, &[2, 3], None, None, 1e-5, &QLayerNormFormats::default()).unwrap()
    });
    let error = layer
        .forward(&Tensor::zeros(&[2, 4], &device).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("qlayernorm") && error.contains("[2, 4]") && error.contains("[5]"),
        "{error}"
    );
}

fn gelu64(x: f64, tanh: bool) -> (f64, f64) {
    if tanh {
        let k = (2.0 / std::f64::consts::PI).sqrt();
        let u = k * (x + 0.044715 * x.powi(3));
        let t = u.tanh();
        (
            0.5 * x * (1.0 + t),
            0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * x * x),
        )
    } else {
        let cdf = 0.5 * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
        let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        (x * cdf, cdf + x * pdf)
    }
}

/// erf in f64 (Abramowitz–Stegun 7.1.26 is too coarse; use the series / continued fraction).
fn libm_erf(x: f64) -> f64 {
    // Taylor series, converges fast for |x| < 3 (our inputs).
    let mut sum = 0.0;
    let mut term = x;
    let mut n = 0.0;
    while term.abs() > 1e-17 {
        sum += term / (2.0 * n + 1.0);
        n += 1.0;
        term *= -x * x / n;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// mptorch bug "GELU-tanh backward": the tanh form's gradient is its true derivative.
#[test]
fn qgelu_in_fp32_matches_f64_in_both_forms() {
    let device = Device::cpu();
    let x = values(10, 3);
    for (approximate, tanh) in [
        (GeluApproximation::None, false),
        (GeluApproximation::Tanh, true),
    ] {
        let input = Tensor::var(&x, &[10], &device).unwrap();
        let y = qgelu(&input, &QGELUFormats::default(), approximate).unwrap();
        let expected: Vec<(f64, f64)> = x.iter().map(|&v| gelu64(v as f64, tanh)).collect();
        close(
            &y.to_vec().unwrap(),
            &expected.iter().map(|e| e.0).collect::<Vec<_>>(),
            1e-6,
        );
        y.sum_all().unwrap().backward().unwrap();
        close(
            &input.grad().unwrap().to_vec().unwrap(),
            &expected.iter().map(|e| e.1).collect::<Vec<_>>(),
            1e-6,
        );
    }
    assert!(lowp_nn::QGELU::new(QGELUFormats::default(), "fast").is_err());
}

#[test]
fn quantizer_is_straight_through_with_its_own_backward_format() {
    let device = Device::cpu();
    let fixed: Format = "fixed(wl=4, fl=2)".parse().unwrap();
    let e5m2 = Format::preset("e5m2").unwrap();
    let q = quantizer(
        Some(fixed),
        Some(e5m2),
        Rounding::Nearest,
        Rounding::Nearest,
        true,
        vec![],
    )
    .unwrap();
    let x = Tensor::var(&[0.3, -0.6, 1.6, -3.0, 1.9], &[5], &device).unwrap();
    let y = q.forward(&x).unwrap();
    assert_eq!(y.to_vec().unwrap(), [0.25, -0.5, 1.5, -2.0, 1.75]);
    y.backward_with(&Tensor::from_slice(&[0.3; 5], &[5], &device).unwrap())
        .unwrap();
    // 0.3 in e5m2 is 0.3125; clamped inputs (-3.0 and 1.9 lie outside [-2, 1.75]) get 0
    assert_eq!(
        x.grad().unwrap().to_vec().unwrap(),
        [0.3125, 0.3125, 0.3125, 0.0, 0.0]
    );
    assert!(
        quantizer(
            Some(e5m2),
            None,
            Rounding::Nearest,
            Rounding::Nearest,
            true,
            vec![]
        )
        .is_err()
    );
    let plain = Quantizer::new(None, None, Rounding::Nearest, Rounding::Nearest).unwrap();
    assert_eq!(
        plain.forward(&x).unwrap().to_vec().unwrap(),
        x.to_vec().unwrap()
    );
    // stochastic rounding is reproducible per seed and differs between calls
    let sr = Quantizer::new(
        Some(e5m2),
        None,
        Rounding::stochastic(8).unwrap(),
        Rounding::Nearest,
    )
    .unwrap();
    let (a, b) = (sr.clone().with_seed(3), sr.with_seed(3));
    let input = Tensor::from_slice(&values(64, 1), &[64], &device).unwrap();
    let first = a.forward(&input).unwrap().to_vec().unwrap();
    assert_eq!(first, b.forward(&input).unwrap().to_vec().unwrap());
    assert_ne!(first, a.forward(&input).unwrap().to_vec().unwrap());
}

#[test]
fn softmax_and_gelu_modules_apply_their_functions() {
    let device = Device::cpu();
    let x = Tensor::from_vec(values(12, 6), &[2, 6], &device).unwrap();
    let softmax = lowp_nn::QSoftmax::new(1, QSoftmaxFormats::default());
    assert_eq!(
        softmax.forward(&x).unwrap().to_vec().unwrap(),
        qsoftmax(&x, 1, &QSoftmaxFormats::default())
            .unwrap()
            .to_vec()
            .unwrap()
    );
    let gelu = lowp_nn::QGELU::new(QGELUFormats::default(), "tanh").unwrap();
    assert_eq!(gelu.approximate, GeluApproximation::Tanh);
    assert_eq!(
        gelu.forward(&x).unwrap().to_vec().unwrap(),
        qgelu(&x, &QGELUFormats::default(), GeluApproximation::Tanh)
            .unwrap()
            .to_vec()
            .unwrap()
    );
    assert!(softmax.parameters().is_empty() && gelu.parameters().is_empty());
}
