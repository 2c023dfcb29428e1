//! qlinear / qmatmul / qmm and QLinear: with binary32 everywhere they equal an f64 reference
//! (forward and backward); with low formats they equal the GEMM oracle of lowp-formats; the
//! scaled GEMMs are unscaled in the backward pass too.

use lowp_formats::gemm::{self, GemmSpec};
use lowp_formats::{Format, Rounding};
use lowp_nn::functional::{qlinear, qmatmul, qmm};
use lowp_nn::{
    Cast, Dropout, Flatten, Mac, Module, NnError, QAffineFormats, QLazyLinear, QLinear, ReLU,
    Sequential, cross_entropy, mse_loss,
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
            "element {i}: {g} vs {e}"
        );
    }
}

/// `a [m, k] · b [k, n]` in f64, with `b` given transposed when `bt`.
fn matmul64(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, bt: bool) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k)
                .map(|p| a[i * k + p] as f64 * if bt { b[j * k + p] } else { b[p * n + j] } as f64)
                .sum();
        }
    }
    out
}

#[test]
fn qlinear_in_fp32_matches_an_f64_reference_forward_and_backward() {
    let device = Device::cpu();
    let (m, k, n) = (5, 7, 3);
    let (x, w, b) = (values(m * k, 1), values(n * k, 2), values(n, 3));
    let xt = Tensor::var(&x, &[m, k], &device).unwrap();
    let wt = Tensor::var(&w, &[n, k], &device).unwrap();
    let bt = Tensor::var(&b, &[n], &device).unwrap();
    let y = qlinear(&xt, &wt, Some(&bt), &QAffineFormats::fp32()).unwrap();
    let mut expected = matmul64(&x, &w, m, k, n, true);
    for (i, e) in expected.iter_mut().enumerate() {
        *e += b[i % n] as f64;
    }
    close(&y.to_vec().unwrap(), &expected, 1e-6);
    // loss = sum(y * c): dy = c
    let c = values(m * n, 4);
    y.mul(&Tensor::from_slice(&c, &[m, n], &device).unwrap())
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    // dx = c · w, dw = cᵀ · x, db = column sums of c
    close(
        &xt.grad().unwrap().to_vec().unwrap(),
        &matmul64(&c, &w, m, n, k, false),
        1e-6,
    );
    let ct: Vec<f32> = (0..n * m).map(|i| c[(i % m) * n + i / m]).collect();
    close(
        &wt.grad().unwrap().to_vec().unwrap(),
        &matmul64(&ct, &x, n, m, k, false),
        1e-6,
    );
    let db: Vec<f64> = (0..n)
        .map(|j| (0..m).map(|i| c[i * n + j] as f64).sum())
        .collect();
    close(&bt.grad().unwrap().to_vec().unwrap(), &db, 1e-6);
}

#[test]
fn qlinear_low_precision_forward_is_the_gemm_oracle_then_the_bias_add() {
    let device = Device::cpu();
    let (e4m3, fp16) = (
        Format::preset("e4m3").unwrap(),
        Format::preset("fp16").unwrap(),
    );
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::Separate {
            add: fp16,
            mul: e4m3,
        }),
        input_quant: Some(Cast::nearest(e4m3)),
        weight_quant: Some(Cast::nearest(e4m3)),
        ..QAffineFormats::default()
    };
    let (m, k, n) = (4, 9, 3);
    let (x, w, b) = (values(m * k, 5), values(n * k, 6), values(n, 7));
    let q = lowp_formats::Quantizer::nearest(e4m3);
    let (xq, wq) = (
        q.quantize_slice(&x, &[m, k]).unwrap(),
        q.quantize_slice(&w, &[n, k]).unwrap(),
    );
    let mut spec = GemmSpec::new(1, m, k, n, e4m3, fp16);
    spec.transpose_b = true;
    let acc = gemm::reference(&xq, &wq, &spec).unwrap();
    let add = lowp_formats::Quantizer::nearest(fp16);
    let expected: Vec<f32> = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| add.quantize_value(a + b[i % n], 0).unwrap())
        .collect();
    let y = qlinear(
        &Tensor::from_slice(&x, &[m, k], &device).unwrap(),
        &Tensor::from_slice(&w, &[n, k], &device).unwrap(),
        Some(&Tensor::from_slice(&b, &[n], &device).unwrap()),
        &formats,
    )
    .unwrap();
    let got = y.to_vec().unwrap();
    assert!(
        got.iter()
            .zip(&expected)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{got:?} vs {expected:?}"
    );
}

