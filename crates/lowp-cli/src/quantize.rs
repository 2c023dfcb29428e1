//! `lowp quantize`: quantize a tensor file to a format on a backend.

use crate::tensor_file;
use anyhow::{Result, bail};
use clap::Args;
use lowp::backend::Backend;
use lowp::formats::{Format, Quantizer, Rounding};
use std::path::PathBuf;

/// The options of `lowp quantize`.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// Target format SPEC, e.g. `e4m3`, `bf16(subnormals=false)` or `fixed(wl=8,fl=4)`.
    #[arg(long, value_name = "SPEC")]
    format: String,
    /// Rounding mode: nearest, toward-zero, up, down, nearest-away, odd or stochastic.
    #[arg(long, value_name = "MODE")]
    rounding: String,
    /// Random bits of stochastic rounding, 1..=32 (default: the format's).
    #[arg(long, value_name = "R")]
    bits: Option<u32>,
    /// Seed of stochastic rounding's random words.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Row-major shape of the input, e.g. `4,256` (default: the .npy shape, or one dimension).
    #[arg(long, value_name = "D0,D1,..", value_delimiter = ',')]
    shape: Option<Vec<usize>>,
    /// Input tensor: `.f32` (raw little-endian float32) or `.npy` (float32).
    #[arg(long, value_name = "IN")]
    input: PathBuf,
    /// Output tensor, `.f32` or `.npy`; a `.npy` output keeps the shape.
    #[arg(long, value_name = "OUT")]
    output: PathBuf,
}

/// Quantizes `args.input` on `backend` and writes `args.output`; on error nothing is written.
pub fn run<B: Backend>(backend: &B, args: &QuantizeArgs) -> Result<()> {
    let format: Format = args.format.parse()?;
    let rounding =
        Rounding::from_name(&args.rounding, args.bits, format.default_stochastic_bits())?;
    let quantizer = Quantizer::new(format, rounding, args.seed)?;
    // Reject an unknown output type before doing any work.
    tensor_file::Kind::of(&args.output)?;
    let (data, file_shape) = tensor_file::read(&args.input)?;
    let shape = match (&args.shape, file_shape) {
        (Some(shape), _) => {
            let elements = shape
                .iter()
                .try_fold(1usize, |product, &dim| product.checked_mul(dim));
            if elements != Some(data.len()) {
                let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
                bail!(
                    "--shape {} does not fit {}: it has {} values",
                    dims.join(","),
                    args.input.display(),
                    data.len()
                );
            }
            shape.clone()
        }
        (None, Some(shape)) => shape,
        (None, None) => vec![data.len()],
    };
    let input = backend.upload(&data)?;
    let output = backend.quantize(&input, &shape, &quantizer)?;
    let values = pollster::block_on(backend.download(&output))?;
    tensor_file::write(&args.output, &shape, &values)
}
