//! Training the digits MLP in the browser, one batch at a time, on lowp-nn.
//!
//! The model is `64 -> hidden -> 10`: lowp-nn `QLinear` layers with ReLU between them, trained
//! with cross-entropy and lowp-nn's `QOptimizer` (SGD with momentum 0.9, or Adam) on the embedded
//! digits of lowp-nn (`data::digits`: 1,797 samples of 8×8, split 80/20 as `lowp train` does).
//! Nothing here blocks: every value that comes back from the device comes through
//! `to_vec_async`, so the same code runs on WebGPU in the browser and on the CPU backend.
//!
//! Seeds follow lowp-nn's training driver: the split uses `train::seeds::derive(seed, DATA, 1)`,
//! the order of epoch `e` is `Dataset::epoch_batches(batch, derive(seed, DATA, 0), e)`, step `t`
//! keys the stochastic roundings of layer `i` with
//! `lowp_nn::seeds::derive(train::seeds::derive(seed, LAYERS, t), i)`, the initial weights of
//! layer `i` come from `derive(seed, INIT, i)`, and the optimizer's streams from the run seed.

use crate::tensor::LogHistogram;
use lowp_formats::Format;
use lowp_nn::data::{Batch, Dataset, digits};
use lowp_nn::functional::qlinear;
use lowp_nn::optim::{QOptimizer, Rule};
use lowp_nn::train::formats::{OptimizerFormats, RoundingChoice};
use lowp_nn::train::seeds;
use lowp_nn::{Cast, Mac, QAffineFormats, QLinear, cross_entropy};
use lowp_tensor::{Device, Tensor, no_grad};
use serde::{Deserialize, Serialize};

/// Fraction of the digits held out for the test curve (as `lowp train`).
pub const TEST_FRACTION: f64 = 0.2;
/// Samples of the training split (1,797 digits less the 360 held out).
pub const TRAIN_SAMPLES: usize = 1437;

/// How the multiply-accumulates of the GEMMs round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MacKind {
    /// Plain binary32 GEMMs.
    Fp32,
    /// Each product rounded to the product format, each sum to the sum format.
    Separate,
    /// Fused multiply-add rounded once to the sum format.
    Fma,
}

impl MacKind {
    /// Name in the UI and in run labels: `fp32`, `add/mul`, `fma`.
    pub fn name(self) -> &'static str {
        match self {
            MacKind::Fp32 => "fp32",
            MacKind::Separate => "add/mul",
            MacKind::Fma => "fma",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [MacKind::Fp32, MacKind::Separate, MacKind::Fma]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// Every control of a training run, as the user typed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// How the GEMMs of both passes round.
    pub mac: MacKind,
    /// Product format SPEC (add/mul only).
    pub mac_mul: String,
    /// Sum format SPEC (add/mul and fma).
    pub mac_add: String,
    /// Weight quantizer SPEC (empty: none; the bias uses it too).
    pub weight_quant: String,
    /// Layer input quantizer SPEC (empty: none).
    pub input_quant: String,
    /// Gradient quantizer SPEC (empty: none).
    pub grad_quant: String,
    /// Layer output quantizer SPEC (empty: none).
    pub output_quant: String,
    /// `nearest` or `stochastic`, for both passes and the optimizer.
    pub rounding: String,
    /// `sgd` (momentum 0.9) or `adam`.
    pub optimizer: String,
    /// The optimizer's stored-weight format SPEC (empty: binary32 master weights).
    pub master_weights: String,
    /// Learning rate.
    pub lr: f32,
    /// Hidden layer width.
    pub hidden: usize,
    /// Training samples used: the first this many of the (shuffled) training split; all 1,437
    /// by default. Fewer make short epochs for a slow device.
    pub train_samples: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Epochs of the run.
    pub epochs: u32,
    /// The run seed.
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            mac: MacKind::Separate,
            mac_mul: "e4m3".into(),
            mac_add: "fp16".into(),
            weight_quant: "e4m3".into(),
            input_quant: "e4m3".into(),
            grad_quant: "e5m2".into(),
            output_quant: String::new(),
            rounding: "stochastic".into(),
            optimizer: "adam".into(),
            master_weights: String::new(),
            lr: 0.01,
            hidden: 32,
            train_samples: TRAIN_SAMPLES,
            batch_size: 32,
            epochs: 3,
            seed: 1,
        }
    }
}

