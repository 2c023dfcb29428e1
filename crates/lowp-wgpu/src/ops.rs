//! Element-wise operations, select and reductions on the device (`shaders/math.wgsl`,
//! `shaders/ops.wgsl`, `shaders/reduce.wgsl`).
//!
//! Every output element is computed by the WGSL port of the scalar semantics of lowp-formats
//! ([`UnaryOp::apply`], [`BinaryOp::apply`], [`ReduceOp::reduce_lane`], with lowp's portable
//! `math.rs` routines ported line for line), so results equal the CPU backend bit for bit. The
//! output quantizer of unary and binary runs in the same pass with element `i` drawing word `i`
//! (as [`Backend::quantize`]); block formats are computed first and then quantized by the block
//! pipelines of `quantize`. Reductions take one invocation per output element, `k` ascending; a
//! tensor larger than one storage binding is reduced in pieces of rows, columns and steps, later
//! step pieces continuing the partial results of earlier ones (`reduce_pieces`).
//!
//! Two driver hazards are handled in the shaders: every binary32 `+ - *` of the routines passes
//! through an XOR with a run-time zero (no FMA contraction or re-association can see through
//! it), and the additions and products that the operations themselves return (Add, Sub, Mul,
//! the sums of reductions) fall back to the integer-only fma whenever an operand or the result
//! is zero, subnormal, infinite or NaN, so GPUs that flush subnormals still give the CPU's bits.

use crate::params::{DispatchParams, OpsParams, ReduceParams, binary_code, unary_code};
use crate::{
    ModuleSpec, WgpuBackend, WgpuBuffer, range, shaders, storage_entry, uniform_entry, whole,
};
use lowp_backend::{Backend, BackendError, Result, layout};
use lowp_formats::{BinaryOp, Format, Quantizer, ReduceOp, UnaryOp};
use std::sync::Arc;

/// `shaders/math.wgsl`: the portable binary32 routines and the scalar helpers of ops.rs.
pub const MATH: &str = include_str!("../../../shaders/math.wgsl");
/// `shaders/ops.wgsl`: unary, binary and select.
pub const OPS: &str = include_str!("../../../shaders/ops.wgsl");
/// `shaders/reduce.wgsl`: reductions.
pub const REDUCE: &str = include_str!("../../../shaders/reduce.wgsl");

/// The module source of `family` (`OPS`, `REDUCE` or gemm.wgsl): common.wgsl, math.wgsl, then the
/// file.
pub fn module_source(family: &str) -> String {
    let mut source = String::with_capacity(shaders::COMMON.len() + MATH.len() + family.len() + 64);
    source.push_str(shaders::COMMON);
    source.push_str("\n// ---- math.wgsl ----\n\n");
    source.push_str(MATH);
    source.push_str("\n// ---- op family ----\n\n");
    source.push_str(family);
    source
}

/// The compiled pipelines of one device.
#[derive(Debug)]
pub(crate) struct Kernels {
    /// ops.wgsl: 0 uniform, 1 a, 2 b, 3 c (read), 4 result (read_write).
    ops_layout: wgpu::BindGroupLayout,
    unary: wgpu::ComputePipeline,
    binary: wgpu::ComputePipeline,
    select: wgpu::ComputePipeline,
    /// reduce.wgsl: 0 uniform, 1 source (read), 2 result (read_write).
    reduce_layout: wgpu::BindGroupLayout,
    reduce: wgpu::ComputePipeline,
}

fn compile(device: &wgpu::Device) -> Result<Kernels> {
    let (ops_layout, [unary, binary, select]) = ModuleSpec {
        name: "ops.wgsl",
        source: module_source(OPS),
        entries: &[
            uniform_entry(0),
            storage_entry(1, true),
            storage_entry(2, true),
            storage_entry(3, true),
            storage_entry(4, false),
        ],
        entry_points: ["unary", "binary", "select_values"],
    }
    .compile_now(device)?;
    let (reduce_layout, [reduce]) = ModuleSpec {
        name: "reduce.wgsl",
        source: module_source(REDUCE),
        entries: &[
            uniform_entry(0),
            storage_entry(1, true),
            storage_entry(2, false),
        ],
        entry_points: ["reduce"],
    }
    .compile_now(device)?;
    Ok(Kernels {
        ops_layout,
        unary,
        binary,
        select,
        reduce_layout,
        reduce,
    })
}

