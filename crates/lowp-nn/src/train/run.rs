//! The training loop of a classifier: seeded epochs of shuffled batches, cross-entropy, backward,
//! optional dynamic loss scaling, a quantized optimizer step at the scheduled learning rate, an
//! evaluation pass per epoch, and checkpoints that resume bit-identically.
//!
//! Per training step `t` (counting from 0 over the whole run), the model's stochastic roundings
//! use the seed `seeds::derive(seed, seeds::LAYERS, t)` and the optimizer's follow
//! [`crate::optim`]; the data order of epoch `e` is
//! [`Dataset::epoch_batches`]`(batch, seeds::derive(seed, seeds::DATA, 0), e)`. Nothing else is
//! random, so the same configuration gives the same bits on every backend and thread count, and a
//! run resumed from a checkpoint (saved at an epoch boundary) continues exactly as if it had not
//! stopped.

use super::checkpoint::Checkpoint;
use super::formats::OptimizerFormats;
use super::metrics::correct;
use super::seeds;
use super::{Result, TrainError};
use crate::data::{Batch, Dataset};
use crate::loss::cross_entropy;
use crate::optim::scaler::LossScaler;
use crate::optim::schedule::{Decay, Schedule};
use crate::optim::{QOptimizer, Rule};
use lowp_tensor::{Device, Tensor, no_grad};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// A model that maps a batch `[batch, sample...]` to logits `[batch, classes]`.
pub trait Classifier {
    /// The logits of `input`; `seed` keys this call's stochastic roundings.
    fn forward(&self, input: &Tensor, seed: u64) -> Result<Tensor>;
    /// The trainable parameters with stable names (for checkpoints), in a fixed order.
    fn parameters(&self) -> Vec<(String, Tensor)>;
    /// The class of every row of the logits of `batch`: its labels (one per sample) unless the
    /// model predicts more than one class per sample (a language model: one per position).
    fn targets(&self, batch: &Batch) -> Result<Vec<usize>> {
        Ok(batch.labels.clone())
    }
}

/// Which optimizer, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// `sgd`, `adam` or `adamw`.
    pub kind: String,
    /// SGD momentum.
    pub momentum: f32,
    /// SGD Nesterov momentum.
    pub nesterov: bool,
    /// Weight decay (L2 for SGD and Adam, decoupled for AdamW).
    pub weight_decay: f32,
}

impl OptimizerConfig {
    /// The update rule (Adam's betas and eps are PyTorch's defaults).
    pub fn rule(&self) -> Result<Rule> {
        match self.kind.as_str() {
            "sgd" => Ok(Rule::sgd(self.momentum, self.nesterov, self.weight_decay)),
            "adam" => Ok(Rule::adam(self.weight_decay)),
            "adamw" => Ok(Rule::adamw(self.weight_decay)),
            other => Err(TrainError::Config(format!(
                "unknown optimizer '{other}'; expected sgd, adam or adamw"
            ))),
        }
    }
}

/// The learning-rate schedule of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The base learning rate.
    pub lr: f64,
    /// `constant`, `step` (x`gamma` every `step_epochs` epochs) or `cosine` (to `min_lr` at the
    /// end of the run).
    pub kind: String,
    /// Linear warm-up, in steps.
    pub warmup_steps: u64,
    /// Epochs between step decays.
    pub step_epochs: u32,
    /// Factor of each step decay.
    pub gamma: f64,
    /// The final rate of the cosine schedule.
    pub min_lr: f64,
}

impl ScheduleConfig {
    /// The schedule for a run of `total_steps` steps with `steps_per_epoch` steps an epoch.
    pub fn schedule(&self, steps_per_epoch: u64, total_steps: u64) -> Result<Schedule> {
        let decay = match self.kind.as_str() {
            "constant" => Decay::Constant,
            "step" => Decay::Step {
                every: u64::from(self.step_epochs) * steps_per_epoch,
                gamma: self.gamma,
            },
            "cosine" => Decay::Cosine {
                total: total_steps.saturating_sub(self.warmup_steps).max(1),
                min: self.min_lr,
            },
            other => {
                return Err(TrainError::Config(format!(
                    "unknown schedule '{other}'; expected constant, step or cosine"
                )));
            }
        };
        Ok(Schedule::new(self.lr, self.warmup_steps, decay)?)
    }
}

/// Everything about a run except the model and its formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Epochs of the whole run.
    pub epochs: u32,
    /// Samples per training batch.
    pub batch_size: usize,
    /// The run seed.
    pub seed: u64,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// The learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// Initial dynamic loss scale (`None`: no loss scaling).
    pub loss_scale: Option<f32>,
}

/// The figures of one finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch, from 1.
    pub epoch: u32,
    /// Mean training loss over the epoch's applied steps.
    pub train_loss: f64,
    /// Mean test loss (per sample).
    pub test_loss: f64,
    /// Fraction of test samples classified correctly.
    pub test_accuracy: f64,
    /// Training throughput of the epoch (samples per second, wall clock).
    pub samples_per_second: f64,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
    /// Steps skipped because the scaled gradients overflowed.
    pub skipped_steps: u64,
}

