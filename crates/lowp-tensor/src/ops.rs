//! Unquantized binary32 operations with their derivatives: element-wise (broadcasting),
//! reductions and matrix products. Each is one backend kernel per step (so CPU and WGSL give
//! the same bits); the backward formulas are the textbook ones, computed in binary32.
//! Quantized variants with their own backward live in lowp-nn.

use crate::device::Kernel;
use crate::error::{Result, TensorError};
use crate::shape::{axis_index, broadcast_shape};
use crate::tensor::Tensor;
use lowp_formats::{BinaryOp, Format, GemmSpec, Quantizer, ReduceOp, UnaryOp};

/// The binary32 identity format (`fp32`): quantizing to it never changes a value.
pub fn fp32() -> Format {
    Format::preset("fp32").expect("fp32 is a preset")
}

impl Tensor {
    // ----- raw (untracked) kernels ------------------------------------------------------

    /// `Q(x)` for the whole tensor (untracked: no gradient flows through it; lowp-nn's
    /// quantizers add the straight-through backward). Element `i` draws Philox word `i` of the
    /// quantizer's seed; block formats block along this tensor's shape.
    pub fn quantize(&self, quantizer: &Quantizer) -> Result<Tensor> {
        let shape = self.shape().to_vec();
        self.run_kernel(
            &Kernel::Quantize {
                shape: &shape,
                quantizer,
            },
            &[],
            &shape,
        )
    }

    /// `Q(op(x))`, untracked.
    pub fn unary_raw(&self, op: UnaryOp, quantizer: Option<&Quantizer>) -> Result<Tensor> {
        let shape = self.shape().to_vec();
        self.run_kernel(
            &Kernel::Unary {
                op,
                shape: &shape,
                quantizer,
            },
            &[],
            &shape,
        )
    }

    /// `Q(op(x, y))` after broadcasting both to their common shape, untracked.
    pub fn binary_raw(
        &self,
        op: BinaryOp,
        other: &Tensor,
        quantizer: Option<&Quantizer>,
    ) -> Result<Tensor> {
        let shape = broadcast_shape(binary_name(op), self.shape(), other.shape())?;
        let x = self.expand_raw(&shape)?;
        let y = other.expand_raw(&shape)?;
        x.run_kernel(
            &Kernel::Binary {
                op,
                shape: &shape,
                quantizer,
            },
            &[&y],
            &shape,
        )
    }

    /// Broadcasts to `target`, untracked (no copy when the shape already matches).
    pub fn expand_raw(&self, target: &[usize]) -> Result<Tensor> {
        if self.shape() == target {
            return Ok(self.detach());
        }
        let shape = self.shape().to_vec();
        self.run_kernel(
            &Kernel::Expand {
                shape: &shape,
                target,
            },
            &[],
            target,
        )
    }

    /// Reduces `axis` with per-step quantization (untracked); `keepdim` keeps it as size 1.
    pub fn reduce_raw(
        &self,
        op: ReduceOp,
        axis: usize,
        keepdim: bool,
        quantizer: Option<&Quantizer>,
    ) -> Result<Tensor> {
        let shape = self.shape().to_vec();
        if axis >= shape.len() {
            return Err(TensorError::shape(
                "reduce",
                format!("axis {axis} out of range for shape {shape:?}"),
            ));
        }
        let mut out = shape.clone();
        if keepdim {
            out[axis] = 1;
        } else {
            out.remove(axis);
        }
        self.run_kernel(
            &Kernel::Reduce {
                op,
                shape: &shape,
                axis,
                quantizer,
            },
            &[],
            &out,
        )
    }