#[test]
fn qmatmul_broadcasts_and_qmm_rejects_batches() {
    let device = Device::cpu();
    let a = Tensor::var(&values(2 * 3 * 4, 1), &[2, 1, 3, 4], &device).unwrap();
    let b = Tensor::var(&values(5 * 4 * 2, 2), &[5, 4, 2], &device).unwrap();
    let y = qmatmul(&a, &b, &QAffineFormats::fp32()).unwrap();
    assert_eq!(y.shape(), &[2, 5, 3, 2]);
    let reference = a.matmul(&b).unwrap();
    assert_eq!(y.to_vec().unwrap(), reference.to_vec().unwrap());
    y.sum_all().unwrap().backward().unwrap();
    let (ga, gb) = (a.grad().unwrap(), b.grad().unwrap());
    a.zero_grad();
    b.zero_grad();
    reference.sum_all().unwrap().backward().unwrap();
    assert_eq!(ga.to_vec().unwrap(), a.grad().unwrap().to_vec().unwrap());
    assert_eq!(gb.to_vec().unwrap(), b.grad().unwrap().to_vec().unwrap());
    let v = Tensor::from_slice(&values(4, 3), &[4], &device).unwrap();
    assert_eq!(
        qmatmul(&v, &v, &QAffineFormats::fp32()).unwrap().shape(),
        &[] as &[usize]
    );
    let error = qmm(&a, &b, &QAffineFormats::fp32())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("qmm") && error.contains("[2, 1, 3, 4]"),
        "{error}"
    );
}

/// mptorch bug "lost unscale in qmm backward": with scaling on and binary32 formats, the
/// scaled GEMMs must give exactly the unscaled gradients (the scales are powers of two).
#[test]
fn scaled_qmm_backward_is_unscaled() {
    let device = Device::cpu();
    let fp32 = Format::preset("fp32").unwrap();
    let e5m2 = Format::preset("e5m2").unwrap();
    let scaled = QAffineFormats {
        use_scaling: true,
        input_scaled_format: Some(e5m2),
        weight_scaled_format: Some(e5m2),
        grad_scaled_format: Some(e5m2),
        input_quant: Some(Cast::nearest(fp32)),
        weight_quant: Some(Cast::nearest(fp32)),
        grad_quant: Some(Cast::nearest(fp32)),
        ..QAffineFormats::default()
    };
    let a = Tensor::var(
        &values(12, 1).iter().map(|v| v * 1e-3).collect::<Vec<_>>(),
        &[3, 4],
        &device,
    )
    .unwrap();
    let b = Tensor::var(
        &values(8, 2).iter().map(|v| v * 300.0).collect::<Vec<_>>(),
        &[4, 2],
        &device,
    )
    .unwrap();
    let g = Tensor::from_slice(&[1e-4, -2e-4, 3e-4, 5e-5, 7e-4, -1e-4], &[3, 2], &device).unwrap();
    let y = qmm(&a, &b, &scaled).unwrap();
    y.backward_with(&g).unwrap();
    let (ga, gb) = (
        a.grad().unwrap().to_vec().unwrap(),
        b.grad().unwrap().to_vec().unwrap(),
    );
    a.zero_grad();
    b.zero_grad();
    let reference = qmm(&a, &b, &QAffineFormats::fp32()).unwrap();
    assert_eq!(y.to_vec().unwrap(), reference.to_vec().unwrap());
    reference.backward_with(&g).unwrap();
    assert_eq!(ga, a.grad().unwrap().to_vec().unwrap());
    assert_eq!(gb, b.grad().unwrap().to_vec().unwrap());
}

