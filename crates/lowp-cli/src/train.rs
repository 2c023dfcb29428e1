//! `lowp train`: train a model in simulated low precision, with a progress bar, a summary table,
//! loss/accuracy plots and checkpoints (resumable bit-identically) in an output directory.
//!
//! With no options it trains the digits MLP (64-128-10) in binary32 on the embedded digits set.
//! Every option is checked, the data loaded and the model built before anything is written, so
//! bad input leaves no output behind.

use crate::backends::CublasArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lowp_nn::data::text::TextCorpus;
use lowp_nn::data::{Dataset, digits, mnist};
use lowp_nn::models::ModelConfig;
use lowp_nn::train::checkpoint::Checkpoint;
use lowp_nn::train::files::write_atomic;
use lowp_nn::train::formats::{FormatFlags, FormatsConfig};
use lowp_nn::train::plot::{self, Curve, LegendCorner, Panel};
use lowp_nn::train::run::{
    Classifier, EpochRecord, OptimizerConfig, RunConfig, ScheduleConfig, Trainer,
};
use lowp_nn::train::seeds;
use lowp_tensor::Device;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::table::{Align, render};

/// The training options shared by `lowp train` and `lowp sweep`. Unset options take the default
/// configuration (digits MLP, SGD with momentum 0.9, lr 0.05 cosine, 10 epochs of 32, fp32).
#[derive(Debug, Clone, Default, Args)]
pub struct TrainOptions {
    /// Model: `mlp` (flatten, linear layers with ReLU), `cnn` (LeNet-style: two 3×3
    /// convolutions, the second with stride 2, then two linear layers) or `gpt` (character-level
    /// transformer, for --data shakespeare) [default: mlp, or gpt for shakespeare].
    #[arg(long, value_name = "NAME")]
    model: Option<String>,
    /// Hidden widths, comma-separated: the MLP's hidden layers [default: 128], or the CNN's
    /// conv channels and hidden units C1,C2,HIDDEN [default: 8,16,64], or the GPT's
    /// WIDTH,HEADS,LAYERS [default: 64,4,2].
    #[arg(long, value_name = "N,..", value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Data set: `digits` (embedded), `mnist` (IDX files in --mnist-dir) or `shakespeare`
    /// (embedded tiny-shakespeare, next-character prediction) [default: digits].
    #[arg(long, value_name = "NAME")]
    data: Option<String>,
    /// Characters the GPT reads per window (shakespeare) [default: 64].
    #[arg(long, value_name = "N")]
    context: Option<usize>,
    /// Characters of tiny-shakespeare used, from its start (shakespeare) [default: 200000].
    #[arg(long, value_name = "N")]
    text_chars: Option<usize>,
    /// Directory with MNIST's train-/t10k-images-idx3-ubyte and -labels-idx1-ubyte (.gz too).
    #[arg(long, value_name = "DIR")]
    mnist_dir: Option<PathBuf>,
    /// Fraction of the samples (digits, text windows) held out as the test set [default: 0.2].
    #[arg(long, value_name = "F")]
    test_fraction: Option<f64>,
    /// Epochs [default: 10].
    #[arg(long, value_name = "N")]
    epochs: Option<u32>,
    /// Samples per batch [default: 32].
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Optimizer: sgd, adam or adamw [default: sgd, or adamw for the GPT].
    #[arg(long, value_name = "NAME")]
    optimizer: Option<String>,
    /// Base learning rate [default: 0.05 for sgd, 0.002 for adam/adamw, 0.003 for the GPT].
    #[arg(long, value_name = "LR")]
    lr: Option<f64>,
    /// SGD momentum [default: 0.9].
    #[arg(long, value_name = "M")]
    momentum: Option<f32>,
    /// SGD Nesterov momentum.
    #[arg(long)]
    nesterov: bool,
    /// Weight decay (decoupled for adamw) [default: 0].
    #[arg(long, value_name = "WD")]
    weight_decay: Option<f32>,
    /// Learning-rate schedule: constant, step (x0.5 every --step-epochs) or cosine [default: cosine].
    #[arg(long, value_name = "NAME")]
    schedule: Option<String>,
    /// Epochs between step decays [default: 3].
    #[arg(long, value_name = "N")]
    step_epochs: Option<u32>,
    /// Linear warm-up steps [default: 0].
    #[arg(long, value_name = "N")]
    warmup_steps: Option<u64>,
    /// Run seed: initial weights, data split and order, stochastic rounding [default: 0].
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Dynamic loss scaling starting at this scale (e.g. 65536) [default: off].
    #[arg(long, value_name = "S")]
    loss_scale: Option<f32>,
    /// Formats config file (.toml or .json) mirroring QAffineFormats per layer and the
    /// optimizer's quantizers (see lowp_nn::train::formats).
    #[arg(long, value_name = "PATH")]
    formats_config: Option<PathBuf>,
    /// Multiply-accumulate formats of every layer: MUL:ADD, one SPEC for both (e.g. e4m3:fp16,
    /// fp16), or fma(SPEC) for fused multiply-adds rounded once to SPEC (the GEMMs the cuBLAS
    /// fast path takes on cuda).
    #[arg(long, value_name = "MUL:ADD")]
    mac: Option<String>,
    /// Weight (and bias) format of the layers and the optimizer's stored weights.
    #[arg(long, value_name = "SPEC")]
    weights: Option<String>,
    /// Gradient format of the layers and the optimizer.
    #[arg(long, value_name = "SPEC")]
    grads: Option<String>,
    /// Activation format: every layer's input and output.
    #[arg(long, value_name = "SPEC")]
    acts: Option<String>,
    /// Rounding of the layers and the optimizer: nearest, stochastic, ... [default: nearest].
    #[arg(long, value_name = "MODE")]
    rounding: Option<String>,
    /// Kahan-compensated weight update.
    #[arg(long)]
    compensated: bool,
}

