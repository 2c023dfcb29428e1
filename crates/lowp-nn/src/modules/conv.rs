//! `QConv1d/2d/3d` and `QConvTranspose1d/2d/3d` (D = number of spatial axes).

use super::Module;
use crate::error::{NnError, Result};
use crate::formats::QAffineFormats;
use crate::functional::{
    ConvSpec, ConvTransposeSpec, Padding, PaddingMode, qconv, qconv_transpose,
};
use crate::seeds::derive;
use lowp_tensor::{Device, Tensor};

/// Options of a convolution module (torch's keyword arguments and defaults: stride 1,
/// padding 0, dilation 1, groups 1, bias, zeros padding), plus the initialisation seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvOptions<const D: usize> {
    /// Strides.
    pub stride: [usize; D],
    /// Padding (`Padding::Explicit` takes one value or D values).
    pub padding: Padding,
    /// Dilations.
    pub dilation: [usize; D],
    /// Channel groups.
    pub groups: usize,
    /// Learn a bias.
    pub bias: bool,
    /// Padding fill.
    pub padding_mode: PaddingMode,
    /// Seed of the parameter initialisation.
    pub seed: u64,
}

impl<const D: usize> Default for ConvOptions<D> {
    fn default() -> Self {
        Self {
            stride: [1; D],
            padding: Padding::Explicit(vec![0]),
            dilation: [1; D],
            groups: 1,
            bias: true,
            padding_mode: PaddingMode::Zeros,
            seed: 0,
        }
    }
}

/// Checks a convolution's sizes: positive channel counts divisible by `groups`, positive kernel
/// sizes (`layer` names the module in the error).
fn check_sizes(
    layer: &'static str,
    in_channels: usize,
    out_channels: usize,
    kernel_size: &[usize],
    groups: usize,
) -> Result<()> {
    if groups == 0
        || in_channels == 0
        || out_channels == 0
        || !in_channels.is_multiple_of(groups)
        || !out_channels.is_multiple_of(groups)
        || kernel_size.contains(&0)
    {
        return Err(NnError::layer(
            layer,
            format!(
                "in_channels {in_channels}, out_channels {out_channels}, kernel {kernel_size:?}, groups {groups}: channels must be positive multiples of groups, kernel sizes positive"
            ),
        ));
    }
    Ok(())
}

/// The weight `[channels[0], channels[1], *kernel_size]` and a bias of `bias` values, both
/// `U(-1/√fan_in, 1/√fan_in)` with `fan_in = channels[1]·prod(kernel_size)` (torch's default
/// init), children 0 and 1 of `seed`.
fn init(
    channels: [usize; 2],
    kernel_size: &[usize],
    bias: Option<usize>,
    device: &Device,
    seed: u64,
) -> Result<(Tensor, Option<Tensor>)> {
    let mut shape = channels.to_vec();
    shape.extend(kernel_size);
    let fan_in = channels[1] * kernel_size.iter().product::<usize>();
    let bound = 1.0 / (fan_in as f32).sqrt();
    let weight = Tensor::rand_uniform(-bound, bound, &shape, derive(seed, 0), device)?.into_var();
    let bias = bias
        .map(|n| {
            Tensor::rand_uniform(-bound, bound, &[n], derive(seed, 1), device).map(Tensor::into_var)
        })
        .transpose()?;
    Ok((weight, bias))
}

fn named(weight: &Tensor, bias: &Option<Tensor>) -> Vec<(String, Tensor)> {
    let mut out = vec![("weight".to_string(), weight.clone())];
    if let Some(b) = bias {
        out.push(("bias".to_string(), b.clone()));
    }
    out
}

/// mptorch's `QConv1d` / `QConv2d` / `QConv3d` (`D` spatial axes): [`qconv`] with `formats`.
/// Input `[N, C_in, *S]` or `[C_in, *S]`; weight `[C_out, C_in/groups, *kernel]`; bias
/// `[C_out]`; both `U(-√k, √k)` with `k = groups / (C_in·prod(kernel))`.
#[derive(Debug, Clone)]
pub struct QConv<const D: usize> {
    /// The weight (a parameter).
    pub weight: Tensor,
    /// The bias (a parameter), if any.
    pub bias: Option<Tensor>,
    /// The formats.
    pub formats: QAffineFormats,
    /// Stride, padding, dilation, groups and padding mode.
    pub spec: ConvSpec,
}

/// 1-D quantized convolution.
pub type QConv1d = QConv<1>;
/// 2-D quantized convolution.
pub type QConv2d = QConv<2>;
/// 3-D quantized convolution.
pub type QConv3d = QConv<3>;