#[test]
fn a_small_mlp_learns_and_names_its_parameters() {
    let device = Device::cpu();
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::same(Format::preset("bf16").unwrap())),
        bwd_mac: Some(Mac::same(Format::preset("bf16").unwrap())),
        ..QAffineFormats::default()
    };
    let model = Sequential::new()
        .with(Flatten::default())
        .with(QLinear::new(4, 16, formats.clone(), true, &device, 1).unwrap())
        .with(ReLU)
        .with(Dropout::new(0.1, 3).unwrap())
        .with(QLinear::new(16, 3, formats, true, &device, 2).unwrap());
    let names: Vec<String> = model.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["1.weight", "1.bias", "4.weight", "4.bias"]);
    // three separable classes in [2, 2] inputs
    let inputs: Vec<f32> = (0..12 * 4)
        .map(|i| ((i / 4) % 3) as f32 * 0.8 + ((i * 7) % 5) as f32 * 0.05)
        .collect();
    let targets: Vec<usize> = (0..12).map(|i| i % 3).collect();
    let x = Tensor::from_vec(inputs, &[12, 2, 2], &device).unwrap();
    let mut losses = Vec::new();
    for _ in 0..60 {
        let loss = cross_entropy(&model.forward(&x).unwrap(), &targets).unwrap();
        losses.push(loss.to_scalar().unwrap());
        loss.backward().unwrap();
        let _guard = lowp_tensor::no_grad();
        for (_, p) in model.parameters() {
            let step = p.grad().unwrap().mul_scalar(0.5).unwrap();
            p.set_data(&p.sub(&step).unwrap()).unwrap();
            p.zero_grad();
        }
    }
    assert!(losses[59] < 0.5 * losses[0], "{losses:?}");
    model.eval();
    let predicted = model.forward(&x).unwrap().argmax_last().unwrap();
    assert_eq!(predicted, targets);
}

#[test]
fn losses_match_their_formulas() {
    let device = Device::cpu();
    let logits = [1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0];
    let x = Tensor::var(&logits, &[2, 3], &device).unwrap();
    let loss = cross_entropy(&x, &[1, 2]).unwrap();
    let lse = |row: &[f32]| row.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
    let expected = ((lse(&logits[..3]) - 2.0) + (lse(&logits[3..]) - 3.0)) / 2.0;
    close(&[loss.to_scalar().unwrap()], &[expected], 1e-6);
    loss.backward().unwrap();
    let mut grad = Vec::new();
    for (row, target) in [(0, 1), (1, 2)] {
        let r = &logits[row * 3..row * 3 + 3];
        let total: f64 = r.iter().map(|&v| (v as f64).exp()).sum();
        for (c, &v) in r.iter().enumerate() {
            grad.push(((v as f64).exp() / total - (c == target) as u8 as f64) / 2.0);
        }
    }
    close(&x.grad().unwrap().to_vec().unwrap(), &grad, 1e-6);
    assert!(cross_entropy(&x, &[0, 3]).is_err());
    assert!(cross_entropy(&x, &[0]).is_err());
    let t = Tensor::from_slice(&[0.0; 6], &[2, 3], &device).unwrap();
    let mse = mse_loss(&x, &t).unwrap().to_scalar().unwrap();
    close(
        &[mse],
        &[logits.iter().map(|&v| (v * v) as f64).sum::<f64>() / 6.0],
        1e-6,
    );
    assert!(mse_loss(&x, &Tensor::zeros(&[6], &device).unwrap()).is_err());
}

#[test]
fn lazy_linear_dropout_and_bad_input() {
    let device = Device::cpu();
    let lazy = QLazyLinear::new(3, QAffineFormats::fp32(), true, 9).unwrap();
    assert!(lazy.parameters().is_empty());
    let x = Tensor::from_slice(&values(10, 1), &[2, 5], &device).unwrap();
    assert_eq!(lazy.forward(&x).unwrap().shape(), &[2, 3]);
    assert_eq!(lazy.parameters()[0].1.shape(), &[3, 5]);
    let error = lazy
        .forward(&Tensor::zeros(&[2, 4], &device).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            error,
            NnError::Layer {
                layer: "QLinear",
                ..
            }
        ),
        "{error}"
    );
    // Dropout: reproducible per seed, scaled by 1/(1-p), identity in eval mode.
    let ones = Tensor::ones(&[1000], &device).unwrap();
    let (d1, d2) = (
        Dropout::new(0.25, 5).unwrap(),
        Dropout::new(0.25, 5).unwrap(),
    );
    let (y1, y2) = (
        d1.forward(&ones).unwrap().to_vec().unwrap(),
        d2.forward(&ones).unwrap().to_vec().unwrap(),
    );
    assert_eq!(y1, y2);
    let kept = y1.iter().filter(|&&v| v != 0.0).count();
    assert!((700..800).contains(&kept), "{kept}");
    assert!(y1.iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
    d1.eval();
    assert_eq!(
        d1.forward(&ones).unwrap().to_vec().unwrap(),
        vec![1.0; 1000]
    );
    assert!(Dropout::new(1.0, 0).is_err());
    let bad = QAffineFormats {
        fwd_rnd: Rounding::Stochastic { bits: 1 },
        rbits: (40, 0),
        ..QAffineFormats::default()
    };
    assert!(QLinear::new(2, 2, bad, true, &device, 0).is_err());
}