/// The options of `lowp train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    options: TrainOptions,
    /// Output directory: checkpoint.safetensors, config.json, history.json, curves.png/.svg.
    #[arg(long, value_name = "DIR", default_value = "lowp-train")]
    out: PathBuf,
    /// Continue the run saved in this checkpoint (its configuration is used; pass no training
    /// options).
    #[arg(long, value_name = "PATH")]
    resume: Option<PathBuf>,
    /// Stop after this many epochs of the run (resume later with --resume).
    #[arg(long, value_name = "N")]
    stop_after: Option<u32>,
    /// No progress bar or per-epoch lines.
    #[arg(long)]
    quiet: bool,
}

/// Where the data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `digits`, `mnist` or `shakespeare`.
    pub name: String,
    /// Characters per window (shakespeare).
    pub context: usize,
    /// Characters of the corpus used (shakespeare).
    pub text_chars: usize,
    /// Test fraction of the digits split.
    pub test_fraction: f64,
    /// MNIST directory.
    pub mnist_dir: Option<PathBuf>,
}

/// The whole configuration of a run (saved as config.json and inside every checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// The model.
    pub model: ModelConfig,
    /// The data.
    pub data: DataConfig,
    /// Epochs, batches, optimizer, schedule, seed, loss scaling.
    pub run: RunConfig,
    /// The formats.
    pub formats: FormatsConfig,
}

/// The metadata key of the configuration inside a checkpoint.
const SPEC_KEY: &str = "lowp_train_spec";

impl TrainOptions {
    /// Whether any training option is set (they conflict with --resume).
    fn any_set(&self) -> bool {
        let o = self;
        o.model.is_some()
            || o.hidden.is_some()
            || o.data.is_some()
            || o.context.is_some()
            || o.text_chars.is_some()
            || o.mnist_dir.is_some()
            || o.test_fraction.is_some()
            || o.epochs.is_some()
            || o.batch_size.is_some()
            || o.optimizer.is_some()
            || o.lr.is_some()
            || o.momentum.is_some()
            || o.nesterov
            || o.weight_decay.is_some()
            || o.schedule.is_some()
            || o.step_epochs.is_some()
            || o.warmup_steps.is_some()
            || o.seed.is_some()
            || o.loss_scale.is_some()
            || o.formats_config.is_some()
            || o.mac.is_some()
            || o.weights.is_some()
            || o.grads.is_some()
            || o.acts.is_some()
            || o.rounding.is_some()
            || o.compensated
    }

    /// Whether a formats option (file or short flag) is set.
    pub fn sets_formats(&self) -> bool {
        self.formats_config.is_some()
            || self.mac.is_some()
            || self.weights.is_some()
            || self.grads.is_some()
            || self.acts.is_some()
            || self.rounding.is_some()
    }

