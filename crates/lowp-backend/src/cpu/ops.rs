//! Element-wise operations, select and reductions on the CPU.
//!
//! Every output element is computed by the scalar semantics of lowp-formats
//! ([`UnaryOp::apply`], [`BinaryOp::apply`], [`ReduceOp::reduce_lane`]); the work is split into
//! chunks of output elements spread over the backend's threads, and no result depends on the
//! chunking or the thread count. The output quantizer runs afterwards through exactly the code
//! path of [`Backend::quantize`] (element `i` draws word `i`; block formats block along `shape`).

use super::{CpuBackend, CpuBuffer};
use crate::layout;
use crate::{Backend, BackendError, Result};
use lowp_formats::{BinaryOp, Quantizer, ReduceOp, UnaryOp};
use std::sync::Arc;

/// Output elements per task of the element-wise loops.
const CHUNK: usize = 1 << 14;

/// `out[i] = f(i)` for `i < len`, chunks of `chunk` outputs spread over the backend's threads.
fn fill<F>(backend: &CpuBackend, len: usize, chunk: usize, f: F) -> Result<Vec<f32>>
where
    F: Fn(usize) -> Result<f32> + Sync,
{
    let mut out = super::new_output(len);
    let chunk = chunk.max(1);
    let body = |(index, target): (usize, &mut [f32])| -> Result<()> {
        let first = index * chunk;
        for (offset, y) in target.iter_mut().enumerate() {
            *y = f(first + offset)?;
        }
        Ok(())
    };
    #[cfg(feature = "rayon")]
    if backend.parallel() {
        use rayon::prelude::*;
        backend.run(|| out.par_chunks_mut(chunk).enumerate().try_for_each(body))?;
        return Ok(out);
    }
    let _ = backend;
    out.chunks_mut(chunk).enumerate().try_for_each(body)?;
    Ok(out)
}

/// `out[i] = f(x[i])`, chunked over threads (an infallible, vectorisable loop).
fn map1<F>(backend: &CpuBackend, x: &[f32], f: F) -> Vec<f32>
where
    F: Fn(f32) -> f32 + Sync,
{
    let mut out = super::new_output(x.len());
    let body = |(source, target): (&[f32], &mut [f32])| {
        for (y, &v) in target.iter_mut().zip(source) {
            *y = f(v);
        }
    };
    #[cfg(feature = "rayon")]
    if backend.parallel() {
        use rayon::prelude::*;
        backend.run(|| {
            x.par_chunks(CHUNK)
                .zip(out.par_chunks_mut(CHUNK))
                .for_each(body)
        });
        return out;
    }
    let _ = backend;
    x.chunks(CHUNK).zip(out.chunks_mut(CHUNK)).for_each(body);
    out
}

/// `out[i] = f(x[i], y[i])` (same lengths), chunked over threads.
fn map2<F>(backend: &CpuBackend, x: &[f32], y: &[f32], f: F) -> Vec<f32>
where
    F: Fn(f32, f32) -> f32 + Sync,
{
    let mut out = super::new_output(x.len());
    let body = |((a, b), target): ((&[f32], &[f32]), &mut [f32])| {
        for ((t, &u), &v) in target.iter_mut().zip(a).zip(b) {
            *t = f(u, v);
        }
    };
    #[cfg(feature = "rayon")]
    if backend.parallel() {
        use rayon::prelude::*;
        backend.run(|| {
            x.par_chunks(CHUNK)
                .zip(y.par_chunks(CHUNK))
                .zip(out.par_chunks_mut(CHUNK))
                .for_each(body)
        });
        return out;
    }
    let _ = backend;
    x.chunks(CHUNK)
        .zip(y.chunks(CHUNK))
        .zip(out.chunks_mut(CHUNK))
        .for_each(body);
    out
}

/// Applies the output quantizer (if any) to `values` (a tensor of `shape`) through the same code
/// path as [`Backend::quantize`].
fn finish(
    backend: &CpuBackend,
    values: Vec<f32>,
    shape: &[usize],
    quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    match quantizer {
        None => Ok(values),
        Some(q) => {
            let quantized = backend.quantize(&CpuBuffer::from(values), shape, q)?;
            Ok(Arc::try_unwrap(quantized.data).unwrap_or_else(|shared| (*shared).clone()))
        }
    }
}