    /// The quantized GEMM of SEMANTICS.md §9, untracked: `self` is `[M, K]` or `[B, M, K]`
    /// (`[K, M]` / `[B, K, M]` when `transpose_a`), `other` is `[K, N]` or `[B, K, N]`
    /// (`[N, K]` / `[B, N, K]` when `transpose_b`); a 2-D operand is shared by every batch
    /// entry only if both are 2-D. `template` gives the formats, rounding, bits, FMA,
    /// accumulation and seed; its sizes and transposes are filled in here. Output `[M, N]` or
    /// `[B, M, N]`.
    pub fn qgemm(
        &self,
        other: &Tensor,
        transpose_a: bool,
        transpose_b: bool,
        template: &GemmSpec,
    ) -> Result<Tensor> {
        let (a, b) = (self.shape(), other.shape());
        let shapes_error = || {
            TensorError::shape(
                "gemm",
                format!(
                    "cannot multiply {a:?}{} by {b:?}{}",
                    if transpose_a { "ᵀ" } else { "" },
                    if transpose_b { "ᵀ" } else { "" }
                ),
            )
        };
        let (batch, a2, b2) = match (a.len(), b.len()) {
            (2, 2) => (None, [a[0], a[1]], [b[0], b[1]]),
            (3, 3) if a[0] == b[0] => (Some(a[0]), [a[1], a[2]], [b[1], b[2]]),
            _ => return Err(shapes_error()),
        };
        let (m, k) = if transpose_a {
            (a2[1], a2[0])
        } else {
            (a2[0], a2[1])
        };
        let (k2, n) = if transpose_b {
            (b2[1], b2[0])
        } else {
            (b2[0], b2[1])
        };
        if k != k2 {
            return Err(shapes_error());
        }
        let mut spec = *template;
        spec.batch = batch.unwrap_or(1);
        (spec.m, spec.k, spec.n) = (m, k, n);
        spec.transpose_a = transpose_a;
        spec.transpose_b = transpose_b;
        let out: Vec<usize> = match batch {
            Some(batch) => vec![batch, m, n],
            None => vec![m, n],
        };
        self.run_kernel(&Kernel::Qgemm(&spec), &[other], &out)
    }

    // ----- element-wise with gradients --------------------------------------------------

    fn binary_tracked(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        self.same_device(binary_name(op), other)?;
        let value = self.binary_raw(op, other, None)?;
        let (x, y, out) = (self.clone(), other.clone(), value.detach());
        Ok(Tensor::with_backward(
            value,
            binary_name(op),
            &[self, other],
            move |g: &Tensor| {
                let (gx, gy) = match op {
                    BinaryOp::Add => (g.clone(), g.clone()),
                    BinaryOp::Sub => (g.clone(), g.neg()?),
                    BinaryOp::Mul => (g.mul(&y)?, g.mul(&x)?),
                    BinaryOp::Div => {
                        // d/dy (x / y) = -(x / y) / y
                        (g.div(&y)?, g.mul(&out)?.div(&y)?.neg()?)
                    }
                    BinaryOp::Pow => {
                        // d/dx x^y = y x^(y-1) = y * out / x ; d/dy = out * ln x
                        let dx = g.mul(&y)?.mul(&out)?.div(&x)?;
                        let dy = g.mul(&out)?.mul(&x.log()?)?;
                        (dx, dy)
                    }
                    BinaryOp::Max | BinaryOp::Min => {
                        // the gradient goes to x where x is selected (ties: to x)
                        let pick_x = if op == BinaryOp::Max {
                            x.binary_raw(BinaryOp::GreaterEqual, &y, None)?
                        } else {
                            x.binary_raw(BinaryOp::LessEqual, &y, None)?
                        };
                        let zero = Tensor::zeros(&[], g.device())?;
                        (
                            Tensor::select(&pick_x, g, &zero)?,
                            Tensor::select(&pick_x, &zero, g)?,
                        )
                    }
                    _ => return Ok(vec![None, None]),
                };
                Ok(vec![
                    Some(gx.sum_to(x.shape())?),
                    Some(gy.sum_to(y.shape())?),
                ])
            },
        ))
    }

