//! Tensor and layer test bodies with low-precision formats and stochastic rounding, one body
//! per behaviour, instantiated per device by `layer_tests!` (`name::cpu`, `name::wgpu` with
//! `--features wgpu`). Each body returns its named outputs (forward values and gradients);
//! the cpu test checks they are reproducible, the wgpu test that they equal the CPU's bit for
//! bit (any NaN equals any NaN). A device that cannot start prints `SKIP` and passes, unless
//! `LOWP_REQUIRE` names it. Sizes are small: lavapipe is slow.

use lowp::formats::{Format, Rounding};
use lowp::nn::functional::{
    AvgPoolSpec, BatchNormState, ConvSpec, ConvTransposeSpec, GeluApproximation, Padding,
    PaddingMode, QuantPair, qadd, qavg_pool2d, qbatch_norm, qconv, qconv_transpose, qdiv, qgelu,
    qlayernorm, qlinear, qmatmul, qmean, qmul, qpow, qsoftmax, qsqrt, qsum,
};
use lowp::nn::seeds::SeedStream;
use lowp::nn::{
    Cast, Mac, Module, QAffineFormats, QGELUFormats, QLayerNormFormats, QLinear, QSoftmaxFormats,
    ReLU, Sequential, cross_entropy,
};
use lowp::tensor::{Device, Tensor};

type Outputs = Vec<(String, Vec<f32>)>;

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 + 1.0) * 0.731 + seed as f32).sin() * 1.3)
        .collect()
}

fn format(name: &str) -> Format {
    Format::preset(name).unwrap()
}

fn stochastic(name: &str, bits: u32) -> Cast {
    Cast::new(format(name), Rounding::stochastic(bits).unwrap()).unwrap()
}

fn var(data: &[f32], shape: &[usize], device: &Device) -> Tensor {
    Tensor::var(data, shape, device).unwrap()
}

fn record(outputs: &mut Outputs, name: &str, tensor: &Tensor) {
    outputs.push((name.to_string(), tensor.to_vec().unwrap()));
}

fn record_grads(outputs: &mut Outputs, named: &[(&str, &Tensor)]) {
    for (name, tensor) in named {
        record(outputs, &format!("grad {name}"), &tensor.grad().unwrap());
    }
}

/// Whether `LOWP_REQUIRE` (a comma-separated list) names `device`.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
fn required(device: &str) -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| list.split(',').any(|name| name.trim() == device))
        .unwrap_or(false)
}

/// The shared wgpu device, or `None` after printing `SKIP` when no adapter is available and
/// `LOWP_REQUIRE` does not name wgpu.
#[cfg(feature = "wgpu")]
fn wgpu_device() -> Option<Device> {
    static DEVICE: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
    match DEVICE.get_or_init(|| Device::wgpu().map_err(|e| e.to_string())) {
        Ok(device) => Some(device.clone()),
        Err(reason) if !required("wgpu") => {
            println!("SKIP: wgpu: {reason}");
            None
        }
        Err(error) => panic!("the wgpu device is required (LOWP_REQUIRE) but failed: {error}"),
    }
}

/// Bitwise equality of two output lists (any NaN equals any NaN).
fn assert_same(got: &Outputs, expected: &Outputs) {
    assert_eq!(got.len(), expected.len());
    for ((name, a), (_, b)) in got.iter().zip(expected) {
        assert_eq!(a.len(), b.len(), "{name}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                "{name}[{i}]: {x:e} vs {y:e}"
            );
        }
    }
}

/// For each body `fn name(device: &Device) -> Outputs`, a module `name` with one test per device.
macro_rules! layer_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn cpu() {
                    let device = lowp::tensor::Device::cpu();
                    let first = super::$name(&device);
                    super::assert_same(&super::$name(&device), &first);
                }

                #[cfg(feature = "wgpu")]
                #[test]
                fn wgpu() {
                    if let Some(device) = super::wgpu_device() {
                        let expected = super::$name(&lowp::tensor::Device::cpu());
                        super::assert_same(&super::$name(&device), &expected);
                    }
                }

                // cuda: `#[cfg(feature = "cuda")] #[test] fn cuda()` goes here once lowp-cuda exists.
            }
        )*
    };
}

layer_tests!(
    tensor_ops_and_autograd,
    qlinear_stochastic_compensated,
    qmatmul_fma_broadcast,
    elementwise_and_reductions,
    softmax_both_forms,
    layernorm_and_gelu,
    convolutions,
    pooling_and_batch_norm,
    training_steps,
);