/// An optional format SPEC: empty means none.
fn optional_format(what: &str, spec: &str) -> Result<Option<Format>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Ok(None);
    }
    spec.parse::<Format>()
        .map(Some)
        .map_err(|error| format!("{what}: {error}"))
}

fn required_format(what: &str, spec: &str) -> Result<Format, String> {
    optional_format(what, spec)?.ok_or_else(|| format!("{what}: a format SPEC is needed"))
}

impl TrainSettings {
    /// The rounding choice, checked (`nearest` or `stochastic`).
    fn rounding_choice(&self) -> Result<RoundingChoice, String> {
        match self.rounding.as_str() {
            "nearest" | "stochastic" => {
                RoundingChoice::parse(&self.rounding).map_err(|e| e.to_string())
            }
            other => Err(format!(
                "rounding '{other}': expected nearest or stochastic"
            )),
        }
    }

    /// The `QAffineFormats` of every layer (unseeded; each step seeds it).
    pub fn affine_formats(&self) -> Result<QAffineFormats, String> {
        let rounding = self.rounding_choice()?;
        let mac = match self.mac {
            MacKind::Fp32 => None,
            MacKind::Separate => Some(Mac::Separate {
                add: required_format("MAC sum format", &self.mac_add)?,
                mul: required_format("MAC product format", &self.mac_mul)?,
            }),
            MacKind::Fma => Some(Mac::Fma(required_format("FMA format", &self.mac_add)?)),
        };
        let cast = |what: &str, spec: &str| -> Result<Option<Cast>, String> {
            optional_format(what, spec)?
                .map(|format| Cast::new(format, rounding.for_format(&format)))
                .transpose()
                .map_err(|e| e.to_string())
        };
        let pass_rounding = rounding.for_format(&lowp_tensor::fp32());
        let formats = QAffineFormats {
            fwd_mac: mac,
            bwd_mac: mac,
            fwd_rnd: pass_rounding,
            bwd_rnd: pass_rounding,
            weight_quant: cast("weight quantizer", &self.weight_quant)?,
            bias_quant: cast("weight quantizer", &self.weight_quant)?,
            input_quant: cast("input quantizer", &self.input_quant)?,
            output_quant: cast("output quantizer", &self.output_quant)?,
            grad_quant: cast("gradient quantizer", &self.grad_quant)?,
            ..QAffineFormats::fp32()
        };
        formats.validate().map_err(|e| e.to_string())?;
        Ok(formats)
    }

    /// The optimizer's update rule.
    fn rule(&self) -> Result<Rule, String> {
        match self.optimizer.as_str() {
            "sgd" => Ok(Rule::sgd(0.9, false, 0.0)),
            "adam" => Ok(Rule::adam(0.0)),
            other => Err(format!("optimizer '{other}': expected sgd or adam")),
        }
    }

    /// The optimizer's quantizers: the stored weights in the master-weight format, the rest in
    /// binary32, rounding as the layers.
    fn optimizer_formats(&self) -> Result<OptimizerFormats, String> {
        Ok(OptimizerFormats {
            weight_quant: optional_format("master weights", &self.master_weights)?,
            grad_quant: None,
            momentum_quant: None,
            second_quant: None,
            acc_quant: None,
            rounding: self.rounding_choice()?,
            compensated: false,
        })
    }

