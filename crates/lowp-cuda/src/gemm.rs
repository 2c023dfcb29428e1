//! Quantized GEMM on the device (`kernels/gemm.cu`, SEMANTICS.md §9): a tiled kernel (64 × 64
//! outputs per block of 16 × 16 threads, 4 × 4 outputs per thread in registers, slices of A and B
//! staged in shared memory, k strictly ascending per output element) whose every step is an IEEE
//! binary32 operation rounded by the step's quantizer, so results equal
//! [`lowp_formats::gemm::reference`] bit for bit in every mode. Three instantiations of the body
//! ([`kernel_name`]): `gemm` for every spec, and `gemm_nearest_grid` and
//! `gemm_stochastic_grid` for the common cases of sequential accumulation with float grids
//! rounding to nearest or stochastically.
//!
//! Indices are 64-bit in the kernel. The host splits the work over several launches where CUDA's
//! grid limits require: at most 65535 row tiles and 65535 batch entries per launch (grid y and z),
//! column tiles in grid x (up to 2^31 - 1).

use crate::device::{ByValue, CudaBackend, CudaBuffer, device_error};
use crate::kernels::Family;
use crate::params::{ACC_SEQUENTIAL, GemmParams, GemmShapeParams, KIND_GRID, QuantizerParams};
use cudarc::driver::{LaunchConfig, PushKernelArg};
use lowp_backend::{BackendError, Result};
use lowp_formats::{GemmSpec, Rounding};

/// Threads per block side (`GEMM_TILE` in gemm.cu).
pub const THREADS: u32 = 16;
/// Outputs per block side (`GEMM_BLOCK` in gemm.cu: 16 threads × 4 outputs each).
pub const BLOCK: u32 = 64;
/// Largest grid y and z dimension of one launch (CUDA's limit).
const MAX_GRID_YZ: u64 = 65_535;

/// The launches of a GEMM: `(first batch entry, entries, first row tile, row tiles)`.
fn launches(batch: u64, row_tiles: u64) -> impl Iterator<Item = (u64, u64, u64, u64)> {
    (0..batch.div_ceil(MAX_GRID_YZ)).flat_map(move |bg| {
        let b0 = bg * MAX_GRID_YZ;
        (0..row_tiles.div_ceil(MAX_GRID_YZ)).map(move |rg| {
            let r0 = rg * MAX_GRID_YZ;
            (
                b0,
                MAX_GRID_YZ.min(batch - b0),
                r0,
                MAX_GRID_YZ.min(row_tiles - r0),
            )
        })
    })
}

/// The kernel parameters of `spec` ([`GemmParams::new`]) after checking the spec and the
/// kernels' 32-bit M, K and N; the backend sets `row_tile0` and the output offset per launch.
pub fn kernel_params(spec: &GemmSpec) -> Result<GemmParams> {
    spec.validate()?;
    if [spec.m, spec.k, spec.n]
        .iter()
        .any(|&extent| extent > u32::MAX as usize)
    {
        return Err(BackendError::Shape(format!(
            "gemm {}×{}×{}: M, K and N must be below 2^32 on the CUDA backend",
            spec.m, spec.k, spec.n
        )));
    }
    GemmParams::new(spec)
}

/// The gemm.cu kernel for `params`: for sequential accumulation when the add quantizer, and the
/// mul quantizer unless the steps are fused, are float grids ([`KIND_GRID`]),
/// `gemm_nearest_grid` when they round to nearest and `gemm_stochastic_grid` when they round
/// stochastically (quantizers inlined as grid_quantize's short paths, 4 × 4 outputs
/// interleaved); `gemm` for everything else.
pub fn kernel_name(params: &GemmParams) -> &'static str {
    let shape = &params.shape;
    let grid = |q: &QuantizerParams| q.kind == KIND_GRID;
    if shape.accumulation != ACC_SEQUENTIAL
        || !grid(&params.add)
        || (shape.fma == 0 && (!grid(&params.mul) || params.mul.mode != params.add.mode))
    {
        return "gemm";
    }
    if params.add.mode == Rounding::Nearest.code() {
        "gemm_nearest_grid"
    } else if shape.stochastic != 0 {
        "gemm_stochastic_grid"
    } else {
        "gemm"
    }
}

