//! `qconv` and `qconv_transpose`: N-d (1 to 3 spatial axes) convolutions as im2col + quantized
//! GEMM per group (the formats of [`QAffineFormats`]), with their quantized backward.

use super::affine::{Signal, grad_cast, quantize_signal, unscale};
use super::to_tensor_error;
use crate::error::{NnError, Result};
use crate::formats::{QAffineFormats, affine_role as role};
use crate::quant::{cast, step_quantizer};
use crate::seeds::CallSeeds;
use lowp_formats::{BinaryOp, ReduceOp};
use lowp_tensor::{ConvGeometry, Tensor};

/// Padding of a convolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Padding {
    /// No padding (`'valid'`).
    Valid,
    /// Output size = input size (`'same'`, stride 1 only): `dilation·(k-1)` split with the
    /// extra element after (torch's rule).
    Same,
    /// The same amount before and after, per spatial axis (one value: every axis).
    Explicit(Vec<usize>),
}

/// How padded positions are filled (torch's `padding_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaddingMode {
    /// Zeros.
    #[default]
    Zeros,
    /// Mirror without repeating the edge (`dcb|abcd|cba`; pad < length).
    Reflect,
    /// Repeat the edge (`aaa|abcd|ddd`).
    Replicate,
    /// Wrap around (`bcd|abcd|abc`; pad <= length).
    Circular,
}

impl PaddingMode {
    /// Parses `zeros`, `reflect`, `replicate`, `circular`.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "zeros" => Self::Zeros,
            "reflect" => Self::Reflect,
            "replicate" => Self::Replicate,
            "circular" => Self::Circular,
            other => {
                return Err(NnError::config(
                    "padding_mode",
                    format!("`{other}`, expected zeros, reflect, replicate or circular"),
                ));
            }
        })
    }
}

/// Hyper-parameters of [`qconv`] (per spatial axis; a single value applies to every axis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvSpec {
    /// Strides (>= 1).
    pub stride: Vec<usize>,
    /// Padding.
    pub padding: Padding,
    /// Dilations (>= 1).
    pub dilation: Vec<usize>,
    /// Channel groups.
    pub groups: usize,
    /// How padded positions are filled.
    pub padding_mode: PaddingMode,
}

impl Default for ConvSpec {
    fn default() -> Self {
        Self {
            stride: vec![1],
            padding: Padding::Explicit(vec![0]),
            dilation: vec![1],
            groups: 1,
            padding_mode: PaddingMode::Zeros,
        }
    }
}

/// Hyper-parameters of [`qconv_transpose`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvTransposeSpec {
    /// Strides (>= 1).
    pub stride: Vec<usize>,
    /// `dilation·(k-1) - padding` zeros are added to both sides of the (dilated) input.
    pub padding: Vec<usize>,
    /// Extra output size on the far side (each `< max(stride, dilation)`).
    pub output_padding: Vec<usize>,
    /// Dilations (>= 1).
    pub dilation: Vec<usize>,
    /// Channel groups.
    pub groups: usize,
}

impl Default for ConvTransposeSpec {
    fn default() -> Self {
        Self {
            stride: vec![1],
            padding: vec![0],
            output_padding: vec![0],
            dilation: vec![1],
            groups: 1,
        }
    }
}

/// `values` per spatial axis: one value broadcast to `rank`, or exactly `rank` values.
pub(crate) fn per_axis(
    layer: &'static str,
    name: &str,
    values: &[usize],
    rank: usize,
) -> Result<Vec<usize>> {
    match values.len() {
        1 => Ok(vec![values[0]; rank]),
        n if n == rank => Ok(values.to_vec()),
        n => Err(NnError::layer(
            layer,
            format!("{name} has {n} values for {rank} spatial axes"),
        )),
    }
}

