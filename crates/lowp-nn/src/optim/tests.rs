//! Optimizer tests: binary32 updates against host references written from the formulas, then
//! quantized state, Kahan compensation, stochastic rounding and state round trips.

use super::*;
use crate::train::formats::{OptimizerFormats, RoundingChoice};
use lowp_tensor::Device;

fn fp32_formats() -> OptimizerFormats {
    OptimizerFormats {
        weight_quant: None,
        grad_quant: None,
        momentum_quant: None,
        second_quant: None,
        acc_quant: None,
        rounding: RoundingChoice::nearest(),
        compensated: false,
    }
}

fn format(spec: &str) -> Option<Format> {
    Some(spec.parse().unwrap())
}

/// Runs `steps` updates of one parameter `w0` with the gradients `grads[t]`, returning the weights
/// after each step.
fn run(
    rule: Rule,
    formats: OptimizerFormats,
    w0: &[f32],
    grads: &[Vec<f32>],
    lr: f32,
    seed: u64,
) -> Vec<Vec<f32>> {
    let device = Device::cpu();
    let param = Tensor::var(w0, &[w0.len()], &device).unwrap();
    let mut optimizer = QOptimizer::new(vec![param.clone()], rule, formats, seed).unwrap();
    grads
        .iter()
        .map(|grad| {
            param.set_grad(Some(
                Tensor::from_slice(grad, &[grad.len()], &device).unwrap(),
            ));
            optimizer.step(lr, 1.0).unwrap();
            param.to_vec().unwrap()
        })
        .collect()
}

fn gradients() -> Vec<Vec<f32>> {
    vec![
        vec![0.5, -1.25, 3.0],
        vec![0.1, 0.2, -0.3],
        vec![-2.0, 0.7, 0.05],
        vec![0.3, -0.01, 1.5],
    ]
}

