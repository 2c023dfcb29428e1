//! Learning-rate schedules, evaluated per optimizer step on the host in f64 and rounded once to
//! binary32 (so every backend sees the same learning rate).

use super::{OptimError, Result};

/// How the learning rate decays after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    /// The base rate throughout.
    Constant,
    /// `base * gamma^floor(t / every)`.
    Step {
        /// Steps between decays.
        every: u64,
        /// The factor of each decay.
        gamma: f64,
    },
    /// Cosine from `base` down to `min` over `total` steps (then `min`):
    /// `min + (base - min) * (1 + cos(pi * t / total)) / 2`.
    Cosine {
        /// Steps of the whole decay.
        total: u64,
        /// The final rate.
        min: f64,
    },
}

/// A learning-rate schedule: linear warm-up from `base / warmup` to `base` over the first
/// `warmup` steps (rate at step t < warmup: `base * (t + 1) / warmup`), then `decay` counted from
/// the end of the warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// The base learning rate.
    pub base: f64,
    /// Warm-up steps (0 = none).
    pub warmup: u64,
    /// The decay after the warm-up.
    pub decay: Decay,
}

impl Schedule {
    /// A schedule, checked: positive finite base rate, `every >= 1`, `gamma` in (0, 1],
    /// `total >= 1`, `0 <= min <= base`.
    pub fn new(base: f64, warmup: u64, decay: Decay) -> Result<Self> {
        let decay_ok = match decay {
            Decay::Constant => true,
            Decay::Step { every, gamma } => every >= 1 && gamma > 0.0 && gamma <= 1.0,
            Decay::Cosine { total, min } => total >= 1 && (0.0..=base).contains(&min),
        };
        if !(base.is_finite() && base > 0.0 && decay_ok) {
            return Err(OptimError::Invalid(format!(
                "invalid learning-rate schedule: base {base}, warmup {warmup}, {decay:?}"
            )));
        }
        Ok(Self {
            base,
            warmup,
            decay,
        })
    }

    /// The learning rate of step `step` (counting from 0).
    pub fn rate(&self, step: u64) -> f32 {
        if step < self.warmup {
            return (self.base * (step + 1) as f64 / self.warmup as f64) as f32;
        }
        let t = step - self.warmup;
        let rate = match self.decay {
            Decay::Constant => self.base,
            Decay::Step { every, gamma } => self.base * gamma.powi((t / every) as i32),
            Decay::Cosine { total, min } => {
                let progress = t.min(total) as f64 / total as f64;
                min + (self.base - min) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
        };
        rate as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_step_decay() {
        let schedule = Schedule::new(
            0.1,
            4,
            Decay::Step {
                every: 10,
                gamma: 0.5,
            },
        )
        .unwrap();
        let rates: Vec<f32> = [0, 1, 3, 4, 13, 14, 24].map(|t| schedule.rate(t)).to_vec();
        assert_eq!(rates, vec![0.025, 0.05, 0.1, 0.1, 0.1, 0.05, 0.025]);
    }

    #[test]
    fn cosine_goes_from_base_to_min() {
        let schedule = Schedule::new(
            1.0,
            0,
            Decay::Cosine {
                total: 100,
                min: 0.1,
            },
        )
        .unwrap();
        assert_eq!(schedule.rate(0), 1.0);
        assert_eq!(schedule.rate(50), 0.55);
        assert_eq!(schedule.rate(100), 0.1);
        assert_eq!(schedule.rate(1000), 0.1);
        assert!((1..100).all(|t| schedule.rate(t) <= schedule.rate(t - 1)));
    }

    #[test]
    fn bad_schedules_are_rejected() {
        assert!(Schedule::new(0.0, 0, Decay::Constant).is_err());
        assert!(Schedule::new(f64::NAN, 0, Decay::Constant).is_err());
        assert!(
            Schedule::new(
                0.1,
                0,
                Decay::Step {
                    every: 0,
                    gamma: 0.5
                }
            )
            .is_err()
        );
        assert!(
            Schedule::new(
                0.1,
                0,
                Decay::Cosine {
                    total: 10,
                    min: 0.2
                }
            )
            .is_err()
        );
        assert_eq!(
            Schedule::new(0.1, 0, Decay::Constant).unwrap().rate(99),
            0.1
        );
    }
}