/// The source index of every position of an axis of length `len` padded by `before` and
/// `after` in `mode` (not zeros).
fn padding_indices(
    layer: &'static str,
    len: usize,
    before: usize,
    after: usize,
    mode: PaddingMode,
) -> Result<Vec<u32>> {
    let limit = match mode {
        PaddingMode::Reflect => len.saturating_sub(1),
        _ => len,
    };
    if before > limit || after > limit || len == 0 {
        return Err(NnError::layer(
            layer,
            format!(
                "padding ({before}, {after}) is too large for an axis of {len} in {mode:?} mode"
            ),
        ));
    }
    let (len, before) = (len as i64, before as i64);
    Ok((-before..len + after as i64)
        .map(|p| {
            let i = match mode {
                PaddingMode::Reflect if p < 0 => -p,
                PaddingMode::Reflect if p >= len => 2 * (len - 1) - p,
                PaddingMode::Replicate => p.clamp(0, len - 1),
                PaddingMode::Circular => p.rem_euclid(len),
                _ => p,
            };
            i as u32
        })
        .collect())
}

/// `[N, C, *S]` to `[G, C/G, N·prod(S)]`.
fn to_groups(x: &Tensor, groups: usize) -> Result<Tensor> {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let p = x.len() / (n * c).max(1);
    Ok(x.reshape(&[n, groups, c / groups, p])?
        .permute(&[1, 2, 0, 3])?
        .reshape(&[groups, c / groups, n * p])?)
}

/// `[G, C/G, N·prod(S)]` to `[N, C, *S]`.
fn from_groups(x: &Tensor, batch: usize, spatial: &[usize]) -> Result<Tensor> {
    let (g, cg) = (x.shape()[0], x.shape()[1]);
    let p: usize = spatial.iter().product();
    let mut shape = vec![batch, g * cg];
    shape.extend_from_slice(spatial);
    Ok(x.reshape(&[g, cg, batch, p])?
        .permute(&[2, 0, 1, 3])?
        .reshape(&shape)?)
}

/// Sums a gradient `[N, C, *S]` over everything but the channel axis, each partial sum in the
/// backward add format.
fn channel_sums(g: &Tensor, formats: &QAffineFormats, seed: u64) -> Result<Tensor> {
    let (n, c) = (g.shape()[0], g.shape()[1]);
    let p = g.len() / (n * c).max(1);
    let per_channel = g
        .reshape(&[n, c, p])?
        .permute(&[1, 0, 2])?
        .reshape(&[c, n * p])?;
    let (add, rounding) = formats.add_step(false);
    let q = step_quantizer(Some(&add), rounding, seed)?;
    Ok(per_channel.reduce_raw(ReduceOp::Sum, 1, false, q.as_ref())?)
}

/// Adds the bias `[C]` to `[N, C, *S]` with the forward add format.
/// The epilogue of both convolutions: `Qout(Qadd(y + Qbias(b)))` (§9), without the batch axis
/// again for an unbatched input.
fn bias_and_output(
    y: Tensor,
    bias: Option<&Tensor>,
    formats: &QAffineFormats,
    call: &CallSeeds,
    unbatched: bool,
) -> Result<Tensor> {
    let mut y = y;
    if let Some(b) = bias {
        let bq = cast(formats.bias_quant.as_ref(), b, call.seed(role::BIAS))?;
        y = add_bias(&y, &bq, formats, call.seed(role::FWD_BIAS_ADD))?;
    }
    let y = cast(formats.output_quant.as_ref(), &y, call.seed(role::OUTPUT))?;
    Ok(if unbatched { y.squeeze(0)? } else { y })
}

/// The prologue of both convolutions' backward: the output gradient (with the batch axis back
/// for an unbatched input) quantized by the gradient format, and its scale.
fn quantized_grad(
    grad: &Tensor,
    formats: &QAffineFormats,
    call: &CallSeeds,
    unbatched: bool,
) -> Result<(Tensor, f32)> {
    let g = if unbatched {
        grad.unsqueeze(0)?
    } else {
        grad.clone()
    };
    quantize_signal(&g, Signal::Grad, formats, call)
}

/// The shapes a convolution's backward restores its gradients to.
struct GradShapes {
    input: Vec<usize>,
    weight: Vec<usize>,
    has_bias: bool,
}