    /// `x + y` (broadcasting). Backward: `gx = sum_to(g)`, `gy = sum_to(g)`.
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_tracked(BinaryOp::Add, other)
    }
    /// `x - y` (broadcasting). Backward: `g`, `-g`.
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_tracked(BinaryOp::Sub, other)
    }
    /// `x * y` (broadcasting). Backward: `g*y`, `g*x`.
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_tracked(BinaryOp::Mul, other)
    }
    /// `x / y` (broadcasting, correctly rounded). Backward: `g/y`, `-(g*out)/y`.
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_tracked(BinaryOp::Div, other)
    }
    /// `x^y` (broadcasting, lowp's portable pow). Backward: `g*y*out/x`, `g*out*ln x`.
    pub fn pow(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_tracked(BinaryOp::Pow, other)
    }
    /// `max(x, y)` (broadcasting). Backward: `g` to `x` where `x >= y`, else to `y`.
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_tracked(BinaryOp::Max, other)
    }
    /// `min(x, y)` (broadcasting). Backward: `g` to `x` where `x <= y`, else to `y`.
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_tracked(BinaryOp::Min, other)
    }
    /// `x + c`.
    pub fn add_scalar(&self, c: f32) -> Result<Tensor> {
        self.add(&Tensor::scalar(c, self.device())?)
    }
    /// `x * c`.
    pub fn mul_scalar(&self, c: f32) -> Result<Tensor> {
        self.mul(&Tensor::scalar(c, self.device())?)
    }
    /// `x^c`.
    pub fn powf(&self, c: f32) -> Result<Tensor> {
        self.pow(&Tensor::scalar(c, self.device())?)
    }

    /// `1.0` where `x > y` else `0.0` (broadcasting; no gradient).
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_raw(BinaryOp::Greater, other, None)
    }
    /// `1.0` where `x >= y` else `0.0` (no gradient).
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_raw(BinaryOp::GreaterEqual, other, None)
    }
    /// `1.0` where `x < y` else `0.0` (no gradient).
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_raw(BinaryOp::Less, other, None)
    }
    /// `1.0` where `x <= y` else `0.0` (no gradient).
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_raw(BinaryOp::LessEqual, other, None)
    }
    /// `1.0` where `x == y` else `0.0` (no gradient).
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        self.binary_raw(BinaryOp::Equal, other, None)
    }

    /// `condition != 0 ? on_true : on_false`, all three broadcast to their common shape.
    /// Backward: the gradient goes to the chosen side (zero elsewhere); none to `condition`.
    pub fn select(condition: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        let shape = broadcast_shape(
            "select",
            &broadcast_shape("select", condition.shape(), on_true.shape())?,
            on_false.shape(),
        )?;
        let c = condition.expand_raw(&shape)?;
        let x = on_true.expand_raw(&shape)?;
        let y = on_false.expand_raw(&shape)?;
        let value = c.run_kernel(&Kernel::Select, &[&x, &y], &shape)?;
        let (cond, a, b) = (c.clone(), on_true.clone(), on_false.clone());
        Ok(Tensor::with_backward(
            value,
            "select",
            &[on_true, on_false],
            move |g: &Tensor| {
                let zero = Tensor::zeros(&[], g.device())?;
                let ga = Tensor::select(&cond, g, &zero)?.sum_to(a.shape())?;
                let gb = Tensor::select(&cond, &zero, g)?.sum_to(b.shape())?;
                Ok(vec![Some(ga), Some(gb)])
            },
        ))
    }

    fn unary_tracked(&self, op: UnaryOp) -> Result<Tensor> {
        let value = self.unary_raw(op, None)?;
        let (x, out) = (self.clone(), value.detach());
        Ok(Tensor::with_backward(
            value,
            unary_name(op),
            &[self],
            move |g: &Tensor| {
                let gx = match op {
                    UnaryOp::Neg => g.neg()?,
                    UnaryOp::Abs => {
                        // sign(x), 0 at 0
                        let zero = Tensor::zeros(&[], g.device())?;
                        let positive = x.gt(&zero)?;
                        let negative = x.lt(&zero)?;
                        g.mul(&positive.sub(&negative)?)?
                    }
                    UnaryOp::Sqrt => g.div(&out.mul_scalar(2.0)?)?,
                    UnaryOp::Exp => g.mul(&out)?,
                    UnaryOp::Log => g.div(&x)?,
                    UnaryOp::Tanh => {
                        let one = Tensor::ones(&[], g.device())?;
                        g.mul(&one.sub(&out.mul(&out)?)?)?
                    }
                    UnaryOp::Erf => {
                        // 2/sqrt(pi) * exp(-x^2)
                        let e = x.mul(&x)?.neg()?.exp()?;
                        g.mul(&e)?.mul_scalar(std::f32::consts::FRAC_2_SQRT_PI)?
                    }
                };
                Ok(vec![Some(gx)])
            },
        ))
    }

    /// `-x`. Backward: `-g`.
    pub fn neg(&self) -> Result<Tensor> {
        self.unary_tracked(UnaryOp::Neg)
    }
    /// `|x|`. Backward: `g * sign(x)` (0 at 0).
    pub fn abs(&self) -> Result<Tensor> {
        self.unary_tracked(UnaryOp::Abs)
    }
    /// `sqrt(x)`. Backward: `g / (2 out)`.
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary_tracked(UnaryOp::Sqrt)
    }
    /// `e^x`. Backward: `g * out`.
    pub fn exp(&self) -> Result<Tensor> {
        self.unary_tracked(UnaryOp::Exp)
    }
    /// `ln x`. Backward: `g / x`.
    pub fn log(&self) -> Result<Tensor> {
        self.unary_tracked(UnaryOp::Log)
    }
    /// `tanh x`. Backward: `g * (1 - out^2)`.
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary_tracked(UnaryOp::Tanh)
    }
    /// `erf x`. Backward: `g * 2/sqrt(pi) * exp(-x^2)`.
    pub fn erf(&self) -> Result<Tensor> {
        self.unary_tracked(UnaryOp::Erf)
    }
    /// `max(x, 0)`. Backward: `g` where `x > 0`, else 0.
    pub fn relu(&self) -> Result<Tensor> {
        let zero = Tensor::zeros(&[], self.device())?;
        let positive = self.gt(&zero)?;
        Tensor::select(&positive, self, &zero)
    }
    /// `x * x`.
    pub fn sqr(&self) -> Result<Tensor> {
        self.mul(self)
    }

    // ----- reductions -------------------------------------------------------------------

    /// Sums the gradient-like tensor `self` down to `shape` (undoing a broadcast): sums the
    /// leading extra axes and the axes where `shape` has size 1, sequentially in binary32.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let rank = self.rank();
        if shape.len() > rank {
            return Err(TensorError::shape(
                "sum_to",
                format!("cannot sum {:?} down to {shape:?}", self.shape()),
            ));
        }
        let offset = rank - shape.len();
        let mut axes = Vec::new();
        for axis in 0..rank {
            if axis < offset || (shape[axis - offset] == 1 && self.shape()[axis] != 1) {
                axes.push(axis as isize);
            } else if shape[axis - offset] != self.shape()[axis] {
                return Err(TensorError::shape(
                    "sum_to",
                    format!("cannot sum {:?} down to {shape:?}", self.shape()),
                ));
            }
        }
        self.sum(&axes, true)?.reshape(shape)
    }

    /// Sum over `axes` (negative counts from the end), binary32 sequential per axis from the
    /// last listed axis backwards. Backward: `g` broadcast back to the input shape.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.reduce_tracked(ReduceOp::Sum, axes, keepdim)
    }

    /// Mean over `axes` (sum, then one division by the count). Backward: `g / count`, broadcast.
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let sum = self.sum(axes, keepdim)?;
        let count = (self.len() / sum.len().max(1)) as f32;
        sum.div(&Tensor::scalar(count, self.device())?)
    }

    /// Sum of every element (shape `[]`).
    pub fn sum_all(&self) -> Result<Tensor> {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.sum(&axes, false)
    }

    /// Mean of every element (shape `[]`).
    pub fn mean_all(&self) -> Result<Tensor> {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.mean(&axes, false)
    }

    /// Maximum over one axis. Backward: `g` to every position equal to the maximum.
    pub fn max(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.reduce_tracked(ReduceOp::Max, &[axis], keepdim)
    }

    /// Normalises and sorts `axes` (descending, deduplicated).
    pub fn resolve_axes(&self, op: &'static str, axes: &[isize]) -> Result<Vec<usize>> {
        let mut resolved = axes
            .iter()
            .map(|&axis| axis_index(op, axis, self.rank()))
            .collect::<Result<Vec<_>>>()?;
        resolved.sort_unstable_by(|a, b| b.cmp(a));
        resolved.dedup();
        Ok(resolved)
    }

    fn reduce_tracked(&self, op: ReduceOp, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let resolved = self.resolve_axes("reduce", axes)?;
        let mut value = self.detach();
        for &axis in &resolved {
            value = value.reduce_raw(op, axis, true, None)?;
        }
        let kept_shape = value.shape().to_vec();
        let out_shape: Vec<usize> = if keepdim {
            kept_shape.clone()
        } else {
            self.shape()
                .iter()
                .enumerate()
                .filter(|(axis, _)| !resolved.contains(axis))
                .map(|(_, &n)| n)
                .collect()
        };
        let kept = value.clone();
        let value = value.reshape(&out_shape)?;
        let x = self.clone();
        Ok(Tensor::with_backward(
            value,
            if op == ReduceOp::Max { "max" } else { "sum" },
            &[self],
            move |g: &Tensor| {
                let g = g.reshape(&kept_shape)?.expand_raw(x.shape())?;
                let gx = match op {
                    ReduceOp::Max => {
                        let mask = x.eq(&kept.expand_raw(x.shape())?)?;
                        g.mul(&mask)?
                    }
                    _ => g,
                };
                Ok(vec![Some(gx)])
            },
        ))
    }

    // ----- matrix products --------------------------------------------------------------

    /// Binary32 matrix product with numpy/torch `matmul` rules (1-D operands get a 1
    /// prepended/appended, batch axes broadcast); each output element is the sequential
    /// binary32 sum over k ascending (§9 with fp32 formats). Backward: `gA = g·Bᵀ`, `gB = Aᵀ·g`,
    /// summed over broadcast batch axes.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let template = GemmSpec::new(1, 1, 1, 1, fp32(), fp32());
        matmul_with(self, other, &template, &template)
    }
}

