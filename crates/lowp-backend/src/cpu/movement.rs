//! Data movement on the CPU: permute, expand, slice, concat, gather/scatter, im2col/col2im.

use crate::{ConvGeometry, Result, SliceRange};

pub(crate) fn permute(_x: &[f32], _shape: &[usize], _axes: &[usize]) -> Result<Vec<f32>> {
    todo!()
}
pub(crate) fn expand(_x: &[f32], _shape: &[usize], _target: &[usize]) -> Result<Vec<f32>> {
    todo!()
}
pub(crate) fn slice(_x: &[f32], _shape: &[usize], _ranges: &[SliceRange]) -> Result<Vec<f32>> {
    todo!()
}
pub(crate) fn concat(_parts: &[(&[f32], &[usize])], _axis: usize) -> Result<Vec<f32>> {
    todo!()
}
pub(crate) fn gather(
    _x: &[f32],
    _shape: &[usize],
    _axis: usize,
    _indices: &[u32],
) -> Result<Vec<f32>> {
    todo!()
}
pub(crate) fn scatter_add(
    _src: &[f32],
    _shape: &[usize],
    _axis: usize,
    _indices: &[u32],
    _extent: usize,
) -> Result<Vec<f32>> {
    todo!()
}
pub(crate) fn im2col(_x: &[f32], _geometry: &ConvGeometry) -> Result<Vec<f32>> {
    todo!()
}
pub(crate) fn col2im(_columns: &[f32], _geometry: &ConvGeometry) -> Result<Vec<f32>> {
    todo!()
}