fn qlinear_stochastic_compensated(device: &Device) -> Outputs {
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::Separate {
            add: format("fp16"),
            mul: format("e4m3"),
        }),
        bwd_mac: Some(Mac::same(format("bf16"))),
        fwd_rnd: Rounding::stochastic(8).unwrap(),
        bwd_rnd: Rounding::stochastic(8).unwrap(),
        input_quant: Some(stochastic("e4m3", 6)),
        weight_quant: Some(Cast::nearest(format("e4m3"))),
        bias_quant: Some(Cast::nearest(format("fp16"))),
        output_quant: Some(Cast::nearest(format("bf16"))),
        grad_quant: Some(stochastic("e5m2", 8)),
        compensated: true,
        rbits: (10, 6),
        ..QAffineFormats::default()
    }
    .with_seed(42);
    let x = var(&values(4 * 9, 1), &[2, 2, 9], device);
    let w = var(&values(5 * 9, 2), &[5, 9], device);
    let b = var(&values(5, 3), &[5], device);
    let y = qlinear(&x, &w, Some(&b), &formats).unwrap();
    y.backward_with(&Tensor::from_vec(values(20, 4), &[2, 2, 5], device).unwrap())
        .unwrap();
    let mut out = vec![];
    record(&mut out, "y", &y);
    record_grads(&mut out, &[("x", &x), ("w", &w), ("b", &b)]);
    // with scaling
    let scaled = QAffineFormats {
        use_scaling: true,
        scale_margin: 1,
        ..formats.clone()
    };
    let y = qlinear(&x, &w, Some(&b), &scaled).unwrap();
    record(&mut out, "scaled y", &y);
    out
}

fn qmatmul_fma_broadcast(device: &Device) -> Outputs {
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::Fma(format("bf16"))),
        bwd_mac: Some(Mac::Fma(format("fp16"))),
        fwd_rnd: Rounding::Nearest,
        bwd_rnd: Rounding::stochastic(4).unwrap(),
        input_quant: Some(Cast::nearest(format("e5m2"))),
        ..QAffineFormats::default()
    }
    .with_seed(7);
    let a = var(&values(2 * 3 * 4, 1), &[2, 1, 3, 4], device);
    let b = var(&values(3 * 4 * 2, 2), &[3, 4, 2], device);
    let y = qmatmul(&a, &b, &formats).unwrap();
    y.sum_all().unwrap().backward().unwrap();
    let mut out = vec![];
    record(&mut out, "y", &y);
    record_grads(&mut out, &[("a", &a), ("b", &b)]);
    out
}

fn elementwise_and_reductions(device: &Device) -> Outputs {
    let pair = QuantPair::new(
        Some(stochastic("bf16", 8)),
        Some(Cast::nearest(format("e5m2"))),
        3,
    );
    let x = var(&values(12, 1), &[3, 4], device);
    let y = var(
        &values(4, 2).iter().map(|v| v + 2.0).collect::<Vec<_>>(),
        &[4],
        device,
    );
    let positive = var(
        &values(12, 3)
            .iter()
            .map(|v| v.abs() + 0.1)
            .collect::<Vec<_>>(),
        &[3, 4],
        device,
    );
    let results = [
        qadd(&x, &y, &pair).unwrap(),
        qmul(&x, &y, &pair).unwrap(),
        qdiv(&x, &y, &pair).unwrap(),
        qsqrt(&positive, &pair).unwrap(),
        qpow(&positive, &Tensor::scalar(1.5, device).unwrap(), &pair).unwrap(),
        qmean(&x, &pair, Some(&[0]), true).unwrap(),
    ];
    let mut total = qsum(
        &x,
        None,
        Some(&stochastic("e4m3", 5)),
        false,
        &SeedStream::new(9),
    )
    .unwrap();
    let mut out = vec![];
    for (i, r) in results.iter().enumerate() {
        record(&mut out, &format!("op {i}"), r);
        total = total.add(&r.sum_all().unwrap()).unwrap();
    }
    total.backward().unwrap();
    record_grads(&mut out, &[("x", &x), ("y", &y), ("positive", &positive)]);
    out
}

fn softmax_both_forms(device: &Device) -> Outputs {
    let (bf16, e5m2) = (format("bf16"), format("e5m2"));
    let regular = QSoftmaxFormats {
        fwd_off: Some(bf16),
        fwd_exp: Some(bf16),
        fwd_acc: Some(format("fp16")),
        bwd_add: Some(bf16),
        bwd_mul: Some(bf16),
        fwd_rnd: Rounding::stochastic(6).unwrap(),
        bwd_rnd: Rounding::Nearest,
        grad_quant: Some(Cast::nearest(e5m2)),
        ..QSoftmaxFormats::default()
    }
    .with_seed(5);
    let lse = QSoftmaxFormats {
        fwd_lse: Some(bf16),
        ..regular.clone()
    };
    let x = var(&values(15, 1), &[3, 5], device);
    let mut out = vec![];
    for (name, formats, dim) in [("regular", &regular, -1), ("lse", &lse, 0)] {
        let y = qsoftmax(&x, dim, formats).unwrap();
        y.backward_with(&Tensor::from_vec(values(15, 2), &[3, 5], device).unwrap())
            .unwrap();
        record(&mut out, name, &y);
        record_grads(&mut out, &[(name, &x)]);
        x.zero_grad();
    }
    out
}

