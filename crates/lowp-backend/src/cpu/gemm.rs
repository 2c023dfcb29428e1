//! Quantized GEMM on the CPU: the reference loops of lowp-formats and the fast path.

use super::CpuBackend;
use crate::Result;
use lowp_formats::GemmSpec;

/// `C = A · B` as `spec` describes.
pub(crate) fn qgemm(
    _backend: &CpuBackend,
    a: &[f32],
    b: &[f32],
    spec: &GemmSpec,
) -> Result<Vec<f32>> {
    Ok(lowp_formats::gemm::reference(a, b, spec)?)
}