    /// The run's configuration: the defaults, then the formats file, then the flags.
    pub fn spec(&self) -> Result<TrainSpec> {
        let mut formats = match &self.formats_config {
            Some(path) => FormatsConfig::load(path)?,
            None => FormatsConfig::default(),
        };
        formats.apply_flags(&FormatFlags {
            mac: self.mac.clone(),
            weights: self.weights.clone(),
            grads: self.grads.clone(),
            acts: self.acts.clone(),
            rounding: self.rounding.clone(),
        });
        if self.compensated {
            formats.optimizer.compensated = Some(true);
        }
        formats.check()?;
        let data = self.data.clone().unwrap_or_else(|| "digits".into());
        let default_model = if data == "shakespeare" { "gpt" } else { "mlp" };
        let kind = self.model.clone().unwrap_or_else(|| default_model.into());
        let default_hidden = match kind.as_str() {
            "cnn" => vec![8, 16, 64],
            "gpt" => vec![64, 4, 2],
            _ => vec![128],
        };
        let default_optimizer = if kind == "gpt" { "adamw" } else { "sgd" };
        let optimizer = self
            .optimizer
            .clone()
            .unwrap_or_else(|| default_optimizer.into());
        let default_lr = match (kind.as_str(), optimizer.as_str()) {
            ("gpt", _) => 0.003,
            (_, "sgd") => 0.05,
            _ => 0.002,
        };
        let spec = TrainSpec {
            model: ModelConfig {
                kind,
                hidden: self.hidden.clone().unwrap_or(default_hidden),
            },
            data: DataConfig {
                name: data,
                context: self.context.unwrap_or(64),
                text_chars: self.text_chars.unwrap_or(200_000),
                test_fraction: self.test_fraction.unwrap_or(0.2),
                mnist_dir: self.mnist_dir.clone(),
            },
            run: RunConfig {
                epochs: self.epochs.unwrap_or(10),
                batch_size: self.batch_size.unwrap_or(32),
                seed: self.seed.unwrap_or(0),
                optimizer: OptimizerConfig {
                    kind: optimizer,
                    momentum: self.momentum.unwrap_or(0.9),
                    nesterov: self.nesterov,
                    weight_decay: self.weight_decay.unwrap_or(0.0),
                },
                schedule: ScheduleConfig {
                    lr: self.lr.unwrap_or(default_lr),
                    kind: self.schedule.clone().unwrap_or_else(|| "cosine".into()),
                    warmup_steps: self.warmup_steps.unwrap_or(0),
                    step_epochs: self.step_epochs.unwrap_or(3),
                    gamma: 0.5,
                    min_lr: 0.0,
                },
                loss_scale: self.loss_scale,
            },
            formats,
        };
        Ok(spec)
    }

    /// The same options with the formats flags replaced by one sweep entry's config.
    pub fn with_formats(&self, formats: &FormatsConfig) -> Result<TrainSpec> {
        let mut spec = self.spec()?;
        let mut merged = formats.clone();
        if self.compensated {
            merged.optimizer.compensated = Some(true);
        }
        spec.formats = merged;
        Ok(spec)
    }
}

/// A run ready to train: its data, model and configuration.
pub struct Prepared {
    /// The configuration.
    pub spec: TrainSpec,
    /// Training samples.
    pub train: Dataset,
    /// Test samples.
    pub test: Dataset,
    /// The model.
    pub model: Box<dyn Classifier>,
    /// The device.
    pub device: Device,
}

/// Opens the device called `backend`, on cuda with the cuBLAS fast path as `cublas` asks (an
/// error for the other backends).
pub fn device(backend: &str, cublas: &CublasArgs) -> Result<Device> {
    if backend != "cuda" {
        cublas.reject_on(backend)?;
    }
    match backend {
        "cpu" => Ok(Device::cpu()),
        #[cfg(feature = "wgpu")]
        "wgpu" => {
            Device::wgpu().map_err(|error| anyhow::anyhow!("backend wgpu is unavailable: {error}"))
        }
        #[cfg(feature = "cuda")]
        "cuda" => Device::cuda_with_cublas(cublas.acceleration())
            .map_err(|error| anyhow::anyhow!("backend cuda is unavailable: {error}")),
        other => bail!("training does not run on backend '{other}'"),
    }
}