fn layernorm_and_gelu(device: &Device) -> Outputs {
    let (bf16, fp16) = (format("bf16"), format("fp16"));
    let formats = QLayerNormFormats {
        fwd_acc: Some(fp16),
        fwd_mul: Some(bf16),
        fwd_div: Some(bf16),
        fwd_sqrt: Some(bf16),
        bwd_acc: Some(fp16),
        bwd_mul: Some(bf16),
        bwd_div: Some(bf16),
        fwd_rnd: Rounding::stochastic(8).unwrap(),
        bwd_rnd: Rounding::stochastic(8).unwrap(),
        weight_quant: Some(Cast::nearest(bf16)),
        ..QLayerNormFormats::default()
    }
    .with_seed(11);
    let x = var(&values(24, 1), &[2, 3, 4], device);
    let gamma = var(&values(12, 2), &[3, 4], device);
    let beta = var(&values(12, 3), &[3, 4], device);
    let y = qlayernorm(&x, &[3, 4], Some(&gamma), Some(&beta), 1e-5, &formats).unwrap();
    let gelu_formats = QGELUFormats {
        inter_quant: Some(stochastic("bf16", 7)),
        output_quant: Some(Cast::nearest(format("e4m3"))),
        grad_quant: Some(Cast::nearest(bf16)),
        ..QGELUFormats::default()
    }
    .with_seed(13);
    let g1 = qgelu(&y, &gelu_formats, GeluApproximation::None).unwrap();
    let g2 = qgelu(&y, &gelu_formats, GeluApproximation::Tanh).unwrap();
    g1.add(&g2)
        .unwrap()
        .backward_with(&Tensor::from_vec(values(24, 4), &[2, 3, 4], device).unwrap())
        .unwrap();
    let mut out = vec![];
    record(&mut out, "layernorm", &y);
    record(&mut out, "gelu none", &g1);
    record(&mut out, "gelu tanh", &g2);
    record_grads(&mut out, &[("x", &x), ("gamma", &gamma), ("beta", &beta)]);
    out
}

fn convolutions(device: &Device) -> Outputs {
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::Separate {
            add: format("fp16"),
            mul: format("bf16"),
        }),
        bwd_mac: Some(Mac::same(format("bf16"))),
        fwd_rnd: Rounding::stochastic(8).unwrap(),
        input_quant: Some(Cast::nearest(format("e4m3"))),
        weight_quant: Some(Cast::nearest(format("e4m3"))),
        grad_quant: Some(stochastic("e5m2", 6)),
        ..QAffineFormats::default()
    }
    .with_seed(17);
    let x = var(&values(2 * 4 * 5 * 5, 1), &[2, 4, 5, 5], device);
    let w = var(&values(6 * 2 * 3 * 3, 2), &[6, 2, 3, 3], device);
    let b = var(&values(6, 3), &[6], device);
    let spec = ConvSpec {
        stride: vec![2, 1],
        padding: Padding::Explicit(vec![1, 2]),
        dilation: vec![1, 2],
        groups: 2,
        padding_mode: PaddingMode::Reflect,
    };
    let y = qconv(&x, &w, Some(&b), &spec, &formats).unwrap();
    let wt = var(&values(6 * 2 * 2 * 3, 4), &[6, 2, 2, 3], device);
    let tspec = ConvTransposeSpec {
        stride: vec![2, 1],
        padding: vec![1, 0],
        output_padding: vec![1, 0],
        dilation: vec![1, 1],
        groups: 2,
    };
    let z = qconv_transpose(&y, &wt, None, &tspec, None, &formats).unwrap();
    z.sum_all().unwrap().backward().unwrap();
    let mut out = vec![];
    record(&mut out, "conv", &y);
    record(&mut out, "conv transpose", &z);
    record_grads(&mut out, &[("x", &x), ("w", &w), ("b", &b), ("wt", &wt)]);
    out
}

