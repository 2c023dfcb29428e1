//! Tensor files: raw `.f32` (little-endian binary32, no header) and `.npy`, chosen by extension.
//! Outputs are written to a temporary file next to the target and renamed into place, so a
//! failed run never leaves a partial output behind.

use crate::npy;
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::Path;

/// The on-disk layout of a tensor file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Raw little-endian binary32 values, no header, no shape.
    F32,
    /// NumPy `.npy`, dtype `<f4`, C order.
    Npy,
}

impl Kind {
    /// The kind named by `path`'s extension (`.f32` or `.npy`, any case).
    pub fn of(path: &Path) -> Result<Self> {
        let extension = path.extension().and_then(|extension| extension.to_str());
        match extension.map(str::to_ascii_lowercase).as_deref() {
            Some("f32") => Ok(Kind::F32),
            Some("npy") => Ok(Kind::Npy),
            _ => bail!(
                "{}: unknown file type; expected a .f32 (raw little-endian float32) or .npy file",
                path.display()
            ),
        }
    }
}

/// Reads the values of `path` and, for `.npy`, their shape.
pub fn read(path: &Path) -> Result<(Vec<f32>, Option<Vec<usize>>)> {
    let kind = Kind::of(path)?;
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match kind {
        Kind::F32 => {
            let (values, rest) = bytes.as_chunks::<4>();
            if !rest.is_empty() {
                bail!(
                    "{}: {} bytes is not a multiple of 4 (a .f32 file holds raw little-endian float32 values)",
                    path.display(),
                    bytes.len()
                );
            }
            Ok((
                values
                    .iter()
                    .map(|value| f32::from_le_bytes(*value))
                    .collect(),
                None,
            ))
        }
        Kind::Npy => {
            let array = npy::parse(&bytes).with_context(|| path.display().to_string())?;
            Ok((array.data, Some(array.shape)))
        }
    }
}

/// Writes `data` of `shape` to `path` in the layout its extension names, replacing `path` only
/// once the whole file is written.
pub fn write(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let bytes = match Kind::of(path)? {
        Kind::F32 => data.iter().flat_map(|value| value.to_le_bytes()).collect(),
        Kind::Npy => npy::to_bytes(shape, data)?,
    };
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let temporary = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = fs::write(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
    if let Err(error) = written {
        // The temporary file may not exist (if it could not be created); either way it must go.
        let _ = fs::remove_file(&temporary);
        bail!("cannot write {}: {error}", path.display());
    }
    Ok(())
}
