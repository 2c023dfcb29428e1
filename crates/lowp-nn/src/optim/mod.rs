//! Optimizers with quantized weights, gradients, state and update arithmetic (mptorch's
//! `QOptim`/`QSGD`/`QAdam`/`QAdamW` ideas), learning-rate schedules ([`schedule`]) and dynamic
//! loss scaling ([`scaler`]).
//!
//! Every step of an update is one binary32 operation on the parameter's device, then quantized by
//! the format named in [`OptimizerFormats`] (`None` = binary32, no rounding):
//! `Qg` the gradient read, `Qacc` every intermediate, `Qm` momentum / first moment, `Qv` Adam's
//! second moment, `Qw` the stored weight. Host-side scalars (learning rate, bias corrections) are
//! computed in f64 and rounded once to binary32, so the update is the same on every backend.
//!
//! Stochastic rounding seeds: the quantization event `slot` (0..256, fixed per formula line) of
//! parameter `p` (< 2^16) at step `t` uses seed
//! `seeds::derive(run_seed, seeds::OPTIMIZER, t * 2^24 + p * 2^8 + slot)`.

pub mod scaler;
pub mod schedule;

use crate::train::formats::OptimizerFormats;
use crate::train::seeds;
use lowp_formats::{BinaryOp, Format, FormatError, Quantizer, UnaryOp};
use lowp_tensor::{Tensor, TensorError, no_grad};

/// What can go wrong in an optimizer.
#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A quantizer could not be built.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A hyper-parameter or saved state is not valid.
    #[error("{0}")]
    Invalid(String),
}

/// Results of this module.
pub type Result<T> = std::result::Result<T, OptimError>;

/// The update rule and its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// SGD (PyTorch's formulation): `g += wd*w`; with momentum `mu`:
    /// `buf = g` at the first step, else `buf = mu*buf + (1-dampening)*g`; `g = g + mu*buf`
    /// (nesterov) or `g = buf`; `w -= lr*g`.
    Sgd {
        /// Momentum factor `mu` (0 = none).
        momentum: f32,
        /// Dampening of the gradient in the momentum buffer.
        dampening: f32,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 weight decay `wd` added to the gradient.
        weight_decay: f32,
    },
    /// Adam / AdamW: `m = b1*m + (1-b1)*g`, `v = b2*v + (1-b2)*(g*g)`,
    /// `w -= lr * ((m / (sqrt(v) * c2 + eps)) * c1)` with the bias corrections
    /// `c1 = 1/(1-b1^t)`, `c2 = 1/sqrt(1-b2^t)` (host f64, rounded once). Weight decay is added to the
    /// gradient (Adam, `decoupled = false`) or applied as `w *= 1 - lr*wd` before the update
    /// (AdamW, `decoupled = true`).
    Adam {
        /// `b1`.
        beta1: f32,
        /// `b2`.
        beta2: f32,
        /// `eps`.
        eps: f32,
        /// Weight decay `wd`.
        weight_decay: f32,
        /// AdamW's decoupled weight decay.
        decoupled: bool,
    },
}

impl Rule {
    /// Plain SGD with momentum `momentum` and L2 weight decay.
    pub fn sgd(momentum: f32, nesterov: bool, weight_decay: f32) -> Self {
        Rule::Sgd {
            momentum,
            dampening: 0.0,
            nesterov,
            weight_decay,
        }
    }

    /// Adam with PyTorch's defaults (0.9, 0.999, 1e-8) and L2 weight decay.
    pub fn adam(weight_decay: f32) -> Self {
        Rule::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            decoupled: false,
        }
    }

    /// AdamW with PyTorch's defaults (0.9, 0.999, 1e-8) and decoupled weight decay.
    pub fn adamw(weight_decay: f32) -> Self {
        Rule::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            decoupled: true,
        }
    }

    fn check(&self) -> Result<()> {
        let ok = match *self {
            Rule::Sgd {
                momentum,
                dampening,
                nesterov,
                weight_decay,
            } => {
                momentum >= 0.0
                    && (0.0..=1.0).contains(&dampening)
                    && weight_decay >= 0.0
                    && !(nesterov && (momentum == 0.0 || dampening != 0.0))
            }
            Rule::Adam {
                beta1,
                beta2,
                eps,
                weight_decay,
                ..
            } => {
                (0.0..1.0).contains(&beta1)
                    && (0.0..1.0).contains(&beta2)
                    && eps > 0.0
                    && weight_decay >= 0.0
            }
        };
        if ok {
            Ok(())
        } else {
            Err(OptimError::Invalid(format!(
                "invalid optimizer hyper-parameters {self:?} (nesterov needs momentum > 0 and no dampening)"
            )))
        }
    }
}

