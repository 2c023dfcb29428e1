//! `lowp bench`: quantize and qgemm throughput as tables or one JSON array.

use crate::backends::CliBackend;
use crate::table::{self, Align};
use anyhow::{Result, ensure};
use std::io::Write;

/// Which operations `lowp bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ops {
    /// Quantize and qgemm.
    All,
    /// Quantize only (ns/element).
    Quantize,
    /// qgemm only (ns/MAC).
    Qgemm,
}

/// Checks the options, opens the backend `B` (with the cuBLAS fast path as `cublas` asks) and
/// measures its rows of `lowp::bench` (quantize on `n` elements, qgemm at each of `gemm_sizes`;
/// see [`CliBackend`]), then prints them as tables, or with `json` as one JSON array.
pub fn run<B: CliBackend>(
    n: usize,
    gemm_sizes: &[usize],
    ops: Ops,
    json: bool,
    cublas: &crate::backends::CublasArgs,
    out: &mut impl Write,
) -> Result<()> {
    ensure!(n > 0, "--n must be at least 1");
    ensure!(
        gemm_sizes.iter().all(|&size| (1..=8192).contains(&size)),
        "--gemm-sizes must be between 1 and 8192"
    );
    let backend = crate::backends::open::<B>(cublas)?;
    let quantize = match ops {
        Ops::All | Ops::Quantize => backend.quantize_rows(n)?,
        Ops::Qgemm => Vec::new(),
    };
    let qgemm = match ops {
        Ops::All | Ops::Qgemm => backend.qgemm_rows(gemm_sizes)?,
        Ops::Quantize => Vec::new(),
    };
    if json {
        let mut rows = Vec::new();
        for row in &quantize {
            rows.push(serde_json::to_value(row)?);
        }
        for row in &qgemm {
            rows.push(serde_json::to_value(row)?);
        }
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    if !quantize.is_empty() {
        let header = [
            "op",
            "backend",
            "format",
            "rounding",
            "threads",
            "n",
            "ns/element",
        ];
        let align = [
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
        ];
        let cells: Vec<Vec<String>> = quantize
            .iter()
            .map(|row| {
                vec![
                    row.op.to_string(),
                    row.backend.to_string(),
                    row.format.to_string(),
                    row.rounding.to_string(),
                    row.threads.to_string(),
                    row.n.to_string(),
                    format!("{:.3}", row.ns_per_element),
                ]
            })
            .collect();
        out.write_all(table::render(&header, &align, &cells).as_bytes())?;
    }
    if !qgemm.is_empty() {
        if !quantize.is_empty() {
            writeln!(out)?;
        }
        let header = [
            "op", "backend", "mul", "add", "mode", "m", "k", "n", "threads", "ns/MAC",
        ];
        let align = [
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ];
        let cells: Vec<Vec<String>> = qgemm
            .iter()
            .map(|row| {
                vec![
                    row.op.to_string(),
                    row.backend.to_string(),
                    row.mul.to_string(),
                    row.add.to_string(),
                    row.mode.to_string(),
                    row.m.to_string(),
                    row.k.to_string(),
                    row.n.to_string(),
                    row.threads.to_string(),
                    format!("{:.3}", row.ns_per_mac),
                ]
            })
            .collect();
        out.write_all(table::render(&header, &align, &cells).as_bytes())?;
    }
    Ok(())
}
