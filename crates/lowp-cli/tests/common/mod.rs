//! Helpers shared by the CLI's end-to-end tests: scratch directories, running the `lowp` binary,
//! and the checks of a successful run and of bad input.
//!
//! Each test file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory of one test, removed when dropped.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    /// A fresh, empty directory named after the test file (`suite`), the test and this process.
    pub fn new(suite: &str, test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("lowp-{suite}-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self { path }
    }

    /// The path of `name` inside the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `values` as raw little-endian float32 to `name`.
    pub fn write_f32(&self, name: &str, values: &[f32]) -> PathBuf {
        let path = self.file(name);
        fs::write(&path, f32_bytes(values)).unwrap();
        path
    }

    /// The names of the directory's entries, sorted (hidden temporary files included).
    pub fn entries(&self) -> Vec<String> {
        entries(&self.path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// The names of the entries of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `quantize --format FORMAT --rounding ROUNDING --input INPUT --output OUTPUT`, for tests to put
/// global options before and further options after.
pub fn quantize_args<'a>(
    format: &'a str,
    rounding: &'a str,
    input: &'a Path,
    output: &'a Path,
) -> Vec<&'a OsStr> {
    vec![
        OsStr::new("quantize"),
        OsStr::new("--format"),
        OsStr::new(format),
        OsStr::new("--rounding"),
        OsStr::new(rounding),
        OsStr::new("--input"),
        input.as_os_str(),
        OsStr::new("--output"),
        output.as_os_str(),
    ]
}

/// Runs the binary with `args`.
pub fn lowp<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lowp"))
        .args(args)
        .output()
        .unwrap()
}

/// The stdout of a run that must succeed with nothing on stderr.
pub fn success(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Checks a run rejected as bad input: exit status 2 and one stderr line `error: ...` that
/// contains `message`.
pub fn assert_bad_input(output: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.contains(message),
        "`{stderr}` does not contain `{message}`"
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

/// Raw little-endian float32 bytes.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

/// Reads a raw little-endian float32 file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = fs::read(path).unwrap();
    assert_eq!(bytes.len() % 4, 0);
    bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
        .collect()
}
