//! Element-wise operations, select and reductions on the CPU.

use super::CpuBackend;
use crate::Result;
use lowp_formats::{BinaryOp, Quantizer, ReduceOp, UnaryOp};

pub(crate) fn unary(
    _backend: &CpuBackend,
    _op: UnaryOp,
    _x: &[f32],
    _shape: &[usize],
    _quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    todo!("element-wise ops")
}

pub(crate) fn binary(
    _backend: &CpuBackend,
    _op: BinaryOp,
    _x: &[f32],
    _y: &[f32],
    _shape: &[usize],
    _quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    todo!("element-wise ops")
}

pub(crate) fn select(_condition: &[f32], _x: &[f32], _y: &[f32]) -> Result<Vec<f32>> {
    todo!("select")
}

pub(crate) fn reduce(
    _backend: &CpuBackend,
    _op: ReduceOp,
    _x: &[f32],
    _shape: &[usize],
    _axis: usize,
    _quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    todo!("reductions")
}