impl<const D: usize> QConv<D> {
    /// A new layer on `device`. Errors: channels not divisible by `groups`, zero sizes,
    /// `'same'` padding with a stride, invalid formats.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: [usize; D],
        formats: QAffineFormats,
        options: ConvOptions<D>,
        device: &Device,
    ) -> Result<Self> {
        let groups = options.groups;
        check_sizes("QConv", in_channels, out_channels, &kernel_size, groups)?;
        if options.padding == Padding::Same && options.stride.iter().any(|&s| s != 1) {
            return Err(NnError::layer(
                "QConv",
                format!("padding 'same' needs stride 1, got {:?}", options.stride),
            ));
        }
        formats.validate()?;
        let (weight, bias) = init(
            [out_channels, in_channels / groups],
            &kernel_size,
            options.bias.then_some(out_channels),
            device,
            options.seed,
        )?;
        let spec = ConvSpec {
            stride: options.stride.to_vec(),
            padding: options.padding,
            dilation: options.dilation.to_vec(),
            groups,
            padding_mode: options.padding_mode,
        };
        Ok(Self {
            weight,
            bias,
            formats,
            spec,
        })
    }

    /// mptorch's `quant_parameters()` (see [`super::QLinear::quant_parameters`]).
    pub fn quant_parameters(&self) -> Result<()> {
        super::linear::quant_parameters(&self.weight, self.bias.as_ref(), &self.formats)
    }
}

impl<const D: usize> Module for QConv<D> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        qconv(
            x,
            &self.weight,
            self.bias.as_ref(),
            &self.spec,
            &self.formats,
        )
    }
    fn parameters(&self) -> Vec<(String, Tensor)> {
        named(&self.weight, &self.bias)
    }
}

/// Options of a transposed convolution module (torch's defaults), plus the init seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvTransposeOptions<const D: usize> {
    /// Strides.
    pub stride: [usize; D],
    /// Cropping of the full output on both sides.
    pub padding: [usize; D],
    /// Extra output size on the far side (< max(stride, dilation)).
    pub output_padding: [usize; D],
    /// Channel groups.
    pub groups: usize,
    /// Learn a bias.
    pub bias: bool,
    /// Dilations.
    pub dilation: [usize; D],
    /// Seed of the parameter initialisation.
    pub seed: u64,
}

impl<const D: usize> Default for ConvTransposeOptions<D> {
    fn default() -> Self {
        Self {
            stride: [1; D],
            padding: [0; D],
            output_padding: [0; D],
            groups: 1,
            bias: true,
            dilation: [1; D],
            seed: 0,
        }
    }
}

/// mptorch's `QConvTranspose1d/2d/3d`: [`qconv_transpose`] with `formats`. Input
/// `[N, C_in, *S]` or unbatched; weight `[C_in, C_out/groups, *kernel]`; bias `[C_out]`; both
/// `U(-√k, √k)` with `k = groups / (C_out·prod(kernel))`. `forward` uses the configured
/// `output_padding`; [`QConvTranspose::forward_with_output_size`] picks it from a wanted size.
#[derive(Debug, Clone)]
pub struct QConvTranspose<const D: usize> {
    /// The weight (a parameter).
    pub weight: Tensor,
    /// The bias (a parameter), if any.
    pub bias: Option<Tensor>,
    /// The formats.
    pub formats: QAffineFormats,
    /// Stride, padding, output padding, dilation, groups.
    pub spec: ConvTransposeSpec,
}

/// 1-D quantized transposed convolution.
pub type QConvTranspose1d = QConvTranspose<1>;
/// 2-D quantized transposed convolution.
pub type QConvTranspose2d = QConvTranspose<2>;
/// 3-D quantized transposed convolution.
pub type QConvTranspose3d = QConvTranspose<3>;

impl<const D: usize> QConvTranspose<D> {
    /// A new layer on `device`. Errors: channels not divisible by `groups`, zero sizes,
    /// `output_padding >= max(stride, dilation)`, invalid formats.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: [usize; D],
        formats: QAffineFormats,
        options: ConvTransposeOptions<D>,
        device: &Device,
    ) -> Result<Self> {
        let groups = options.groups;
        check_sizes(
            "QConvTranspose",
            in_channels,
            out_channels,
            &kernel_size,
            groups,
        )?;
        for a in 0..D {
            if options.output_padding[a] >= options.stride[a].max(options.dilation[a]) {
                return Err(NnError::layer(
                    "QConvTranspose",
                    format!(
                        "output_padding {:?} must be smaller than stride {:?} or dilation {:?}",
                        options.output_padding, options.stride, options.dilation
                    ),
                ));
            }
        }
        formats.validate()?;
        let (weight, bias) = init(
            [in_channels, out_channels / groups],
            &kernel_size,
            options.bias.then_some(out_channels),
            device,
            options.seed,
        )?;
        let spec = ConvTransposeSpec {
            stride: options.stride.to_vec(),
            padding: options.padding.to_vec(),
            output_padding: options.output_padding.to_vec(),
            dilation: options.dilation.to_vec(),
            groups,
        };
        Ok(Self {
            weight,
            bias,
            formats,
            spec,
        })
    }

    /// mptorch's `forward(input, output_size)`: the output padding is chosen so the spatial
    /// output is `output_size` (spatial sizes, or `[N, C, *spatial]`).
    pub fn forward_with_output_size(&self, x: &Tensor, output_size: &[usize]) -> Result<Tensor> {
        qconv_transpose(
            x,
            &self.weight,
            self.bias.as_ref(),
            &self.spec,
            Some(output_size),
            &self.formats,
        )
    }
}

impl<const D: usize> Module for QConvTranspose<D> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        qconv_transpose(
            x,
            &self.weight,
            self.bias.as_ref(),
            &self.spec,
            None,
            &self.formats,
        )
    }
    fn parameters(&self) -> Vec<(String, Tensor)> {
        named(&self.weight, &self.bias)
    }
}
