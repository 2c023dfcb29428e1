//! Signal quantization: [`Cast`] (a format and a rounding mode, mptorch's `(Number, str)` or
//! `lambda x: float_quantize(...)`) and [`Quantizer`] (mptorch's `quantizer(...)` function and
//! `Quantizer` module: different formats forward and backward, straight-through).

use crate::error::{NnError, Result};
use crate::seeds::SeedStream;
use lowp_formats::{Format, Rounding};
use lowp_tensor::{MaybeSendSync, Tensor};
use std::sync::Arc;

/// A quantization of a signal: `format` with `rounding` (stochastic rounding carries its number
/// of random bits). The seed is supplied by the op that applies it (see [`crate::seeds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cast {
    /// Target format.
    pub format: Format,
    /// Rounding mode.
    pub rounding: Rounding,
}

impl Cast {
    /// Checks the pair (superfp only rounds to nearest; stochastic bits in 1..=32).
    pub fn new(format: Format, rounding: Rounding) -> Result<Self> {
        lowp_formats::Quantizer::new(format, rounding, 0)?;
        Ok(Self { format, rounding })
    }

    /// Round-to-nearest-even to `format`.
    pub fn nearest(format: Format) -> Self {
        Self {
            format,
            rounding: Rounding::Nearest,
        }
    }

    /// Stochastic rounding to `format` with its default number of random bits (§2).
    pub fn stochastic(format: Format) -> Result<Self> {
        Self::new(
            format,
            Rounding::stochastic(format.default_stochastic_bits())?,
        )
    }

    /// Parses `SPEC[:ROUNDING]` (the SPEC grammar of lowp-formats, e.g. `e4m3:nearest`,
    /// `float(exp=5, man=2):stochastic`); the rounding defaults to nearest.
    pub fn parse(text: &str) -> Result<Self> {
        if let Some((spec, mode)) = text.rsplit_once(':')
            && let Ok(format) = spec.trim().parse::<Format>()
        {
            let rounding = Rounding::from_name(mode, None, format.default_stochastic_bits())?;
            return Self::new(format, rounding);
        }
        let format = text.trim().parse::<Format>()?;
        Ok(Self::nearest(format))
    }

    /// The lowp-formats quantizer with `seed`.
    pub fn quantizer(&self, seed: u64) -> Result<lowp_formats::Quantizer> {
        Ok(lowp_formats::Quantizer::new(
            self.format,
            self.rounding,
            seed,
        )?)
    }

    /// `Q(x)` with `seed` (untracked).
    pub fn apply(&self, x: &Tensor, seed: u64) -> Result<Tensor> {
        Ok(x.quantize(&self.quantizer(seed)?)?)
    }
}

/// `Q(x)` when a cast is given, else `x` (untracked either way).
pub(crate) fn cast(c: Option<&Cast>, x: &Tensor, seed: u64) -> Result<Tensor> {
    match c {
        Some(c) => c.apply(x, seed),
        None => Ok(x.detach()),
    }
}

/// The lowp-formats quantizer of an optional format with `rounding` and `seed` (`None`: none).
pub(crate) fn step_quantizer(
    format: Option<&Format>,
    rounding: Rounding,
    seed: u64,
) -> Result<Option<lowp_formats::Quantizer>> {
    match format {
        Some(format) if !format.is_identity() => Ok(Some(lowp_formats::Quantizer::new(
            *format,
            with_default_bits(rounding, format),
            seed,
        )?)),
        _ => Ok(None),
    }
}

/// `rounding`, where a stochastic mode with 0 bits takes the format's default bits.
pub(crate) fn with_default_bits(rounding: Rounding, format: &Format) -> Rounding {
    match rounding {
        Rounding::Stochastic { bits: 0 } => Rounding::Stochastic {
            bits: format.default_stochastic_bits(),
        },
        other => other,
    }
}

/// A gradient hook applied before the backward quantization (e.g. loss scaling).
pub type GradHook = Arc<dyn GradHookFn>;

/// A function on gradients (any `Fn(&Tensor) -> lowp_tensor::Result<Tensor>`; `Send + Sync`
/// natively, see [`MaybeSendSync`]).
pub trait GradHookFn: MaybeSendSync {
    /// Applies the hook.
    fn apply(&self, grad: &Tensor) -> lowp_tensor::Result<Tensor>;
}

impl<F> GradHookFn for F
where
    F: Fn(&Tensor) -> lowp_tensor::Result<Tensor> + MaybeSendSync,
{
    fn apply(&self, grad: &Tensor) -> lowp_tensor::Result<Tensor> {
        self(grad)
    }
}