impl CudaBackend {
    /// [`lowp_backend::Backend::qgemm`]: checks the spec and buffers, then runs the kernel, or
    /// cuBLAS when its fast path is enabled and the spec is native (`cublas.rs`).
    pub(crate) fn gemm(
        &self,
        a: &CudaBuffer,
        b: &CudaBuffer,
        spec: &GemmSpec,
    ) -> Result<CudaBuffer> {
        spec.validate()?;
        let (a_len, b_len, c_len) = spec.sizes();
        if a.len != a_len || b.len != b_len {
            return Err(BackendError::Shape(format!(
                "gemm {}×{}×{}×{}: A needs {a_len} values (has {}), B needs {b_len} (has {})",
                spec.batch, spec.m, spec.k, spec.n, a.len, b.len
            )));
        }
        if c_len > 0
            && let Some(result) = self.try_cublas_gemm(a, b, spec)
        {
            return result;
        }
        let mut output = self.storage_uninit(c_len)?;
        if c_len == 0 {
            return Ok(output);
        }
        let params = kernel_params(spec)?;
        let module = self.module(Family::Gemm)?;
        let function = module.function(kernel_name(&params))?;
        let per_a = (spec.m * spec.k) as u64;
        let per_b = (spec.k * spec.n) as u64;
        let per_c = (spec.m * spec.n) as u64;
        let row_tiles = (spec.m as u64).div_ceil(u64::from(BLOCK));
        let col_tiles = (spec.n as u64).div_ceil(u64::from(BLOCK));
        if col_tiles > i32::MAX as u64 {
            return Err(BackendError::Shape(format!(
                "gemm with N = {} exceeds CUDA's grid",
                spec.n
            )));
        }
        for (b0, entries, row0, rows) in launches(spec.batch as u64, row_tiles) {
            let first_output = b0 * per_c;
            let params = GemmParams {
                shape: GemmShapeParams {
                    row_tile0: row0 as u32,
                    o_lo: first_output as u32,
                    o_hi: (first_output >> 32) as u32,
                    ..params.shape
                },
                ..params
            };
            let a_view = a.view(b0 * per_a, entries * per_a);
            let b_view = b.view(b0 * per_b, entries * per_b);
            let mut c_view = output.view_mut(b0 * per_c, entries * per_c);
            let config = LaunchConfig {
                grid_dim: (col_tiles as u32, rows as u32, entries as u32),
                block_dim: (THREADS, THREADS, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: the kernel reads `entries` batch entries of A and B from the views and
            // writes the same entries of C, all inside the views.
            unsafe {
                self.stream()
                    .launch_builder(function)
                    .arg(&ByValue(params))
                    .arg(&a_view)
                    .arg(&b_view)
                    .arg(&mut c_view)
                    .launch(config)
            }
            .map_err(device_error)?;
        }
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_blocks_outputs_in_registers() {
        assert!(
            crate::kernels::Family::Gemm
                .source()
                .contains("constexpr u32 GEMM_BLOCK = GEMM_TILE * GEMM_REG;")
        );
    }

    #[test]
    fn launches_cover_batch_and_rows_within_grid_limits() {
        let all: Vec<_> = launches(70_000, 3).collect();
        assert_eq!(all, [(0, 65_535, 0, 3), (65_535, 4_465, 0, 3)]);
        let rows: Vec<_> = launches(1, 131_071).collect();
        assert_eq!(
            rows,
            [
                (0, 1, 0, 65_535),
                (0, 1, 65_535, 65_535),
                (0, 1, 131_070, 1)
            ]
        );
    }
}
