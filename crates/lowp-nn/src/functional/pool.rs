//! `qavg_pool2d`: average pooling with quantized sums and divisions.

use super::elementwise::QuantPair;
use super::steps::Steps;
use super::to_tensor_error;
use crate::error::{NnError, Result};
use lowp_formats::BinaryOp;
use lowp_tensor::{ConvGeometry, Tensor};

/// Hyper-parameters of [`qavg_pool2d`] (torch's `AvgPool2d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPoolSpec {
    /// Window `(kh, kw)`.
    pub kernel_size: [usize; 2],
    /// Stride (torch's default: the kernel size).
    pub stride: [usize; 2],
    /// Implicit zero padding on both sides (at most half the kernel).
    pub padding: [usize; 2],
    /// Use ceil instead of floor for the output size (windows starting in the right padding
    /// are dropped).
    pub ceil_mode: bool,
    /// Count padded zeros in the divisor.
    pub count_include_pad: bool,
    /// Divide by this instead of the window size.
    pub divisor_override: Option<usize>,
}

impl AvgPoolSpec {
    /// torch's defaults for `kernel_size`: stride = kernel, no padding, floor, count padding.
    pub fn new(kernel_size: [usize; 2]) -> Self {
        Self {
            kernel_size,
            stride: kernel_size,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }

    /// Checks the sizes (positive kernel and stride, padding <= kernel / 2, divisor > 0).
    pub fn validate(&self) -> Result<()> {
        let ok = (0..2).all(|a| {
            self.kernel_size[a] > 0
                && self.stride[a] > 0
                && self.padding[a] <= self.kernel_size[a] / 2
        }) && self.divisor_override != Some(0);
        if ok {
            Ok(())
        } else {
            Err(NnError::layer(
                "QAvgPool2d",
                format!(
                    "{self:?}: kernel and stride must be positive, padding at most half the kernel, divisor_override positive"
                ),
            ))
        }
    }

    /// Output length of one axis of length `len` (torch's rule, ceil_mode included).
    pub fn output_len(&self, axis: usize, len: usize) -> Result<usize> {
        let (k, s, p) = (
            self.kernel_size[axis],
            self.stride[axis],
            self.padding[axis],
        );
        let span = (len + 2 * p).checked_sub(k).ok_or_else(|| {
            NnError::layer(
                "QAvgPool2d",
                format!("kernel {k} is larger than the padded input {}", len + 2 * p),
            )
        })?;
        let mut out = if self.ceil_mode {
            span.div_ceil(s) + 1
        } else {
            span / s + 1
        };
        if self.ceil_mode && (out - 1) * s >= len + p {
            out -= 1;
        }
        Ok(out)
    }
}

/// mptorch's `QAvgPool2d` forward: input `[N, C, H, W]` or `[C, H, W]`; per window the
/// elements are summed in row-major window order with `acc = Qf(acc + x)` (padded positions add
/// zero), then `out = Qf(acc / divisor)`, the divisor being `divisor_override`, or the window
/// clipped to the padded input (`count_include_pad`), or the number of real input elements in
/// it. Backward: `Qb(g / divisor)` spread over the window, overlapping windows summed in
/// binary32, then `Qb` of each input gradient.
pub fn qavg_pool2d(x: &Tensor, spec: &AvgPoolSpec, pair: &QuantPair) -> Result<Tensor> {
    const LAYER: &str = "QAvgPool2d";
    spec.validate()?;
    let (input, unbatched) = match x.rank() {
        4 => (x.clone(), false),
        3 => (x.unsqueeze(0)?, true),
        _ => {
            return Err(NnError::layer(
                LAYER,
                format!("input {:?} is not [N, C, H, W] or [C, H, W]", x.shape()),
            ));
        }
    };
    let (batch, channels, h, w) = (
        input.shape()[0],
        input.shape()[1],
        input.shape()[2],
        input.shape()[3],
    );
    let size = [h, w];
    let out = [spec.output_len(0, h)?, spec.output_len(1, w)?];
    let pad_after: Vec<usize> = (0..2)
        .map(|a| {
            ((out[a] - 1) * spec.stride[a] + spec.kernel_size[a])
                .saturating_sub(size[a] + spec.padding[a])
        })
        .collect();
    let geometry = ConvGeometry {
        batch,
        channels,
        groups: channels,
        input: size.to_vec(),
        kernel: spec.kernel_size.to_vec(),
        stride: spec.stride.to_vec(),
        pad_before: spec.padding.to_vec(),
        pad_after,
        dilation: vec![1, 1],
    };
    geometry
        .validate()
        .map_err(|e| NnError::layer(LAYER, e.to_string()))?;
    // divisor of each output position, repeated for every batch entry (column order: n, oh, ow)
    let divisor_of = |o: usize, a: usize| -> usize {
        let start = (o * spec.stride[a]) as i64 - spec.padding[a] as i64;
        let end = (start + spec.kernel_size[a] as i64).min((size[a] + spec.padding[a]) as i64);
        if spec.count_include_pad {
            (end - start) as usize
        } else {
            (end.min(size[a] as i64) - start.max(0)) as usize
        }
    };
    let mut divisors = Vec::with_capacity(batch * out[0] * out[1]);
    for _ in 0..batch {
        for oh in 0..out[0] {
            for ow in 0..out[1] {
                let d = spec
                    .divisor_override
                    .unwrap_or_else(|| divisor_of(oh, 0) * divisor_of(ow, 1));
                divisors.push(d as f32);
            }
        }
    }
    let divisors = Tensor::from_vec(divisors, &[1, 1, batch * out[0] * out[1]], x.device())?;
    let call = pair.seeds.next_call();
    let mut s = Steps::forward(call);
    let cols = input.detach().im2col(&geometry)?;
    let sums = s.sum_cast(&cols, 1, pair.fwd_quant.as_ref())?;
    let mean = s.binary_cast(BinaryOp::Div, &sums, &divisors, pair.fwd_quant.as_ref())?;
    let mut y = mean
        .reshape(&[channels, batch, out[0], out[1]])?
        .permute(&[1, 0, 2, 3])?;
    if unbatched {
        y = y.squeeze(0)?;
    }
    let (input_shape, bwd, window) = (x.shape().to_vec(), pair.bwd_quant, geometry.patch_rows());
    Ok(Tensor::with_backward(
        y,
        LAYER,
        &[x],
        move |grad: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let g = grad
                    .reshape(&[batch, channels, out[0] * out[1]])?
                    .permute(&[1, 0, 2])?;
                let g = g.reshape(&[channels, 1, batch * out[0] * out[1]])?;
                let share = s.binary_cast(BinaryOp::Div, &g, &divisors, bwd.as_ref())?;
                let spread = share.expand_raw(&[channels, window, batch * out[0] * out[1]])?;
                let gx = spread.col2im(&geometry)?;
                Ok(vec![Some(
                    s.cast(bwd.as_ref(), &gx)?.reshape(&input_shape)?,
                )])
            };
            run().map_err(to_tensor_error)
        },
    ))
}
