//! The error type of lowp-backend.

use lowp_formats::FormatError;

/// Everything a backend operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The format, rounding mode or shape was rejected.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The backend cannot run here (no adapter, no driver ...).
    #[error("backend {backend} is unavailable: {reason}")]
    Unavailable {
        /// The backend's name.
        backend: &'static str,
        /// Why.
        reason: String,
    },
    /// A buffer or shape does not fit the operation.
    #[error("shape error: {0}")]
    Shape(String),
    /// The device failed while running an operation (out of memory, lost device, validation).
    #[error("{backend} device error: {message}")]
    Device {
        /// The backend's name.
        backend: &'static str,
        /// The device's message.
        message: String,
    },
    /// The operation exists in the API but this backend does not implement it yet.
    #[error("operation {operation} is not implemented on the {backend} backend yet")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// The operation's name.
        operation: &'static str,
    },
}
