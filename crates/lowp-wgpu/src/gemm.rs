//! Quantized GEMM on the device (`shaders/gemm.wgsl`, SEMANTICS.md §9): a tiled kernel (16 × 16
//! outputs per workgroup, tiles of A and B staged in workgroup memory, k strictly ascending per
//! output element) whose every binary32 operation is lowp-formats' exactly rounded integer `fma`,
//! so results equal [`lowp_formats::gemm::reference`] bit for bit in every mode.
//!
//! The pipeline is compiled on first use and cached per backend, keyed by the backend's
//! uncaptured-error list (wgpu's device ids are per instance, so devices of two backends can
//! compare equal).

use crate::params::{GemmParams, GemmShapeParams};
use crate::{ModuleSpec, WgpuBackend, WgpuBuffer, range, storage_entry, uniform_entry, whole};
use lowp_backend::{BackendError, Result};
use lowp_formats::GemmSpec;
use std::sync::Arc;

/// `shaders/gemm.wgsl`.
pub const SOURCE: &str = include_str!("../../../shaders/gemm.wgsl");
/// The kernel's entry point.
pub const ENTRY_POINT: &str = "gemm";
/// Outputs per workgroup side (`GEMM_TILE` in gemm.wgsl).
pub const TILE: u32 = 16;

/// The complete module source: common.wgsl, math.wgsl (whose 64-bit integer helpers the GEMM's
/// exact arithmetic uses), then gemm.wgsl.
pub fn module_source() -> String {
    crate::ops::module_source(SOURCE)
}

/// Values of one batch entry of A, B and C.
fn matrix_values(spec: &GemmSpec) -> (u64, u64, u64) {
    let (m, k, n) = (spec.m as u64, spec.k as u64, spec.n as u64);
    (m * k, k * n, m * n)
}

/// The compiled GEMM pipeline of one device.
#[derive(Debug)]
pub(crate) struct GemmKernel {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl WgpuBackend {
    fn gemm_kernel(&self) -> Result<Arc<GemmKernel>> {
        crate::get_or_compile(&self.lazy.gemm, || self.compile_gemm())
    }

    fn compile_gemm(&self) -> Result<GemmKernel> {
        let (layout, [pipeline]) = ModuleSpec {
            name: "gemm.wgsl",
            source: module_source(),
            entries: &[
                uniform_entry(0),
                storage_entry(1, true),
                storage_entry(2, true),
                storage_entry(3, false),
            ],
            entry_points: [ENTRY_POINT],
        }
        .compile_now(&self.device)?;
        Ok(GemmKernel { layout, pipeline })
    }

    /// [`lowp_backend::Backend::qgemm`]: checks the spec and buffers, then runs the kernel over
    /// groups of batch entries (each bound at an aligned offset) and tiles of C, within the
    /// device's binding and workgroup-count limits.
    pub(crate) fn gemm(
        &self,
        a: &WgpuBuffer,
        b: &WgpuBuffer,
        spec: &GemmSpec,
    ) -> Result<WgpuBuffer> {
        spec.validate()?;
        let (a_len, b_len, c_len) = spec.sizes();
        if a.len != a_len || b.len != b_len {
            return Err(BackendError::Shape(format!(
                "gemm {}×{}×{}×{}: A needs {a_len} values (has {}), B needs {b_len} (has {})",
                spec.batch, spec.m, spec.k, spec.n, a.len, b.len
            )));
        }
        let output = self.storage(c_len, "lowp gemm")?;
        if c_len == 0 {
            return Ok(output);
        }
        let (per_a, per_b, per_c) = matrix_values(spec);
        let per = per_a.max(per_b).max(per_c);
        if per <= self.window_values() && per <= u64::from(u32::MAX) {
            self.gemm_run(a, b, &output, spec, 0, spec.n as u32)?;
        } else {
            self.gemm_in_pieces(a, b, &output, spec, self.window_values())?;
        }
        Ok(output)
    }