/// The state of one parameter.
#[derive(Debug, Clone, Default)]
struct ParamState {
    /// SGD's momentum buffer or Adam's first moment.
    momentum: Option<Tensor>,
    /// Adam's second moment.
    second: Option<Tensor>,
    /// The Kahan compensation of the weight update.
    compensation: Option<Tensor>,
}

/// An optimizer over a list of parameters (leaves that require gradients), with quantized
/// arithmetic and state (module docs).
#[derive(Debug)]
pub struct QOptimizer {
    rule: Rule,
    formats: OptimizerFormats,
    params: Vec<Tensor>,
    state: Vec<ParamState>,
    run_seed: u64,
    steps: u64,
}

/// Quantization of one update: the formats, the step and parameter, for seeds.
struct Arith<'a> {
    formats: &'a OptimizerFormats,
    run_seed: u64,
    step: u64,
    param: u64,
}

impl Arith<'_> {
    fn quantizer(&self, format: Option<Format>, slot: u64) -> Result<Option<Quantizer>> {
        format
            .map(|format| {
                let rounding = self.formats.rounding.for_format(&format);
                let index = (self.step << 24) | (self.param << 8) | slot;
                let seed = seeds::derive(self.run_seed, seeds::OPTIMIZER, index);
                Quantizer::new(format, rounding, seed)
            })
            .transpose()
            .map_err(OptimError::from)
    }

    /// `Q(x)`; `x` itself when the format is binary32 (`None`).
    fn quantize(&self, x: &Tensor, format: Option<Format>, slot: u64) -> Result<Tensor> {
        Ok(match self.quantizer(format, slot)? {
            Some(quantizer) => x.quantize(&quantizer)?,
            None => x.clone(),
        })
    }

    /// `Q(x op y)`.
    fn binary(
        &self,
        op: BinaryOp,
        x: &Tensor,
        y: &Tensor,
        format: Option<Format>,
        slot: u64,
    ) -> Result<Tensor> {
        Ok(x.binary_raw(op, y, self.quantizer(format, slot)?.as_ref())?)
    }

    /// `Q(x op c)` for a host scalar `c`.
    fn scalar(
        &self,
        op: BinaryOp,
        x: &Tensor,
        c: f32,
        format: Option<Format>,
        slot: u64,
    ) -> Result<Tensor> {
        let c = Tensor::scalar(c, x.device())?;
        self.binary(op, x, &c, format, slot)
    }
}

impl QOptimizer {
    /// An optimizer for `params` with `rule`, quantized as `formats`; stochastic rounding draws
    /// its seeds from `run_seed` (module docs).
    pub fn new(
        params: Vec<Tensor>,
        rule: Rule,
        formats: OptimizerFormats,
        run_seed: u64,
    ) -> Result<Self> {
        rule.check()?;
        if params.len() >= 1 << 16 {
            return Err(OptimError::Invalid(format!(
                "{} parameters; at most 65535 are supported",
                params.len()
            )));
        }
        if let Some(index) = params.iter().position(|p| !p.requires_grad()) {
            return Err(OptimError::Invalid(format!(
                "parameter {index} does not require gradients"
            )));
        }
        Ok(Self {
            rule,
            formats,
            state: vec![ParamState::default(); params.len()],
            params,
            run_seed,
            steps: 0,
        })
    }

    /// The parameters, in the order given.
    pub fn parameters(&self) -> &[Tensor] {
        &self.params
    }

    /// The number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Forgets every parameter's gradient.
    pub fn zero_grad(&self) {
        for param in &self.params {
            param.zero_grad();
        }
    }

