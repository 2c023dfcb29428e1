//! `lowp gemm`: a batched quantized GEMM `C[b] = A[b] · B[b]` (SEMANTICS.md §9) of two tensor
//! files on a backend.

use crate::tensor_file;
use anyhow::{Context, Result, bail};
use clap::Args;
use lowp::backend::Backend;
use lowp::formats::{Accumulation, Format, GemmSpec, Rounding};
use std::path::{Path, PathBuf};

/// The options of `lowp gemm`.
#[derive(Debug, Args)]
pub struct GemmArgs {
    /// Left operand, `.f32` or `.npy`: batch × M × K values, row-major (K × M with
    /// --transpose-a); a `.npy` file's shape is not checked, only its element count.
    #[arg(long, value_name = "A")]
    a: PathBuf,
    /// Right operand, `.f32` or `.npy`: batch × K × N values, row-major (N × K with
    /// --transpose-b).
    #[arg(long, value_name = "B")]
    b: PathBuf,
    /// Rows of A and C.
    #[arg(long, value_name = "M")]
    m: usize,
    /// Columns of A, rows of B: the length of every sum.
    #[arg(long, value_name = "K")]
    k: usize,
    /// Columns of B and C.
    #[arg(long, value_name = "N")]
    n: usize,
    /// Number of independent products (default 1); when given, a `.npy` output has shape
    /// [NB, M, N] instead of [M, N].
    #[arg(long, value_name = "NB")]
    batch: Option<usize>,
    /// A is stored K × M per batch (C = storedᵀ · B).
    #[arg(long)]
    transpose_a: bool,
    /// B is stored N × K per batch (C = A · storedᵀ).
    #[arg(long)]
    transpose_b: bool,
    /// Format SPEC of every product, p = Qmul(a*b) (not used with --fma), e.g. `e4m3`.
    #[arg(long, value_name = "SPEC")]
    mul: String,
    /// Format SPEC of every accumulation step, acc = Qadd(acc + p), e.g. `fp16`.
    #[arg(long, value_name = "SPEC")]
    add: String,
    /// Fused multiply-add: acc = Qadd(fma(a, b, acc)), one binary32 rounding and no Qmul.
    #[arg(long)]
    fma: bool,
    /// Kahan-compensated accumulation per output element (not with --chunk).
    #[arg(long)]
    compensated: bool,
    /// Blocked accumulation: the inner sum restarts at +0 every C steps of k and is added into an
    /// outer accumulator of the --outer format (both options are needed).
    #[arg(long, value_name = "C")]
    chunk: Option<usize>,
    /// Format SPEC of the outer accumulator of blocked accumulation (with --chunk).
    #[arg(long, value_name = "SPEC")]
    outer: Option<String>,
    /// Rounding mode of every step: nearest, toward-zero, up, down, nearest-away, odd or
    /// stochastic.
    #[arg(long, value_name = "MODE", default_value = "nearest")]
    rounding: String,
    /// Random bits of the product rounding, 1..=32; stochastic only (default: the --mul
    /// format's).
    #[arg(long, value_name = "R")]
    bits_mul: Option<u32>,
    /// Random bits of the accumulation roundings, 1..=32; stochastic only (default: the --add
    /// format's).
    #[arg(long, value_name = "R")]
    bits_add: Option<u32>,
    /// Random bits of the outer rounding of blocked accumulation, 1..=32; stochastic only
    /// (default: the --outer format's).
    #[arg(long, value_name = "R")]
    bits_outer: Option<u32>,
    /// Seed of stochastic rounding's random words.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Output C (batch × M × N, row-major), `.f32` or `.npy`.
    #[arg(long, value_name = "OUT")]
    output: PathBuf,
}

/// Multiplies `args.a` by `args.b` on `backend` and writes `args.output`; on error nothing is
/// written.
pub fn run<B: Backend>(backend: &B, args: &GemmArgs) -> Result<()> {
    let spec = spec(args)?;
    // Reject an unknown output type before reading anything.
    tensor_file::Kind::of(&args.output)?;
    let (a_len, b_len, _) = spec.sizes();
    let batch = spec.batch;
    let (m, k, n) = (spec.m, spec.k, spec.n);
    let a = read_operand(
        "--a",
        &args.a,
        a_len,
        &format!("batch*M*K = {batch}*{m}*{k}"),
    )?;
    let b = read_operand(
        "--b",
        &args.b,
        b_len,
        &format!("batch*K*N = {batch}*{k}*{n}"),
    )?;
    let (a, b) = (backend.upload(&a)?, backend.upload(&b)?);
    let c = backend.qgemm(&a, &b, &spec)?;
    let values = pollster::block_on(backend.download(&c))?;
    let shape = match args.batch {
        Some(batch) => vec![batch, m, n],
        None => vec![m, n],
    };
    tensor_file::write(&args.output, &shape, &values)
}

