//! `lowp bench`: quantize throughput as a table or a JSON array.

use crate::table::{self, Align};
use anyhow::{Result, ensure};
use std::io::Write;

/// Measures the CPU quantize rows of `lowp::bench` on `n` elements each and prints them as a
/// table, or with `json` as a JSON array.
pub fn run(n: usize, json: bool, out: &mut impl Write) -> Result<()> {
    ensure!(n > 0, "--n must be at least 1");
    let rows = lowp::bench::quantize_rows(n)?;
    if json {
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
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
    let cells: Vec<Vec<String>> = rows
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
    Ok(())
}
