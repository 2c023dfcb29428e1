//! mptorch's functional API (`mptorch.quant.functional`): quantized ops with their own
//! quantized backward.

mod affine;

pub use affine::{qlinear, qmatmul, qmm};

use crate::error::NnError;
use lowp_tensor::TensorError;

/// Turns an error raised inside a backward function into the tensor error autograd reports.
pub(crate) fn to_tensor_error(error: NnError) -> TensorError {
    match error {
        NnError::Tensor(inner) => inner,
        other => TensorError::Autograd(other.to_string()),
    }
}