    /// Checks every setting; the error names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        self.affine_formats()?;
        self.rule()?;
        self.optimizer_formats()?;
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err("learning rate must be a positive number".into());
        }
        if !(1..=1024).contains(&self.hidden) {
            return Err("hidden width must be in 1..=1024".into());
        }
        if !(1..=TRAIN_SAMPLES).contains(&self.train_samples) {
            return Err(format!("training samples must be in 1..={TRAIN_SAMPLES}"));
        }
        if !(1..=self.train_samples).contains(&self.batch_size) {
            return Err("batch size must be in 1..=training samples".into());
        }
        if !(1..=100).contains(&self.epochs) {
            return Err("epochs must be in 1..=100".into());
        }
        Ok(())
    }

    /// Steps of the whole run: `epochs × ⌈train_samples / batch_size⌉` (as
    /// [`TrainRun::total_steps`], without building the run).
    pub fn total_steps(&self) -> u64 {
        self.train_samples.div_ceil(self.batch_size.max(1)) as u64 * u64::from(self.epochs)
    }

    /// A short label of the format set: `mac e4m3:fp16 · w e4m3 · … · SR · adam 0.01`.
    pub fn label(&self) -> String {
        let mut parts = vec![match self.mac {
            MacKind::Fp32 => "mac fp32".to_string(),
            MacKind::Separate => format!("mac {}:{}", self.mac_mul.trim(), self.mac_add.trim()),
            MacKind::Fma => format!("fma {}", self.mac_add.trim()),
        }];
        for (short, spec) in [
            ("w", &self.weight_quant),
            ("in", &self.input_quant),
            ("g", &self.grad_quant),
            ("out", &self.output_quant),
            ("master", &self.master_weights),
        ] {
            if !spec.trim().is_empty() {
                parts.push(format!("{short} {}", spec.trim()));
            }
        }
        parts.push(
            if self.rounding == "stochastic" {
                "SR"
            } else {
                "RN"
            }
            .to_string(),
        );
        parts.push(format!("{} {}", self.optimizer, self.lr));
        parts.join(" · ")
    }
}

/// The figures of one finished epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochFigures {
    /// The epoch, from 1.
    pub epoch: u32,
    /// The global step count at its end.
    pub step: u64,
    /// Mean cross-entropy over the test set.
    pub test_loss: f64,
    /// Fraction of test samples classified correctly.
    pub accuracy: f64,
}

/// The log2-magnitude histograms of one layer's weight and gradient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerHistograms {
    /// The layer's name: `layer 0 (64→32)`.
    pub name: String,
    /// Histogram of the weight.
    pub weight: LogHistogram,
    /// Histogram of the weight's last gradient (empty before the first step).
    pub grad: LogHistogram,
}

/// Bins per binade of the layer histograms.
const HISTOGRAM_BINS_PER_BINADE: f64 = 2.0;
/// The log2 range of the layer histograms: a fixed axis so that pictures of runs compare.
pub const HISTOGRAM_RANGE: (f64, f64) = (-24.0, 4.0);

/// One training run in progress: model, optimizer, data and position.
pub struct TrainRun {
    layers: Vec<QLinear>,
    optimizer: QOptimizer,
    device: Device,
    train: Dataset,
    test: Dataset,
    batch_size: usize,
    epochs: u32,
    seed: u64,
    lr: f32,
    /// The remaining batches of the current epoch, last first.
    pending: Vec<Batch>,
    /// Epochs started.
    epoch: u32,
    step: u64,
    /// The gradients of the last step, `(layer, weight gradient)`.
    last_grads: Vec<Option<Tensor>>,
}

impl TrainRun {
    /// A fresh run of `settings` on `device` (the data are lowp-nn's embedded digits).
    pub fn new(settings: &TrainSettings, device: Device) -> Result<Self, String> {
        settings.validate()?;
        let formats = settings.affine_formats()?;
        let seed = settings.seed;
        let (train, test) = digits::load()
            .and_then(|data| data.split(TEST_FRACTION, seeds::derive(seed, seeds::DATA, 1)))
            .map_err(|e| e.to_string())?;
        let train = if settings.train_samples < train.len() {
            train.subset(&(0..settings.train_samples).collect::<Vec<_>>())
        } else {
            train
        };
        let sizes = [train.sample_len(), settings.hidden, train.classes()];
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                QLinear::new(
                    pair[0],
                    pair[1],
                    formats.clone(),
                    true,
                    &device,
                    seeds::derive(seed, seeds::INIT, index as u64),
                )
                .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let params = layers
            .iter()
            .flat_map(|layer| std::iter::once(layer.weight.clone()).chain(layer.bias.clone()))
            .collect();
        let optimizer = QOptimizer::new(
            params,
            settings.rule()?,
            settings.optimizer_formats()?,
            seed,
        )
        .map_err(|e| e.to_string())?;
        Ok(Self {
            last_grads: vec![None; layers.len()],
            layers,
            optimizer,
            device,
            train,
            test,
            batch_size: settings.batch_size,
            epochs: settings.epochs,
            seed,
            lr: settings.lr,
            pending: Vec::new(),
            epoch: 0,
            step: 0,
        })
    }