    /// One update of every parameter that has a gradient, at learning rate `lr`, reading the
    /// gradients times `grad_scale` (the inverse loss scale; 1 without loss scaling).
    pub fn step(&mut self, lr: f32, grad_scale: f32) -> Result<()> {
        let _guard = no_grad();
        let step = self.steps;
        for (index, param) in self.params.iter().enumerate() {
            let Some(grad) = param.grad() else { continue };
            let arith = Arith {
                formats: &self.formats,
                run_seed: self.run_seed,
                step,
                param: index as u64,
            };
            let state = &mut self.state[index];
            // Slot 0: the gradient read.
            let grad = if grad_scale == 1.0 {
                arith.quantize(&grad, self.formats.grad_quant, 0)?
            } else {
                arith.scalar(BinaryOp::Mul, &grad, grad_scale, self.formats.grad_quant, 0)?
            };
            let weight = param.detach();
            let update = match self.rule {
                Rule::Sgd {
                    momentum,
                    dampening,
                    nesterov,
                    weight_decay,
                } => sgd_direction(
                    &arith,
                    state,
                    &weight,
                    grad,
                    (momentum, dampening, nesterov, weight_decay),
                )?,
                Rule::Adam { .. } => adam_direction(&arith, state, &weight, grad, self.rule, step)?,
            };
            let acc = self.formats.acc_quant;
            // Slot 20: the decoupled weight decay (AdamW), w = Qw(w * (1 - lr*wd)).
            let weight = match self.rule {
                Rule::Adam {
                    weight_decay,
                    decoupled: true,
                    ..
                } if weight_decay != 0.0 => {
                    let factor = (1.0 - f64::from(lr) * f64::from(weight_decay)) as f32;
                    arith.scalar(
                        BinaryOp::Mul,
                        &weight,
                        factor,
                        self.formats.weight_quant,
                        20,
                    )?
                }
                _ => weight,
            };
            // Slot 21: u = Qacc(lr * direction).
            let update = arith.scalar(BinaryOp::Mul, &update, lr, acc, 21)?;
            let new_weight = if self.formats.compensated {
                // Kahan: y = Qacc(-u - c); t = Qw(w + y); c = Qacc(Qacc(t - w) - y); w = t.
                let compensation = match &state.compensation {
                    Some(c) => c.clone(),
                    None => Tensor::zeros(weight.shape(), weight.device())?,
                };
                let negative = update.unary_raw(UnaryOp::Neg, None)?;
                let y = arith.binary(BinaryOp::Sub, &negative, &compensation, acc, 22)?;
                let t = arith.binary(BinaryOp::Add, &weight, &y, self.formats.weight_quant, 23)?;
                let moved = arith.binary(BinaryOp::Sub, &t, &weight, acc, 24)?;
                state.compensation = Some(arith.binary(BinaryOp::Sub, &moved, &y, acc, 25)?);
                t
            } else {
                // w = Qw(w - u).
                arith.binary(
                    BinaryOp::Sub,
                    &weight,
                    &update,
                    self.formats.weight_quant,
                    23,
                )?
            };
            param.set_data(&new_weight)?;
        }
        self.steps += 1;
        Ok(())
    }

    /// The state tensors by name (`{index}.momentum`, `{index}.second`, `{index}.compensation`),
    /// for checkpoints; the step count is [`Self::steps`].
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut named = Vec::new();
        for (index, state) in self.state.iter().enumerate() {
            for (name, tensor) in [
                ("momentum", &state.momentum),
                ("second", &state.second),
                ("compensation", &state.compensation),
            ] {
                if let Some(tensor) = tensor {
                    named.push((format!("{index}.{name}"), tensor.clone()));
                }
            }
        }
        named
    }

    /// Restores the state saved by [`Self::state_tensors`] and the step count.
    pub fn load_state(&mut self, tensors: &[(String, Tensor)], steps: u64) -> Result<()> {
        let mut state = vec![ParamState::default(); self.params.len()];
        for (name, tensor) in tensors {
            let parsed = name
                .split_once('.')
                .and_then(|(index, kind)| Some((index.parse::<usize>().ok()?, kind)));
            let Some((index, kind)) = parsed.filter(|(index, _)| *index < self.params.len()) else {
                return Err(OptimError::Invalid(format!(
                    "unknown optimizer state {name}"
                )));
            };
            if tensor.shape() != self.params[index].shape() {
                return Err(OptimError::Invalid(format!(
                    "optimizer state {name} has shape {:?}, the parameter {:?}",
                    tensor.shape(),
                    self.params[index].shape()
                )));
            }
            let slot = match kind {
                "momentum" => &mut state[index].momentum,
                "second" => &mut state[index].second,
                "compensation" => &mut state[index].compensation,
                _ => {
                    return Err(OptimError::Invalid(format!(
                        "unknown optimizer state {name}"
                    )));
                }
            };
            *slot = Some(tensor.clone());
        }
        self.state = state;
        self.steps = steps;
        Ok(())
    }
}

