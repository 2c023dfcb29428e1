//! mptorch's functional API (`mptorch.quant.functional`): quantized ops with their own
//! quantized backward.

mod affine;
mod batchnorm;
mod conv;
mod elementwise;
mod gelu;
mod layernorm;
mod pool;
mod softmax;
mod steps;

pub use affine::{qlinear, qmatmul, qmm};
pub use batchnorm::{BatchNormState, qbatch_norm};
pub use conv::{
    ConvSpec, ConvTransposeSpec, Padding, PaddingMode, conv_transpose_output, output_padding_for,
    qconv, qconv_transpose,
};
pub use elementwise::{QuantPair, qadd, qdiv, qmean, qmul, qpow, qsqrt, qsum};
pub use gelu::{GeluApproximation, qgelu};
pub use layernorm::qlayernorm;
pub use pool::{AvgPoolSpec, qavg_pool2d};
pub use softmax::qsoftmax;

use crate::error::NnError;
use lowp_tensor::TensorError;

/// Turns an error raised inside a backward function into the tensor error autograd reports.
pub(crate) fn to_tensor_error(error: NnError) -> TensorError {
    match error {
        NnError::Tensor(inner) => inner,
        other => TensorError::Autograd(other.to_string()),
    }
}
