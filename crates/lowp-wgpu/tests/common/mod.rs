//! Shared by the wgpu integration tests: opening the backend (or skipping) and comparing bits.

#![allow(dead_code)]

use lowp_backend::{Backend, BackendError};
use lowp_wgpu::{WgpuBackend, WgpuOptions};

/// Whether `LOWP_REQUIRE` (a comma-separated list) names `backend`.
pub fn required(backend: &str) -> bool {
    std::env::var("LOWP_REQUIRE")
        .map(|list| list.split(',').any(|name| name.trim() == backend))
        .unwrap_or(false)
}

/// The wgpu backend with `options`, or `None` after printing `SKIP: <reason>` when no adapter is
/// available (a failure instead when `LOWP_REQUIRE` contains `wgpu`).
pub fn backend_with(options: WgpuOptions) -> Option<WgpuBackend> {
    match WgpuBackend::with_options(options) {
        Ok(backend) => {
            let info = backend.adapter_info();
            eprintln!(
                "wgpu adapter: {} ({:?}, {}), {} values per dispatch",
                info.name,
                info.backend,
                info.driver,
                backend.chunk_values()
            );
            Some(backend)
        }
        Err(error @ BackendError::Unavailable { .. }) if !required("wgpu") => {
            println!("SKIP: {error}");
            None
        }
        Err(error) => panic!("the wgpu backend is required (LOWP_REQUIRE) but failed: {error}"),
    }
}

/// [`backend_with`] default options.
pub fn backend() -> Option<WgpuBackend> {
    backend_with(WgpuOptions::default())
}

/// Downloads a buffer (blocking).
pub fn download<B: Backend>(backend: &B, buffer: &B::Buffer) -> Vec<f32> {
    pollster::block_on(backend.download(buffer)).expect("download")
}

/// Asserts `got == expected` bit for bit (any NaN equals any NaN), naming the first difference.
pub fn assert_same_bits(context: &str, input: &[f32], got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "{context}: lengths");
    let mismatches: Vec<usize> = got
        .iter()
        .zip(expected)
        .enumerate()
        .filter(|(_, (g, e))| !(g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan())))
        .map(|(i, _)| i)
        .collect();
    if let Some(&i) = mismatches.first() {
        panic!(
            "{context}: {} of {} elements differ; first at {i}: input {:#010x} gave {:#010x}, CPU {:#010x}",
            mismatches.len(),
            got.len(),
            input.get(i).map_or(0, |x| x.to_bits()),
            got[i].to_bits(),
            expected[i].to_bits()
        );
    }
}