/// Progress within an epoch, reported after every batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// The epoch, from 1.
    pub epoch: u32,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches in this epoch.
    pub batches: usize,
    /// This batch's loss.
    pub loss: f32,
    /// Samples per second so far in this epoch.
    pub samples_per_second: f64,
}

/// A classifier's training run (module docs).
pub struct Trainer<'m, M: Classifier + ?Sized> {
    model: &'m M,
    config: RunConfig,
    optimizer: QOptimizer,
    schedule: Schedule,
    scaler: Option<LossScaler>,
    device: Device,
    steps_per_epoch: u64,
    epoch: u32,
    step: u64,
    history: Vec<EpochRecord>,
    step_losses: Vec<f32>,
}

impl<'m, M: Classifier + ?Sized> Trainer<'m, M> {
    /// A run of `model` on `train_len` training samples, on `device`.
    pub fn new(
        model: &'m M,
        config: RunConfig,
        optimizer_formats: OptimizerFormats,
        train_len: usize,
        device: Device,
    ) -> Result<Self> {
        if config.batch_size == 0 || config.epochs == 0 {
            return Err(TrainError::Config(
                "epochs and batch size must be at least 1".into(),
            ));
        }
        let steps_per_epoch = train_len.div_ceil(config.batch_size) as u64;
        let schedule = config
            .schedule
            .schedule(steps_per_epoch, steps_per_epoch * u64::from(config.epochs))?;
        let params = model.parameters().into_iter().map(|(_, p)| p).collect();
        let optimizer = QOptimizer::new(
            params,
            config.optimizer.rule()?,
            optimizer_formats,
            config.seed,
        )?;
        let scaler = config.loss_scale.map(LossScaler::new).transpose()?;
        Ok(Self {
            model,
            config,
            optimizer,
            schedule,
            scaler,
            device,
            steps_per_epoch,
            epoch: 0,
            step: 0,
            history: Vec::new(),
            step_losses: Vec::new(),
        })
    }

    /// Epochs finished.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Whether every epoch of the run is done.
    pub fn finished(&self) -> bool {
        self.epoch >= self.config.epochs
    }

    /// The records of the finished epochs.
    pub fn history(&self) -> &[EpochRecord] {
        &self.history
    }

    /// The loss of every training step so far (skipped steps included).
    pub fn step_losses(&self) -> &[f32] {
        &self.step_losses
    }

    /// Batches per epoch.
    pub fn steps_per_epoch(&self) -> u64 {
        self.steps_per_epoch
    }

    /// Trains one epoch on `train`, then evaluates on `test`; `progress` hears of every batch.
    pub fn train_epoch(
        &mut self,
        train: &Dataset,
        test: &Dataset,
        progress: &mut dyn FnMut(BatchProgress),
    ) -> Result<EpochRecord> {
        let started = Instant::now();
        let data_seed = seeds::derive(self.config.seed, seeds::DATA, 0);
        let batches = train.batch_count(self.config.batch_size);
        let (mut loss_sum, mut applied, mut skipped, mut samples) = (0.0f64, 0u64, 0u64, 0usize);
        for (index, batch) in train
            .epoch_batches(self.config.batch_size, data_seed, self.epoch)?
            .enumerate()
        {
            let targets = self.model.targets(&batch)?;
            let input = Tensor::from_vec(batch.features, &batch.shape, &self.device)?;
            let seed = seeds::derive(self.config.seed, seeds::LAYERS, self.step);
            let logits = self.model.forward(&input, seed)?;
            let loss = cross_entropy(&logits, &targets)?;
            let value = loss.to_scalar()?;
            match &mut self.scaler {
                Some(scaler) => {
                    loss.mul_scalar(scaler.scale)?.backward()?;
                    let finite = LossScaler::gradients_finite(self.optimizer.parameters())?;
                    let inverse = scaler.inverse();
                    if scaler.update(finite) {
                        self.optimizer
                            .step(self.schedule.rate(self.step), inverse)?;
                    } else {
                        skipped += 1;
                    }
                }
                None => {
                    loss.backward()?;
                    self.optimizer.step(self.schedule.rate(self.step), 1.0)?;
                }
            }
            self.optimizer.zero_grad();
            if value.is_finite() {
                loss_sum += f64::from(value);
                applied += 1;
            }
            self.step_losses.push(value);
            self.step += 1;
            samples += batch.labels.len();
            progress(BatchProgress {
                epoch: self.epoch + 1,
                batch: index + 1,
                batches,
                loss: value,
                samples_per_second: samples as f64 / started.elapsed().as_secs_f64().max(1e-9),
            });
        }
        let training_seconds = started.elapsed().as_secs_f64();
        let (test_loss, test_accuracy) = self.evaluate(test)?;
        self.epoch += 1;
        let record = EpochRecord {
            epoch: self.epoch,
            train_loss: if applied > 0 {
                loss_sum / applied as f64
            } else {
                f64::NAN
            },
            test_loss,
            test_accuracy,
            samples_per_second: samples as f64 / training_seconds.max(1e-9),
            seconds: started.elapsed().as_secs_f64(),
            skipped_steps: skipped,
        };
        self.history.push(record.clone());
        Ok(record)
    }

