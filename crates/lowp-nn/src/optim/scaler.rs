//! Dynamic loss scaling (as in mixed-precision training): the loss is multiplied by `scale`
//! before the backward pass so that small gradients survive low-precision gradient formats; the
//! optimizer reads the gradients times `1/scale`. A step whose gradients hold a NaN or an
//! infinity is skipped and the scale is multiplied by `backoff`; after `growth_interval`
//! consecutive good steps it is multiplied by `growth`. Scales stay powers of two when the
//! factors are (the defaults: 2^16 start, x2 growth every 2000 steps, x0.5 backoff), so the
//! unscaling multiplication is exact.

use super::{OptimError, Result};
use lowp_tensor::Tensor;

/// The dynamic loss scaler's configuration and state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossScaler {
    /// The current scale.
    pub scale: f32,
    /// Factor after `growth_interval` good steps (> 1).
    pub growth: f32,
    /// Factor after an overflow (in (0, 1)).
    pub backoff: f32,
    /// Good steps before growing.
    pub growth_interval: u64,
    /// Good steps since the last change.
    pub good_steps: u64,
}

impl Default for LossScaler {
    fn default() -> Self {
        Self {
            scale: 65536.0,
            growth: 2.0,
            backoff: 0.5,
            growth_interval: 2000,
            good_steps: 0,
        }
    }
}

impl LossScaler {
    /// A scaler starting at `scale` with the default factors; `scale` must be positive and finite.
    pub fn new(scale: f32) -> Result<Self> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(OptimError::Invalid(format!(
                "loss scale {scale} must be positive and finite"
            )));
        }
        Ok(Self {
            scale,
            ..Self::default()
        })
    }

    /// The factor the optimizer applies to the gradients: `1 / scale`.
    pub fn inverse(&self) -> f32 {
        1.0 / self.scale
    }

    /// Whether every gradient of `params` is finite (parameters without a gradient count as
    /// finite). The gradients are read on the host.
    pub fn gradients_finite(params: &[Tensor]) -> Result<bool> {
        for param in params {
            if let Some(grad) = param.grad()
                && grad.to_vec()?.iter().any(|value| !value.is_finite())
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Records the outcome of a step: returns whether the optimizer should apply it (gradients
    /// finite), and updates the scale (backoff on overflow, growth after the interval).
    pub fn update(&mut self, finite: bool) -> bool {
        if finite {
            self.good_steps += 1;
            if self.good_steps >= self.growth_interval {
                let grown = self.scale * self.growth;
                if grown.is_finite() {
                    self.scale = grown;
                }
                self.good_steps = 0;
            }
        } else {
            self.scale = (self.scale * self.backoff).max(f32::MIN_POSITIVE);
            self.good_steps = 0;
        }
        finite
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lowp_tensor::Device;

    #[test]
    fn backs_off_on_overflow_and_grows_after_the_interval() {
        let mut scaler = LossScaler {
            growth_interval: 3,
            ..LossScaler::new(1024.0).unwrap()
        };
        assert!(!scaler.update(false));
        assert_eq!(scaler.scale, 512.0);
        assert!(scaler.update(true) && scaler.update(true));
        assert_eq!(scaler.scale, 512.0);
        assert!(scaler.update(true));
        assert_eq!((scaler.scale, scaler.good_steps), (1024.0, 0));
        assert_eq!(scaler.inverse(), 1.0 / 1024.0);
        assert!(LossScaler::new(0.0).is_err());
    }

    #[test]
    fn detects_non_finite_gradients() {
        let device = Device::cpu();
        let param = Tensor::var(&[1.0, 2.0], &[2], &device).unwrap();
        assert!(LossScaler::gradients_finite(std::slice::from_ref(&param)).unwrap());
        param.set_grad(Some(
            Tensor::from_vec(vec![1.0, 3.0], &[2], &device).unwrap(),
        ));
        assert!(LossScaler::gradients_finite(std::slice::from_ref(&param)).unwrap());
        param.set_grad(Some(
            Tensor::from_vec(vec![1.0, f32::INFINITY], &[2], &device).unwrap(),
        ));
        assert!(!LossScaler::gradients_finite(&[param]).unwrap());
    }
}