    /// A product whose matrices exceed one binding, in pieces of `rows × columns` of C with
    /// every k: the rows of A and columns of B of each piece are copied out, multiplied with the
    /// random words of their place in the whole C, and the piece is written back.
    fn gemm_in_pieces(
        &self,
        a: &WgpuBuffer,
        b: &WgpuBuffer,
        output: &WgpuBuffer,
        spec: &GemmSpec,
        window: u64,
    ) -> Result<()> {
        let (m, k, n) = (spec.m as u64, spec.k as u64, spec.n as u64);
        if k > window || n > u64::from(u32::MAX) {
            return Err(BackendError::Shape(format!(
                "gemm {}×{}×{}×{}: a row of A or column of B ({k} values) exceeds one storage \
                 binding ({window} values) on the wgpu backend",
                spec.batch, spec.m, spec.k, spec.n
            )));
        }
        let columns = n.min(window / k);
        let rows = m
            .min(window / k)
            .min(window / columns)
            .min(u64::from(u32::MAX) / n);
        for batch in 0..spec.batch {
            for row in (0..spec.m).step_by(rows as usize) {
                for column in (0..spec.n).step_by(columns as usize) {
                    let piece_rows = (rows as usize).min(spec.m - row);
                    let piece_columns = (columns as usize).min(spec.n - column);
                    let a_piece = if spec.transpose_a {
                        let ranges = [(batch, 1), (0, spec.k), (row, piece_rows)];
                        self.take_block(a, &[spec.batch, spec.k, spec.m], &ranges)?
                    } else {
                        let ranges = [(batch, 1), (row, piece_rows), (0, spec.k)];
                        self.take_block(a, &[spec.batch, spec.m, spec.k], &ranges)?
                    };
                    let b_piece = if spec.transpose_b {
                        let ranges = [(batch, 1), (column, piece_columns), (0, spec.k)];
                        self.take_block(b, &[spec.batch, spec.n, spec.k], &ranges)?
                    } else {
                        let ranges = [(batch, 1), (0, spec.k), (column, piece_columns)];
                        self.take_block(b, &[spec.batch, spec.k, spec.n], &ranges)?
                    };
                    let c_piece = self.storage(piece_rows * piece_columns, "lowp gemm piece")?;
                    let piece = GemmSpec {
                        batch: 1,
                        m: piece_rows,
                        n: piece_columns,
                        ..*spec
                    };
                    let first_output = (batch as u64 * m + row as u64) * n + column as u64;
                    self.gemm_run(&a_piece, &b_piece, &c_piece, &piece, first_output, n as u32)?;
                    self.put_block(
                        &c_piece,
                        output,
                        &[spec.batch, spec.m, spec.n],
                        &[batch, row, column],
                        &[1, piece_rows, piece_columns],
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Runs the kernel over groups of batch entries (each bound at an aligned offset) and tiles
    /// of C; every matrix must fit one binding. `first_output` is the flat index of C's first
    /// element in the whole product and `o_row` the distance between its rows there.
    fn gemm_run(
        &self,
        a: &WgpuBuffer,
        b: &WgpuBuffer,
        output: &WgpuBuffer,
        spec: &GemmSpec,
        first_output: u64,
        o_row: u32,
    ) -> Result<()> {
        let (per_a, per_b, per_c) = matrix_values(spec);
        let binding = self.chunk_values;
        let alignment = self.alignment_values();
        let per = per_a.max(per_b).max(per_c);
        let max_groups = u64::from(self.max_workgroups);
        let group = ((binding - alignment) / per)
            .min(max_groups)
            .min(spec.batch as u64)
            .max(1);
        let params = GemmParams::new(spec)?;
        let kernel = self.gemm_kernel()?;
        let row_tiles = (spec.m as u64).div_ceil(u64::from(TILE));
        let col_tiles = (spec.n as u64).div_ceil(u64::from(TILE));
        // (start aligned down, offset of the first entry, values bound) of a batch group.
        let bound = |per: u64, b0: u64, count: u64| {
            let start = b0 * per;
            let aligned = start / alignment * alignment;
            (
                aligned,
                start - aligned,
                (start - aligned + count * per).max(1),
            )
        };
        self.run_pass("lowp gemm", &kernel.pipeline, |pass| {
            let batch = spec.batch as u64;
            let mut b0 = 0u64;
            while b0 < batch {
                let count = group.min(batch - b0);
                let (a_start, a_base, a_count) = bound(per_a, b0, count);
                let (b_start, b_base, b_count) = bound(per_b, b0, count);
                let (c_start, c_base, c_count) = bound(per_c, b0, count);
                let group_output = first_output + b0 * spec.m as u64 * u64::from(o_row);
                for row0 in (0..row_tiles).step_by(max_groups as usize) {
                    for col0 in (0..col_tiles).step_by(max_groups as usize) {
                        let uniform = self.uniform(bytemuck::bytes_of(&GemmParams {
                            shape: GemmShapeParams {
                                a_base: a_base as u32,
                                b_base: b_base as u32,
                                c_base: c_base as u32,
                                row_tile0: row0 as u32,
                                col_tile0: col0 as u32,
                                o_lo: group_output as u32,
                                o_hi: (group_output >> 32) as u32,
                                o_row,
                                ..params.shape
                            },
                            ..params
                        }));
                        let bind_group =
                            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                                label: Some("gemm"),
                                layout: &kernel.layout,
                                entries: &[
                                    whole(0, &uniform),
                                    range(1, &a.buffer, a_start, a_count),
                                    range(2, &b.buffer, b_start, b_count),
                                    range(3, &output.buffer, c_start, c_count),
                                ],
                            });
                        pass.set_bind_group(0, &bind_group, &[]);
                        pass.dispatch_workgroups(
                            (col_tiles - col0).min(max_groups) as u32,
                            (row_tiles - row0).min(max_groups) as u32,
                            count as u32,
                        );
                    }
                }
                b0 += count;
            }
        })
    }
}