fn bits(values: &[Vec<f32>]) -> Vec<Vec<u32>> {
    values
        .iter()
        .map(|row| row.iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn sgd_momentum_nesterov_and_weight_decay_match_the_formula_in_binary32() {
    let (mu, wd, lr) = (0.9f32, 0.01f32, 0.1f32);
    for nesterov in [false, true] {
        let mut w = vec![1.0f32, -2.0, 0.5];
        let mut buffer: Option<Vec<f32>> = None;
        let mut expected = Vec::new();
        for grad in gradients() {
            let g: Vec<f32> = grad.iter().zip(&w).map(|(g, w)| g + wd * w).collect();
            let b: Vec<f32> = match &buffer {
                None => g.clone(),
                Some(b) => b.iter().zip(&g).map(|(b, g)| mu * b + g).collect(),
            };
            let d: Vec<f32> = if nesterov {
                g.iter().zip(&b).map(|(g, b)| g + mu * b).collect()
            } else {
                b.clone()
            };
            w = w.iter().zip(&d).map(|(w, d)| w - lr * d).collect();
            buffer = Some(b);
            expected.push(w.clone());
        }
        let got = run(
            Rule::sgd(mu, nesterov, wd),
            fp32_formats(),
            &[1.0, -2.0, 0.5],
            &gradients(),
            lr,
            0,
        );
        assert_eq!(bits(&got), bits(&expected), "nesterov = {nesterov}");
    }
}

#[test]
fn adam_and_adamw_match_the_formula_in_binary32() {
    let (b1, b2, eps, wd, lr) = (0.9f32, 0.999f32, 1e-8f32, 0.1f32, 0.01f32);
    for decoupled in [false, true] {
        let mut w = vec![1.0f32, -2.0, 0.5];
        let (mut m, mut v) = (vec![0.0f32; 3], vec![0.0f32; 3]);
        let (mut p1, mut p2) = (1.0f64, 1.0f64);
        let mut expected = Vec::new();
        for grad in gradients() {
            p1 *= f64::from(b1);
            p2 *= f64::from(b2);
            let g: Vec<f32> = if decoupled {
                grad.clone()
            } else {
                grad.iter().zip(&w).map(|(g, w)| g + wd * w).collect()
            };
            if decoupled {
                let factor = (1.0 - f64::from(lr) * f64::from(wd)) as f32;
                w = w.iter().map(|w| w * factor).collect();
            }
            let c1 = (1.0 / (1.0 - p1)) as f32;
            let c2 = (1.0 / (1.0 - p2).sqrt()) as f32;
            for i in 0..3 {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                v[i] = b2 * v[i] + (1.0 - b2) * (g[i] * g[i]);
                let direction = m[i] / (v[i].sqrt() * c2 + eps) * c1;
                w[i] -= lr * direction;
            }
            expected.push(w.clone());
        }
        let rule = if decoupled {
            Rule::adamw(wd)
        } else {
            Rule::adam(wd)
        };
        let got = run(rule, fp32_formats(), &[1.0, -2.0, 0.5], &gradients(), lr, 0);
        assert_eq!(bits(&got), bits(&expected), "decoupled = {decoupled}");
    }
}

#[test]
fn quantized_weights_and_state_stay_in_their_formats() {
    let formats = OptimizerFormats {
        weight_quant: format("bf16"),
        momentum_quant: format("e4m3"),
        second_quant: format("fp16"),
        ..fp32_formats()
    };
    let device = Device::cpu();
    let param = Tensor::var(&[1.0, -2.0, 0.5], &[3], &device).unwrap();
    let mut optimizer = QOptimizer::new(vec![param.clone()], Rule::adam(0.0), formats, 3).unwrap();
    for grad in gradients() {
        param.set_grad(Some(Tensor::from_slice(&grad, &[3], &device).unwrap()));
        optimizer.step(0.01, 1.0).unwrap();
    }
    let in_format = |values: &[f32], spec: &str| {
        let quantizer = Quantizer::nearest(spec.parse().unwrap());
        values
            .iter()
            .all(|&v| quantizer.quantize_value(v, 0).unwrap().to_bits() == v.to_bits())
    };
    assert!(in_format(&param.to_vec().unwrap(), "bf16"));
    let state = optimizer.state_tensors();
    assert_eq!(state.len(), 2);
    assert!(in_format(&state[0].1.to_vec().unwrap(), "e4m3"));
    assert!(in_format(&state[1].1.to_vec().unwrap(), "fp16"));
}

#[test]
fn kahan_compensation_keeps_updates_that_bf16_weights_lose() {
    let steps = 200;
    let grads = vec![vec![1.0f32]; steps];
    let plain = OptimizerFormats {
        weight_quant: format("bf16"),
        ..fp32_formats()
    };
    let compensated = OptimizerFormats {
        compensated: true,
        ..plain.clone()
    };
    let lr = 1e-4;
    let stuck = run(Rule::sgd(0.0, false, 0.0), plain, &[1.0], &grads, lr, 0);
    assert_eq!(
        stuck.last().unwrap()[0],
        1.0,
        "each update is below half an ulp"
    );
    let moved = run(
        Rule::sgd(0.0, false, 0.0),
        compensated,
        &[1.0],
        &grads,
        lr,
        0,
    );
    let exact = 1.0 - steps as f32 * lr;
    let last = moved.last().unwrap()[0];
    assert!((last - exact).abs() <= 2f32.powi(-8), "{last} vs {exact}");
}

#[test]
fn stochastic_rounding_is_seeded_and_unbiased_on_average() {
    let steps = 200;
    let grads = vec![vec![1.0f32; 64]; steps];
    let formats = OptimizerFormats {
        weight_quant: format("bf16"),
        rounding: RoundingChoice::parse("stochastic").unwrap(),
        ..fp32_formats()
    };
    let rule = Rule::sgd(0.0, false, 0.0);
    let first = run(rule, formats.clone(), &[1.0; 64], &grads, 1e-4, 5);
    assert_eq!(
        first,
        run(rule, formats.clone(), &[1.0; 64], &grads, 1e-4, 5)
    );
    assert_ne!(first, run(rule, formats, &[1.0; 64], &grads, 1e-4, 6));
    let mean = first.last().unwrap().iter().sum::<f32>() / 64.0;
    let exact = 1.0 - steps as f32 * 1e-4;
    assert!((mean - exact).abs() < 0.004, "mean {mean} vs {exact}");
}

#[test]
fn grad_scale_unscales_the_gradients() {
    let scaled: Vec<Vec<f32>> = gradients()
        .iter()
        .map(|g| g.iter().map(|v| v * 1024.0).collect())
        .collect();
    let device = Device::cpu();
    let param = Tensor::var(&[1.0, -2.0, 0.5], &[3], &device).unwrap();
    let mut optimizer = QOptimizer::new(
        vec![param.clone()],
        Rule::sgd(0.9, false, 0.0),
        fp32_formats(),
        0,
    )
    .unwrap();
    for grad in &scaled {
        param.set_grad(Some(Tensor::from_slice(grad, &[3], &device).unwrap()));
        optimizer.step(0.1, 1.0 / 1024.0).unwrap();
    }
    let reference = run(
        Rule::sgd(0.9, false, 0.0),
        fp32_formats(),
        &[1.0, -2.0, 0.5],
        &gradients(),
        0.1,
        0,
    );
    assert_eq!(param.to_vec().unwrap(), *reference.last().unwrap());
}

#[test]
fn saved_state_continues_bit_identically() {
    let formats = OptimizerFormats {
        weight_quant: format("bf16"),
        momentum_quant: format("bf16"),
        rounding: RoundingChoice::parse("stochastic").unwrap(),
        compensated: true,
        ..fp32_formats()
    };
    let device = Device::cpu();
    let grads = gradients();
    let through = run(
        Rule::adamw(0.01),
        formats.clone(),
        &[1.0, -2.0, 0.5],
        &grads,
        0.01,
        9,
    );

    let param = Tensor::var(&[1.0, -2.0, 0.5], &[3], &device).unwrap();
    let mut first =
        QOptimizer::new(vec![param.clone()], Rule::adamw(0.01), formats.clone(), 9).unwrap();
    for grad in &grads[..2] {
        param.set_grad(Some(Tensor::from_slice(grad, &[3], &device).unwrap()));
        first.step(0.01, 1.0).unwrap();
    }
    let saved: Vec<(String, Tensor)> = first
        .state_tensors()
        .into_iter()
        .map(|(name, t)| {
            let copy = Tensor::from_vec(t.to_vec().unwrap(), t.shape(), &device).unwrap();
            (name, copy)
        })
        .collect();
    let resumed_param = Tensor::var(&param.to_vec().unwrap(), &[3], &device).unwrap();
    let mut resumed =
        QOptimizer::new(vec![resumed_param.clone()], Rule::adamw(0.01), formats, 9).unwrap();
    resumed.load_state(&saved, first.steps()).unwrap();
    for grad in &grads[2..] {
        resumed_param.set_grad(Some(Tensor::from_slice(grad, &[3], &device).unwrap()));
        resumed.step(0.01, 1.0).unwrap();
    }
    assert_eq!(
        bits(&[resumed_param.to_vec().unwrap()]),
        bits(&through[3..])
    );
    let wrong = vec![("0.nothing".to_string(), saved[0].1.clone())];
    assert!(resumed.load_state(&wrong, 2).is_err());
    let wrong_shape = vec![(
        "0.momentum".to_string(),
        Tensor::zeros(&[2], &device).unwrap(),
    )];
    assert!(resumed.load_state(&wrong_shape, 2).is_err());
}

#[test]
fn bad_hyper_parameters_and_parameters_are_rejected() {
    let device = Device::cpu();
    let param = Tensor::var(&[1.0], &[1], &device).unwrap();
    let constant = Tensor::from_slice(&[1.0], &[1], &device).unwrap();
    assert!(
        QOptimizer::new(
            vec![param.clone()],
            Rule::sgd(0.0, true, 0.0),
            fp32_formats(),
            0
        )
        .is_err()
    );
    assert!(
        QOptimizer::new(
            vec![param.clone()],
            Rule::sgd(-1.0, false, 0.0),
            fp32_formats(),
            0
        )
        .is_err()
    );
    let bad_adam = Rule::Adam {
        beta1: 1.0,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled: false,
    };
    assert!(QOptimizer::new(vec![param], bad_adam, fp32_formats(), 0).is_err());
    assert!(QOptimizer::new(vec![constant], Rule::adam(0.0), fp32_formats(), 0).is_err());
}
