//! Element-wise operations, select and reductions on the device (`kernels/math.cuh`,
//! `kernels/ops.cu`, `kernels/reduce.cu`).
//!
//! Every output element is computed by the CUDA port of the scalar semantics of lowp-formats
//! ([`UnaryOp::apply`], [`BinaryOp::apply`], [`ReduceOp::reduce_lane`], with lowp's portable
//! `math.rs` routines ported line for line), so results equal the CPU backend bit for bit. The
//! output quantizer of unary and binary runs in the same pass with element `i` drawing word `i`
//! (as [`Backend::quantize`]); block formats are computed first and then quantized by the block
//! kernels of `quantize`. Reductions take one thread per output element, `k` ascending.

use crate::device::{ByValue, CudaBackend, CudaBuffer, device_error};
use crate::kernels::Family;
use crate::params::{OpsParams, ReduceParams, binary_code, unary_code};
use cudarc::driver::PushKernelArg;
use lowp_backend::{Backend, BackendError, Result, layout};
use lowp_formats::{BinaryOp, Format, Quantizer, ReduceOp, UnaryOp};

/// Checks that buffer `name` holds a tensor of `shape`.
fn check_len(name: &str, buffer: &CudaBuffer, shape: &[usize]) -> Result<()> {
    layout::check_operand(name, buffer.len, shape)
}

/// The parameters of one launch of an ops.cu kernel over the chunk `(start, count)`: operation
/// code `op` ([`unary_code`], [`binary_code`], 0 for select) and the output quantizer (`None`, or
/// a block format, which the kernels leave to the block kernels).
pub fn ops_params(op: u32, quantizer: Option<&Quantizer>, start: u64, count: u64) -> OpsParams {
    OpsParams::new(CudaBackend::dispatch(start, count), op, quantizer)
}

/// The parameters of one launch of the reduce kernel over the output chunk `(start, count)`:
/// `len` steps along the reduced axis, `inner` elements after it, per-step quantizer (element-wise
/// formats only). The whole input is one piece (reduce.wgsl's pieces exist for WebGPU's binding
/// limit; CUDA reads the input through one pointer).
pub fn reduce_params(
    op: ReduceOp,
    len: usize,
    inner: usize,
    quantizer: Option<&Quantizer>,
    start: u64,
    count: u64,
) -> ReduceParams {
    ReduceParams {
        local_base: start as u32,
        ..ReduceParams::new(
            CudaBackend::dispatch(start, count),
            op,
            len,
            inner,
            quantizer,
        )
    }
}

impl CudaBackend {
    /// Runs the ops.cu kernel `kernel` over `len` elements with `inputs` as a, b, c, writing a
    /// new buffer; an element-wise quantizer is applied in the same pass, a block quantizer
    /// afterwards (over `shape`).
    fn run_elementwise(
        &self,
        kernel: &str,
        op: u32,
        inputs: [&CudaBuffer; 3],
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<CudaBuffer> {
        let len = inputs[0].len;
        let mut output = self.storage_uninit(len)?;
        if len == 0 {
            return Ok(output);
        }
        let module = self.module(Family::Ops)?;
        let function = module.function(kernel)?;
        let block = quantizer.is_some_and(|q| matches!(q.format(), Format::Block(_)));
        for (start, count) in Self::chunks(len) {
            let params = ops_params(op, quantizer, start, count);
            let a = inputs[0].view(start, count);
            let b = inputs[1].view(start, count);
            let c = inputs[2].view(start, count);
            let mut result = output.view_mut(start, count);
            // SAFETY: reads `count` values of a, b, c; writes `count` values of result.
            unsafe {
                self.stream()
                    .launch_builder(function)
                    .arg(&ByValue(params))
                    .arg(&a)
                    .arg(&b)
                    .arg(&c)
                    .arg(&mut result)
                    .launch(Self::elementwise_config(count))
            }
            .map_err(device_error)?;
        }
        match quantizer {
            Some(q) if block => self.quantize(&output, shape, q),
            _ => Ok(output),
        }
    }

    pub(crate) fn ops_unary(
        &self,
        op: UnaryOp,
        x: &CudaBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<CudaBuffer> {
        check_len("x", x, shape)?;
        self.run_elementwise("unary", unary_code(op), [x, x, x], shape, quantizer)
    }

    pub(crate) fn ops_binary(
        &self,
        op: BinaryOp,
        x: &CudaBuffer,
        y: &CudaBuffer,
        shape: &[usize],
        quantizer: Option<&Quantizer>,
    ) -> Result<CudaBuffer> {
        check_len("x", x, shape)?;
        check_len("y", y, shape)?;
        self.run_elementwise("binary", binary_code(op), [x, x, y], shape, quantizer)
    }

    pub(crate) fn ops_select(
        &self,
        condition: &CudaBuffer,
        x: &CudaBuffer,
        y: &CudaBuffer,
    ) -> Result<CudaBuffer> {
        if condition.len != x.len || x.len != y.len {
            return Err(BackendError::Shape(format!(
                "select needs buffers of one length: condition has {}, x has {}, y has {}",
                condition.len, x.len, y.len
            )));
        }
        self.run_elementwise("select_values", 0, [condition, x, y], &[x.len], None)
    }

    pub(crate) fn ops_reduce(
        &self,
        op: ReduceOp,
        x: &CudaBuffer,
        shape: &[usize],
        axis: usize,
        quantizer: Option<&Quantizer>,
    ) -> Result<CudaBuffer> {
        let (outer, len, inner) = layout::reduce(x.len, shape, axis, quantizer)?;
        let outputs = outer * inner;
        if x.len >= u32::MAX as usize {
            return Err(BackendError::Shape(format!(
                "reduce: {} input values exceed the CUDA backend's 32-bit reduction indices",
                x.len
            )));
        }
        let mut output = self.storage_uninit(outputs)?;
        if outputs == 0 {
            return Ok(output);
        }
        let module = self.module(Family::Reduce)?;
        let function = module.function("reduce")?;
        let source = x.view(0, x.len as u64);
        for (start, count) in Self::chunks(outputs) {
            let params = reduce_params(op, len, inner, quantizer, start, count);
            let mut result = output.view_mut(start, count);
            // SAFETY: reads the whole input; writes `count` outputs.
            unsafe {
                self.stream()
                    .launch_builder(function)
                    .arg(&ByValue(params))
                    .arg(&source)
                    .arg(&mut result)
                    .launch(Self::elementwise_config(count))
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
    fn op_codes_follow_the_kernel_constants() {
        let ops = Family::Ops.source();
        assert!(ops.contains("constexpr u32 OP_ERF = 6u;"));
        assert!(ops.contains("constexpr u32 OP_EQUAL = 11u;"));
        assert!(
            Family::Reduce
                .source()
                .contains("constexpr u32 REDUCE_MAX = 2u;")
        );
    }
}
