//! Quantized element-wise steps with per-step seeds (shared by the functional ops).

use crate::error::Result;
use crate::quant::{Cast, cast, step_quantizer};
use crate::seeds::CallSeeds;
use lowp_formats::{BinaryOp, Format, ReduceOp, Rounding, UnaryOp};
use lowp_tensor::Tensor;

/// The rounding steps of one call of an op: each step takes the seed of the next role
/// (roles are numbered 0, 1, 2, ... in the order the op's formula lists its steps, forward
/// first, then backward starting at role 128).
pub(crate) struct Steps {
    seeds: CallSeeds,
    role: u64,
}

impl Steps {
    pub(crate) fn forward(seeds: CallSeeds) -> Self {
        Self { seeds, role: 0 }
    }
    pub(crate) fn backward(seeds: CallSeeds) -> Self {
        Self { seeds, role: 128 }
    }
    /// The seed of the next step.
    pub(crate) fn next_seed(&mut self) -> u64 {
        let seed = self.seeds.seed(self.role);
        self.role += 1;
        seed
    }
    /// `Q(x)` with a signal cast (identity without one).
    pub(crate) fn cast(&mut self, c: Option<&Cast>, x: &Tensor) -> Result<Tensor> {
        let seed = self.next_seed();
        cast(c, x, seed)
    }
    /// `Q(op(x, y))` (broadcasting) with an optional format and `rounding`.
    pub(crate) fn binary(
        &mut self,
        op: BinaryOp,
        x: &Tensor,
        y: &Tensor,
        format: Option<&Format>,
        rounding: Rounding,
    ) -> Result<Tensor> {
        let q = step_quantizer(format, rounding, self.next_seed())?;
        Ok(x.binary_raw(op, y, q.as_ref())?)
    }
    /// `Q(op(x, c))` with a scalar `c`.
    pub(crate) fn scalar(
        &mut self,
        op: BinaryOp,
        x: &Tensor,
        c: f32,
        format: Option<&Format>,
        rounding: Rounding,
    ) -> Result<Tensor> {
        let c = Tensor::scalar(c, x.device())?;
        self.binary(op, x, &c, format, rounding)
    }
    /// `Q(op(x))`.
    pub(crate) fn unary(
        &mut self,
        op: UnaryOp,
        x: &Tensor,
        format: Option<&Format>,
        rounding: Rounding,
    ) -> Result<Tensor> {
        let q = step_quantizer(format, rounding, self.next_seed())?;
        Ok(x.unary_raw(op, q.as_ref())?)
    }
    /// Sequential sum along `axis` (kept as size 1), each partial sum quantized.
    pub(crate) fn sum(
        &mut self,
        x: &Tensor,
        axis: usize,
        format: Option<&Format>,
        rounding: Rounding,
    ) -> Result<Tensor> {
        let q = step_quantizer(format, rounding, self.next_seed())?;
        Ok(x.reduce_raw(ReduceOp::Sum, axis, true, q.as_ref())?)
    }
    /// `Q(op(x, y))` with a signal cast as the quantizer (identity without one).
    pub(crate) fn binary_cast(
        &mut self,
        op: BinaryOp,
        x: &Tensor,
        y: &Tensor,
        c: Option<&Cast>,
    ) -> Result<Tensor> {
        let seed = self.next_seed();
        let q = c.map(|c| c.quantizer(seed)).transpose()?;
        Ok(x.binary_raw(op, y, q.as_ref())?)
    }
    /// `Q(op(x, c))` with a scalar and a signal cast.
    pub(crate) fn scalar_cast(
        &mut self,
        op: BinaryOp,
        x: &Tensor,
        c: f32,
        q: Option<&Cast>,
    ) -> Result<Tensor> {
        let c = Tensor::scalar(c, x.device())?;
        self.binary_cast(op, x, &c, q)
    }
    /// `Q(op(x))` with a signal cast.
    pub(crate) fn unary_cast(
        &mut self,
        op: UnaryOp,
        x: &Tensor,
        c: Option<&Cast>,
    ) -> Result<Tensor> {
        let seed = self.next_seed();
        let q = c.map(|c| c.quantizer(seed)).transpose()?;
        Ok(x.unary_raw(op, q.as_ref())?)
    }
    /// Sequential sum along `axis` (kept as size 1), each partial sum quantized by a signal
    /// cast (plain binary32 without one).
    pub(crate) fn sum_cast(&mut self, x: &Tensor, axis: usize, c: Option<&Cast>) -> Result<Tensor> {
        let seed = self.next_seed();
        let q = c.map(|c| c.quantizer(seed)).transpose()?;
        Ok(x.reduce_raw(ReduceOp::Sum, axis, true, q.as_ref())?)
    }
}