/// Loads the data and builds the model of `spec` on `device` (nothing is written).
pub fn prepare(spec: TrainSpec, device: Device) -> Result<Prepared> {
    let (train, test) = match spec.data.name.as_str() {
        "digits" => digits::load()?.split(
            spec.data.test_fraction,
            seeds::derive(spec.run.seed, seeds::DATA, 1),
        )?,
        "mnist" => {
            let dir = spec
                .data
                .mnist_dir
                .as_deref()
                .context("--data mnist needs --mnist-dir DIR")?;
            (
                mnist::load(
                    &idx_file(dir, "train-images-idx3-ubyte")?,
                    &idx_file(dir, "train-labels-idx1-ubyte")?,
                )?,
                mnist::load(
                    &idx_file(dir, "t10k-images-idx3-ubyte")?,
                    &idx_file(dir, "t10k-labels-idx1-ubyte")?,
                )?,
            )
        }
        "shakespeare" => TextCorpus::shakespeare()?
            .window_dataset(spec.data.context, spec.data.text_chars)?
            .split(
                spec.data.test_fraction,
                seeds::derive(spec.run.seed, seeds::DATA, 1),
            )?,
        other => bail!("unknown data set '{other}'; expected digits, mnist or shakespeare"),
    };
    let model = spec.model.build(
        train.sample_shape(),
        train.classes(),
        &spec.formats,
        spec.run.seed,
        &device,
    )?;
    Ok(Prepared {
        spec,
        train,
        test,
        model,
        device,
    })
}

/// `dir/name`, or `dir/name.gz` when only that exists.
fn idx_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if plain.exists() {
        Ok(plain)
    } else if gz.exists() {
        Ok(gz)
    } else {
        bail!("{}: missing {name} (or {name}.gz)", dir.display())
    }
}

/// Trains `prepared` from its trainer's current epoch to `until` epochs, showing progress unless
/// `quiet`; `after_epoch` runs after each epoch (checkpoints).
pub fn train_epochs(
    trainer: &mut Trainer<'_, dyn Classifier + '_>,
    prepared: &Prepared,
    until: u32,
    label: &str,
    quiet: bool,
    after_epoch: &mut dyn FnMut(&Trainer<'_, dyn Classifier + '_>) -> Result<()>,
) -> Result<()> {
    let epochs = prepared.spec.run.epochs;
    while trainer.epoch() < until {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(
                Some(trainer.steps_per_epoch()),
                ProgressDrawTarget::stderr(),
            )
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{label} epoch {}/{epochs}", trainer.epoch() + 1));
        let record = trainer.train_epoch(&prepared.train, &prepared.test, &mut |progress| {
            bar.set_position(progress.batch as u64);
            bar.set_message(format!(
                "loss {:.4}  {:.0} samples/s",
                progress.loss, progress.samples_per_second
            ));
        })?;
        bar.finish_and_clear();
        if !quiet {
            eprintln!("{label} {}", epoch_line(&record, epochs));
        }
        after_epoch(trainer)?;
    }
    Ok(())
}

fn epoch_line(record: &EpochRecord, epochs: u32) -> String {
    format!(
        "epoch {}/{epochs}: train loss {:.4}, test loss {:.4}, test accuracy {:.2}%, {:.0} samples/s",
        record.epoch,
        record.train_loss,
        record.test_loss,
        100.0 * record.test_accuracy,
        record.samples_per_second
    )
}

/// Training samples per second over all of `history`'s epochs (evaluation excluded):
/// `epochs * train_len / Σ (train_len / samples_per_second)`.
pub fn mean_throughput(train_len: usize, history: &[EpochRecord]) -> f64 {
    let samples = train_len as f64 * history.len() as f64;
    let seconds: f64 = history
        .iter()
        .map(|r| train_len as f64 / r.samples_per_second)
        .sum();
    samples / seconds.max(1e-9)
}

/// The per-epoch summary table.
pub fn summary_table(history: &[EpochRecord]) -> String {
    let rows: Vec<Vec<String>> = history
        .iter()
        .map(|r| {
            vec![
                r.epoch.to_string(),
                format!("{:.4}", r.train_loss),
                format!("{:.4}", r.test_loss),
                format!("{:.2}%", 100.0 * r.test_accuracy),
                format!("{:.0}", r.samples_per_second),
                format!("{:.2}", r.seconds),
                r.skipped_steps.to_string(),
            ]
        })
        .collect();
    render(
        &[
            "epoch",
            "train loss",
            "test loss",
            "test acc",
            "samples/s",
            "seconds",
            "skipped",
        ],
        &[Align::Right; 7],
        &rows,
    )
}

