//! `lowp conformance`: run a vectors manifest on a backend.

use anyhow::Result;
use lowp::conformance::{self, LayerDevice, Manifest, Outcome};
use std::io::Write;
use std::path::Path;

/// Runs every case of the manifest at `path` on `backend` and prints the per-op table, the
/// failures and the summary; with `verbose`, first one line per case (`ok`, `skip` for an op the
/// backend does not support yet, or `FAIL`). Returns whether every case passed; a manifest that
/// cannot be loaded is an error.
pub fn run<B: LayerDevice>(
    backend: &B,
    path: &Path,
    verbose: bool,
    out: &mut impl Write,
) -> Result<bool> {
    let manifest = Manifest::load(path)?;
    let report = conformance::run(&manifest, backend);
    if verbose {
        for case in &report.cases {
            let status = match &case.outcome {
                outcome if outcome.passed() => "ok",
                Outcome::Unsupported { .. } => "skip",
                _ => "FAIL",
            };
            writeln!(
                out,
                "{status:<4} {} ({}): {}",
                case.id, case.op, case.outcome
            )?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{report}")?;
    Ok(report.passed())
}