/// The GEMM the options describe, validated: sizes, formats, rounding, accumulation.
fn spec(args: &GemmArgs) -> Result<GemmSpec> {
    let batch = args.batch.unwrap_or(1);
    for (option, value) in [
        ("--batch", batch),
        ("--m", args.m),
        ("--k", args.k),
        ("--n", args.n),
    ] {
        if value == 0 {
            bail!("{option} must be at least 1");
        }
    }
    let (m, k, n) = (args.m, args.k, args.n);
    for (operand, what, x, y) in [
        ("A", "batch*M*K", m, k),
        ("B", "batch*K*N", k, n),
        ("C", "batch*M*N", m, n),
    ] {
        let elements = batch.checked_mul(x).and_then(|p| p.checked_mul(y));
        let fits = elements
            .and_then(|elements| elements.checked_mul(size_of::<f32>()))
            .is_some_and(|bytes| isize::try_from(bytes).is_ok());
        if !fits {
            bail!(
                "sizes too large: {operand} would hold {what} = {batch}*{x}*{y} values, more than \
                 the address space allows"
            );
        }
    }

    let format = |option: &str, spec: &str| {
        spec.parse::<Format>()
            .with_context(|| format!("{option} {spec}"))
    };
    let mul = format("--mul", &args.mul)?;
    let add = format("--add", &args.add)?;
    let outer = args
        .outer
        .as_deref()
        .map(|spec| format("--outer", spec))
        .transpose()?;

    // The bits are checked per option below, so the mode is parsed without them.
    let rounding = Rounding::from_name(&args.rounding, None, 1)?;
    let stochastic = matches!(rounding, Rounding::Stochastic { .. });
    let bits = |option: &str, given: Option<u32>, format: &Format| -> Result<u32> {
        match given {
            Some(_) if !stochastic => {
                bail!("{option} is only used by stochastic rounding (--rounding stochastic)")
            }
            Some(bits) => {
                Rounding::stochastic(bits).with_context(|| format!("{option} {bits}"))?;
                Ok(bits)
            }
            None => Ok(format.default_stochastic_bits()),
        }
    };
    let mul_bits = bits("--bits-mul", args.bits_mul, &mul)?;
    let add_bits = bits("--bits-add", args.bits_add, &add)?;

    if args.compensated && (args.chunk.is_some() || outer.is_some()) {
        bail!("compensated and blocked accumulation cannot be combined");
    }
    let accumulation = match (args.chunk, outer) {
        (Some(chunk), Some(outer)) => Accumulation::Blocked {
            chunk,
            outer,
            outer_bits: bits("--bits-outer", args.bits_outer, &outer)?,
        },
        (Some(_), None) => bail!("--chunk needs --outer SPEC (the outer accumulator's format)"),
        (None, Some(_)) => bail!("--outer needs --chunk C (the steps of k per chunk)"),
        (None, None) => {
            if args.bits_outer.is_some() {
                bail!("--bits-outer is only used by blocked accumulation (--chunk and --outer)");
            }
            if args.compensated {
                Accumulation::Compensated
            } else {
                Accumulation::Sequential
            }
        }
    };

    let spec = GemmSpec {
        batch,
        m,
        k,
        n,
        transpose_a: args.transpose_a,
        transpose_b: args.transpose_b,
        mul,
        add,
        rounding: match rounding {
            Rounding::Stochastic { .. } => Rounding::Stochastic { bits: mul_bits },
            other => other,
        },
        mul_bits,
        add_bits,
        fma: args.fma,
        accumulation,
        seed: args.seed,
    };
    spec.validate()?;
    // Fail cleanly, before any work, when the output cannot even be reserved (e.g. M = N = 2^28
    // with K = 1: small inputs, an output of 2^56 values).
    let (_, _, c_len) = spec.sizes();
    if Vec::<f32>::new().try_reserve_exact(c_len).is_err() {
        bail!(
            "sizes too large: C would hold batch*M*N = {batch}*{m}*{n} values ({} bytes), which \
             cannot be allocated",
            c_len * size_of::<f32>()
        );
    }
    Ok(spec)
}

/// Reads the operand `option` from `path`, which must hold `expected` values (`what` says how
/// that count comes about).
fn read_operand(option: &str, path: &Path, expected: usize, what: &str) -> Result<Vec<f32>> {
    let (data, _) = tensor_file::read(path)?;
    if data.len() != expected {
        bail!(
            "{option} {} has {} values, expected {what} = {expected}",
            path.display(),
            data.len()
        );
    }
    Ok(data)
}