pub(crate) fn unary(
    backend: &CpuBackend,
    op: UnaryOp,
    x: &[f32],
    shape: &[usize],
    quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    layout::check_operand("x", x.len(), shape)?;
    // One monomorphised loop per operation (the match is resolved outside the loop).
    let values = match op {
        UnaryOp::Neg => map1(backend, x, |v| UnaryOp::Neg.apply(v)),
        UnaryOp::Abs => map1(backend, x, |v| UnaryOp::Abs.apply(v)),
        // The hardware square root is correctly rounded: the same bits as the portable
        // `lowp_formats::math::sqrt` (checked on all 2^32 inputs), much faster.
        UnaryOp::Sqrt => map1(backend, x, f32::sqrt),
        UnaryOp::Exp => map1(backend, x, |v| UnaryOp::Exp.apply(v)),
        UnaryOp::Log => map1(backend, x, |v| UnaryOp::Log.apply(v)),
        UnaryOp::Tanh => map1(backend, x, |v| UnaryOp::Tanh.apply(v)),
        UnaryOp::Erf => map1(backend, x, |v| UnaryOp::Erf.apply(v)),
    };
    finish(backend, values, shape, quantizer)
}

pub(crate) fn binary(
    backend: &CpuBackend,
    op: BinaryOp,
    x: &[f32],
    y: &[f32],
    shape: &[usize],
    quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    layout::check_operand("x", x.len(), shape)?;
    layout::check_operand("y", y.len(), shape)?;
    let values = match op {
        BinaryOp::Add => map2(backend, x, y, |u, v| BinaryOp::Add.apply(u, v)),
        BinaryOp::Sub => map2(backend, x, y, |u, v| BinaryOp::Sub.apply(u, v)),
        BinaryOp::Mul => map2(backend, x, y, |u, v| BinaryOp::Mul.apply(u, v)),
        // Hardware division is correctly rounded: the bits of `lowp_formats::math::div`.
        BinaryOp::Div => map2(backend, x, y, |u, v| u / v),
        BinaryOp::Pow => map2(backend, x, y, |u, v| BinaryOp::Pow.apply(u, v)),
        BinaryOp::Max => map2(backend, x, y, |u, v| BinaryOp::Max.apply(u, v)),
        BinaryOp::Min => map2(backend, x, y, |u, v| BinaryOp::Min.apply(u, v)),
        BinaryOp::Greater => map2(backend, x, y, |u, v| BinaryOp::Greater.apply(u, v)),
        BinaryOp::GreaterEqual => map2(backend, x, y, |u, v| BinaryOp::GreaterEqual.apply(u, v)),
        BinaryOp::Less => map2(backend, x, y, |u, v| BinaryOp::Less.apply(u, v)),
        BinaryOp::LessEqual => map2(backend, x, y, |u, v| BinaryOp::LessEqual.apply(u, v)),
        BinaryOp::Equal => map2(backend, x, y, |u, v| BinaryOp::Equal.apply(u, v)),
    };
    finish(backend, values, shape, quantizer)
}

/// `out[i] = if condition[i] != 0 { x[i] } else { y[i] }`: NaN conditions count as true, `+-0`
/// as false. All three buffers must have the same length. (No backend is passed here, so this
/// memory-bound loop runs on the calling thread.)
pub(crate) fn select(condition: &[f32], x: &[f32], y: &[f32]) -> Result<Vec<f32>> {
    if condition.len() != x.len() || x.len() != y.len() {
        return Err(BackendError::Shape(format!(
            "select needs buffers of one length: condition has {}, x has {}, y has {}",
            condition.len(),
            x.len(),
            y.len()
        )));
    }
    Ok(condition
        .iter()
        .zip(x)
        .zip(y)
        .map(|((&c, &a), &b)| if c != 0.0 || c.is_nan() { a } else { b })
        .collect())
}

pub(crate) fn reduce(
    backend: &CpuBackend,
    op: ReduceOp,
    x: &[f32],
    shape: &[usize],
    axis: usize,
    quantizer: Option<&Quantizer>,
) -> Result<Vec<f32>> {
    let (outer, len, inner) = layout::reduce(x.len(), shape, axis, quantizer)?;
    let outputs = outer * inner;
    // About CHUNK input elements per task.
    let chunk = CHUNK / len.max(1);
    fill(backend, outputs, chunk, |o| {
        let (i, j) = (o / inner, o % inner);
        let base = i * len * inner + j;
        Ok(op.reduce_lane(o as u64, len, |k| x[base + k * inner], quantizer)?)
    })
}
