//! Driver tests on a linear softmax classifier written with plain tensor ops.

use super::*;
use crate::data::digits;
use crate::train::formats::{OptimizerFormats, RoundingChoice};

/// `logits = flatten(x) · W + b`.
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn new(seed: u64, device: &Device) -> Self {
        let init = seeds::derive(seed, seeds::INIT, 0);
        Self {
            weight: Tensor::rand_uniform(-0.1, 0.1, &[64, 10], init, device)
                .unwrap()
                .into_var(),
            bias: Tensor::zeros(&[10], device).unwrap().into_var(),
        }
    }
}

impl Classifier for Linear {
    fn forward(&self, input: &Tensor, _seed: u64) -> Result<Tensor> {
        let rows = input.shape()[0];
        Ok(input
            .reshape(&[rows, 64])?
            .matmul(&self.weight)?
            .add(&self.bias)?)
    }

    fn parameters(&self) -> Vec<(String, Tensor)> {
        vec![
            ("weight".into(), self.weight.clone()),
            ("bias".into(), self.bias.clone()),
        ]
    }
}

fn config(epochs: u32, loss_scale: Option<f32>) -> RunConfig {
    RunConfig {
        epochs,
        batch_size: 64,
        seed: 11,
        optimizer: OptimizerConfig {
            kind: "sgd".into(),
            momentum: 0.9,
            nesterov: false,
            weight_decay: 1e-4,
        },
        schedule: ScheduleConfig {
            lr: 0.05,
            kind: "cosine".into(),
            warmup_steps: 5,
            step_epochs: 1,
            gamma: 0.5,
            min_lr: 0.0,
        },
        loss_scale,
    }
}

fn formats() -> OptimizerFormats {
    OptimizerFormats {
        weight_quant: Some("bf16".parse().unwrap()),
        grad_quant: None,
        momentum_quant: Some("bf16".parse().unwrap()),
        second_quant: None,
        acc_quant: None,
        rounding: RoundingChoice::parse("stochastic").unwrap(),
        compensated: true,
    }
}

fn data() -> (Dataset, Dataset) {
    digits::load().unwrap().split(0.2, 3).unwrap()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn a_linear_model_learns_the_digits() {
    let device = Device::cpu();
    let (train, test) = data();
    let model = Linear::new(11, &device);
    let mut trainer =
        Trainer::new(&model, config(3, None), formats(), train.len(), device).unwrap();
    let mut reports = 0;
    while !trainer.finished() {
        trainer
            .train_epoch(&train, &test, &mut |_| reports += 1)
            .unwrap();
    }
    let history = trainer.history();
    assert_eq!(reports, 3 * train.batch_count(64));
    assert!(history[2].train_loss < history[0].train_loss);
    assert!(history[2].test_accuracy > 0.85, "{history:?}");
}

#[test]
fn resuming_from_a_checkpoint_continues_bit_identically() {
    let device = Device::cpu();
    let (train, test) = data();
    let through_model = Linear::new(11, &device);
    let mut through = Trainer::new(
        &through_model,
        config(3, Some(1024.0)),
        formats(),
        train.len(),
        device.clone(),
    )
    .unwrap();
    while !through.finished() {
        through.train_epoch(&train, &test, &mut |_| {}).unwrap();
    }

    let first_model = Linear::new(11, &device);
    let mut first = Trainer::new(
        &first_model,
        config(3, Some(1024.0)),
        formats(),
        train.len(),
        device.clone(),
    )
    .unwrap();
    first.train_epoch(&train, &test, &mut |_| {}).unwrap();
    let bytes = first.checkpoint().unwrap().to_bytes().unwrap();

    let resumed_model = Linear::new(99, &device);
    let mut resumed = Trainer::new(
        &resumed_model,
        config(3, Some(1024.0)),
        formats(),
        train.len(),
        device,
    )
    .unwrap();
    resumed
        .restore(&Checkpoint::from_bytes(&bytes).unwrap())
        .unwrap();
    assert_eq!(resumed.epoch(), 1);
    while !resumed.finished() {
        resumed.train_epoch(&train, &test, &mut |_| {}).unwrap();
    }
    assert_eq!(bits(resumed.step_losses()), bits(through.step_losses()));
    for ((_, a), (_, b)) in resumed_model
        .parameters()
        .iter()
        .zip(through_model.parameters())
    {
        assert_eq!(bits(&a.to_vec().unwrap()), bits(&b.to_vec().unwrap()));
    }
    let accuracies = |t: &Trainer<Linear>| {
        t.history()
            .iter()
            .map(|r| r.test_accuracy)
            .collect::<Vec<_>>()
    };
    assert_eq!(accuracies(&resumed), accuracies(&through));
}

#[test]
fn the_loss_curve_does_not_depend_on_the_thread_count() {
    let (train, test) = data();
    let curve = |device: Device| {
        let model = Linear::new(11, &device);
        let mut trainer =
            Trainer::new(&model, config(1, None), formats(), train.len(), device).unwrap();
        trainer.train_epoch(&train, &test, &mut |_| {}).unwrap();
        bits(trainer.step_losses())
    };
    let one = curve(Device::from_cpu(lowp_backend::CpuBackend::with_threads(1)));
    assert_eq!(
        one,
        curve(Device::from_cpu(lowp_backend::CpuBackend::with_threads(2)))
    );
    assert_eq!(one, curve(Device::cpu()));
}

#[test]
fn bad_configurations_are_rejected() {
    let device = Device::cpu();
    let model = Linear::new(1, &device);
    let mut bad = config(1, None);
    bad.optimizer.kind = "lion".into();
    assert!(Trainer::new(&model, bad, formats(), 100, device.clone()).is_err());
    let mut bad = config(1, None);
    bad.schedule.kind = "linear".into();
    assert!(Trainer::new(&model, bad, formats(), 100, device.clone()).is_err());
    let mut bad = config(1, None);
    bad.batch_size = 0;
    assert!(Trainer::new(&model, bad, formats(), 100, device.clone()).is_err());
    let trainer = Trainer::new(&model, config(1, None), formats(), 100, device).unwrap();
    let mut checkpoint = trainer.checkpoint().unwrap();
    checkpoint.tensors.remove("model.bias");
    let other = Linear::new(2, &Device::cpu());
    let mut fresh = Trainer::new(&other, config(1, None), formats(), 100, Device::cpu()).unwrap();
    assert!(fresh.restore(&checkpoint).is_err());
}
