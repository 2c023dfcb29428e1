//! `lowp`: the command-line tool of lowp, simulated low-precision arithmetic.
//!
//! ```text
//! lowp formats                       the preset formats and their figures
//! lowp show SPEC                     one format in full, with all codes of formats up to 8 bits
//! lowp quantize --format SPEC --rounding MODE --input IN --output OUT ...
//! lowp gemm --a A --b B --m M --k K --n N --mul SPEC --add SPEC --output OUT ...
//!                                    batched quantized GEMM C = A * B (SEMANTICS.md §9)
//! lowp conformance --manifest PATH   run conformance vectors (exit 1 on any failure)
//! lowp bench [--json] [--n N]        quantize and qgemm throughput
//! lowp train [OPTIONS]               train a model in simulated low precision (default: the
//!                                    digits MLP in fp32), progress, plots, checkpoints
//! lowp sweep --formats LIST [..]     train under each format set, compare in a table and a plot
//! ```
//! The global `--backend cpu|wgpu|cuda` picks the backend quantize, gemm, conformance and bench run
//! on (`wgpu` with the `wgpu` feature, on by default; `cuda` with the `cuda` feature); each command
//! is generic over
//! [`lowp::backend::Backend`] and the name is dispatched once, in [`run`]. With `--backend cuda`,
//! `--cublas [--fast-mode f16|bf16|tf32]` runs the GEMMs cuBLAS covers through cuBLAS (not
//! bit-exact; docs/api.md).
//! Bad input gives one line `error: ...` on stderr and exit status 2; no output file is left.

mod backends;
mod bench;
mod conformance;
mod describe;
mod gemm;
mod npy;
mod quantize;
mod sweep;
mod table;
mod tensor_file;
mod train;