/// Checks that buffer `name` holds a tensor of `shape`.
fn check_len(name: &str, buffer: &WgpuBuffer, shape: &[usize]) -> Result<()> {
    layout::check_operand(name, buffer.len, shape)
}

/// Which entry point of ops.wgsl runs.
#[derive(Clone, Copy)]
enum Kind {
    Unary,
    Binary,
    Select,
}

impl WgpuBackend {
    fn ops_kernels(&self) -> Result<Arc<Kernels>> {
        crate::get_or_compile(&self.lazy.ops, || compile(&self.device))
    }

    /// Runs an ops.wgsl entry point over `len` elements, `inputs` bound to a, b, c, writing a
    /// new buffer; an element-wise quantizer is applied in the same pass, a block quantizer
    /// afterwards (over `shape`).
    fn run_elementwise(
        &self,
        kind: Kind,
        op: u32,
        inputs: [&WgpuBuffer; 3],
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<WgpuBuffer> {
        let len = inputs[0].len;
        let output = self.storage(len, "lowp op result")?;
        if len == 0 {
            return Ok(output);
        }
        let kernels = self.ops_kernels()?;
        let block = quantizer.is_some_and(|q| matches!(q.format(), Format::Block(_)));
        let (pipeline, label) = match kind {
            Kind::Unary => (&kernels.unary, "lowp unary"),
            Kind::Binary => (&kernels.binary, "lowp binary"),
            Kind::Select => (&kernels.select, "lowp select"),
        };
        self.run_pass(label, pipeline, |pass| {
            for (start, count) in self.chunks(len) {
                let (dispatch, (x, y)) = self.dispatch_params(start, count);
                let uniform =
                    self.uniform(bytemuck::bytes_of(&OpsParams::new(dispatch, op, quantizer)));
                let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(label),
                    layout: &kernels.ops_layout,
                    entries: &[
                        whole(0, &uniform),
                        range(1, &inputs[0].buffer, start, count),
                        range(2, &inputs[1].buffer, start, count),
                        range(3, &inputs[2].buffer, start, count),
                        range(4, &output.buffer, start, count),
                    ],
                });
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        })?;
        match quantizer {
            Some(q) if block => self.quantize(&output, shape, q),
            _ => Ok(output),
        }
    }

