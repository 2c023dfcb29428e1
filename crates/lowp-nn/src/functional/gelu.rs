//! `qgelu` (formulas of [`QGELUFormats`]).

use super::steps::Steps;
use super::to_tensor_error;
use crate::error::{NnError, Result};
use crate::formats::QGELUFormats;
use lowp_formats::{BinaryOp, UnaryOp};
use lowp_tensor::Tensor;

/// The GELU form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeluApproximation {
    /// `x·Φ(x) = 0.5·x·(1 + erf(x/√2))`.
    #[default]
    None,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
    Tanh,
}

impl GeluApproximation {
    /// Parses mptorch's `'none'` / `'tanh'`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "none" => Ok(Self::None),
            "tanh" => Ok(Self::Tanh),
            other => Err(NnError::config(
                "QGELU",
                format!("approximate = `{other}`, expected none or tanh"),
            )),
        }
    }
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const INV_SQRT_2PI: f32 = 0.398_942_3;
const COEFFICIENT: f32 = 0.044_715;

/// mptorch's `qgelu(x, formats, approximate)`: GELU element-wise with every intermediate
/// quantized by `inter_quant` (formulas of [`QGELUFormats`]); the backward is the exact
/// derivative of the chosen form (for `tanh` this fixes mptorch's GELU-tanh backward), each
/// step quantized by `inter_quant`. Any shape.
pub fn qgelu(x: &Tensor, formats: &QGELUFormats, approximate: GeluApproximation) -> Result<Tensor> {
    let f = formats.clone();
    let call = f.seeds.next_call();
    let mut s = Steps::forward(call);
    let q = f.inter_quant;
    let xq = s.cast(f.input_quant.as_ref(), x)?;
    let t = match approximate {
        GeluApproximation::None => {
            let a = s.scalar_cast(
                BinaryOp::Mul,
                &xq,
                std::f32::consts::FRAC_1_SQRT_2,
                q.as_ref(),
            )?;
            s.unary_cast(UnaryOp::Erf, &a, q.as_ref())?
        }
        GeluApproximation::Tanh => {
            let square = s.binary_cast(BinaryOp::Mul, &xq, &xq, q.as_ref())?;
            let cube = s.binary_cast(BinaryOp::Mul, &square, &xq, q.as_ref())?;
            let scaled = s.scalar_cast(BinaryOp::Mul, &cube, COEFFICIENT, q.as_ref())?;
            let inner = s.binary_cast(BinaryOp::Add, &xq, &scaled, q.as_ref())?;
            let u = s.scalar_cast(BinaryOp::Mul, &inner, SQRT_2_OVER_PI, q.as_ref())?;
            s.unary_cast(UnaryOp::Tanh, &u, q.as_ref())?
        }
    };
    let half = s.scalar_cast(BinaryOp::Mul, &xq, 0.5, q.as_ref())?;
    let one_plus = s.scalar_cast(BinaryOp::Add, &t, 1.0, q.as_ref())?;
    let y = s.binary_cast(BinaryOp::Mul, &half, &one_plus, q.as_ref())?;
    let y = s.cast(f.output_quant.as_ref(), &y)?;
    Ok(Tensor::with_backward(
        y,
        "qgelu",
        &[x],
        move |grad: &Tensor| {
            let run = || -> Result<Vec<Option<Tensor>>> {
                let mut s = Steps::backward(call);
                let g = s.cast(f.grad_quant.as_ref(), grad)?;
                let q = q.as_ref();
                // Φ-like term 0.5·(1 + t)
                let cdf = s.scalar_cast(BinaryOp::Mul, &one_plus, 0.5, q)?;
                let slope = match approximate {
                    GeluApproximation::None => {
                        // x·φ(x) = x·exp(-x²/2)/√(2π)
                        let square = s.binary_cast(BinaryOp::Mul, &xq, &xq, q)?;
                        let exponent = s.scalar_cast(BinaryOp::Mul, &square, -0.5, q)?;
                        let e = s.unary_cast(UnaryOp::Exp, &exponent, q)?;
                        let pdf = s.scalar_cast(BinaryOp::Mul, &e, INV_SQRT_2PI, q)?;
                        s.binary_cast(BinaryOp::Mul, &xq, &pdf, q)?
                    }
                    GeluApproximation::Tanh => {
                        // 0.5·x·(1 - t²)·√(2/π)·(1 + 3·0.044715·x²)
                        let t2 = s.binary_cast(BinaryOp::Mul, &t, &t, q)?;
                        let sech2 = s.binary_cast(
                            BinaryOp::Sub,
                            &Tensor::scalar(1.0, t.device())?,
                            &t2,
                            q,
                        )?;
                        let square = s.binary_cast(BinaryOp::Mul, &xq, &xq, q)?;
                        let scaled = s.scalar_cast(BinaryOp::Mul, &square, 3.0 * COEFFICIENT, q)?;
                        let poly = s.scalar_cast(BinaryOp::Add, &scaled, 1.0, q)?;
                        let k = s.scalar_cast(BinaryOp::Mul, &poly, SQRT_2_OVER_PI, q)?;
                        let hs = s.binary_cast(BinaryOp::Mul, &half, &sech2, q)?;
                        s.binary_cast(BinaryOp::Mul, &hs, &k, q)?
                    }
                };
                let derivative = s.binary_cast(BinaryOp::Add, &cdf, &slope, q)?;
                let gx = s.binary_cast(BinaryOp::Mul, &g, &derivative, q)?;
                Ok(vec![Some(s.cast(f.grad_quant.as_ref(), &gx)?)])
            };
            run().map_err(to_tensor_error)
        },
    ))
}
