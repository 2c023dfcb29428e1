//! The error type of lowp-tensor.

use lowp_backend::BackendError;
use lowp_formats::FormatError;

/// Everything a tensor operation can fail with. Never a panic on user input.
#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    /// The backend rejected or failed the operation.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A format, rounding mode or quantizer was rejected.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Shapes do not fit the operation (the message names the operation and the shapes).
    #[error("{op}: {message}")]
    Shape {
        /// The operation.
        op: &'static str,
        /// What is wrong, with the shapes involved.
        message: String,
    },
    /// Tensors of one operation live on different devices.
    #[error("{op}: tensors on different devices ({left} and {right})")]
    DeviceMismatch {
        /// The operation.
        op: &'static str,
        /// One device's name.
        left: &'static str,
        /// The other device's name.
        right: &'static str,
    },
    /// The operation needs an asynchronous read (WebGPU in a browser cannot block).
    #[error("{0}")]
    Blocking(String),
    /// Autograd misuse (backward of a non-scalar without a seed gradient, ...).
    #[error("autograd: {0}")]
    Autograd(String),
}

impl TensorError {
    /// A [`TensorError::Shape`] for `op`.
    pub fn shape(op: &'static str, message: impl Into<String>) -> Self {
        TensorError::Shape {
            op,
            message: message.into(),
        }
    }
}

/// Result alias of lowp-tensor.
pub type Result<T> = core::result::Result<T, TensorError>;