    /// Mean loss and accuracy per prediction on `data` (batches of the training batch size, no gradients;
    /// stochastic roundings seeded by `seeds::derive(seed, seeds::EVAL, epoch * 2^32 + batch)`).
    pub fn evaluate(&self, data: &Dataset) -> Result<(f64, f64)> {
        let _guard = no_grad();
        let (mut loss_sum, mut right, mut predictions) = (0.0f64, 0usize, 0usize);
        for (index, batch) in data.sequential_batches(self.config.batch_size)?.enumerate() {
            let targets = self.model.targets(&batch)?;
            let input = Tensor::from_vec(batch.features, &batch.shape, &self.device)?;
            let seed = seeds::derive(
                self.config.seed,
                seeds::EVAL,
                (u64::from(self.epoch) << 32) | index as u64,
            );
            let logits = self.model.forward(&input, seed)?;
            let loss = cross_entropy(&logits, &targets)?.to_scalar()?;
            loss_sum += f64::from(loss) * targets.len() as f64;
            right += correct(&logits, &targets)?;
            predictions += targets.len();
        }
        let n = predictions.max(1) as f64;
        Ok((loss_sum / n, right as f64 / n))
    }

    /// The run's state: parameters (`model.NAME`), optimizer state (`optim.NAME`), the step
    /// losses (`history.step_losses`) and metadata `epoch`, `step`, `optimizer_steps`,
    /// `loss_scale`, `good_steps` and `history` (the epoch records as JSON).
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        let mut checkpoint = Checkpoint::default();
        for (name, param) in self.model.parameters() {
            checkpoint.insert(&format!("model.{name}"), param.shape(), &param.to_vec()?)?;
        }
        for (name, tensor) in self.optimizer.state_tensors() {
            checkpoint.insert(&format!("optim.{name}"), tensor.shape(), &tensor.to_vec()?)?;
        }
        checkpoint.insert(
            "history.step_losses",
            &[self.step_losses.len()],
            &self.step_losses,
        )?;
        let metadata = &mut checkpoint.metadata;
        metadata.insert("epoch".into(), self.epoch.to_string());
        metadata.insert("step".into(), self.step.to_string());
        metadata.insert("optimizer_steps".into(), self.optimizer.steps().to_string());
        if let Some(scaler) = &self.scaler {
            metadata.insert("loss_scale".into(), scaler.scale.to_bits().to_string());
            metadata.insert("good_steps".into(), scaler.good_steps.to_string());
        }
        let history = serde_json::to_string(&self.history)
            .map_err(|error| TrainError::Config(format!("history: {error}")))?;
        metadata.insert("history".into(), history);
        Ok(checkpoint)
    }

    /// Continues from `checkpoint` (saved by [`Self::checkpoint`] of a run of the same model
    /// and configuration).
    pub fn restore(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        for (name, param) in self.model.parameters() {
            let stored = checkpoint.tensor(&format!("model.{name}"))?;
            if stored.shape != param.shape() {
                return Err(TrainError::Checkpoint {
                    path: "<checkpoint>".into(),
                    reason: format!(
                        "parameter {name} has shape {:?}, the model {:?}",
                        stored.shape,
                        param.shape()
                    ),
                });
            }
            param.set_data(&Tensor::from_slice(
                &stored.data,
                &stored.shape,
                &self.device,
            )?)?;
        }
        let mut state = Vec::new();
        for (name, stored) in &checkpoint.tensors {
            if let Some(name) = name.strip_prefix("optim.") {
                let tensor = Tensor::from_slice(&stored.data, &stored.shape, &self.device)?;
                state.push((name.to_string(), tensor));
            }
        }
        self.optimizer
            .load_state(&state, checkpoint.meta("optimizer_steps")?)?;
        self.step_losses = checkpoint.tensor("history.step_losses")?.data.clone();
        self.epoch = checkpoint.meta("epoch")?;
        self.step = checkpoint.meta("step")?;
        if let Some(scaler) = &mut self.scaler {
            scaler.scale = f32::from_bits(checkpoint.meta("loss_scale")?);
            scaler.good_steps = checkpoint.meta("good_steps")?;
        }
        let history: String = checkpoint.meta("history")?;
        self.history = serde_json::from_str(&history).map_err(|error| TrainError::Checkpoint {
            path: "<checkpoint>".into(),
            reason: format!("history: {error}"),
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