    /// Steps done.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Steps of the whole run.
    pub fn total_steps(&self) -> u64 {
        self.train.batch_count(self.batch_size) as u64 * u64::from(self.epochs)
    }

    /// Whether the current epoch's batches are all done (time to evaluate).
    pub fn epoch_done(&self) -> bool {
        self.pending.is_empty() && self.epoch > 0
    }

    /// Whether every step of the run is done.
    pub fn finished(&self) -> bool {
        self.step >= self.total_steps()
    }

    /// The logits of `input` at step seed `step_seed`.
    fn forward(&self, input: &Tensor, step_seed: u64) -> Result<Tensor, String> {
        let mut x = input.clone();
        for (index, layer) in self.layers.iter().enumerate() {
            let formats = layer
                .formats
                .clone()
                .with_seed(lowp_nn::seeds::derive(step_seed, index as u64));
            x = qlinear(&x, &layer.weight, layer.bias.as_ref(), &formats)
                .map_err(|e| e.to_string())?;
            if index + 1 < self.layers.len() {
                x = x.relu().map_err(|e| e.to_string())?;
            }
        }
        Ok(x)
    }

    /// One training step (starting the next epoch's shuffled batches when needed): forward,
    /// cross-entropy, backward, optimizer step. Returns the batch loss.
    pub async fn step(&mut self) -> Result<f32, String> {
        if self.finished() {
            return Err("the run is finished".into());
        }
        if self.pending.is_empty() {
            let data_seed = seeds::derive(self.seed, seeds::DATA, 0);
            let mut batches: Vec<Batch> = self
                .train
                .epoch_batches(self.batch_size, data_seed, self.epoch)
                .map_err(|e| e.to_string())?
                .collect();
            batches.reverse();
            self.pending = batches;
            self.epoch += 1;
        }
        let batch = self.pending.pop().ok_or("no batch")?;
        let rows = batch.labels.len();
        let input = Tensor::from_vec(
            batch.features,
            &[rows, self.train.sample_len()],
            &self.device,
        )
        .map_err(|e| e.to_string())?;
        let step_seed = seeds::derive(self.seed, seeds::LAYERS, self.step);
        let logits = self.forward(&input, step_seed)?;
        let loss = cross_entropy(&logits, &batch.labels).map_err(|e| e.to_string())?;
        loss.backward().map_err(|e| e.to_string())?;
        self.optimizer
            .step(self.lr, 1.0)
            .map_err(|e| e.to_string())?;
        self.last_grads = self
            .layers
            .iter()
            .map(|layer| layer.weight.grad())
            .collect();
        self.optimizer.zero_grad();
        self.step += 1;
        let value = loss.to_vec_async().await.map_err(|e| e.to_string())?;
        Ok(value[0])
    }

    /// Evaluates the test set after epoch `epoch()` (no gradients; the roundings are keyed by
    /// `derive(seed, EVAL, epoch << 32 | batch)`). `between` runs after every batch (the caller
    /// yields to the browser there).
    pub async fn evaluate<F, Fut>(&self, mut between: F) -> Result<EpochFigures, String>
    where
        F: FnMut() -> Fut,
        Fut: core::future::Future<Output = ()>,
    {
        let (mut loss_sum, mut right, mut count) = (0.0f64, 0usize, 0usize);
        let batches: Vec<Batch> = self
            .test
            .sequential_batches(self.batch_size)
            .map_err(|e| e.to_string())?
            .collect();
        for (index, batch) in batches.into_iter().enumerate() {
            let rows = batch.labels.len();
            let (loss, logits) = {
                let _guard = no_grad();
                let input = Tensor::from_vec(
                    batch.features,
                    &[rows, self.test.sample_len()],
                    &self.device,
                )
                .map_err(|e| e.to_string())?;
                let seed = seeds::derive(
                    self.seed,
                    seeds::EVAL,
                    (u64::from(self.epoch) << 32) | index as u64,
                );
                let logits = self.forward(&input, seed)?;
                let loss = cross_entropy(&logits, &batch.labels).map_err(|e| e.to_string())?;
                (loss, logits)
            };
            let loss = loss.to_vec_async().await.map_err(|e| e.to_string())?[0];
            let logits = logits.to_vec_async().await.map_err(|e| e.to_string())?;
            let classes = logits.len() / rows.max(1);
            right += logits
                .chunks(classes)
                .zip(&batch.labels)
                .filter(|(row, label)| argmax(row) == **label)
                .count();
            loss_sum += f64::from(loss) * rows as f64;
            count += rows;
            between().await;
        }
        Ok(EpochFigures {
            epoch: self.epoch,
            step: self.step,
            test_loss: loss_sum / count.max(1) as f64,
            accuracy: right as f64 / count.max(1) as f64,
        })
    }