fn pooling_and_batch_norm(device: &Device) -> Outputs {
    let pair = QuantPair::new(
        Some(stochastic("bf16", 6)),
        Some(Cast::nearest(format("fp16"))),
        19,
    );
    let x = var(&values(2 * 3 * 5 * 4, 1), &[2, 3, 5, 4], device);
    let spec = AvgPoolSpec {
        kernel_size: [3, 2],
        stride: [2, 2],
        padding: [1, 1],
        ceil_mode: true,
        count_include_pad: false,
        divisor_override: None,
    };
    let pooled = qavg_pool2d(&x, &spec, &pair).unwrap();
    let state = BatchNormState {
        running_mean: Tensor::zeros(&[3], device).unwrap(),
        running_var: Tensor::ones(&[3], device).unwrap(),
        momentum: 0.1,
        eps: 1e-5,
    };
    let gamma = var(&[1.0, 0.5, -1.5], &[3], device);
    let beta = var(&[0.0, 0.25, 1.0], &[3], device);
    let normed = qbatch_norm(&pooled, &gamma, &beta, &state, true, &pair).unwrap();
    let evaluated = qbatch_norm(&pooled, &gamma, &beta, &state, false, &pair).unwrap();
    normed
        .add(&evaluated)
        .unwrap()
        .sqr()
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let mut out = vec![];
    record(&mut out, "pooled", &pooled);
    record(&mut out, "batch norm train", &normed);
    record(&mut out, "batch norm eval", &evaluated);
    record(&mut out, "running mean", &state.running_mean);
    record(&mut out, "running var", &state.running_var);
    record_grads(&mut out, &[("x", &x), ("gamma", &gamma), ("beta", &beta)]);
    out
}

/// Three SGD steps of a small quantized MLP with stochastic rounding everywhere.
fn training_steps(device: &Device) -> Outputs {
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::same(format("bf16"))),
        bwd_mac: Some(Mac::same(format("bf16"))),
        fwd_rnd: Rounding::stochastic(8).unwrap(),
        bwd_rnd: Rounding::stochastic(8).unwrap(),
        input_quant: Some(stochastic("e4m3", 8)),
        weight_quant: Some(stochastic("e4m3", 8)),
        grad_quant: Some(stochastic("e5m2", 8)),
        ..QAffineFormats::default()
    };
    let model = Sequential::new()
        .with(QLinear::new(6, 8, formats.clone().with_seed(1), true, device, 1).unwrap())
        .with(ReLU)
        .with(QLinear::new(8, 3, formats.with_seed(2), true, device, 2).unwrap());
    let x = Tensor::from_vec(values(5 * 6, 1), &[5, 6], device).unwrap();
    let targets = [0, 1, 2, 1, 0];
    let mut out = vec![];
    for step in 0..3 {
        let loss = cross_entropy(&model.forward(&x).unwrap(), &targets).unwrap();
        record(&mut out, &format!("loss {step}"), &loss);
        loss.backward().unwrap();
        let _guard = lowp::tensor::no_grad();
        for (_, p) in model.parameters() {
            let update = p.sub(&p.grad().unwrap().mul_scalar(0.1).unwrap()).unwrap();
            p.set_data(&update).unwrap();
            p.zero_grad();
        }
    }
    for (name, p) in model.parameters() {
        record(&mut out, &name, &p);
    }
    out
}

/// Unquantized tensor operations and their textbook gradients.
fn tensor_ops_and_autograd(device: &Device) -> Outputs {
    let x = var(&values(24, 1), &[2, 3, 4], device);
    let w = var(&values(8, 2), &[4, 2], device);
    let h = x.matmul(&w).unwrap().tanh().unwrap();
    let e = x.exp().unwrap().add(&x.erf().unwrap()).unwrap();
    let picked = e
        .index_select(1, &[2, 0, 2])
        .unwrap()
        .narrow(2, 1, 2)
        .unwrap();
    let joined = Tensor::concat(&[&picked, &picked.sqr().unwrap()], 0).unwrap();
    let m = joined.permute(&[2, 0, 1]).unwrap().max(1, false).unwrap();
    let positive = x.abs().unwrap().add_scalar(0.5).unwrap();
    let l = positive
        .log()
        .unwrap()
        .div(&positive.sqrt().unwrap())
        .unwrap()
        .powf(1.5)
        .unwrap();
    let total = h.mean(&[0, 2], false).unwrap().sum_all().unwrap();
    let total = total
        .add(&m.sum_all().unwrap())
        .unwrap()
        .add(&l.relu().unwrap().mean_all().unwrap())
        .unwrap();
    total.backward().unwrap();
    let mut out = vec![];
    record(&mut out, "h", &h);
    record(&mut out, "m", &m);
    record(&mut out, "l", &l);
    record(&mut out, "total", &total);
    record_grads(&mut out, &[("x", &x), ("w", &w)]);
    out
}