impl GradShapes {
    fn of(input: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Self {
        Self {
            input: input.shape().to_vec(),
            weight: weight.shape().to_vec(),
            has_bias: bias.is_some(),
        }
    }
}

/// The epilogue of both convolutions' backward, from the quantized output gradient `gq` (scale
/// `sg`), the input's scale `sx`, the input gradient `gx` (already unscaled) and the weight GEMM
/// `gw`: `[Qgrad(gx), Qgrad(gw / (sg·sx)), Qgrad(Σ gq per channel / sg) with a bias]`, in the
/// input's and weight's shapes.
fn gradients(
    shapes: &GradShapes,
    formats: &QAffineFormats,
    call: &CallSeeds,
    (gq, sg, sx): (&Tensor, f32, f32),
    gx: &Tensor,
    gw: &Tensor,
) -> Result<Vec<Option<Tensor>>> {
    let gw = grad_cast(
        &unscale(gw, sg, sx)?.reshape(&shapes.weight)?,
        formats,
        call,
        role::GRAD_WEIGHT,
    )?;
    let gx = grad_cast(gx, formats, call, role::GRAD_INPUT)?.reshape(&shapes.input)?;
    let mut grads = vec![Some(gx), Some(gw)];
    if shapes.has_bias {
        let gb = unscale(
            &channel_sums(gq, formats, call.seed(role::BWD_BIAS_SUM))?,
            sg,
            1.0,
        )?;
        grads.push(Some(grad_cast(&gb, formats, call, role::GRAD_BIAS)?));
    }
    Ok(grads)
}

fn add_bias(y: &Tensor, bias: &Tensor, formats: &QAffineFormats, seed: u64) -> Result<Tensor> {
    let mut shape = vec![bias.len()];
    shape.extend(std::iter::repeat_n(1, y.rank() - 2));
    let (add, rounding) = formats.add_step(true);
    let q = step_quantizer(Some(&add), rounding, seed)?;
    Ok(y.binary_raw(BinaryOp::Add, &bias.reshape(&shape)?, q.as_ref())?)
}

/// Checks `input` against `weight` (`[N, C, *S]` or unbatched `[C, *S]`) and returns the
/// batched input and whether a batch axis was added.
fn batched(layer: &'static str, input: &Tensor, weight: &Tensor) -> Result<(Tensor, bool, usize)> {
    let rank = weight.rank().saturating_sub(2);
    if !(1..=3).contains(&rank) || weight.shape().contains(&0) {
        return Err(NnError::layer(
            layer,
            format!(
                "weight {:?} is not [C_out, C_in/groups, *kernel] with 1 to 3 positive kernel axes",
                weight.shape()
            ),
        ));
    }
    if input.rank() == rank + 2 {
        Ok((input.clone(), false, rank))
    } else if input.rank() == rank + 1 {
        Ok((input.unsqueeze(0)?, true, rank))
    } else {
        Err(NnError::layer(
            layer,
            format!(
                "input {:?} is not [N, C, *spatial] or [C, *spatial] with {rank} spatial axes (weight {:?})",
                input.shape(),
                weight.shape()
            ),
        ))
    }
}

/// mptorch's quantized `Conv1d/2d/3d` forward (`F.conv` through im2col + GEMM): input
/// `[N, C_in, *S]` (or `[C_in, *S]`), weight `[C_out, C_in/groups, *k]`, bias `[C_out]`,
/// output `[N, C_out, *O]` with `O = floor((S + before + after - dilation·(k-1) - 1)/stride) + 1`.
/// Per group g: `acc[g] = GEMM_fwd(W_q[g], cols_q[g])` where `cols` is the im2col patch matrix
/// of `Qin(x)` (padded as `padding_mode` says), then `y = Qout(Qadd(acc + Qb(b)))`.
/// Backward: `g = Qgrad(grad)`, `grad_W[g] = Qgrad(GEMM_bwd(g[g], cols[g]ᵀ))`,
/// `grad_x = Qgrad(col2im(GEMM_bwd(W_q[g]ᵀ, g[g])))` (padding folded back), `grad_b = Qgrad(Σ g)`
/// with the backward add format. With `use_scaling`, inputs, weights and gradients are scaled
/// and every GEMM result unscaled as [`QAffineFormats`] states. Roles as [`super::qlinear`].
pub fn qconv(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    spec: &ConvSpec,
    formats: &QAffineFormats,
) -> Result<Tensor> {
    const LAYER: &str = "qconv";
    let (x, unbatched, rank) = batched(LAYER, input, weight)?;
    let (batch, channels) = (x.shape()[0], x.shape()[1]);
    let (out_channels, group_channels) = (weight.shape()[0], weight.shape()[1]);
    let groups = spec.groups;
    if groups == 0 || channels != group_channels * groups || !out_channels.is_multiple_of(groups) {
        return Err(NnError::layer(
            LAYER,
            format!(
                "input {:?} and weight {:?} do not fit {groups} groups",
                input.shape(),
                weight.shape()
            ),
        ));
    }
    if let Some(b) = bias
        && b.shape() != [out_channels]
    {
        return Err(NnError::layer(
            LAYER,
            format!("bias {:?} is not [{out_channels}]", b.shape()),
        ));
    }
    formats.validate()?;
    let kernel = weight.shape()[2..].to_vec();
    let stride = per_axis(LAYER, "stride", &spec.stride, rank)?;
    let dilation = per_axis(LAYER, "dilation", &spec.dilation, rank)?;
    let (before, after): (Vec<usize>, Vec<usize>) = match &spec.padding {
        Padding::Valid => (vec![0; rank], vec![0; rank]),
        Padding::Same => {
            if stride.iter().any(|&s| s != 1) {
                return Err(NnError::layer(
                    LAYER,
                    format!("padding 'same' needs stride 1, got {stride:?}"),
                ));
            }
            (0..rank)
                .map(|a| {
                    let total = dilation[a] * (kernel[a] - 1);
                    (total / 2, total - total / 2)
                })
                .unzip()
        }
        Padding::Explicit(p) => {
            let p = per_axis(LAYER, "padding", p, rank)?;
            (p.clone(), p)
        }
    };
    let call = formats.seeds.next_call();
    let (mut xq, sx) = quantize_signal(&x, Signal::Input, formats, &call)?;
    let mut spatial = x.shape()[2..].to_vec();
    let mut pad_indices = Vec::new();
    let (pad_before, pad_after) = if spec.padding_mode == PaddingMode::Zeros {
        (before, after)
    } else {
        for axis in 0..rank {
            let indices = padding_indices(
                LAYER,
                spatial[axis],
                before[axis],
                after[axis],
                spec.padding_mode,
            )?;
            xq = xq.index_select(axis as isize + 2, &indices)?;
            pad_indices.push((spatial[axis], indices));
            spatial[axis] += before[axis] + after[axis];
        }
        (vec![0; rank], vec![0; rank])
    };
    let geometry = ConvGeometry {
        batch,
        channels,
        groups,
        input: spatial,
        kernel,
        stride,
        pad_before,
        pad_after,
        dilation,
    };
    geometry.validate().map_err(|e| {
        NnError::layer(
            LAYER,
            format!(
                "input {:?}, weight {:?}: {e}",
                input.shape(),
                weight.shape()
            ),
        )
    })?;
    let output = geometry.output();
    let cols = xq.im2col(&geometry)?;
    let rows = geometry.patch_rows();
    let (wq, sw) = quantize_signal(weight, Signal::Weight, formats, &call)?;
    let wq = wq.reshape(&[groups, out_channels / groups, rows])?;
    let acc = wq.qgemm(
        &cols,
        false,
        false,
        &formats.gemm(true, call.seed(role::FWD_GEMM))?,
    )?;
    let y = from_groups(&unscale(&acc, sx, sw)?, batch, &output)?;
    let y = bias_and_output(y, bias, formats, &call, unbatched)?;
    let formats = formats.clone();
    let shapes = GradShapes::of(input, weight, bias);
    let mut inputs = vec![input, weight];
    inputs.extend(bias);
    Ok(Tensor::with_backward(
        y,
        LAYER,
        &inputs,
        move |grad: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let (gq, sg) = quantized_grad(grad, &formats, &call, unbatched)?;
                let gmat = to_groups(&gq, groups)?;
                let gw = gmat.qgemm(
                    &cols,
                    false,
                    true,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_WEIGHT))?,
                )?;
                let gcols = wq.qgemm(
                    &gmat,
                    true,
                    false,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_INPUT))?,
                )?;
                let mut gx = unscale(&gcols.col2im(&geometry)?, sg, sw)?;
                for (axis, (len, indices)) in pad_indices.iter().enumerate().rev() {
                    gx = gx.scatter_add(axis + 2, indices, *len)?;
                }
                gradients(&shapes, &formats, &call, (&gq, sg, sx), &gx, &gw)
            };
            run().map_err(to_tensor_error)
        },
    ))
}

