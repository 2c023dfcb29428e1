//! A quantized MLP (784-128-10, e4m3 signals, bf16 MACs, stochastic rounding) on synthetic
//! digit-sized data: a few SGD steps with their loss and time per step.
//!
//! `cargo run --release -p lowp-nn --example mlp [steps] [batch]`

use lowp_formats::{Format, Rounding};
use lowp_nn::{Cast, Mac, Module, QAffineFormats, QLinear, ReLU, Sequential, cross_entropy};
use lowp_tensor::{Device, Tensor, no_grad};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let batch: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);
    let device = Device::cpu();
    let e4m3 = Format::preset("e4m3")?;
    let bf16 = Format::preset("bf16")?;
    let formats = QAffineFormats {
        fwd_mac: Some(Mac::same(bf16)),
        bwd_mac: Some(Mac::same(bf16)),
        fwd_rnd: Rounding::stochastic(8)?,
        bwd_rnd: Rounding::stochastic(8)?,
        input_quant: Some(Cast::nearest(e4m3)),
        weight_quant: Some(Cast::nearest(e4m3)),
        grad_quant: Some(Cast::stochastic(Format::preset("e5m2")?)?),
        ..QAffineFormats::default()
    };
    let model = Sequential::new()
        .with(QLinear::new(
            784,
            128,
            formats.clone().with_seed(1),
            true,
            &device,
            1,
        )?)
        .with(ReLU)
        .with(QLinear::new(
            128,
            10,
            formats.with_seed(2),
            true,
            &device,
            2,
        )?);
    let x = Tensor::rand_uniform(0.0, 1.0, &[batch, 784], 3, &device)?;
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    for step in 0..steps {
        let start = Instant::now();
        let loss = cross_entropy(&model.forward(&x)?, &labels)?;
        loss.backward()?;
        let _guard = no_grad();
        for (_, p) in model.parameters() {
            if let Some(grad) = p.grad() {
                p.set_data(&p.sub(&grad.mul_scalar(0.1)?)?)?;
                p.zero_grad();
            }
        }
        println!(
            "step {step}: loss {:.4}, {:.1} ms",
            loss.to_scalar()?,
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}