/// `matmul` with explicit GEMM templates for the forward product and the two backward
/// products (lowp-nn's qmatmul uses it with its MAC formats; inputs are taken as given).
pub fn matmul_with(
    a: &Tensor,
    b: &Tensor,
    forward: &GemmSpec,
    backward: &GemmSpec,
) -> Result<Tensor> {
    let plan = MatmulPlan::new(a.shape(), b.shape())?;
    let a3 = a
        .detach()
        .reshape(&plan.a_shape)?
        .expand_raw(&plan.a_batched)?;
    let b3 = b
        .detach()
        .reshape(&plan.b_shape)?
        .expand_raw(&plan.b_batched)?;
    let a3 = a3.reshape(&[plan.batch, plan.m, plan.k])?;
    let b3 = b3.reshape(&[plan.batch, plan.k, plan.n])?;
    let value = a3.qgemm(&b3, false, false, forward)?.reshape(&plan.out)?;
    let (x, y, backward) = (a.clone(), b.clone(), *backward);
    Ok(Tensor::with_backward(
        value,
        "matmul",
        &[a, b],
        move |g: &Tensor| {
            let g3 = g.reshape(&[plan.batch, plan.m, plan.n])?;
            // gA[b] = g[b] · B[b]ᵀ ; gB[b] = A[b]ᵀ · g[b]
            let ga = g3.qgemm(&b3, false, true, &backward)?;
            let gb = a3.qgemm(&g3, true, false, &backward)?;
            let ga = ga
                .reshape(&plan.a_batched)?
                .sum_to(&plan.a_shape)?
                .reshape(x.shape())?;
            let gb = gb
                .reshape(&plan.b_batched)?
                .sum_to(&plan.b_shape)?
                .reshape(y.shape())?;
            Ok(vec![Some(ga), Some(gb)])
        },
    ))
}