#[test]
fn embedding_quant_parameters_and_gradient_hooks() {
    let device = Device::cpu();
    let table = lowp_nn::Embedding::new(5, 3, &device, 4).unwrap();
    let indices = Tensor::from_slice(&[4.0, 1.0, 4.0, 0.0], &[2, 2], &device).unwrap();
    let y = table.forward(&indices).unwrap();
    assert_eq!(y.shape(), &[2, 2, 3]);
    let weights = table.weight.to_vec().unwrap();
    assert_eq!(&y.to_vec().unwrap()[..3], &weights[12..15]);
    y.sum_all().unwrap().backward().unwrap();
    let grad = table.weight.grad().unwrap().to_vec().unwrap();
    assert_eq!(
        grad,
        [1., 1., 1., 1., 1., 1., 0., 0., 0., 0., 0., 0., 2., 2., 2.]
    );
    assert!(
        table
            .forward(&Tensor::from_slice(&[5.0], &[1], &device).unwrap())
            .is_err()
    );
    assert!(
        table
            .forward(&Tensor::from_slice(&[0.5], &[1], &device).unwrap())
            .is_err()
    );
    // quant_parameters rounds the weights to the weight format
    let e5m2 = Format::preset("e5m2").unwrap();
    let formats = QAffineFormats {
        weight_quant: Some(Cast::nearest(e5m2)),
        ..QAffineFormats::default()
    };
    let layer = QLinear::new(4, 2, formats, false, &device, 3).unwrap();
    layer.quant_parameters().unwrap();
    let w = layer.weight.to_vec().unwrap();
    assert_eq!(
        lowp_formats::Quantizer::nearest(e5m2)
            .quantize_slice(&w, &[8])
            .unwrap(),
        w
    );
    // backward hooks run before the backward quantization
    let hook: lowp_nn::GradHook = std::sync::Arc::new(|g: &Tensor| g.mul_scalar(1024.0));
    let q = lowp_nn::quantizer(
        None,
        Some(e5m2),
        Rounding::Nearest,
        Rounding::Nearest,
        false,
        vec![hook],
    )
    .unwrap();
    let x = Tensor::var(&[1.0, 2.0], &[2], &device).unwrap();
    q.apply(&x)
        .unwrap()
        .backward_with(&Tensor::from_slice(&[0.001, -0.3], &[2], &device).unwrap())
        .unwrap();
    // 1.024 -> 1.0, -307.2 -> -320 in e5m2
    assert_eq!(x.grad().unwrap().to_vec().unwrap(), [1.0, -320.0]);
    // async reads give the same values
    assert_eq!(
        pollster::block_on(y.to_vec_async()).unwrap(),
        y.to_vec().unwrap()
    );
}

/// Tensors, devices and boxed modules can move between threads natively.
#[test]
fn tensors_and_modules_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Tensor>();
    send_sync::<Device>();
    send_sync::<Box<dyn Module>>();
    send_sync::<Sequential>();
    send_sync::<QAffineFormats>();
    // boxed modules nest
    let device = Device::cpu();
    let inner: Box<dyn Module> =
        Box::new(QLinear::new(2, 2, QAffineFormats::fp32(), true, &device, 0).unwrap());
    let outer = Sequential::new().with(ReLU).with(inner);
    let names: Vec<String> = outer.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["1.weight", "1.bias"]);
}
