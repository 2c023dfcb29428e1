//! Training reproducibility across backends and thread counts: a few steps of the digits MLP with
//! low-precision formats, stochastic rounding, quantized optimizer state, Kahan updates and loss
//! scaling give the same loss bits and weights on every backend (`name::cpu` compares thread
//! counts, `name::wgpu` compares WGSL with the CPU). A backend that cannot start prints `SKIP`
//! and passes, unless `LOWP_REQUIRE` (comma-separated) names it.

use lowp::nn::data::{Dataset, digits};
use lowp::nn::models::Mlp;
use lowp::nn::train::formats::{FormatFlags, FormatsConfig};
use lowp::nn::train::run::{Classifier, OptimizerConfig, RunConfig, ScheduleConfig, Trainer};
use lowp::tensor::Device;

/// The bits of `value`, every NaN as one pattern (SEMANTICS.md: any NaN equals any NaN).
fn bits(value: f32) -> u32 {
    if value.is_nan() {
        f32::NAN.to_bits()
    } else {
        value.to_bits()
    }
}

/// The loss of every step and every parameter's values after two short epochs on `device` with
/// the optimizer `optimizer` (`sgd`: Nesterov momentum and weight decay; `adamw`).
fn short_run(device: Device, optimizer: &str) -> (Vec<u32>, Vec<Vec<u32>>, Vec<f64>) {
    let (train, test) = digits::load().unwrap().split(0.2, 7).unwrap();
    let subset = |data: &Dataset, n: usize| data.subset(&(0..n).collect::<Vec<_>>());
    let (train, test) = (subset(&train, 96), subset(&test, 64));
    let mut formats = FormatsConfig::default();
    formats.apply_flags(&FormatFlags {
        mac: Some("e5m2:fp16".into()),
        weights: Some("e4m3".into()),
        grads: Some("e5m2".into()),
        acts: Some("bf16".into()),
        rounding: Some("stochastic".into()),
    });
    formats.optimizer.momentum_quant = Some("bf16".into());
    // Adam's second moment stays binary32: in fp16, g² of these gradients underflows to 0 and
    // the update m / eps overflows the e4m3 weights (a real effect, but not this test's point).
    formats.optimizer.compensated = Some(true);
    let config = RunConfig {
        epochs: 2,
        batch_size: 32,
        seed: 21,
        optimizer: OptimizerConfig {
            kind: optimizer.into(),
            momentum: 0.9,
            nesterov: optimizer == "sgd",
            weight_decay: 1e-4,
        },
        schedule: ScheduleConfig {
            lr: 0.05,
            kind: "cosine".into(),
            warmup_steps: 2,
            step_epochs: 1,
            gamma: 0.5,
            min_lr: 0.0,
        },
        loss_scale: Some(256.0),
    };
    let model = Mlp::new(&[64, 16, 10], &formats, 21, &device).unwrap();
    let optimizer = formats.optimizer_formats().unwrap();
    let mut trainer = Trainer::new(&model, config, optimizer, train.len(), device).unwrap();
    while !trainer.finished() {
        trainer.train_epoch(&train, &test, &mut |_| {}).unwrap();
    }
    let losses = trainer.step_losses().iter().map(|&v| bits(v)).collect();
    let params = model
        .parameters()
        .iter()
        .map(|(_, p)| p.to_vec().unwrap().into_iter().map(bits).collect())
        .collect();
    let accuracies = trainer.history().iter().map(|r| r.test_accuracy).collect();
    (losses, params, accuracies)
}

/// The optimizers every backend is compared on.
const OPTIMIZERS: [&str; 2] = ["sgd", "adamw"];

/// The reference: the CPU backend on one thread.
fn reference(optimizer: &str) -> (Vec<u32>, Vec<Vec<u32>>, Vec<f64>) {
    let device = Device::from_cpu(lowp::CpuBackend::with_threads(1));
    short_run(device, optimizer)
}

mod training_steps {
    use super::*;

    #[test]
    fn cpu() {
        for optimizer in OPTIMIZERS {
            let expected = reference(optimizer);
            assert_eq!(expected.0.len(), 6);
            let finite = |bits: &u32| f32::from_bits(*bits).is_finite();
            assert!(expected.0.iter().all(finite));
            assert_eq!(short_run(Device::cpu(), optimizer), expected);
            let three = Device::from_cpu(lowp::CpuBackend::with_threads(3));
            assert_eq!(short_run(three, optimizer), expected);
        }
    }

    #[cfg(feature = "wgpu")]
    #[test]
    fn wgpu() {
        let required = std::env::var("LOWP_REQUIRE")
            .map(|list| list.split(',').any(|name| name.trim() == "wgpu"))
            .unwrap_or(false);
        let device = match Device::wgpu() {
            Ok(device) => device,
            Err(error) if !required => {
                println!("SKIP: wgpu: {error}");
                return;
            }
            Err(error) => panic!("the wgpu backend is required (LOWP_REQUIRE) but failed: {error}"),
        };
        for optimizer in OPTIMIZERS {
            assert_eq!(short_run(device.clone(), optimizer), reference(optimizer));
        }
    }
}