/// The shapes of a broadcasting matmul.
#[derive(Debug, Clone)]
pub struct MatmulPlan {
    /// `a` with a 1 prepended if it was 1-D.
    pub a_shape: Vec<usize>,
    /// `b` with a 1 appended if it was 1-D.
    pub b_shape: Vec<usize>,
    /// `a_shape` with the broadcast batch axes.
    pub a_batched: Vec<usize>,
    /// `b_shape` with the broadcast batch axes.
    pub b_batched: Vec<usize>,
    /// Product of the batch axes.
    pub batch: usize,
    /// Rows of each product.
    pub m: usize,
    /// Reduction length.
    pub k: usize,
    /// Columns of each product.
    pub n: usize,
    /// Output shape (prepended / appended 1s removed).
    pub out: Vec<usize>,
}

impl MatmulPlan {
    /// Plans `a @ b` (torch.matmul rules), or a shape error naming both shapes.
    pub fn new(a: &[usize], b: &[usize]) -> Result<Self> {
        let error = || TensorError::shape("matmul", format!("cannot multiply {a:?} by {b:?}"));
        if a.is_empty() || b.is_empty() {
            return Err(error());
        }
        let a_shape: Vec<usize> = if a.len() == 1 {
            vec![1, a[0]]
        } else {
            a.to_vec()
        };
        let b_shape: Vec<usize> = if b.len() == 1 {
            vec![b[0], 1]
        } else {
            b.to_vec()
        };
        let (m, k) = (a_shape[a_shape.len() - 2], a_shape[a_shape.len() - 1]);
        let (k2, n) = (b_shape[b_shape.len() - 2], b_shape[b_shape.len() - 1]);
        if k != k2 {
            return Err(error());
        }
        let batch_shape = broadcast_shape(
            "matmul",
            &a_shape[..a_shape.len() - 2],
            &b_shape[..b_shape.len() - 2],
        )?;
        let batch = batch_shape.iter().product();
        let mut out = batch_shape.clone();
        if a.len() > 1 {
            out.push(m);
        }
        if b.len() > 1 {
            out.push(n);
        }
        let with = |tail: [usize; 2]| {
            let mut shape = batch_shape.clone();
            shape.extend(tail);
            shape
        };
        Ok(Self {
            a_batched: with([m, k]),
            b_batched: with([k, n]),
            a_shape,
            b_shape,
            batch,
            m,
            k,
            n,
            out,
        })
    }
}

fn binary_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "add",
        BinaryOp::Sub => "sub",
        BinaryOp::Mul => "mul",
        BinaryOp::Div => "div",
        BinaryOp::Pow => "pow",
        BinaryOp::Max => "maximum",
        BinaryOp::Min => "minimum",
        _ => "compare",
    }
}

fn unary_name(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "neg",
        UnaryOp::Abs => "abs",
        UnaryOp::Sqrt => "sqrt",
        UnaryOp::Exp => "exp",
        UnaryOp::Log => "log",
        UnaryOp::Tanh => "tanh",
        UnaryOp::Erf => "erf",
    }
}