/// The output size of a transposed convolution per axis:
/// `(S - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1`, or an error.
pub fn conv_transpose_output(
    layer: &'static str,
    input: &[usize],
    kernel: &[usize],
    spec: &ConvTransposeSpec,
) -> Result<Vec<usize>> {
    let rank = input.len();
    let stride = per_axis(layer, "stride", &spec.stride, rank)?;
    let padding = per_axis(layer, "padding", &spec.padding, rank)?;
    let output_padding = per_axis(layer, "output_padding", &spec.output_padding, rank)?;
    let dilation = per_axis(layer, "dilation", &spec.dilation, rank)?;
    (0..rank)
        .map(|a| {
            if stride[a] == 0 || dilation[a] == 0 || kernel[a] == 0 || input[a] == 0 {
                return Err(NnError::layer(layer, format!("zero size, stride, dilation or kernel on axis {a}")));
            }
            if output_padding[a] >= stride[a].max(dilation[a]) {
                return Err(NnError::layer(
                    layer,
                    format!("output_padding {} on axis {a} must be smaller than stride {} or dilation {}", output_padding[a], stride[a], dilation[a]),
                ));
            }
            let full = (input[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + output_padding[a] + 1;
            full.checked_sub(2 * padding[a]).filter(|&o| o > 0).ok_or_else(|| {
                NnError::layer(layer, format!("padding {} leaves no output on axis {a} (size {full} before cropping)", padding[a]))
            })
        })
        .collect()
}

/// The `output_padding` that makes the output `output_size` (mptorch's `forward(input,
/// output_size)`): `output_size` holds the spatial sizes (or `[N, C, *spatial]`); each must lie
/// in `[minimum, minimum + max(stride, dilation) - 1]`.
pub fn output_padding_for(
    layer: &'static str,
    input: &[usize],
    kernel: &[usize],
    spec: &ConvTransposeSpec,
    output_size: &[usize],
) -> Result<Vec<usize>> {
    let rank = input.len();
    let wanted = match output_size.len() {
        n if n == rank => output_size,
        n if n == rank + 2 => &output_size[2..],
        n => {
            return Err(NnError::layer(
                layer,
                format!("output_size has {n} values for {rank} spatial axes"),
            ));
        }
    };
    let minimum = conv_transpose_output(
        layer,
        input,
        kernel,
        &ConvTransposeSpec {
            output_padding: vec![0],
            ..spec.clone()
        },
    )?;
    let padding: Vec<usize> = wanted
        .iter()
        .zip(&minimum)
        .map(|(&w, &m)| {
            w.checked_sub(m).ok_or_else(|| {
                NnError::layer(
                    layer,
                    format!("output_size {wanted:?} is below the minimum {minimum:?}"),
                )
            })
        })
        .collect::<Result<_>>()?;
    let spec = ConvTransposeSpec {
        output_padding: padding.clone(),
        ..spec.clone()
    };
    conv_transpose_output(layer, input, kernel, &spec).map_err(|_| {
        NnError::layer(
            layer,
            format!("output_size {wanted:?} is outside the reachable sizes from {minimum:?}"),
        )
    })?;
    Ok(padding)
}

/// mptorch's quantized `ConvTranspose1d/2d/3d` forward: input `[N, C_in, *S]` (or unbatched),
/// weight `[C_in, C_out/groups, *k]`, bias `[C_out]`, output `[N, C_out, *O]` with
/// `O = (S-1)·stride - 2·padding + dilation·(k-1) + output_padding + 1` (see
/// [`conv_transpose_output`]). Per group: `cols[g] = GEMM_fwd(W_q[g]ᵀ, Qin(x)[g])`, folded by
/// col2im (overlapping taps summed in binary32), then `y = Qout(Qadd(· + Qb(b)))`.
/// Backward: `g = Qgrad(grad)`, `gcols = im2col(g)`, `grad_x = Qgrad(GEMM_bwd(W_q[g], gcols[g]))`,
/// `grad_W = Qgrad(GEMM_bwd(x_q[g], gcols[g]ᵀ))`, `grad_b = Qgrad(Σ g)`. Scaling as [`qconv`].
pub fn qconv_transpose(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    spec: &ConvTransposeSpec,
    output_size: Option<&[usize]>,
    formats: &QAffineFormats,
) -> Result<Tensor> {
    const LAYER: &str = "qconv_transpose";
    let (x, unbatched, rank) = batched(LAYER, input, weight)?;
    let (batch, channels) = (x.shape()[0], x.shape()[1]);
    let groups = spec.groups;
    if groups == 0 || weight.shape()[0] != channels || !channels.is_multiple_of(groups) {
        return Err(NnError::layer(
            LAYER,
            format!(
                "input {:?} and weight {:?} (expected [C_in, C_out/groups, *k]) do not fit {groups} groups",
                input.shape(),
                weight.shape()
            ),
        ));
    }
    let out_channels = weight.shape()[1] * groups;
    if let Some(b) = bias
        && b.shape() != [out_channels]
    {
        return Err(NnError::layer(
            LAYER,
            format!("bias {:?} is not [{out_channels}]", b.shape()),
        ));
    }
    formats.validate()?;
    let kernel = weight.shape()[2..].to_vec();
    let spatial = x.shape()[2..].to_vec();
    let mut spec = spec.clone();
    if let Some(size) = output_size {
        spec.output_padding = output_padding_for(LAYER, &spatial, &kernel, &spec, size)?;
    }
    let output = conv_transpose_output(LAYER, &spatial, &kernel, &spec)?;
    let padding = per_axis(LAYER, "padding", &spec.padding, rank)?;
    let geometry = ConvGeometry {
        batch,
        channels: out_channels,
        groups,
        input: output.clone(),
        kernel,
        stride: per_axis(LAYER, "stride", &spec.stride, rank)?,
        pad_before: padding.clone(),
        pad_after: padding,
        dilation: per_axis(LAYER, "dilation", &spec.dilation, rank)?,
    };
    geometry
        .validate()
        .map_err(|e| NnError::layer(LAYER, e.to_string()))?;
    // Positions the patch matrix has beyond the input (output_padding >= stride) read zeros.
    let positions = geometry.output();
    let call = formats.seeds.next_call();
    let (mut xq, sx) = quantize_signal(&x, Signal::Input, formats, &call)?;
    for axis in 0..rank {
        if positions[axis] > spatial[axis] {
            let mut zeros_shape = xq.shape().to_vec();
            zeros_shape[axis + 2] = positions[axis] - spatial[axis];
            xq = Tensor::concat(
                &[&xq, &Tensor::zeros(&zeros_shape, xq.device())?],
                axis as isize + 2,
            )?;
        }
    }
    let x3 = to_groups(&xq, groups)?;
    let rows = geometry.patch_rows();
    let (wq, sw) = quantize_signal(weight, Signal::Weight, formats, &call)?;
    let wq = wq.reshape(&[groups, channels / groups, rows])?;
    let cols = wq.qgemm(
        &x3,
        true,
        false,
        &formats.gemm(true, call.seed(role::FWD_GEMM))?,
    )?;
    let y = unscale(&cols.col2im(&geometry)?, sx, sw)?;
    let y = bias_and_output(y, bias, formats, &call, unbatched)?;
    let formats = formats.clone();
    let shapes = GradShapes::of(input, weight, bias);
    let mut inputs = vec![input, weight];
    inputs.extend(bias);
    Ok(Tensor::with_backward(
        y,
        LAYER,
        &inputs,
        move |grad: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let (gq, sg) = quantized_grad(grad, &formats, &call, unbatched)?;
                let gcols = gq.im2col(&geometry)?;
                let gx3 = wq.qgemm(
                    &gcols,
                    false,
                    false,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_INPUT))?,
                )?;
                let mut gx = from_groups(&unscale(&gx3, sg, sw)?, batch, &positions)?;
                for (axis, &len) in spatial.iter().enumerate() {
                    gx = gx.narrow(axis as isize + 2, 0, len)?;
                }
                let gw = x3.qgemm(
                    &gcols,
                    false,
                    true,
                    &formats.gemm(false, call.seed(role::BWD_GEMM_WEIGHT))?,
                )?;
                gradients(&shapes, &formats, &call, (&gq, sg, sx), &gx, &gw)
            };
            run().map_err(to_tensor_error)
        },
    ))
}