    pub(crate) fn ops_unary(
        &self,
        op: UnaryOp,
        x: &WgpuBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<WgpuBuffer> {
        check_len("x", x, shape)?;
        self.run_elementwise(Kind::Unary, unary_code(op), [x, x, x], shape, quantizer)
    }

    pub(crate) fn ops_binary(
        &self,
        op: BinaryOp,
        x: &WgpuBuffer,
        y: &WgpuBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<WgpuBuffer> {
        check_len("x", x, shape)?;
        check_len("y", y, shape)?;
        self.run_elementwise(Kind::Binary, binary_code(op), [x, x, y], shape, quantizer)
    }

    pub(crate) fn ops_select(
        &self,
        condition: &WgpuBuffer,
        x: &WgpuBuffer,
        y: &WgpuBuffer,
    ) -> Result<WgpuBuffer> {
        if condition.len != x.len || x.len != y.len {
            return Err(BackendError::Shape(format!(
                "select needs buffers of one length: condition has {}, x has {}, y has {}",
                condition.len, x.len, y.len
            )));
        }
        self.run_elementwise(Kind::Select, 0, [condition, x, y], &[x.len], None)
    }

    pub(crate) fn ops_reduce(
        &self,
        op: ReduceOp,
        x: &WgpuBuffer,
        shape: &[usize],
        axis: usize,
        quantizer: Option<&Quantizer>,
    ) -> Result<WgpuBuffer> {
        let (outer, len, inner) = layout::reduce(x.len, shape, axis, quantizer)?;
        let outputs = outer * inner;
        if len > u32::MAX as usize {
            return Err(BackendError::Shape(format!(
                "reduce: axis {axis} of shape {shape:?} is longer than 2^32 - 1 on the wgpu backend"
            )));
        }
        let output = self.storage(outputs, "lowp reduction")?;
        if outputs == 0 {
            return Ok(output);
        }
        let kernels = self.ops_kernels()?;
        let alignment = self.alignment_values();
        let pieces = reduce_pieces((outer, len, inner), self.window_values());
        self.run_pass("lowp reduce", &kernels.reduce, |pass| {
            for piece in &pieces {
                // The window of the source the piece reads, its start aligned down.
                let window_start = piece.source_lo / alignment * alignment;
                let window_len = (piece.source_hi + 1 - window_start).max(1);
                for (start, count) in self.chunks(piece.outputs as usize) {
                    let first = piece.first_output + start;
                    let (dispatch, (gx, gy)): (DispatchParams, _) =
                        self.dispatch_params(first, count);
                    let result_start = first / alignment * alignment;
                    let uniform = self.uniform(bytemuck::bytes_of(&ReduceParams {
                        columns: piece.columns as u32,
                        source_base: (piece.source_lo - window_start) as u32,
                        first_step: piece.first_step as u32,
                        steps: piece.steps as u32,
                        local_base: start as u32,
                        result_base: (first - result_start) as u32,
                        ..ReduceParams::new(dispatch, op, len, inner, quantizer)
                    }));
                    let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("reduce"),
                        layout: &kernels.reduce_layout,
                        entries: &[
                            whole(0, &uniform),
                            range(1, &x.buffer, window_start, window_len),
                            range(
                                2,
                                &output.buffer,
                                result_start,
                                first - result_start + count,
                            ),
                        ],
                    });
                    pass.set_bind_group(0, &bind_group, &[]);
                    pass.dispatch_workgroups(gx, gy, 1);
                }
            }
        })?;
        Ok(output)
    }
}

/// A piece of a reduction of `[outer, len, inner]` (one dispatch group): `columns` consecutive
/// outputs of each of `outputs / columns` consecutive rows, starting at output `first_output`,
/// over steps `first_step .. first_step + steps`, reading source values `source_lo ..=
/// source_hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReducePiece {
    first_output: u64,
    outputs: u64,
    columns: u64,
    first_step: u64,
    steps: u64,
    source_lo: u64,
    source_hi: u64,
}

