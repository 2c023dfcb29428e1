//! lowp's own portable binary32 arithmetic: fused multiply-add and the transcendentals, written
//! with integer and `+ - *` operations in a fixed order so WGSL and CUDA ports give the same bits.

/// Fused multiply-add `a * b + c` with one rounding (round to nearest even).
///
/// Interim: std's correctly rounded `mul_add`; to be replaced by the portable integer version.
#[inline(always)]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