/// The loss and accuracy panels of one or more labelled histories.
pub fn curve_panels(runs: &[(String, Vec<EpochRecord>)]) -> Vec<Panel> {
    let curves = |pick: &dyn Fn(&EpochRecord) -> f64, suffix: &str| -> Vec<Curve> {
        runs.iter()
            .map(|(label, history)| Curve {
                label: format!("{label}{suffix}"),
                points: history
                    .iter()
                    .map(|r| (f64::from(r.epoch), pick(r)))
                    .collect(),
            })
            .collect()
    };
    let mut losses = curves(
        &|r| r.train_loss,
        if runs.len() == 1 { " train" } else { "" },
    );
    if runs.len() == 1 {
        losses.extend(curves(&|r| r.test_loss, " test"));
    }
    vec![
        Panel {
            title: if runs.len() == 1 {
                "loss".into()
            } else {
                "training loss".into()
            },
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            curves: losses,
            legend: LegendCorner::UpperRight,
        },
        Panel {
            title: "test accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            curves: curves(&|r| r.test_accuracy, ""),
            legend: LegendCorner::LowerRight,
        },
    ]
}

/// Runs `lowp train` on the backend called `backend` (with the cuBLAS fast path as `cublas`
/// asks), printing the summary to `out`.
pub fn run(
    backend: &str,
    cublas: &CublasArgs,
    args: &TrainArgs,
    out: &mut impl Write,
) -> Result<()> {
    let (spec, checkpoint) = match &args.resume {
        Some(path) => {
            if args.options.any_set() {
                bail!(
                    "--resume takes the configuration from the checkpoint; pass no training options with it"
                );
            }
            let checkpoint = Checkpoint::load(path)?;
            let text: String = checkpoint
                .meta(SPEC_KEY)
                .with_context(|| format!("{}: not a lowp train checkpoint", path.display()))?;
            let spec: TrainSpec = serde_json::from_str(&text)
                .with_context(|| format!("{}: bad configuration", path.display()))?;
            (spec, Some(checkpoint))
        }
        None => (args.options.spec()?, None),
    };
    let until = args
        .stop_after
        .unwrap_or(spec.run.epochs)
        .min(spec.run.epochs);
    let spec_json = serde_json::to_string_pretty(&spec)?;
    let prepared = prepare(spec, device(backend, cublas)?)?;
    let mut trainer = Trainer::new(
        prepared.model.as_ref(),
        prepared.spec.run.clone(),
        prepared.spec.formats.optimizer_formats()?,
        prepared.train.len(),
        prepared.device.clone(),
    )?;
    if let Some(checkpoint) = &checkpoint {
        trainer.restore(checkpoint)?;
    }
    if until <= trainer.epoch() {
        bail!(
            "nothing to train: the run is at epoch {} of {} and --stop-after asks for {until}",
            trainer.epoch(),
            prepared.spec.run.epochs
        );
    }
    // Everything is checked: from here on, outputs are written (each one atomically).
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    write_atomic(&args.out.join("config.json"), spec_json.as_bytes())?;
    let checkpoint_path = args.out.join("checkpoint.safetensors");
    let started = Instant::now();
    train_epochs(
        &mut trainer,
        &prepared,
        until,
        &prepared.spec.formats.label(),
        args.quiet,
        &mut |trainer| {
            let mut checkpoint = trainer.checkpoint()?;
            checkpoint
                .metadata
                .insert(SPEC_KEY.into(), spec_json.clone());
            checkpoint.save(&checkpoint_path)?;
            Ok(())
        },
    )?;
    let history = trainer.history().to_vec();
    write_atomic(
        &args.out.join("history.json"),
        serde_json::to_string_pretty(&history)?.as_bytes(),
    )?;
    let panels = curve_panels(&[(prepared.spec.formats.label(), history.clone())]);
    plot::save(&panels, &args.out.join("curves.png"))?;
    plot::save(&panels, &args.out.join("curves.svg"))?;
    writeln!(out, "{}", summary_table(&history))?;
    if let Some(last) = history.last() {
        writeln!(
            out,
            "{} on {} ({} train / {} test samples, backend {backend}): test accuracy {:.2}% after {} epochs; {:.1} s this run, {:.0} samples/s training",
            prepared.spec.model.kind,
            prepared.spec.data.name,
            prepared.train.len(),
            prepared.test.len(),
            100.0 * last.test_accuracy,
            last.epoch,
            started.elapsed().as_secs_f64(),
            mean_throughput(prepared.train.len(), &history)
        )?;
    }
    #[cfg(feature = "cuda")]
    if let Device::Cuda(cuda) = &prepared.device
        && cublas.cublas
    {
        // Only fused GEMMs (`--mac 'fma(SPEC)'`) of native formats qualify: say how many did.
        writeln!(
            out,
            "cuBLAS fast path: {} GEMMs ran through cuBLAS (not bit-exact); the others ran the bit-exact kernel",
            cuda.cublas_gemms()
        )?;
    }
    writeln!(out, "outputs in {}", args.out.display())?;
    Ok(())
}