/// mptorch's `quantizer(forward_number, backward_number, forward_rounding, backward_rounding,
/// clamping_grad_zero, backward_hooks)` and `Quantizer` module: a straight-through quantizer.
///
/// Forward: `y = Qf(x)` (identity without a forward format). Backward:
/// `grad_x = Qb(hooks(grad_y))` (hooks in order, identity without a backward format); with
/// `clamping_grad_zero` the gradient is zero where `x` lies outside the forward fixed-point
/// format's range (the values the forward pass clamped; none when the format does not clamp).
/// Seeds: one [`SeedStream`] call per forward, role 0 forward, role 1 backward.
#[derive(Clone)]
pub struct Quantizer {
    /// Forward quantization (None: identity).
    pub forward: Option<Cast>,
    /// Backward quantization of the gradient (None: identity).
    pub backward: Option<Cast>,
    /// Zero the gradient of clamped values (needs a fixed-point forward format).
    pub clamping_grad_zero: bool,
    /// Functions applied to the gradient before the backward quantization.
    pub backward_hooks: Vec<GradHook>,
    /// Seeds of the stochastic roundings.
    pub seeds: SeedStream,
}

impl std::fmt::Debug for Quantizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quantizer")
            .field("forward", &self.forward)
            .field("backward", &self.backward)
            .field("clamping_grad_zero", &self.clamping_grad_zero)
            .field("backward_hooks", &self.backward_hooks.len())
            .finish()
    }
}

/// mptorch's `quantizer(...)`: see [`Quantizer`]. Errors: a rounding mode the format does not
/// support, or `clamping_grad_zero` without a fixed-point forward format.
pub fn quantizer(
    forward_number: Option<Format>,
    backward_number: Option<Format>,
    forward_rounding: Rounding,
    backward_rounding: Rounding,
    clamping_grad_zero: bool,
    backward_hooks: Vec<GradHook>,
) -> Result<Quantizer> {
    let forward = forward_number
        .map(|f| Cast::new(f, with_default_bits(forward_rounding, &f)))
        .transpose()?;
    let backward = backward_number
        .map(|f| Cast::new(f, with_default_bits(backward_rounding, &f)))
        .transpose()?;
    if clamping_grad_zero && !matches!(forward.map(|c| c.format), Some(Format::Fixed(_))) {
        return Err(NnError::config(
            "quantizer",
            "clamping_grad_zero needs a fixed-point forward_number",
        ));
    }
    Ok(Quantizer {
        forward,
        backward,
        clamping_grad_zero,
        backward_hooks,
        seeds: SeedStream::default(),
    })
}

impl Quantizer {
    /// mptorch's `Quantizer(forward_number, backward_number, forward_rounding,
    /// backward_rounding)` module.
    pub fn new(
        forward_number: Option<Format>,
        backward_number: Option<Format>,
        forward_rounding: Rounding,
        backward_rounding: Rounding,
    ) -> Result<Self> {
        quantizer(
            forward_number,
            backward_number,
            forward_rounding,
            backward_rounding,
            false,
            Vec::new(),
        )
    }

    /// The same quantizer with seeds from base seed `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seeds = SeedStream::new(seed);
        self
    }

    /// Applies the quantizer (see the type's documentation). Input and output: any shape.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let call = self.seeds.next_call();
        let value = cast(self.forward.as_ref(), x, call.seed(0))?;
        let mask = match (self.clamping_grad_zero, self.forward.map(|c| c.format)) {
            (true, Some(Format::Fixed(fixed))) if fixed.clamp() => {
                let upper = f32::from_bits(fixed.upper_bits());
                let lower = -f32::from_bits(fixed.lower_bits());
                let device = x.device();
                let inside_low = x.ge(&Tensor::scalar(lower, device)?)?;
                let inside_high = x.le(&Tensor::scalar(upper, device)?)?;
                Some(inside_low.mul(&inside_high)?)
            }
            _ => None,
        };
        let (backward, hooks, seed) = (self.backward, self.backward_hooks.clone(), call.seed(1));
        Ok(Tensor::with_backward(
            value,
            "quantizer",
            &[x],
            move |g: &Tensor| {
                let mut g = g.clone();
                for hook in &hooks {
                    g = hook.apply(&g)?;
                }
                if let Some(mask) = &mask {
                    g = g.mul(mask)?;
                }
                let g = match backward {
                    Some(c) => c
                        .apply(&g, seed)
                        .map_err(|e| lowp_tensor::TensorError::Autograd(e.to_string()))?,
                    None => g,
                };
                Ok(vec![Some(g)])
            },
        ))
    }
}