use anyhow::{Result, bail};
use backends::CliBackend;
use clap::{Parser, Subcommand};
use lowp::backend::CpuBackend;
use lowp::formats::Format;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status of bad input (the same as clap's usage errors).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status of `lowp conformance` when a case fails.
const EXIT_FAILED: u8 = 1;

/// Simulated low-precision arithmetic: inspect number formats, quantize tensors, multiply
/// matrices with quantized products and sums, check conformance vectors and measure throughput.
#[derive(Debug, Parser)]
#[command(name = "lowp", version)]
struct Cli {
    /// Compute backend: `cpu`, `wgpu` (WGSL on Vulkan or GL; built with the `wgpu` feature, on by
    /// default) or `cuda` (NVIDIA GPUs through NVRTC; built with the `cuda` feature).
    #[arg(long, global = true, value_name = "NAME", default_value = "cpu")]
    backend: String,
    /// The CUDA backend's cuBLAS fast path (not bit-exact).
    #[command(flatten)]
    cublas: backends::CublasArgs,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// List the preset formats: bits, bias, max, min normal, min subnormal, epsilon.
    Formats,
    /// Describe one format, with a table of all codes for formats of at most 8 bits.
    Show {
        /// Format SPEC, e.g. `e4m3`, `fp16(subnormals=false)`, `binary8(p=3)`, `fixed(wl=8,fl=4)`.
        spec: String,
    },
    /// Quantize a .f32 or .npy tensor file.
    Quantize(quantize::QuantizeArgs),
    /// Batched quantized GEMM C = A * B of .f32 or .npy matrices.
    ///
    /// Every product is rounded to --mul and every accumulation step to --add, k ascending from
    /// +0 (SEMANTICS.md §9); --fma fuses the product into the sum, --compensated uses Kahan
    /// summation, --chunk with --outer accumulates in blocks.
    Gemm(gemm::GemmArgs),
    /// Run a conformance vectors manifest; exit status 1 when any case fails.
    Conformance {
        /// The manifest.json (its vectors lie in `vectors/` beside it).
        #[arg(long, value_name = "PATH")]
        manifest: PathBuf,
        /// Print every case, not only the failures.
        #[arg(long)]
        verbose: bool,
    },
    /// Measure quantize (ns/element) and qgemm (ns/MAC) throughput.
    ///
    /// On cpu: on one thread and on all threads, with a plain binary32 matmul reference. On wgpu:
    /// each timed call includes downloading its result (threads is reported as 0). On cuda: each
    /// timed call ends with a device synchronisation, plus a device-to-device `copy` row.
    Bench {
        /// Print a JSON array instead of tables.
        #[arg(long)]
        json: bool,
        /// Elements per quantize measurement.
        #[arg(long, value_name = "N", default_value_t = 1 << 24)]
        n: usize,
        /// Square qgemm sizes to measure (M = K = N), comma-separated.
        #[arg(long, value_name = "SIZES", value_delimiter = ',', default_values_t = [256, 512])]
        gemm_sizes: Vec<usize>,
        /// Which operations to measure.
        #[arg(long, value_enum, default_value_t = bench::Ops::All)]
        ops: bench::Ops,
    },
    /// Train a model in simulated low precision: the digits MLP in fp32 by default.
    ///
    /// Shows a progress bar, prints a summary table, and writes checkpoints, the configuration,
    /// the history and loss/accuracy plots (PNG, SVG) into --out. Formats come from
    /// --formats-config (TOML/JSON) and the short flags --mac, --weights, --grads, --acts,
    /// --rounding (format SPECs as in `lowp show`).
    Train(train::TrainArgs),
    /// Train the same model under each of a list of format sets and compare them.
    Sweep(sweep::SweepArgs),
}

/// Parses the command line (clap exits with status 2 on usage errors), runs it, and reports any
/// error as one `error: ...` line on stderr with exit status 2.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    match run(&cli, &mut stdout) {
        Ok(code) => code,
        Err(error) => {
            // One line, whatever the error chain holds.
            let message = format!("{error:#}").replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Runs `cli` on the backend it names, printing to `out`.
fn run(cli: &Cli, out: &mut impl Write) -> Result<ExitCode> {
    match cli.backend.as_str() {
        CpuBackend::NAME => execute::<CpuBackend>(&cli.command, &cli.cublas, out),
        #[cfg(feature = "wgpu")]
        lowp_wgpu::WgpuBackend::NAME => {
            execute::<lowp_wgpu::WgpuBackend>(&cli.command, &cli.cublas, out)
        }
        #[cfg(feature = "cuda")]
        lowp_cuda::CudaBackend::NAME => {
            execute::<lowp_cuda::CudaBackend>(&cli.command, &cli.cublas, out)
        }
        other => bail!(
            "unknown backend '{other}'; available backends: {}",
            backends::AVAILABLE.join(", ")
        ),
    }
}

/// Runs `command` on the backend `B`, printing to `out`. The backend is only opened by the
/// commands that compute (not by `formats` and `show`), so a backend that cannot run here fails
/// those commands with `backend NAME is unavailable: ...`, before any output file is written.
fn execute<B: CliBackend>(
    command: &Command,
    cublas: &backends::CublasArgs,
    out: &mut impl Write,
) -> Result<ExitCode> {
    match command {
        Command::Formats => out.write_all(describe::formats()?.as_bytes())?,
        Command::Show { spec } => {
            out.write_all(describe::show(&spec.parse::<Format>()?)?.as_bytes())?
        }
        Command::Quantize(args) => quantize::run(&backends::open::<B>(cublas)?, args)?,
        Command::Gemm(args) => gemm::run(&backends::open::<B>(cublas)?, args)?,
        Command::Conformance { manifest, verbose } => {
            if !conformance::run(&backends::open::<B>(cublas)?, manifest, *verbose, out)? {
                return Ok(ExitCode::from(EXIT_FAILED));
            }
        }
        Command::Bench {
            json,
            n,
            gemm_sizes,
            ops,
        } => bench::run::<B>(*n, gemm_sizes, *ops, *json, cublas, out)?,
        Command::Train(args) => train::run(B::NAME, cublas, args, out)?,
        Command::Sweep(args) => sweep::run(B::NAME, cublas, args, out)?,
    }
    Ok(ExitCode::SUCCESS)
}
