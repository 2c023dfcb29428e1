//! Files that appear whole or not at all: every output is written to a temporary file in the
//! target's directory and renamed over the target, so an interrupted or failed run never leaves a
//! partial file behind.

use super::{Result, TrainError};
use std::path::{Path, PathBuf};

/// The temporary name `path` is written under before the rename: `.NAME.PID.tmp` beside it.
pub fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` atomically (temporary file, then rename); on error nothing is left.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = temporary_path(path);
    let written =
        std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(source) = written {
        // The temporary file may not exist (it could not be created); either way it must go.
        let _ = std::fs::remove_file(&temporary);
        return Err(TrainError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        });
    }
    Ok(())
}

/// Reads all of `path`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| TrainError::Io {
        action: "read",
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_nothing_on_failure() {
        let dir = std::env::temp_dir().join(format!("lowp-files-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(read(&path).unwrap(), b"second");
        let missing = dir.join("no-such-dir").join("out.bin");
        assert!(write_atomic(&missing, b"x").is_err());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