    /// The log2 |x| histograms of every layer's weight and last weight gradient.
    pub async fn histograms(&self) -> Result<Vec<LayerHistograms>, String> {
        let (low, high) = HISTOGRAM_RANGE;
        let bins = ((high - low) * HISTOGRAM_BINS_PER_BINADE) as usize;
        let mut out = Vec::new();
        for (index, (layer, grad)) in self.layers.iter().zip(&self.last_grads).enumerate() {
            let weight = layer
                .weight
                .to_vec_async()
                .await
                .map_err(|e| e.to_string())?;
            let grad = match grad {
                Some(grad) => grad.to_vec_async().await.map_err(|e| e.to_string())?,
                None => Vec::new(),
            };
            let shape = layer.weight.shape();
            out.push(LayerHistograms {
                name: format!("layer {index} ({}→{})", shape[1], shape[0]),
                weight: LogHistogram::new(&weight, low, high, bins),
                grad: LogHistogram::new(&grad, low, high, bins),
            });
        }
        Ok(out)
    }
}

/// A fingerprint of a loss curve: FNV-1a (64 bits) over the binary32 bits of every loss, in
/// order. Two runs with the same fingerprint have the same losses, bit for bit (up to a hash
/// collision); the e2e test compares the curves of WebGPU and the CPU with it.
pub fn loss_fingerprint(losses: impl IntoIterator<Item = f32>) -> u64 {
    losses
        .into_iter()
        .flat_map(|loss| loss.to_bits().to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// The index of the largest value (the first of equal ones; NaN never wins).
fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (index, &value) in row.iter().enumerate() {
        if value > row[best] || row[best].is_nan() && !value.is_nan() {
            best = index;
        }
    }
    best
}

/// Rounding modes offered for training.
pub const TRAIN_ROUNDINGS: [&str; 2] = ["nearest", "stochastic"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_now;

    fn losses(settings: &TrainSettings, steps: usize) -> Vec<f32> {
        let mut run = TrainRun::new(settings, Device::cpu()).unwrap();
        (0..steps).map(|_| run_now(run.step()).unwrap()).collect()
    }

    fn mean(values: &[f32]) -> f32 {
        values.iter().sum::<f32>() / values.len() as f32
    }

    #[test]
    fn the_default_low_precision_run_learns_the_digits() {
        let settings = TrainSettings::default();
        let mut run = TrainRun::new(&settings, Device::cpu()).unwrap();
        let steps = run.train.batch_count(settings.batch_size);
        let losses: Vec<f32> = (0..steps).map(|_| run_now(run.step()).unwrap()).collect();
        assert!(run.epoch_done());
        assert!(
            mean(&losses[steps - 10..]) < 0.6 * mean(&losses[..10]),
            "{losses:?}"
        );
        let figures = run_now(run.evaluate(|| async {})).unwrap();
        assert_eq!((figures.epoch, figures.step), (1, steps as u64));
        assert!(figures.accuracy > 0.7, "{figures:?}");
        let histograms = run_now(run.histograms()).unwrap();
        assert_eq!(histograms.len(), 2);
        assert_eq!(histograms[0].name, "layer 0 (64→32)");
        assert_eq!(
            histograms[0].weight.counts.iter().sum::<usize>() + histograms[0].weight.zeros,
            64 * 32
        );
        assert!(histograms[1].grad.counts.iter().sum::<usize>() > 0);
    }

    #[test]
    fn a_run_repeats_its_bits_and_the_seed_and_formats_change_them() {
        let settings = TrainSettings::default();
        let first = losses(&settings, 4);
        assert_eq!(
            first.iter().map(|l| l.to_bits()).collect::<Vec<_>>(),
            losses(&settings, 4)
                .iter()
                .map(|l| l.to_bits())
                .collect::<Vec<_>>()
        );
        let reseeded = TrainSettings {
            seed: 2,
            ..settings.clone()
        };
        assert_ne!(first, losses(&reseeded, 4));
        let fma = TrainSettings {
            mac: MacKind::Fma,
            mac_add: "bf16".into(),
            optimizer: "sgd".into(),
            lr: 0.05,
            ..settings
        };
        let fma_losses = losses(&fma, 30);
        assert!(
            mean(&fma_losses[25..]) < mean(&fma_losses[..5]),
            "{fma_losses:?}"
        );
    }

    #[test]
    fn runs_side_by_side_do_not_change_each_others_bits() {
        let settings = TrainSettings::default();
        let alone = losses(&settings, 12);
        let other = TrainSettings {
            seed: 9,
            mac: MacKind::Fma,
            ..settings.clone()
        };
        let mut first = TrainRun::new(&settings, Device::cpu()).unwrap();
        let mut second = TrainRun::new(&other, Device::cpu()).unwrap();
        let mut interleaved = Vec::new();
        for _ in 0..12 {
            interleaved.push(run_now(first.step()).unwrap());
            run_now(second.step()).unwrap();
            if first.epoch_done() {
                run_now(second.evaluate(|| async {})).unwrap();
            }
            run_now(second.histograms()).unwrap();
        }
        let bits = |v: &[f32]| v.iter().map(|l| l.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&alone), bits(&interleaved));
    }

    #[test]
    fn a_training_subset_makes_short_epochs() {
        let settings = TrainSettings {
            train_samples: 100,
            batch_size: 32,
            epochs: 2,
            ..TrainSettings::default()
        };
        let mut run = TrainRun::new(&settings, Device::cpu()).unwrap();
        assert_eq!(run.total_steps(), 8);
        assert_eq!(settings.total_steps(), 8);
        assert_eq!(
            TrainSettings::default().total_steps(),
            TrainRun::new(&TrainSettings::default(), Device::cpu())
                .unwrap()
                .total_steps()
        );
        for _ in 0..4 {
            run_now(run.step()).unwrap();
        }
        assert!(run.epoch_done());
        assert_eq!(run_now(run.evaluate(|| async {})).unwrap().epoch, 1);
        while !run.finished() {
            run_now(run.step()).unwrap();
        }
        assert_eq!(run.steps(), 8);
        assert!(run_now(run.step()).is_err());
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = |change: fn(&mut TrainSettings)| {
            let mut settings = TrainSettings::default();
            change(&mut settings);
            settings.validate().unwrap_err()
        };
        assert!(bad(|s| s.weight_quant = "e9m9x".into()).starts_with("weight quantizer"));
        assert!(bad(|s| s.mac_add = String::new()).starts_with("MAC sum format"));
        assert!(bad(|s| s.rounding = "up".into()).contains("nearest or stochastic"));
        assert!(bad(|s| s.optimizer = "lamb".into()).contains("sgd or adam"));
        assert!(bad(|s| s.lr = 0.0).contains("learning rate"));
        assert!(bad(|s| s.batch_size = 0).contains("batch size"));
        assert!(bad(|s| s.train_samples = 2000).contains("training samples"));
    }

    #[test]
    fn labels_name_the_format_set() {
        let settings = TrainSettings::default();
        assert_eq!(
            settings.label(),
            "mac e4m3:fp16 · w e4m3 · in e4m3 · g e5m2 · SR · adam 0.01"
        );
        let fp32 = TrainSettings {
            mac: MacKind::Fp32,
            weight_quant: String::new(),
            input_quant: String::new(),
            grad_quant: String::new(),
            rounding: "nearest".into(),
            ..settings
        };
        assert_eq!(fp32.label(), "mac fp32 · RN · adam 0.01");
        assert_eq!(MacKind::from_name("fma"), Some(MacKind::Fma));
        // FNV-1a test vector: the empty input is the offset basis; one bit of one loss changes it.
        assert_eq!(loss_fingerprint([]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(loss_fingerprint([0.0]), loss_fingerprint([-0.0]));
        assert_eq!(
            loss_fingerprint([1.5, 2.0]),
            loss_fingerprint(vec![1.5, 2.0])
        );
        assert_eq!(argmax(&[0.0, 2.0, f32::NAN, 2.0]), 1);
    }
}
