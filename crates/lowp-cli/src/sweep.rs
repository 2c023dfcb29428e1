//! `lowp sweep`: train the same model (same seed, data and schedule) under each of a list of
//! format sets and compare: a table of final accuracy, loss and time, and one plot with every
//! run's curves.

use crate::backends::CublasArgs;
use crate::table::{Align, render};
use crate::train::{TrainOptions, curve_panels, device, mean_throughput, prepare, train_epochs};
use anyhow::{Result, bail};
use clap::Args;
use lowp_nn::train::files::write_atomic;
use lowp_nn::train::formats::{FormatsConfig, split_list};
use lowp_nn::train::plot;
use lowp_nn::train::run::{EpochRecord, Trainer};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// The options of `lowp sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Format sets, comma-separated; each is SPEC[:ADD][@ROUNDING]: weights, activations,
    /// gradients and products in SPEC, sums in ADD, every rounding ROUNDING (default nearest),
    /// e.g. `fp32,bf16,e5m2:fp16,e4m3@stochastic,binary8(p=3)`.
    #[arg(long, value_name = "LIST")]
    formats: String,
    #[command(flatten)]
    options: TrainOptions,
    /// Output directory: sweep.md, sweep.json, sweep.png, sweep.svg.
    #[arg(long, value_name = "DIR", default_value = "lowp-sweep")]
    out: PathBuf,
    /// No progress bars or per-epoch lines.
    #[arg(long)]
    quiet: bool,
}

/// One row of the comparison.
#[derive(Debug, Serialize)]
struct SweepRow {
    formats: String,
    final_test_accuracy: f64,
    best_test_accuracy: f64,
    final_train_loss: f64,
    final_test_loss: f64,
    /// Wall-clock seconds of the whole run (training and evaluation).
    seconds: f64,
    /// Training throughput over all epochs (evaluation excluded).
    samples_per_second: f64,
    history: Vec<EpochRecord>,
}

/// Runs `lowp sweep` on the backend called `backend` (with the cuBLAS fast path as `cublas`
/// asks), printing the table to `out`.
pub fn run(
    backend: &str,
    cublas: &CublasArgs,
    args: &SweepArgs,
    out: &mut impl Write,
) -> Result<()> {
    if args.options.sets_formats() {
        bail!("lowp sweep takes its formats from --formats only");
    }
    let entries = split_list(&args.formats)?;
    let mut prepared = Vec::new();
    for entry in &entries {
        let formats = FormatsConfig::from_sweep_entry(entry)?;
        let spec = args.options.with_formats(&formats)?;
        prepared.push((entry.clone(), prepare(spec, device(backend, cublas)?)?));
    }
    let mut rows = Vec::new();
    for (entry, run) in &prepared {
        let started = Instant::now();
        let mut trainer = Trainer::new(
            run.model.as_ref(),
            run.spec.run.clone(),
            run.spec.formats.optimizer_formats()?,
            run.train.len(),
            run.device.clone(),
        )?;
        train_epochs(
            &mut trainer,
            run,
            run.spec.run.epochs,
            entry,
            args.quiet,
            &mut |_| Ok(()),
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let history = trainer.history().to_vec();
        let last = history.last().expect("at least one epoch");
        rows.push(SweepRow {
            formats: entry.clone(),
            final_test_accuracy: last.test_accuracy,
            best_test_accuracy: history.iter().map(|r| r.test_accuracy).fold(0.0, f64::max),
            final_train_loss: last.train_loss,
            final_test_loss: last.test_loss,
            seconds,
            samples_per_second: mean_throughput(run.train.len(), &history),
            history,
        });
    }
    let table = render(
        &[
            "formats",
            "test acc",
            "best acc",
            "train loss",
            "test loss",
            "seconds",
            "samples/s",
        ],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        &rows
            .iter()
            .map(|row| {
                vec![
                    row.formats.clone(),
                    format!("{:.2}%", 100.0 * row.final_test_accuracy),
                    format!("{:.2}%", 100.0 * row.best_test_accuracy),
                    format!("{:.4}", row.final_train_loss),
                    format!("{:.4}", row.final_test_loss),
                    format!("{:.1}", row.seconds),
                    format!("{:.0}", row.samples_per_second),
                ]
            })
            .collect::<Vec<_>>(),
    );
    std::fs::create_dir_all(&args.out)?;
    write_atomic(
        &args.out.join("sweep.md"),
        format!("```text\n{table}```\n").as_bytes(),
    )?;
    write_atomic(
        &args.out.join("sweep.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    let runs: Vec<(String, Vec<EpochRecord>)> = rows
        .iter()
        .map(|row| (row.formats.clone(), row.history.clone()))
        .collect();
    let panels = curve_panels(&runs);
    plot::save(&panels, &args.out.join("sweep.png"))?;
    plot::save(&panels, &args.out.join("sweep.svg"))?;
    write!(out, "{table}")?;
    writeln!(out, "outputs in {}", args.out.display())?;
    Ok(())
}