/// The pieces of a reduction of `[outer, len, inner]` whose source spans hold at most `window`
/// values each: the whole tensor when it fits; else blocks of whole rows; else, per row, blocks
/// of columns and of steps (later step blocks continue the partial results of earlier ones).
/// The outputs of each piece are consecutive.
fn reduce_pieces((outer, len, inner): (usize, usize, usize), window: u64) -> Vec<ReducePiece> {
    let (outer, len, inner) = (outer as u64, len as u64, inner as u64);
    let row = len * inner;
    let piece = |first_row: u64, rows: u64, first_column: u64, columns: u64, first_step, steps| {
        let source_lo = first_row * row + first_step * inner + first_column;
        ReducePiece {
            first_output: first_row * inner + first_column,
            outputs: rows * columns,
            columns,
            first_step,
            steps,
            source_lo,
            // A piece of no steps (an empty axis) reads nothing.
            source_hi: match steps {
                0 => source_lo,
                _ => source_lo + (rows - 1) * row + (steps - 1) * inner + columns - 1,
            },
        }
    };
    if outer * inner == 0 {
        return Vec::new();
    }
    if row * outer <= window {
        return vec![piece(0, outer, 0, inner, 0, len)];
    }
    let mut pieces = Vec::new();
    if row <= window {
        let rows = window / row;
        for first_row in (0..outer).step_by(rows as usize) {
            pieces.push(piece(
                first_row,
                rows.min(outer - first_row),
                0,
                inner,
                0,
                len,
            ));
        }
        return pieces;
    }
    let columns = inner.min(window);
    let steps = ((window - columns) / inner + 1).min(len);
    for first_row in 0..outer {
        for first_column in (0..inner).step_by(columns as usize) {
            for first_step in (0..len).step_by(steps as usize) {
                pieces.push(piece(
                    first_row,
                    1,
                    first_column,
                    columns.min(inner - first_column),
                    first_step,
                    steps.min(len - first_step),
                ));
            }
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use naga::valid::{Capabilities, ValidationFlags, Validator};

    fn parse_and_validate(name: &str, family: &str) -> naga::Module {
        let source = module_source(family);
        let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|error| {
            panic!(
                "{name} does not parse:\n{}",
                error.emit_to_string_with_path(&source, name)
            )
        });
        // No optional capability (no f16, no u64): every WebGPU adapter runs these.
        Validator::new(ValidationFlags::all(), Capabilities::empty())
            .validate(&module)
            .unwrap_or_else(|error| {
                panic!(
                    "{name} does not validate:\n{}",
                    error.emit_to_string_with_path(&source, name)
                )
            });
        module
    }

    fn struct_size(module: &naga::Module, name: &str) -> usize {
        module
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(n), naga::TypeInner::Struct { span, .. }) if n == name => {
                    Some(*span as usize)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("struct {name} not found"))
    }

    #[test]
    fn ops_and_reduce_modules_validate_and_match_their_rust_mirrors() {
        let ops = parse_and_validate("ops.wgsl", OPS);
        let reduce = parse_and_validate("reduce.wgsl", REDUCE);
        let names = |module: &naga::Module| -> Vec<String> {
            module
                .entry_points
                .iter()
                .map(|entry| entry.name.clone())
                .collect()
        };
        assert_eq!(names(&ops), ["unary", "binary", "select_values"]);
        assert_eq!(names(&reduce), ["reduce"]);
        assert_eq!(struct_size(&ops, "OpsParams"), size_of::<OpsParams>());
        assert_eq!(
            struct_size(&reduce, "ReduceParams"),
            size_of::<ReduceParams>()
        );
        for module in [&ops, &reduce] {
            for entry in &module.entry_points {
                assert_eq!(entry.workgroup_size, [256, 1, 1], "{}", entry.name);
            }
        }
    }

    #[test]
    fn op_codes_follow_the_shader_constants() {
        assert!(OPS.contains("const OP_ERF: u32 = 6u;"));
        assert!(OPS.contains("const OP_EQUAL: u32 = 11u;"));
    }

    #[test]
    fn reduce_pieces_cover_every_step_once_in_order_within_the_window() {
        for (outer, len, inner) in [(3, 5, 7), (1, 40, 1), (4, 1, 30), (2, 9, 100), (0, 3, 2)] {
            for window in [1u64, 5, 16, 60, 1 << 20] {
                let pieces = reduce_pieces((outer, len, inner), window);
                let mut next_step = vec![0u64; outer * inner];
                for piece in &pieces {
                    assert!(
                        piece.source_hi - piece.source_lo < window.max(1),
                        "{piece:?}"
                    );
                    assert!(
                        piece.source_hi < (outer * len * inner).max(1) as u64,
                        "{piece:?}"
                    );
                    for t in 0..piece.outputs {
                        let o = (piece.first_output
                            + (t / piece.columns) * inner as u64
                            + t % piece.columns) as usize;
                        assert_eq!(next_step[o], piece.first_step, "{piece:?} output {o}");
                        next_step[o] += piece.steps;
                    }
                }
                assert!(next_step.iter().all(|&steps| steps == len as u64));
            }
        }
    }
}