/// SGD's update direction (slots 1..=9).
fn sgd_direction(
    arith: &Arith<'_>,
    state: &mut ParamState,
    weight: &Tensor,
    grad: Tensor,
    (momentum, dampening, nesterov, weight_decay): (f32, f32, bool, f32),
) -> Result<Tensor> {
    let formats = arith.formats;
    let acc = formats.acc_quant;
    let grad = if weight_decay != 0.0 {
        let decay = arith.scalar(BinaryOp::Mul, weight, weight_decay, acc, 1)?;
        arith.binary(BinaryOp::Add, &grad, &decay, acc, 2)?
    } else {
        grad
    };
    if momentum == 0.0 {
        return Ok(grad);
    }
    let buffer = match &state.momentum {
        None => arith.quantize(&grad, formats.momentum_quant, 3)?,
        Some(buffer) => {
            let kept = arith.scalar(BinaryOp::Mul, buffer, momentum, acc, 4)?;
            let added = if dampening != 0.0 {
                arith.scalar(BinaryOp::Mul, &grad, 1.0 - dampening, acc, 5)?
            } else {
                grad.clone()
            };
            arith.binary(BinaryOp::Add, &kept, &added, formats.momentum_quant, 6)?
        }
    };
    state.momentum = Some(buffer.clone());
    if nesterov {
        let ahead = arith.scalar(BinaryOp::Mul, &buffer, momentum, acc, 7)?;
        arith.binary(BinaryOp::Add, &grad, &ahead, acc, 8)
    } else {
        Ok(buffer)
    }
}

/// Adam's update direction `m_hat / (sqrt(v_hat) + eps)` times `1/(1-b1^t)` folded into the
/// step (slots 10..=19); `step` counts from 0.
fn adam_direction(
    arith: &Arith<'_>,
    state: &mut ParamState,
    weight: &Tensor,
    grad: Tensor,
    rule: Rule,
    step: u64,
) -> Result<Tensor> {
    let Rule::Adam {
        beta1,
        beta2,
        eps,
        weight_decay,
        decoupled,
    } = rule
    else {
        unreachable!("adam_direction is called for Adam rules only")
    };
    let formats = arith.formats;
    let acc = formats.acc_quant;
    let grad = if weight_decay != 0.0 && !decoupled {
        let decay = arith.scalar(BinaryOp::Mul, weight, weight_decay, acc, 10)?;
        arith.binary(BinaryOp::Add, &grad, &decay, acc, 11)?
    } else {
        grad
    };
    let zeros = || Tensor::zeros(weight.shape(), weight.device());
    let m = state.momentum.clone().map_or_else(zeros, Ok)?;
    let v = state.second.clone().map_or_else(zeros, Ok)?;
    let m_kept = arith.scalar(BinaryOp::Mul, &m, beta1, acc, 12)?;
    let m_added = arith.scalar(BinaryOp::Mul, &grad, 1.0 - beta1, acc, 13)?;
    let m = arith.binary(BinaryOp::Add, &m_kept, &m_added, formats.momentum_quant, 14)?;
    let square = arith.binary(BinaryOp::Mul, &grad, &grad, acc, 15)?;
    let v_kept = arith.scalar(BinaryOp::Mul, &v, beta2, acc, 16)?;
    let v_added = arith.scalar(BinaryOp::Mul, &square, 1.0 - beta2, acc, 17)?;
    let v = arith.binary(BinaryOp::Add, &v_kept, &v_added, formats.second_quant, 18)?;
    state.momentum = Some(m.clone());
    state.second = Some(v.clone());
    // Bias corrections on the host in f64: powers by repeated multiplication (t = step + 1).
    let (mut power1, mut power2) = (1.0f64, 1.0f64);
    for _ in 0..=step {
        power1 *= f64::from(beta1);
        power2 *= f64::from(beta2);
    }
    let inverse_correction1 = (1.0 / (1.0 - power1)) as f32;
    let inverse_sqrt_correction2 = (1.0 / (1.0 - power2).sqrt()) as f32;
    // denominator = Qacc(Qacc(Qacc(sqrt(v)) * 1/sqrt(1-b2^t)) + eps)
    let root = v.unary_raw(UnaryOp::Sqrt, arith.quantizer(acc, 19)?.as_ref())?;
    let root = arith.scalar(BinaryOp::Mul, &root, inverse_sqrt_correction2, acc, 26)?;
    let denominator = arith.scalar(BinaryOp::Add, &root, eps, acc, 27)?;
    let ratio = arith.binary(BinaryOp::Div, &m, &denominator, acc, 28)?;
    arith.scalar(BinaryOp::Mul, &ratio, inverse_correction1, acc, 29)
}

#[cfg(test)]
mod tests;
